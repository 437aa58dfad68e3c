"""Summarise a test run from the JUnit XML files in a results directory.

Usage: summarize.py RESULTS_DIR

Prints passed/failed (and skipped) counts per layer, the failed tests, the
skipped ones, and as the very last line exactly "N passed, M failed"
(skipped tests are not counted as passed).  Exit status: 0 if nothing
failed and at least one test passed or failed, 1 otherwise (a failure, or
no test found at all).  See mdtest/junit.py for the formats it reads.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mdtest import junit  # noqa: E402


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: summarize.py RESULTS_DIR\n")
        return 2
    directory = Path(argv[1])
    cases = junit.load_dir(directory) if directory.is_dir() else []
    if not directory.is_dir():
        print("results directory %s does not exist" % directory)
    print(junit.report(cases))
    failed = sum(1 for c in cases if c.status == junit.FAILED)
    counted = sum(1 for c in cases if c.status in (junit.PASSED, junit.FAILED))
    return 1 if failed or counted == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
