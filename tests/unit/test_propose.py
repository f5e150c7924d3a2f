"""`curator propose`: the manifest edit (round-trip YAML, nothing else touched) and what is held back."""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

from curator.manifest.reader import load, parse
from curator.model.ids import CellId, PyVersion, RunId, SuiteName
from curator.model.outcome import CellOutcome, Status, SuiteOutcome, Verdict
from curator.model.pins import PinList, Pins
from curator.nightly.night import Category, ComparedTo, Night, Result
from curator.nightly.propose import propose
from curator.store.db import CellRecord

ROOT = Path(__file__).resolve().parents[2]
PYTHONS = (PyVersion("3.11"), PyVersion("3.12"))
NEWEST = {"numpy": "2.2.0", "pandas": "2.3.0", "matplotlib": "3.10.0", "scipy": "1.15.0", "networkx": "3.4.2"}


def _cell(python: PyVersion, name: str, version: str, status: Status = Status.PASSED) -> CellRecord:
    cell = CellId(f"py{python}-{name}@{version}")
    suites = (
        SuiteOutcome(SuiteName("pandas-numpy"), status, status),
        SuiteOutcome(SuiteName("scipy-numpy"), Status.PASSED, Status.PASSED),
    )
    changes = Pins({name: version})
    return CellRecord(RunId("n"), cell, python, "", changes, changes, False, "k", CellOutcome(cell, suites))


def _night(results: tuple[Result, ...] = ()) -> Night:
    return Night(
        run=RunId("20261124-030000-abcd"),
        distribution="pydata-core",
        version="2026.11",
        as_of="2026-11-24T03:00:00Z",
        compared_to=ComparedTo(RunId("20261123-030000-0123"), None),
        newest=NEWEST,
        newest_by_python=dict.fromkeys(PYTHONS, NEWEST),
        passed_over={},
        verdict=Verdict.FAILED if results else Verdict.PASSED,
        results=results,
    )


def _records() -> list[CellRecord]:
    records = []
    for python in PYTHONS:
        records += [
            _cell(python, "numpy", "2.2.0"),
            _cell(python, "pandas", "2.3.0"),
            _cell(python, "matplotlib", "3.10.0"),
        ]
        records.append(_cell(python, "scipy", "1.15.0", Status.FAILED if python == "3.12" else Status.PASSED))
    return records


