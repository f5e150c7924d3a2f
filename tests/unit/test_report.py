"""What the report says, from stored outcomes: findings, blockers, pass rates, pictures, escaping."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from curator import manifest
from curator.host.layout import RunLayout
from curator.model import codec
from curator.model.distribution import Strategy
from curator.model.ids import CellId, PyVersion, RunId, SuiteName
from curator.model.outcome import CellOutcome, Counts, RunKind, RunStatus, Status, SuiteOutcome, TestCase, Verdict
from curator.model.pins import Pins
from curator.plan.cells import Cell, Plan
from curator.report import charts
from curator.report.analysis import group_failures, policy_view, timing
from curator.report.blockers import Kind, holds_back
from curator.report.data import build
from curator.report.html import render_index, render_run
from curator.results.matrix import candidate_summary, matrix, pass_rate, suite_pass_rates
from curator.results.rows import GateSummary, RunSummary, result_rows, table_of
from curator.store.db import CellRecord, RunRecord, Store
from tests.conftest import WriteManifest

MANIFEST = """\
distribution: demo
version: "1.0"
python: ["3.12"]
packages:
  base: {versions: ["1.0", "2.0"], blessed: "1.0"}
  capped: ["1.0"]
  user: ["1.0", "1.1"]
  lib: {versions: ["3.0", "3.1"], blessed: "3.0"}
  solo: {versions: ["0.1", "0.2"], blessed: "0.1"}
suites:
  use:
    path: suites/use
    requires: [user, base]
  caps:
    path: suites/caps
    requires: [capped, base]
  libs:
    path: suites/libs
    requires: [lib]
policy:
  expected_failures:
    - when: {lib: ">=3.1"}
      reason: lib 3.1 drops the old reader
      owner: data-team
