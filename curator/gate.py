"""The release gate, defined once: does a run's evidence allow a release?

It holds when the run finished and, for every Python of the manifest, the baseline cell (every
package blessed: the release as it would ship) ended each suite `passed` or `expected-fail`, or
`skipped` where a `policy.expected_skips` rule expects it (`flaky` is not a pass, and a suite in
which no test ran is no evidence). A run of some Pythons only (`--python`) cannot gate a release,
and says so. `curator run` prints this gate; `curator release` applies it, plus its own checks
that the evidence still describes the manifest and files being released (`release/gate.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from curator.ids import CellId, PyVersion
from curator.outcome import Status, SuiteOutcome, gates
from curator.store import CellRecord


@dataclass(frozen=True)
class Gate:
    """The gate's judgement of a run, with every reason it does not hold."""

    baseline: dict[PyVersion, CellRecord]  # the baseline cell of each Python that has one
    failing: tuple[CellId, ...]  # baseline cells with a suite that neither passed nor failed (or skipped) as expected
    missing: tuple[PyVersion, ...]  # Pythons of the manifest with no baseline cell in the run
    unfinished: bool  # the run did not finish (interrupted, or still running)

    @property
    def holds(self) -> bool:
        """Whether the run may be released."""
        return not (self.failing or self.missing or self.unfinished)

    def problems(self, run_id: str) -> list[str]:
        """One phrase per reason the gate does not hold."""
        found = []
        if self.unfinished:
            found.append(f"run {run_id} did not finish (finish it with `curator run --resume {run_id}`)")
        for python in self.missing:
            found.append(f"py{python}: no baseline cell in run {run_id} (run every Python of the manifest to gate)")
        for cell_id in self.failing:
            record = next(r for r in self.baseline.values() if r.cell_id == cell_id)
            bad = ", ".join(_why(s) for s in record.outcome.suites if not gates(s))
            found.append(f"{cell_id} ({bad or 'no suites'})")
        return found


def _why(suite: SuiteOutcome) -> str:
    """`app failed`; a skip says why it does not count and how to expect it."""
    if suite.status is not Status.SKIPPED:
        return f"{suite.suite} {suite.status}"
    return (
        f"{suite.suite} skipped: no test ran, which is no evidence; if that is intended, "
        f"add a policy.expected_skips rule for suite {suite.suite}"
    )


def evaluate(records: Sequence[CellRecord], pythons: Sequence[PyVersion], *, finished: bool) -> Gate:
    """The gate over a run's recorded cells, for the manifest's Pythons."""
    baseline = {r.python: r for r in records if r.baseline}
    failing = tuple(
        record.cell_id
        for python in pythons
        if (record := baseline.get(python)) is not None
        if not record.outcome.suites or not all(gates(s) for s in record.outcome.suites)
    )
    missing = tuple(python for python in pythons if python not in baseline)
    return Gate(
        baseline={p: baseline[p] for p in pythons if p in baseline},
        failing=failing,
        missing=missing,
        unfinished=not finished,
    )
