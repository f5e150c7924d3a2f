"""The release gate (`curator.results.gate`): what a run's baseline cells must show before anything ships."""

from __future__ import annotations

import datetime as dt

from curator.model.distribution import ExpectedSkip, Policy
from curator.model.ids import CellId, PyVersion, RunId, SuiteName
from curator.model.outcome import CellOutcome, Status, SuiteOutcome, judge
from curator.model.pins import Pins
from curator.results.gate import evaluate
from curator.store.db import CellRecord

PY311, PY312 = PyVersion("3.11"), PyVersion("3.12")
PYTHONS = (PY311, PY312)
RUN = "20261124-030001-4f2a"


def _suite(name: str, status: Status, raw: Status | None = None) -> SuiteOutcome:
    return SuiteOutcome(SuiteName(name), status, raw or status, reason=f"{name} {status}")


def _cell(python: PyVersion, *suites: SuiteOutcome, baseline: bool = True, cell: str = "baseline") -> CellRecord:
    cell_id = CellId(f"py{python}-{cell}")
    return CellRecord(
        RunId(RUN), cell_id, python, f"{python}.1 /py", Pins(), Pins(), baseline, "key", CellOutcome(cell_id, suites)
    )


def _passing(python: PyVersion) -> CellRecord:
    return _cell(python, _suite("app", Status.PASSED), _suite("legacy", Status.EXPECTED_FAIL, Status.FAILED))


def test_every_python_passing_or_failing_as_expected_holds() -> None:
    gate = evaluate([_passing(PY311), _passing(PY312)], PYTHONS, finished=True)
    assert gate.holds
    assert gate.problems(RUN) == []
    assert set(gate.baseline) == set(PYTHONS)


def test_a_flaky_baseline_is_not_a_pass() -> None:
    flaky = _cell(PY312, _suite("app", Status.FLAKY))
    gate = evaluate([_passing(PY311), flaky], PYTHONS, finished=True)
    assert not gate.holds
    assert gate.failing == (CellId("py3.12-baseline"),)
    assert gate.problems(RUN) == ["py3.12-baseline (app flaky)"]


def test_a_python_without_a_baseline_cell_cannot_gate() -> None:
    """A run of some Pythons only (`--python 3.11`), or one whose 3.12 baseline was never recorded."""
    upgrade = _cell(PY312, _suite("app", Status.PASSED), baseline=False, cell="cfx-lib@1.1")
    gate = evaluate([_passing(PY311), upgrade], PYTHONS, finished=True)
    assert not gate.holds
    assert gate.missing == (PY312,) and gate.failing == ()
    assert gate.problems(RUN) == [f"py3.12: no baseline cell in run {RUN} (run every Python of the manifest to gate)"]


def test_an_unfinished_run_cannot_gate_even_when_its_cells_pass() -> None:
    gate = evaluate([_passing(PY311), _passing(PY312)], PYTHONS, finished=False)
    assert not gate.holds
    assert gate.unfinished and not gate.failing and not gate.missing
    assert gate.problems(RUN) == [f"run {RUN} did not finish (finish it with `curator run --resume {RUN}`)"]


def test_a_baseline_with_no_suites_is_no_evidence() -> None:
    empty = _cell(PY312)
    gate = evaluate([_passing(PY311), empty], PYTHONS, finished=True)
    assert not gate.holds
    assert gate.problems(RUN) == ["py3.12-baseline (no suites)"]


def test_every_failing_status_of_a_baseline_suite_keeps_the_gate_shut() -> None:
    for status in Status:
        if status in (Status.PASSED, Status.EXPECTED_FAIL):
            continue
        gate = evaluate([_passing(PY311), _cell(PY312, _suite("app", status))], PYTHONS, finished=True)
        assert not gate.holds, status
        assert gate.failing == (CellId("py3.12-baseline"),), status


def test_only_baseline_cells_decide() -> None:
    """A failing exploratory cell is a finding of the run, not a reason to refuse the release."""
    broken = _cell(PY312, _suite("app", Status.FAILED), baseline=False, cell="cfx-lib@1.1")
    assert evaluate([_passing(PY311), _passing(PY312), broken], PYTHONS, finished=True).holds


# --------------------------------------------------------------------- a suite in which no test ran

GPU_RULE = ExpectedSkip(when=(), reason="no GPU on the CI machines", suites=frozenset({"gpu"}), line=31)


def _judged(python: PyVersion, suite: str, raw: Status, policy: Policy) -> SuiteOutcome:
    """A suite's raw outcome judged by the policy, as `curator run` records it."""
    outcome = SuiteOutcome(SuiteName(suite), raw, raw, reason="no test ran: every test was skipped (2)")
    return judge(
        outcome, python=python, pins=Pins(), suite_requires=frozenset(), policy=policy, today=dt.date(2026, 11, 24)
    )


def test_a_skipped_baseline_suite_is_no_evidence_and_is_named() -> None:
    policy = Policy()
    skipped = _cell(PY312, _suite("app", Status.PASSED), _judged(PY312, "gpu", Status.SKIPPED, policy))
    gate = evaluate([_passing(PY311), skipped], PYTHONS, finished=True)
    assert not gate.holds
    assert gate.failing == (CellId("py3.12-baseline"),)
    (problem,) = gate.problems(RUN)
    assert problem.startswith("py3.12-baseline (gpu skipped: no test ran, which is no evidence")
    assert "add a policy.expected_skips rule for suite gpu" in problem
    assert "app" not in problem  # the suite that passed is not named


def test_a_skip_the_policy_expects_lets_the_gate_hold() -> None:
    policy = Policy(expected_skips=(GPU_RULE,))
    skipped = _cell(PY312, _suite("app", Status.PASSED), _judged(PY312, "gpu", Status.SKIPPED, policy))
    assert evaluate([_passing(PY311), skipped], PYTHONS, finished=True).holds
    # the rule names `gpu` only: another suite in which no test ran still keeps the gate shut
    other = _cell(PY312, _suite("app", Status.PASSED), _judged(PY312, "plots", Status.SKIPPED, policy))
    assert not evaluate([_passing(PY311), other], PYTHONS, finished=True).holds
    # and it never excuses a failure of the suite it names
    failed = _cell(PY312, _judged(PY312, "gpu", Status.FAILED, policy))
    assert not evaluate([_passing(PY311), failed], PYTHONS, finished=True).holds