"""
ABI = "ImportError: numpy.core.multiarray failed to import"
CAPPED = "Because capped==1.0 depends on base<2 and you require base==2.0, we can conclude that it is unsatisfiable."


@pytest.fixture
def demo(write_manifest: WriteManifest) -> manifest.Distribution:
    path = write_manifest(MANIFEST, suites={"suites/use": "", "suites/caps": "", "suites/libs": ""})
    return manifest.load(path)


def _suite(name: str, status: Status, *, signature: str = "", reason: str = "", tail: str = "") -> SuiteOutcome:
    raw = Status.FAILED if status is Status.EXPECTED_FAIL else status
    cases: tuple[TestCase, ...] = ()
    if status is Status.FAILED:
        cases = (TestCase("test_mod", "test_it", "failed", 0.1, f"{signature}\nmore"),)
    rule = "lib>=3.1: lib 3.1 drops the old reader" if status is Status.EXPECTED_FAIL else ""
    return SuiteOutcome(
        SuiteName(name), status, raw, reason, signature, Counts.of(cases), 1.0, 1, f"logs/{name}.log", cases, rule, tail
    )


def _record(
    cell: str, changes: dict[str, str], suites: list[SuiteOutcome], *, duration: float = 5.0, reused: str = ""
) -> CellRecord:
    pins = {"base": "1.0", "capped": "1.0", "user": "1.1", "lib": "3.0", "solo": "0.1"} | changes
    outcome = CellOutcome(
        CellId(cell),
        tuple(suites),
        duration=duration,
        reused_from=reused or None,
        reproduce=f"nox -f run/noxfile.py -s {cell}",
    )
    return CellRecord(
        RunId("run-1"),
        CellId(cell),
        PyVersion("3.12"),
        "3.12.1 /usr/bin/python3.12",
        Pins(pins),
        Pins(changes),
        not changes,
        "k",
        outcome,
    )


def _records() -> list[CellRecord]:
    ok = Status.PASSED
    return [
        _record("py3.12-baseline", {}, [_suite("use", ok), _suite("caps", ok), _suite("libs", ok)]),
        _record(
            "py3.12-user@1.0",
            {"user": "1.0"},
            [_suite("use", Status.FAILED, signature=ABI, tail="E   " + ABI), _suite("caps", ok), _suite("libs", ok)],
            duration=9.0,
        ),
        _record(
            "py3.12-base@2.0",
            {"base": "2.0"},
            [_suite(s, Status.UNRESOLVABLE, signature="capped", reason=CAPPED) for s in ("use", "caps", "libs")],
            duration=0.0,
        ),
        _record(
            "py3.12-lib@3.1",
            {"lib": "3.1"},
            [_suite("use", ok), _suite("caps", ok), _suite("libs", Status.EXPECTED_FAIL, signature=ABI)],
            reused="run-0",
        ),
        _record("py3.12-solo@0.2", {"solo": "0.2"}, [_suite("use", ok), _suite("caps", ok), _suite("libs", ok)]),
    ]


def test_one_finding_per_signature_unexpected_first() -> None:
    findings = group_failures(_records())
    assert [f.signature for f in findings] == [ABI, "capped"]
    abi = findings[0]
    assert abi.unexpected  # user 1.0 failing is unexpected, even though lib 3.1's matching failure is expected
    assert abi.cells == ["py3.12-user@1.0", "py3.12-lib@3.1"]
    assert abi.statuses == [Status.FAILED, Status.EXPECTED_FAIL]
    assert abi.failing_tests == [("test_mod::test_it", ABI)]
    assert abi.excerpt.cell == "py3.12-user@1.0"  # the unexpected hit's log stands for the finding
    refused = findings[1]
    assert not refused.unexpected  # off the baseline, a refusal is a finding about metadata
    assert refused.common_changes == ["base==2.0"] and len(refused.hits) == 3


def test_blockers_name_the_constraint_the_failure_and_the_manifests_choice(demo: manifest.Distribution) -> None:
    held, blockers = holds_back(_records(), demo)
    by_name = {h.package: h for h in held}
    assert set(by_name) == {"base", "lib", "solo"}  # user ships its newest, which passes
    assert by_name["base"].explanation.startswith("base stays at 1.0 because 2.0 is refused by the resolver")
    assert by_name["base"].blockers == ((Kind.CONSTRAINT, "capped"),)
    assert by_name["lib"].blockers == ((Kind.FAILURE, ABI),)
    assert "expected-fail in py3.12-lib@3.1 (libs)" in by_name["lib"].explanation
    assert by_name["solo"].blockers[0][0] is Kind.CHOICE
    assert "consider blessing 0.2" in by_name["solo"].explanation
    assert [b.kind for b in blockers] == [Kind.CONSTRAINT, Kind.FAILURE, Kind.CHOICE]


def test_blockers_are_ranked_by_how_many_packages_they_hold(demo: manifest.Distribution) -> None:
    records = _records()
    # solo 0.2 now also breaks with the ABI signature: that blocker holds two packages
    records[-1] = _record(
        "py3.12-solo@0.2", {"solo": "0.2"}, [_suite(s, Status.FAILED, signature=ABI) for s in ("use", "caps", "libs")]
    )
    _, blockers = holds_back(records, demo)
    assert (blockers[0].kind, blockers[0].name, blockers[0].packages) == (Kind.FAILURE, ABI, ("lib", "solo"))


def test_a_newest_blessed_candidate_that_fails_is_reported(demo: manifest.Distribution) -> None:
    records = _records()
    records[0] = _record("py3.12-baseline", {}, [_suite("use", Status.PASSED), _suite("caps", Status.CRASHED)])
    held, _ = holds_back(records, demo)
    capped = next(h for h in held if h.package == "capped")
    assert capped.at_newest and capped.explanation.startswith("capped ships its newest, 1.0, but it fails")


def test_pass_rates_leave_out_what_never_ran(tmp_path: Path) -> None:
    assert pass_rate({"passed": 3, "failed": 1, "unresolvable": 4}) == 0.75
    assert pass_rate({"unresolvable": 2}) is None
    with _store(tmp_path, _records()) as store:
        table = table_of(result_rows(store.cells(RunId("run-1")), RunLayout(tmp_path)))
    rates = suite_pass_rates(table).set_index("suite")
    assert rates.loc["use", "pass_rate"] == 3 / 4  # one failure; the unresolvable cell does not count
    assert rates.loc["libs", "expected-fail"] == 1
    assert list(rates.index) == ["libs", "use", "caps"]  # worst first (caps passed everywhere it ran)


def test_a_suite_in_which_no_test_ran_is_no_pass_anywhere(demo: manifest.Distribution, tmp_path: Path) -> None:
    """`skipped` in the matrices, the pass rates, the findings and what holds a package back: never a pass."""
    skip = "no test ran: every test was skipped (1): could not import 'cupy'"
    records = _records()
    # solo 0.2's suites ran no test: nothing shows it works
    records[-1] = _record(
        "py3.12-solo@0.2", {"solo": "0.2"}, [_suite(s, Status.SKIPPED, signature=skip) for s in ("use", "caps", "libs")]
    )
    # and in the baseline, the libs suite ran no test either
    records[0] = _record(
        "py3.12-baseline",
        {},
        [_suite("use", Status.PASSED), _suite("caps", Status.PASSED), _suite("libs", Status.SKIPPED)],
    )
    held, _ = holds_back(records, demo)
    solo = next(h for h in held if h.package == "solo")
    assert solo.blockers == ((Kind.UNTESTED, "solo 0.2 untested"),)
    assert "consider blessing" not in solo.explanation and "was not tested in this run" in solo.explanation
    with _store(tmp_path, records) as store:
        table = table_of(result_rows(store.cells(RunId("run-1")), RunLayout(tmp_path)))
    square = matrix(table, "3.12", "lib", "solo", demo)
    assert square.loc["3.0", "0.2"] == "skipped"  # not a pass
    assert square.loc["3.0", "0.1"] == "skipped"  # the baseline's libs ran no test: the worst behind the square
    assert pass_rate({"passed": 1, "skipped": 3}) == 1.0  # a skip did not run: it is left out, never a pass
    assert pass_rate({"skipped": 3}) is None
    findings = {f.signature or f.statuses[0]: f for f in group_failures(records)}
    assert findings[skip].cells == ["py3.12-solo@0.2"] and not findings[skip].unexpected  # a gap, shown
    baseline = next(f for f in findings.values() if "py3.12-baseline" in f.cells)
    assert baseline.unexpected  # the release would ship libs untested


def test_a_skip_the_policy_expects_is_no_finding_and_its_rule_is_shown(write_manifest: WriteManifest) -> None:
    text = MANIFEST + "  expected_skips:\n    - suites: [libs]\n      reason: the reader needs a GPU\n"
    demo = manifest.load(write_manifest(text, suites={"suites/use": "", "suites/caps": "", "suites/libs": ""}))
    expected = SuiteOutcome(
        SuiteName("libs"), Status.SKIPPED, Status.SKIPPED, "no test ran — expected skip: the reader needs a GPU",
        rule="suites libs: the reader needs a GPU",
    )  # fmt: skip
    records = _records()
    records[0] = _record("py3.12-baseline", {}, [_suite("use", Status.PASSED), expected])
    assert all("py3.12-baseline" not in f.cells for f in group_failures(records))
    failure_rule, skip_rule = policy_view(records, demo.policy, dt.date(2026, 1, 1))
    assert (failure_rule.kind, skip_rule.kind) == ("expected failure", "expected skip")
    assert skip_rule.condition == "suites libs" and skip_rule.excused == (("py3.12-baseline", "libs"),)


def test_candidate_summary_shows_each_candidate_on_each_python(demo: manifest.Distribution, tmp_path: Path) -> None:
    with _store(tmp_path, _records()) as store:
        table = table_of(result_rows(store.cells(RunId("run-1")), RunLayout(tmp_path)))
    summary = candidate_summary(table, demo)
    assert summary.loc[("user", "1.0"), "3.12"] == "failed"  # its own upgrade cell, the suites that need it
    assert summary.loc[("user", "1.1"), "3.12"] == "passed"
    assert summary.loc[("base", "2.0"), "3.12"] == "unresolvable"
    assert summary.loc[("lib", "3.1"), "3.12"] == "expected-fail"


def test_policy_and_timing(demo: manifest.Distribution) -> None:
    (rule,) = policy_view(_records(), demo.policy, dt.date(2026, 1, 1))
    assert rule.kind == "expected failure"
    assert rule.excused == (("py3.12-lib@3.1", "libs"),) and rule.owner == "data-team" and not rule.expired
    spent = timing(_records(), 30.0, slowest=2)
    assert [cell for cell, _, _ in spent.slowest] == ["py3.12-user@1.0", "py3.12-baseline"]
    assert (spent.ran, spent.reused, dict(spent.reused_from)) == (4, 1, {"run-0": 1})


def test_heatmap_marks_every_square_with_its_letter_and_draws_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    matrix = pd.DataFrame(
        [["passed", "failed"], ["", "crashed"]],
        index=pd.Index(["1.0", "1.1"], name="user"),
        columns=pd.Index(["1.0", "2.0"], name="base"),
    )
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path / "first"))
    svg = charts.status_heatmap(matrix, title="user × base", salt="t")
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path / "second"))  # drawn again, not read back
    assert svg == charts.status_heatmap(matrix, title="user × base", salt="t")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert texts.count("P") == 1 and texts.count("F") == 1 and texts.count("C") == 1 and "·" in texts
    assert {"P  passed", "F  failed", "C  crashed", "·  not tested"} <= set(texts)  # the legend, letter and name


def test_a_picture_of_unchanged_data_is_drawn_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pictures are kept in curator's cache by their data: a report of a quiet rerun draws nothing."""
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path))
    drawn: list[str] = []

    def draw() -> str:
        drawn.append("once more")
        return "<svg/>"

    assert charts.memo("heatmap", {"numpy": "passed"}, draw) == "<svg/>"
    assert charts.memo("heatmap", {"numpy": "passed"}, draw) == "<svg/>"
    assert len(drawn) == 1
    charts.memo("heatmap", {"numpy": "failed"}, draw)
    assert len(drawn) == 2


