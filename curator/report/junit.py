"""One JUnit XML file for a whole run (`--junit FILE`), for the test tabs of CI systems.

One `<testsuite>` per cell; each test case's `classname` is `<cell>.<suite>` (so
`py3.12-pandas@2.1.1.pandas-numpy`), its `name` the test's own node id. A suite that produced no
test cases (it never ran, crashed at import, timed out) is one test case named after the suite.

- passed, flaky: passed (a flaky one says so in `system-out`);
- failed, unexpected-pass: `<failure>`, the signature as its message, and as its text the
  reason, the reproduce command and the log's tail;
- error, crashed, timeout, install-error, unresolvable: `<error>` the same way (for
  unresolvable and install-error, the resolver's own words);
- expected-fail: `<skipped>` with the policy's reason; skipped: `<skipped>`.

The XML is what GitLab's test reports and the GitHub test-reporter actions read (the common
Ant/Surefire shape); characters XML 1.0 cannot hold (terminal colour codes) are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import assert_never

from curator.model.outcome import Status, SuiteOutcome, TestCase
from curator.report.data import RunData
from curator.store.db import CellRecord

_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TAIL_LINES = 40


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def render(data: RunData) -> str:
    """The run as a JUnit XML document."""
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    root = ET.Element("testsuites", name=_text(f"curator {data.record.distribution} {data.record.version}"))
    for record in data.records:
        suite = _cell_suite(record)
        for key in counts:
            counts[key] += int(suite.get(key, "0"))
        root.append(suite)
    for key, value in counts.items():
        root.set(key, str(value))
    root.set("time", f"{sum(r.outcome.duration for r in data.records):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _cell_suite(record: CellRecord) -> ET.Element:
    element = ET.Element("testsuite", name=record.cell_id)
    properties = ET.SubElement(element, "properties")
    for name, value in (
        ("python", record.python),
        ("interpreter", record.interpreter),
        ("pins", str(record.pins)),
        ("changes", str(record.changes)),
        ("baseline", str(record.baseline).lower()),
        ("outcome_key", record.outcome.outcome_key),
        ("reused_from", record.outcome.reused_from or ""),
    ):
        ET.SubElement(properties, "property", name=name, value=_text(value))
    tally = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in record.outcome.suites:
        for case in _cases(record, suite):
            element.append(case)
            tally["tests"] += 1
            for child, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
                if case.find(child) is not None:
                    tally[key] += 1
    for name, count in tally.items():
        element.set(name, str(count))
    element.set("time", f"{record.outcome.duration:.3f}")
    return element


_FAILURES = frozenset({Status.FAILED, Status.UNEXPECTED_PASS})
_ERRORS = frozenset({Status.ERROR, Status.CRASHED, Status.TIMEOUT, Status.INSTALL_ERROR, Status.UNRESOLVABLE})


def _cases(record: CellRecord, suite: SuiteOutcome) -> list[ET.Element]:
    """The suite's own test cases, and one case named after the suite when they alone would not
    show its status (no cases at all, or a status no single case carries: a crash, an unexpected pass)."""
    classname = f"{record.cell_id}.{suite.suite}"
    elements = [_case(classname, case, record, suite) for case in suite.cases]
    shown = any(e.find("failure") is not None or e.find("error") is not None for e in elements)
    excused = any(e.find("skipped") is not None for e in elements) and suite.status is Status.EXPECTED_FAIL
    if (
        not suite.cases
        or (suite.status in _FAILURES | _ERRORS and not shown)
        or (suite.status is Status.EXPECTED_FAIL and not excused)
    ):
        elements.append(_suite_case(classname, record, suite))
    return elements


def _case(classname: str, case: TestCase, record: CellRecord, suite: SuiteOutcome) -> ET.Element:
    element = ET.Element("testcase", classname=_text(classname), name=_text(case.nodeid), time=f"{case.duration:.3f}")
    if case.outcome == "skipped":
        ET.SubElement(element, "skipped", message=_text((case.message.splitlines() or ["skipped"])[0]))
    elif case.outcome in ("failed", "error"):
        if suite.status is Status.EXPECTED_FAIL:
            ET.SubElement(element, "skipped", message=_text(_excuse(suite)), type="expected-fail")
        else:
            _problem(element, "failure" if case.outcome == "failed" else "error", record, suite, case)
    elif suite.status is Status.FLAKY:
        ET.SubElement(element, "system-out").text = _text(f"flaky: {suite.reason}")
    return element


def _suite_case(classname: str, record: CellRecord, suite: SuiteOutcome) -> ET.Element:
    element = ET.Element("testcase", classname=_text(classname), name=_text(suite.suite), time=f"{suite.duration:.3f}")
    status = suite.status
    match status:
        case Status.PASSED:
            pass
        case Status.FLAKY:
            ET.SubElement(element, "system-out").text = _text(f"flaky: {suite.reason}")
        case Status.SKIPPED:
            ET.SubElement(element, "skipped", message=_text(suite.reason or "skipped"))
        case Status.EXPECTED_FAIL:
            ET.SubElement(element, "skipped", message=_text(_excuse(suite)), type="expected-fail")
        case Status.FAILED | Status.UNEXPECTED_PASS:
            _problem(element, "failure", record, suite, None)
        case Status.ERROR | Status.CRASHED | Status.TIMEOUT | Status.INSTALL_ERROR | Status.UNRESOLVABLE:
            _problem(element, "error", record, suite, None)
        case _ as unreachable:
            assert_never(unreachable)
    return element


def _problem(element: ET.Element, kind: str, record: CellRecord, suite: SuiteOutcome, case: TestCase | None) -> None:
    message = suite.signature or suite.reason or str(suite.status)
    lines = [f"{suite.status}: {suite.reason}"] if suite.reason else [str(suite.status)]
    if suite.signature:
        lines.append(f"signature: {suite.signature}")
    if record.outcome.reproduce:
        lines.append(f"reproduce: {record.outcome.reproduce} -- {suite.suite}")
    if case is not None and case.message:
        lines += ["", case.message]
    if suite.tail:
        lines += ["", *_last(suite.tail)]
    child = ET.SubElement(element, kind, message=_text(message[:500]), type=str(suite.status))
    child.text = _text("\n".join(lines))


def _last(text: str, lines: int = _TAIL_LINES) -> Sequence[str]:
    return text.splitlines()[-lines:]


def _excuse(suite: SuiteOutcome) -> str:
    """Why an expected failure is expected: the policy's reason, else the rule as written."""
    return suite.reason or suite.rule or "expected failure"
