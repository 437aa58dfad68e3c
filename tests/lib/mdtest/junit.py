"""Reading the JUnit XML files that every test layer leaves in tests/results.

Producers and their quirks:
- pytest --junitxml: <testsuites><testsuite><testcase classname= name=>.
  A test that passed but whose fixture failed at teardown is one testcase
  with an <error>: counted once, as failed.  xfail is <skipped>.
- cmocka (CMOCKA_MESSAGE_OUTPUT=xml, libcmocka 1.1.5): one
  <testsuites><testsuite name=GROUP> per group; with several groups in one
  program the documents are simply concatenated, the second without an XML
  declaration, so a file may hold several root elements.  cmocka does not
  overwrite an existing CMOCKA_XML_FILE (it then writes to stdout), so
  results must start from an empty directory and group names (%g) must
  differ.  testcase has no classname.  A program that crashes leaves a
  truncated file or none.
- tests/lib/junit_single.py: one <testsuite> with one <testcase>.
- node --test's junit reporter: a `todo` test (a known problem, as pytest's
  xfail) is <skipped type="todo"/>, followed by its <failure> if it failed.

Every <testcase> counts once: skipped if it has <skipped type="todo">,
else failed if it has <failure> or <error>, skipped if it has <skipped>,
passed otherwise.  A file that cannot be
parsed counts as one failed case, so that a crash is never silent.  The
layer of a file is its name up to the first '-' or '.'
(unit-config.xml -> unit, harness.xml -> harness).
"""

import re
from pathlib import Path

from lxml import etree

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

#: Layers in the order tests/run runs them; others follow alphabetically.
LAYER_ORDER = ["unit", "widget", "harness", "store", "integration", "ejabberd", "browser",
               "quickstart", "dist"]


class Case:
    """One test case: layer, suite, classname, name, status, message, file."""

    def __init__(self, layer, suite, classname, name, status, message="", file=None, time=None):
        self.layer = layer
        self.suite = suite
        self.classname = classname
        self.name = name
        self.status = status
        self.message = message
        self.file = file
        self.time = time

    @property
    def full_name(self):
        prefix = self.classname or self.suite
        return "%s::%s" % (prefix, self.name) if prefix else self.name

    def __repr__(self):
        return "<Case %s %s %s>" % (self.layer, self.full_name, self.status)


def layer_of(path):
    return re.split(r"[-.]", Path(path).name, maxsplit=1)[0]


def _documents(text):
    """Wrap possibly concatenated XML documents into one parseable string."""
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text)
    return "<mdtest-results>%s</mdtest-results>" % text


def load_file(path):
    """The cases of one results file (see the module docstring)."""
    path = Path(path)
    layer = layer_of(path)
    try:
        raw = path.read_bytes().decode("utf-8", "replace")
    except OSError as e:
        return [Case(layer, "", "", path.name, FAILED, "cannot read: %s" % e, path)]
    broken = None
    try:
        root = etree.fromstring(_documents(raw).encode("utf-8"))
    except etree.XMLSyntaxError as e:
        broken = str(e)
        root = etree.fromstring(_documents(raw).encode("utf-8"),
                                etree.XMLParser(recover=True))
    cases = []
    if root is not None:
        for tc in root.iter("testcase"):
            suite_el = next((a for a in tc.iterancestors("testsuite")), None)
            suite = suite_el.get("name", "") if suite_el is not None else ""
            status, message = PASSED, ""
            todo = tc.find("skipped[@type='todo']")
            for child in ([todo] if todo is not None else tc):
                if child.tag in ("failure", "error"):
                    status = FAILED
                    message = child.get("message") or (child.text or "").strip()
                    break
                if child.tag == "skipped" and status == PASSED:
                    status = SKIPPED
                    message = child.get("message") or (child.text or "").strip()
            cases.append(Case(layer, suite, tc.get("classname", ""), tc.get("name", "?"),
                              status, message, path, tc.get("time")))
    if broken is not None:
        cases.append(Case(layer, "", "", path.name, FAILED,
                          "results file is not well-formed XML (a crashed test program?): %s"
                          % broken, path))
    return cases


def load_dir(directory):
    """The cases of every *.xml file directly in directory, sorted by layer."""
    cases = []
    for p in sorted(Path(directory).glob("*.xml")):
        cases.extend(load_file(p))
    return sorted(cases, key=lambda c: _layer_key(c.layer))


def _layer_key(layer):
    return (LAYER_ORDER.index(layer), "") if layer in LAYER_ORDER else (len(LAYER_ORDER), layer)


def counts(cases):
    """{layer: {passed: n, failed: n, skipped: n}} in layer order."""
    out = {}
    for c in sorted(cases, key=lambda c: _layer_key(c.layer)):
        d = out.setdefault(c.layer, {PASSED: 0, FAILED: 0, SKIPPED: 0})
        d[c.status] += 1
    return out


def report(cases):
    """The summary text; its last line is exactly 'N passed, M failed'."""
    lines = []
    per_layer = counts(cases)
    width = max([len(layer) for layer in per_layer] + [5])
    for layer, d in per_layer.items():
        line = "%-*s  %d passed, %d failed" % (width + 1, layer + ":", d[PASSED], d[FAILED])
        if d[SKIPPED]:
            line += ", %d skipped" % d[SKIPPED]
        lines.append(line)
    failed = [c for c in cases if c.status == FAILED]
    if failed:
        lines.append("")
        lines.append("Failures:")
        for c in failed:
            msg = (c.message or "").strip().splitlines()
            lines.append("  [%s] %s%s" % (c.layer, c.full_name,
                                          (": " + msg[0][:200]) if msg else ""))
    skipped = [c for c in cases if c.status == SKIPPED]
    if skipped:
        lines.append("")
        lines.append("Skipped (not counted as passed): %d" % len(skipped))
        for c in skipped[:50]:
            msg = (c.message or "").strip().splitlines()
            lines.append("  [%s] %s%s" % (c.layer, c.full_name,
                                          (": " + msg[0][:160]) if msg else ""))
        if len(skipped) > 50:
            lines.append("  ... and %d more" % (len(skipped) - 50))
    n_pass = sum(1 for c in cases if c.status == PASSED)
    n_fail = len(failed)
    if not cases:
        lines.append("No test results found.")
    lines.append("")
    lines.append("%d passed, %d failed" % (n_pass, n_fail))
    return "\n".join(lines)