def test_a_large_heatmap_keeps_its_squares_the_size_of_a_small_ones() -> None:
    def width_of_a_square(n: int) -> float:
        statuses = list(Status)
        values = [[str(statuses[(i + j) % len(statuses)]) for j in range(n)] for i in range(n)]
        matrix = pd.DataFrame(values, index=[f"1.{i}" for i in range(n)], columns=[f"2.{j}" for j in range(n)])
        svg = charts.status_heatmap(matrix, title="t", salt=f"s{n}")
        # a square: a path filled with a status colour and edged in white
        squares = re.findall(
            r'<path d="M (\S+) \S+ \nL (\S+) [^"]*"[^>]*style="fill: #[0-9a-f]{6}; stroke: #ffffff', svg
        )
        assert len(squares) == n * n
        return max(float(b) - float(a) for a, b in squares)

    assert width_of_a_square(15) == pytest.approx(width_of_a_square(2), rel=0.01)


@pytest.fixture
def hostile_store(tmp_path: Path) -> Iterator[Store]:
    hostile = "<script>alert(1)</script>\n<img src=x onerror=alert(1)>"
    records = _records()
    records[1] = _record(
        "py3.12-user@1.0",
        {"user": "1.0"},
        [_suite("use", Status.FAILED, signature="AssertionError: <b>bold</b>", tail=hostile)],
    )
    with _store(tmp_path / "reports", records) as store:
        yield store