def test_propose_round_trips_the_default_manifest_apart_from_the_changed_versions() -> None:
    path = ROOT / "distribution.yaml"
    original = path.read_text()
    culprit = Result(
        PyVersion("3.12"),
        SuiteName("pandas-matplotlib"),
        CellId("c"),
        Status.FAILED,
        Status.PASSED,
        Category.REGRESSED,
        PinList.from_list(["matplotlib==3.10.0"]),
    )
    proposal = propose(load(path), original, _night((culprit,)), _records())
    changed = [
        line
        for line in difflib.unified_diff(original.splitlines(), proposal.text.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        '-  exclude_newer: "2026-11-01"     # resolve as of this date: reruns see the same index',
        '+  exclude_newer: "2026-11-24T03:00:00Z" # resolve as of this date: reruns see the same index',
        '-    versions: ["1.26.4", "2.1.3"]',
        '+    versions: ["1.26.4", "2.1.3", "2.2.0"]',
        '-    versions: ["2.1.1", "2.2.3"]  # 2.1.1 predates NumPy 2 and declares no upper bound',
        '-    blessed: "2.2.3"',
        '+    versions: ["2.1.1", "2.2.3", "2.3.0"] # 2.1.1 predates NumPy 2 and declares no upper bound',
        '+    blessed: "2.3.0"',
    ]
    assert [(m.package, str(m.old), str(m.new)) for m in proposal.moves] == [
        ("numpy", "2.1.3", "2.2.0"),
        ("pandas", "2.2.3", "2.3.0"),
    ]
    assert [(h.package, h.why) for h in proposal.held] == [
        ("matplotlib", "culprit of pandas-matplotlib on Python 3.12"),
        ("scipy", "alone on the blessed set, Python 3.12 (py3.12-scipy@1.15.0): pandas-numpy failed"),
    ]
    updated = parse(proposal.text.encode(), path)  # what it wrote is a valid manifest that blesses the moves
    assert str(updated.package("pandas").blessed) == "2.3.0" and str(updated.package("numpy").blessed) == "2.2.0"
    assert updated.index.exclude_newer == "2026-11-24T03:00:00Z"
    summary = proposal.summary
    assert "| numpy | 2.1.3 | **2.2.0** |" in summary and "| scipy | 1.15.0 |" in summary
    assert "`index.exclude_newer` moves from `2026-11-01` to `2026-11-24T03:00:00Z`" in summary
    assert "curator run" in summary  # some are held back: the moves were not tested together exactly so


def test_a_regression_without_a_culprit_holds_everything_back() -> None:
    path = ROOT / "distribution.yaml"
    unexplained = Result(
        PyVersion("3.11"), SuiteName("scipy-numpy"), CellId("c"), Status.FAILED, Status.PASSED, Category.REGRESSED
    )
    proposal = propose(load(path), path.read_text(), _night((unexplained,)), _records())
    assert proposal.moves == ()
    assert proposal.text == path.read_text()
    assert all("no culprit was named" in h.why for h in proposal.held)
    assert "Nothing moves" in proposal.summary


def test_a_release_whose_upgrade_cell_ran_no_test_is_held_back() -> None:
    """A skip is no evidence: numpy's upgrade cell where pandas-numpy skipped everything does not bless
    2.2.0; pandas's, where every suite skipped as the policy expects, is no evidence either."""
    path = ROOT / "distribution.yaml"
    records = [r for r in _records() if "scipy" not in r.cell_id]
    records = [_cell(r.python, "numpy", "2.2.0", Status.SKIPPED) if "numpy@" in r.cell_id else r for r in records]
    expected = SuiteOutcome(SuiteName("pandas-numpy"), Status.SKIPPED, Status.SKIPPED, rule="suites pandas-numpy: r")
    for index, record in enumerate(records):
        if "pandas@" in record.cell_id:
            suites = (expected, SuiteOutcome(SuiteName("scipy-numpy"), Status.SKIPPED, Status.SKIPPED, rule="x: r"))
            records[index] = replace(record, outcome=replace(record.outcome, suites=suites))
    proposal = propose(load(path), path.read_text(), _night(), records)
    assert [m.package for m in proposal.moves] == ["matplotlib"]
    held = {str(h.package): h.why for h in proposal.held}
    assert held["numpy"] == "alone on the blessed set, Python 3.11 (py3.11-numpy@2.2.0): pandas-numpy skipped"
    assert held["pandas"].endswith("no test ran, which is no evidence")


def test_quotes_and_block_lists_stay_as_written(tmp_path: Path) -> None:
    """Single quotes stay single; a block list grows a block item; a candidate newer than the release stays."""
    text = (
        'distribution: d\nversion: "1"\npython: ["3.12"]\npackages:\n'
        "  attrs:\n    versions: ['23.2.0', '25.1.0']\n    blessed: '23.2.0'\n"
        '  six:\n    - "1.16.0"\n'
    )
    path = tmp_path / "distribution.yaml"
    path.write_text(text)
    newest = {PyVersion("3.12"): {"attrs": "24.2.0", "six": "1.17.0"}}
    night = Night(
        RunId("r"), "d", "1", "t", ComparedTo(None, None), newest[PyVersion("3.12")], newest, {}, Verdict.PASSED, ()
    )
    records = [_cell(PyVersion("3.12"), "attrs", "24.2.0"), _cell(PyVersion("3.12"), "six", "1.17.0")]
    proposal = propose(load(path), text, night, records)
    assert proposal.text == text.replace("'25.1.0']", "'25.1.0', '24.2.0']").replace(
        "blessed: '23.2.0'", "blessed: '24.2.0'"
    ).replace('    - "1.16.0"\n', '    - "1.16.0"\n    - "1.17.0"\n')


def test_the_pull_request_text_shows_what_suites_printed_as_text() -> None:
    from curator.model.markup import one_line
    from tests.rendered import kinds, raw_html, tables, texts
    from tests.unit.test_markup import HOSTILE

    path = ROOT / "distribution.yaml"
    spurious = Result(
        PyVersion("3.11"),
        SuiteName("pandas-numpy"),
        CellId("c"),
        Status.INSTALL_ERROR,
        Status.PASSED,
        Category.SPURIOUS,
        reason=HOSTILE,
    )
    culprit = Result(
        PyVersion("3.12"),
        SuiteName("pandas-matplotlib"),
        CellId("c"),
        Status.FAILED,
        Status.PASSED,
        Category.REGRESSED,
        PinList.from_list(["matplotlib==3.10.0"]),
        signature=HOSTILE,
    )
    summary = propose(load(path), path.read_text(), _night((spurious, culprit)), _records()).summary
    assert raw_html(summary) == ["<br>"] * 2  # the evidence's own line breaks (two Pythons), nothing printed
    assert not kinds(summary) & {"image", "link_open", "em_open", "s_open"}
    assert all(len(row) == len(table[0]) for table in tables(summary) for row in table)
    assert f"spurious: pandas-numpy on Python 3.11 — {one_line(HOSTILE)}" in texts(summary)
