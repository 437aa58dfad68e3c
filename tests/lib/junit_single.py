"""Writes a JUnit XML file holding one test case: the outcome of a command.

Usage: junit_single.py OUT.xml SUITE NAME EXIT_STATUS SECONDS LOGFILE
tests/run uses it for layers that are one command each (the quickstart
smoke run, make distcheck), so the summary counts them like any test.
"""
import re
import sys
from xml.sax.saxutils import escape, quoteattr

# Characters XML 1.0 forbids: a failing program's log (a fuzzer printing
# the bytes it was fed) must not make the results file unreadable.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(s):
    return NOT_XML.sub("\ufffd", s)


def main(argv):
    out, suite, name, status, seconds, logfile = argv[1:7]
    failed = int(status) != 0
    try:
        with open(logfile, errors="replace") as f:
            tail = xml_text("".join(f.readlines()[-60:]))
    except OSError:
        tail = ""
    case = f"<testcase classname={quoteattr(suite)} name={quoteattr(name)} time={quoteattr(seconds)}>"
    if failed:
        case += (f"<failure message={quoteattr('exit status ' + status)}>"
                 f"{escape(tail)}</failure>")
    case += "</testcase>"
    with open(out, "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n')
        f.write(f"<testsuite name={quoteattr(suite)} tests=\"1\" "
                f"failures=\"{1 if failed else 0}\" errors=\"0\" skipped=\"0\">"
                f"{case}</testsuite>\n")


if __name__ == "__main__":
    main(sys.argv)