def test_run_report_escapes_what_tests_print(hostile_store: Store, demo: manifest.Distribution, tmp_path: Path) -> None:
    path = render_run(build(hostile_store, "run-1", demo, today=dt.date(2026, 1, 1)))
    assert path == tmp_path / "reports" / "run-1" / "index.html"
    html = path.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "base stays at 1.0 because 2.0 is refused by the resolver" in html
    index = render_index(hostile_store).read_text()
    assert 'href="run-1/index.html"' in index and "demo 1.0" in index


def _planned(record: CellRecord) -> Cell:
    suites = tuple(s.suite for s in record.outcome.suites)
    return Cell(record.cell_id, record.python, record.pins, record.changes, suites, record.plan_key)


def _store(folder: Path, records: list[CellRecord]) -> Store:
    store = Store(folder / "curator.sqlite")
    store.create_run(
        RunRecord(
            id=RunId("run-1"),
            kind=RunKind.RUN,
            distribution="demo",
            version="1.0",
            manifest_path=str(folder / "distribution.yaml"),
            manifest_sha256="0" * 64,
            strategy=Strategy.UPGRADES,
            pythons=(PyVersion("3.12"),),
            out_dir=str(folder / "run-1"),
            started=1_700_000_000.0,
            status=RunStatus.RUNNING,
            plan=codec.dumps(Plan(Strategy.UPGRADES, tuple(_planned(r) for r in records))),
        )
    )
    for record in records:
        store.record_cell(record)
    store.finish_run(
        RunId("run-1"),
        status=RunStatus.FINISHED,
        verdict=Verdict.FAILED,
        summary=codec.dumps(
            RunSummary(
                RunId("run-1"),
                Verdict.FAILED,
                {"passed": 1},
                len(records),
                len(records),
                0,
                (),
                (),
                GateSummary(holds=False, failing_baseline_cells=(), missing_pythons=(), problems=()),
            )
        ),
        finished=1_700_000_100.0,
    )
    return store


