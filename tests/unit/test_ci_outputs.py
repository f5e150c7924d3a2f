"""JUnit, Markdown and annotations render a run's data as CI systems read it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import junitparser
import pytest

from curator import manifest
from curator.model.ids import CellId, PyVersion, RunId, SuiteName
from curator.model.markup import one_line
from curator.model.outcome import Status, Verdict
from curator.model.pins import PinList
from curator.nightly.night import Category, ComparedTo, Night, Result, StaleException
from curator.report import github, junit, markdown
from curator.report.data import build
from tests.conftest import WriteManifest
from tests.rendered import code_spans, kinds, raw_html, tables
from tests.unit.test_markup import HOSTILE
from tests.unit.test_report import CAPPED, MANIFEST, _record, _records, _store, _suite


@pytest.fixture
def demo(write_manifest: WriteManifest) -> manifest.Distribution:
    path = write_manifest(MANIFEST, suites={"suites/use": "", "suites/caps": "", "suites/libs": ""})
    return manifest.load(path)


def test_every_status_has_its_junit_form(demo: manifest.Distribution, tmp_path: Path) -> None:
    records = [
        *_records(),
        _record(
            "py3.12-solo@0.2-lib@3.1",
            {"solo": "0.2", "lib": "3.1"},
            [_suite("use", Status.CRASHED, signature="crashed: SIGSEGV")],
        ),
        _record("py3.12-user@1.0-lib@3.1", {"user": "1.0", "lib": "3.1"}, [_suite("use", Status.FLAKY)]),
    ]
    with _store(tmp_path, records) as store:
        data = build(store, "run-1", demo, today=dt.date(2026, 1, 1))
    path = tmp_path / "junit.xml"
    path.write_text(junit.render(data))
    xml = junitparser.JUnitXml.fromfile(str(path))
    by_class: dict[str, list[junitparser.TestCase]] = {}
    for suite in xml:
        for case in suite:
            by_class.setdefault(case.classname, []).append(case)
    (refused,) = by_class["py3.12-base@2.0.caps"]
    error = refused.result[0]
    assert isinstance(error, junitparser.Error) and error.type == "unresolvable"
    assert CAPPED in error.text  # the resolver's own words
    (crash,) = by_class["py3.12-solo@0.2-lib@3.1.use"]
    assert isinstance(crash.result[0], junitparser.Error) and crash.result[0].message == "crashed: SIGSEGV"
    (excused,) = by_class["py3.12-lib@3.1.libs"]
    assert (
        isinstance(excused.result[0], junitparser.Skipped)
        and "lib 3.1 drops the old reader" in excused.result[0].message
    )
    (flaky,) = by_class["py3.12-user@1.0-lib@3.1.use"]
    assert flaky.result == [] and "flaky" in flaky.system_out
    assert xml.errors == 3 + 1 and xml.failures == 1  # three refused suites and the crash; user 1.0's failure


def test_markdown_shows_what_suites_print_as_text_and_links_the_report(
    demo: manifest.Distribution, tmp_path: Path
) -> None:
    records = _records()
    records[1] = _record("py3.12-user@1.0", {"user": "1.0"}, [_suite("use", Status.FAILED, signature=HOSTILE)])
    with _store(tmp_path, records) as store:
        text = markdown.render(build(store, "run-1", demo, today=dt.date(2026, 1, 1)), report_url="https://r/x")
    assert raw_html(text) == ["<sub>", "</sub>"]  # the legend's own markup, and nothing a suite printed
    assert not kinds(text) & {"image", "em_open", "s_open"}
    unexpected = next(t for t in tables(text) if t[0] == ["cell", "suite", "status", "signature"])
    assert all(len(row) == 4 for row in unexpected)
    assert ["py3.12-user@1.0", "use", "failed", one_line(HOSTILE)] in unexpected  # shown exactly as printed
    assert text.rstrip().endswith("[Full report](https://r/x)")


def test_a_nightly_section_shows_what_suites_print_as_text() -> None:
    result = Result(
        PyVersion("3.12"),
        SuiteName("app"),
        CellId("py3.12-cfx-lib@1.1"),
        Status.FAILED,
        Status.PASSED,
        Category.REGRESSED,
        PinList.from_list(["cfx-lib==1.1"]),
        reason="a <b>reason</b>",
        signature=HOSTILE,
        reproduce="nox -f 'a|b/noxfile.py' -s `x`",
    )
    stale = StaleException("cfx-lib<1 | x", 12, "old", "matched <i>no</i> outcome")
    night = _night_with((result,), stale)
    text = markdown.night_markdown(night)
    assert raw_html(text) == []
    rows = next(t for t in tables(text) if t[0][0] == "category" and len(t[0]) == 5)
    assert rows[1] == ["regressed", "3.12", "app", "cfx-lib==1.1", "nox -f 'a|b/noxfile.py' -s `x`"]
    assert "cfx-lib<1 | x" in code_spans(text)


def test_annotation_commands_escape_what_would_end_them() -> None:
    line = github.Annotation("error", "a,b.yaml", 3, 5, "t: x", "50% done\nnext").render()
    assert line == "::error file=a%2Cb.yaml,line=3,col=5,title=t%3A x::50%25 done%0Anext"
    hostile = github.Annotation("error", "d.yaml", 1, 1, "t", HOSTILE + "\r\n::add-mask::x\n%0A").render()
    assert "\n" not in hostile and "\r" not in hostile  # one workflow command, whatever the message holds
    assert hostile.endswith("%0D%0A::add-mask::x%0A%250A")


def test_an_expired_exception_is_annotated_on_its_rule(write_manifest: WriteManifest, tmp_path: Path) -> None:
    text = MANIFEST.replace("      owner: data-team\n", "      owner: data-team\n      expires: 2025-12-31\n")
    path = write_manifest(text, suites={"suites/use": "", "suites/caps": "", "suites/libs": ""})
    dist = manifest.load(path)
    with _store(tmp_path, _records()) as store:
        data = build(store, "run-1", dist, today=dt.date(2026, 1, 1))
    rule_line = next(i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith("- when:"))
    found = [a for a in github.for_run(data) if a.title == "curator: expired exception"]
    assert [(a.line, a.file.endswith("distribution.yaml")) for a in found] == [(rule_line, True)]
    assert "expired on 2025-12-31" in found[0].message


def _night_with(results: tuple[Result, ...], stale: StaleException) -> Night:
    return Night(
        run=RunId("20261124-030000-abcd"),
        distribution="eco",
        version="1",
        as_of="2026-11-24T03:00:00Z",
        compared_to=ComparedTo(None, None),
        newest={"cfx-lib": "1.1"},
        newest_by_python={PyVersion("3.12"): {"cfx-lib": "1.1"}},
        passed_over={},
        verdict=Verdict.FAILED,
        results=results,
        stale_exceptions=(stale,),
    )
