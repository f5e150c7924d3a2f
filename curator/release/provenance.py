"""May this run be released, and is its evidence still about what is being released?

The gate itself is `curator.results.gate` (the same judgement `curator run` prints). A release adds
checks of provenance, all against the results store, never against a run folder a person could
edit: the run tested this very manifest; each baseline cell's inputs (suite files, test
commands, how suites are run) still hash to the key recorded; and the lock shipped is the one
the store holds, byte for byte in content. With platforms, every platform's baseline cell is
checked so: its lock is shipped too, tested there or not (`gate` decides what each must show).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curator.host.layout import RunLayout
from curator.model.distribution import Distribution
from curator.model.errors import GateNotMet, UsageError
from curator.model.ids import Platform, PyVersion
from curator.model.outcome import RunStatus
from curator.model.pins import Pins
from curator.plan.cells import KeyInputs, plan_key
from curator.report.locate import folder_run
from curator.resolve.lock import Lock, parse_requirements
from curator.results.gate import Gate, PlatformState, evaluate
from curator.results.rows import read_run_json, vouched_lock
from curator.store.db import CellRecord, RunRecord, Store


@dataclass(frozen=True)
class CellEvidence:
    """One recorded cell of the gating run: what it changed and how each suite ended."""

    cell_id: str
    python: str
    baseline: bool
    changes: Pins
    statuses: tuple[tuple[str, str], ...]  # (suite, status)

    def describe(self) -> str:
        """`sides passed, legacy expected-fail`."""
        return ", ".join(f"{suite} {status}" for suite, status in self.statuses) or "no suites"


@dataclass(frozen=True)
class Evidence:
    """The gating run: its record, its folder, its cells (baseline first) and the locks it vouches for."""

    run: RunRecord
    layout: RunLayout
    gate: Gate
    baseline: dict[PyVersion, CellEvidence]  # python → its baseline cell
    cells: tuple[CellEvidence, ...]
    locks: dict[PyVersion, Lock]  # python → the baseline cell's lock, as the store holds it
    platforms: tuple[PlatformState, ...] = ()  # each platform of the manifest (none: it names none)
    platform_locks: dict[tuple[PyVersion, Platform], Lock] = field(default_factory=dict)  # every platform's
    platform_baseline: dict[tuple[PyVersion, Platform], CellEvidence] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        """The run folder."""
        return self.layout.root


def find_run(store: Store, ref: str) -> tuple[RunRecord, RunLayout]:
    """A run named by its folder (holding run.json) or by its id (or a unique prefix) in `store`."""
    folder = Path(ref)
    if folder.is_dir():
        layout = RunLayout(folder.resolve())
        if not layout.run_json.exists() and (known := folder_run(store, folder)) is not None:
            return known, layout  # its report was never written, or was lost: the store knows the folder
        return store.run(str(read_run_json(folder)["run_id"])), layout
    record = store.run(ref)
    return record, RunLayout(Path(record.out_dir))


def check(store: Store, ref: str, distribution: Distribution) -> Evidence:
    """The evidence of run `ref` for releasing `distribution`; `GateNotMet` when it does not allow one."""
    record, layout = find_run(store, ref)
    if record.manifest_sha256 != distribution.sha256:
        raise UsageError(
            f"{distribution.path}: run {record.id} tested another manifest ({record.manifest_path}, "
            f"sha256 {record.manifest_sha256[:12]}…, this one is {distribution.sha256[:12]}…); "
            "release the manifest the run tested, or run this one first"
        )
    records = store.cells(record.id)
    gate = evaluate(
        records, distribution.python, finished=record.status is RunStatus.FINISHED, platforms=distribution.platforms
    )
    if not gate.holds:
        raise GateNotMet(
            f"release gate does not hold for run {record.id}: {'; '.join(gate.problems(record.id))} — "
            "every baseline cell must pass, or fail or skip as the policy expects"
            + ("; every platform only locked must resolve" if distribution.platforms else "")
            + "; nothing was written"
        )
    vouched = {key: _vouched(store, layout, distribution, cell) for key, cell in gate.baselines.items()}
    locks = {python: vouched[python, cell.platform] for python, cell in gate.baseline.items()}
    cells = tuple(_evidence(c) for c in records)
    ordered = tuple(sorted(cells, key=lambda c: (not c.baseline, c.python, c.cell_id)))
    baseline = {p: _evidence(gate.baseline[p]) for p in distribution.python}
    named = distribution.platforms is not None
    return Evidence(
        record,
        layout,
        gate,
        baseline,
        ordered,
        locks,
        platforms=gate.platforms,
        platform_locks=vouched if named else {},
        platform_baseline={key: _evidence(cell) for key, cell in gate.baselines.items()} if named else {},
    )


def _vouched(store: Store, layout: RunLayout, distribution: Distribution, cell: CellRecord) -> Lock:
    """The baseline cell's lock as the store vouches for it, after checking that the cell's inputs
    are still those it was tested with and that the run folder's copy was not edited."""
    suites = tuple(s.suite for s in cell.outcome.suites)
    now = plan_key(KeyInputs.of(distribution), cell.python, cell.pins, suites, cell.platform)
    if now != cell.plan_key:
        raise GateNotMet(
            f"{cell.cell_id}: its inputs changed since run {cell.run_id} tested it (suite files, test commands "
            f"or how curator runs suites: key {cell.plan_key} then, {now} now); run it again and release that run"
        )
    lock = vouched_lock(store, layout, cell)
    if lock is None:
        raise GateNotMet(
            f"{layout.lock(cell.cell_id)}: the store holds no lock of {cell.cell_id} and this file's content does not "
            f"match the recorded lock key {cell.outcome.lock_key[:16]}…; it was edited or lost — run again"
        )
    copy = layout.lock(cell.cell_id)
    try:
        on_disk = parse_requirements(cell.python, copy.read_text())
    except OSError:
        return lock
    if on_disk.key != cell.outcome.lock_key:
        raise GateNotMet(
            f"{copy}: edited after run {cell.run_id} (its content no longer matches the lock the store recorded, "
            f"key {cell.outcome.lock_key[:16]}…); restore it or run again — nothing was written"
        )
    return lock


def _evidence(record: CellRecord) -> CellEvidence:
    statuses = tuple((s.suite, str(s.status)) for s in record.outcome.suites)
    return CellEvidence(record.cell_id, record.python, record.baseline, record.changes, statuses)