# Flask 2.2.3 broke on Werkzeug 3 (2023): the cause is both packages, one of them a range.
WEB = """\
distribution: web
version: "1.0"
python: ["3.12"]
packages:
  flask: {versions: ["2.2.3", "3.0.0"], blessed: "3.0.0"}
  werkzeug: {versions: ["2.3.8", "3.0.1", "3.1.0"], blessed: "3.0.1"}
suites:
  web:
    path: suites/web
    requires: [flask, werkzeug]
"""
URL_QUOTE = "ImportError: cannot import name 'url_quote' from 'werkzeug.urls'"


def _web_record(flask: str, werkzeug: str, status: Status, cell: str = "") -> CellRecord:
    blessed = {"flask": "3.0.0", "werkzeug": "3.0.1"}
    pins = {"flask": flask, "werkzeug": werkzeug}
    changes = {n: v for n, v in pins.items() if v != blessed[n]}
    cell = cell or "py3.12-" + ("-".join(f"{n}@{v}" for n, v in changes.items()) or "baseline")
    signature = URL_QUOTE if status is Status.FAILED else ""
    outcome = CellOutcome(CellId(cell), (_suite("web", status, signature=signature),), reproduce=f"nox -s {cell}")
    return CellRecord(
        RunId("run-1"), CellId(cell), PyVersion("3.12"), "3.12.1 /usr/bin/python3.12",
        Pins(pins), Pins(changes), not changes, "k", outcome,
    )  # fmt: skip


def _web_records() -> list[CellRecord]:
    ok, bad = Status.PASSED, Status.FAILED
    return [
        _web_record("3.0.0", "3.0.1", ok),
        _web_record("2.2.3", "2.3.8", ok),
        _web_record("2.2.3", "3.0.1", bad),
        _web_record("2.2.3", "3.1.0", bad),
        _web_record("3.0.0", "2.3.8", ok),
        _web_record("3.0.0", "3.1.0", ok),
    ]


def test_a_findings_cause_names_every_package_of_it_and_what_the_passing_cells_lack() -> None:
    (finding,) = group_failures(_web_records(), ["flask", "werkzeug"])
    # not "2 cells, each with flask==2.2.3": werkzeug 2.3.8 works with that flask
    assert finding.cause == ("flask==2.2.3", "werkzeug>=3.0.1") and finding.separates
    assert finding.common_changes == ["flask==2.2.3", "werkzeug>=3.0.1"]


