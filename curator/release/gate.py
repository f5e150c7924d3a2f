"""The release gate: a run may be released only if every baseline cell passed or failed as expected.

The evidence comes from the results store, never from a run folder a person could edit: the
baseline cell of every Python of the manifest, each suite `passed` or `expected-fail`
(`flaky` is not a pass), in a run that finished and that ran this very manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from curator.errors import GateNotMet, UsageError
from curator.manifest import Distribution
from curator.outcome import GATE_STATUSES, Status
from curator.results import read_run_json
from curator.store import CellRecord, RunRecord, Store


@dataclass(frozen=True)
class CellEvidence:
    """One recorded cell of the gating run: what it changed and how each suite ended."""

    cell_id: str
    python: str
    baseline: bool
    changes: tuple[tuple[str, str], ...]  # (package, version) that differ from blessed
    statuses: tuple[tuple[str, str], ...]  # (suite, status)

    @property
    def holds(self) -> bool:
        """Every suite passed or failed as expected."""
        return all(Status(status) in GATE_STATUSES for _, status in self.statuses)

    def describe(self) -> str:
        """`sides passed, legacy expected-fail`."""
        return ", ".join(f"{suite} {status}" for suite, status in self.statuses) or "no suites"


@dataclass(frozen=True)
class Evidence:
    """The gating run: its record, its folder and its cells (baseline first)."""

    run: RunRecord
    run_dir: Path
    baseline: dict[str, CellEvidence]  # python → its baseline cell
    cells: tuple[CellEvidence, ...]

    def lock_path(self, python: str) -> Path:
        """The run's lock of the baseline cell of `python`."""
        return self.run_dir / "locks" / f"{self.baseline[python].cell_id}.txt"


def find_run(store: Store, ref: str) -> tuple[RunRecord, Path]:
    """A run named by its folder (holding run.json) or by its id (or a unique prefix) in `store`."""
    folder = Path(ref)
    if folder.is_dir():
        return store.run(str(read_run_json(folder)["run_id"])), folder.resolve()
    record = store.run(ref)
    return record, Path(record.out_dir)


def check(store: Store, ref: str, distribution: Distribution) -> Evidence:
    """The evidence of run `ref` for releasing `distribution`; `GateNotMet` when it does not allow one."""
    record, run_dir = find_run(store, ref)
    if record.manifest_sha256 != distribution.sha256:
        raise UsageError(
            f"{distribution.path}: run {record.id} tested another manifest ({record.manifest_path}, "
            f"sha256 {record.manifest_sha256[:12]}…, this one is {distribution.sha256[:12]}…); "
            "release the manifest the run tested, or run this one first"
        )
    cells = tuple(_evidence(c) for c in store.cells(record.id))
    baseline = {c.python: c for c in cells if c.baseline}
    failing: list[str] = []
    if record.status != "finished":
        failing.append(f"run {record.id} is {record.status}, not finished (finish it with `curator run --resume`)")
    for python in distribution.python:
        cell = baseline.get(python)
        if cell is None:
            failing.append(f"py{python}: no baseline cell in run {record.id}")
        elif not cell.holds:
            bad = ", ".join(f"{s} {st}" for s, st in cell.statuses if Status(st) not in GATE_STATUSES)
            failing.append(f"{cell.cell_id} ({bad or 'no suites'})")
    if failing:
        raise GateNotMet(
            f"release gate does not hold for run {record.id}: {'; '.join(failing)} — "
            "every baseline cell must pass or fail as expected; nothing was written"
        )
    ordered = tuple(sorted(cells, key=lambda c: (not c.baseline, c.python, c.cell_id)))
    return Evidence(record, run_dir, {p: baseline[p] for p in distribution.python}, ordered)


def _evidence(record: CellRecord) -> CellEvidence:
    changes = tuple(sorted((str(n), str(v)) for n, v in json.loads(record.changes).items()))
    statuses = tuple((s.suite, str(s.status)) for s in record.outcome.suites)
    return CellEvidence(record.cell_id, record.python, record.baseline, changes, statuses)