def test_a_cause_that_nothing_separates_falls_back_to_the_common_changes() -> None:
    records = _web_records()
    # the same pins passed in another cell (another run's outcome, reused; a test that depends on the time)
    records.append(_web_record("2.2.3", "3.1.0", Status.PASSED, cell="py3.12-elsewhere"))
    (finding,) = group_failures(records)
    assert finding.cause == ("flask==2.2.3",) and not finding.separates  # common to the failing cells, nothing more


def test_a_newest_candidate_that_failed_beside_an_old_neighbour_is_not_said_to_pass_everywhere(
    write_manifest: WriteManifest,
) -> None:
    web = manifest.load(write_manifest(WEB, suites={"suites/web": ""}))
    held, _ = holds_back(_web_records(), web)
    (werkzeug,) = [h for h in held if h.package == "werkzeug"]
    assert "in every cell" not in werkzeug.explanation
    assert werkzeug.explanation.startswith(
        "werkzeug 3.1.0 passed its suites (web) in its upgrade cell py3.12-werkzeug@3.1.0, where everything else is "
        f"blessed; it failed beside flask 2.2.3 in py3.12-flask@2.2.3-werkzeug@3.1.0 (web): {URL_QUOTE}. "
        "distribution.yaml blesses 3.0.1: as the rest ships, nothing in the evidence holds it back"
    )
    assert {e.cell for e in werkzeug.evidence} == {"py3.12-werkzeug@3.1.0", "py3.12-flask@2.2.3-werkzeug@3.1.0"}
    # with no failure beside it, "every cell that holds it" is what the evidence says
    passing = [r for r in _web_records() if r.cell_id != "py3.12-flask@2.2.3-werkzeug@3.1.0"]
    (again,) = [h for h in holds_back(passing, web)[0] if h.package == "werkzeug"]
    assert again.explanation.startswith("werkzeug 3.1.0 passed its suites (web) in every cell that holds it (1 cell)")


def test_a_square_shows_the_pairs_own_verdict_over_a_refusal_caused_by_other_packages() -> None:
    def row(pins: dict[str, str], changes: dict[str, str], status: Status) -> dict[str, object]:
        return {"python": "3.12", "suite": "pair", "status": status, "pins": Pins(pins), "changes": Pins(changes)}

    pair = {"tmpl": "2.0", "esc": "1.0"}
    refused = row({**pair, "web": "2.0"}, pair, Status.UNRESOLVABLE)  # the full cell: web needs tmpl >= 3
    split = row(pair, pair, Status.PASSED)  # the same pair, alone
    only_refused = pd.DataFrame([refused])
    assert matrix(only_refused, "3.12", "tmpl", "esc").loc["2.0", "1.0"] == "unresolvable"
    both = pd.DataFrame([refused, split])
    assert matrix(both, "3.12", "tmpl", "esc").loc["2.0", "1.0"] == "passed"
    failing = pd.DataFrame([refused, split, row(pair, pair, Status.FAILED)])
    assert matrix(failing, "3.12", "tmpl", "esc").loc["2.0", "1.0"] == "failed"  # the worst of what ran


def test_templates_compiled_by_an_earlier_report_render_the_same_page(
    hostile_store: Store, demo: manifest.Distribution, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curator.report import html

    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path / "cache"))
    data = build(hostile_store, "run-1", demo, today=dt.date(2026, 1, 1))
    first = render_run(data).read_text()
    compiled = list((tmp_path / "cache" / "templates").rglob("*.cache"))
    assert len(compiled) >= 2  # the page's templates and what they include, kept for the next run
    html._environment_in.cache_clear()  # as a new process: the templates come from the cache
    assert render_run(data).read_text() == first


def test_a_cache_that_cannot_be_written_costs_only_a_compile(
    hostile_store: Store, demo: manifest.Distribution, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(blocked))
    page = render_run(build(hostile_store, "run-1", demo, today=dt.date(2026, 1, 1))).read_text()
    assert "base stays at 1.0 because 2.0 is refused by the resolver" in page
