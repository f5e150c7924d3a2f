"""The release gate, defined once: does a run's evidence allow a release?

It holds when the run finished and, for every Python of the manifest, the baseline cell (every
package blessed: the release as it would ship) ended each suite `passed` or `expected-fail`, or
`skipped` where a `policy.expected_skips` rule expects it (`flaky` is not a pass, and a suite in
which no test ran is no evidence). A run of some Pythons only (`--python`) cannot gate a release,
and says so. `curator run` prints this gate; `curator release` applies it, plus its own checks
that the evidence still describes the manifest and files being released (`release/gate.py`).

A manifest that names platforms (`platforms`) has a baseline cell per Python on each of them:
on a *tested* platform it must have run (an executor of that platform tested it) and pass as
above; on a platform only *locked* it must have been locked — resolved for that platform, so the
release can ship its lock — and, where an executor of that platform did test it, pass as well (a
failure seen is never shipped). A locked platform nobody tested is "locked, not tested": it holds
the gate, and the report and run.json say so.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from curator.model.distribution import Platforms, platform_axis
from curator.model.ids import CellId, Platform, PyVersion
from curator.model.outcome import NOT_TESTED, Status, SuiteOutcome, gates
from curator.store.db import CellRecord


class Role(enum.StrEnum):
    """What the manifest asks of a platform."""

    TESTED = "tested"  # every cell of the plan runs there, and must pass
    LOCKED = "locked"  # resolved, hash-locked and shipped; tested where an executor serves it


class Coverage(enum.StrEnum):
    """What a run did on a platform (over its baseline cells, every Python)."""

    TESTED = "tested"  # every baseline cell ran on an executor of the platform
    NOT_TESTED = NOT_TESTED  # locked, but no executor of the platform ran some baseline cell
    NOT_LOCKED = "not locked"  # some baseline cell could not even be locked (unresolvable there)


@dataclass(frozen=True)
class PlatformState:
    """One platform of the manifest as the run leaves it: asked to be tested or only locked, what
    was done, and its baseline cells."""

    platform: Platform
    role: Role
    coverage: Coverage
    cells: tuple[CellId, ...] = ()

    def describe(self) -> str:
        """`x86_64-pc-windows-msvc: locked, not tested`."""
        asked = "" if self.role is Role.TESTED or self.coverage is not Coverage.TESTED else " (locked only)"
        return f"{self.platform}: {self.coverage}{asked}"


@dataclass(frozen=True)
class Gate:
    """The gate's judgement of a run, with every reason it does not hold."""

    baseline: dict[PyVersion, CellRecord]  # the baseline cell of each Python that has one (on the primary platform)
    blockers: tuple[tuple[CellId, str], ...]  # baseline cells that keep it shut, each with why (a suite that
    # neither passed nor failed or skipped as expected; not locked; a tested platform not tested)
    missing: tuple[PyVersion, ...]  # Pythons of the manifest with no baseline cell in the run (on some platform)
    unfinished: bool  # the run did not finish (interrupted, or still running)
    platforms: tuple[PlatformState, ...] = ()  # each platform the manifest names (none: it names none)
    baselines: dict[tuple[PyVersion, Platform], CellRecord] = field(default_factory=dict)  # every platform's

    @property
    def failing(self) -> tuple[CellId, ...]:
        """The baseline cells that keep the gate shut."""
        return tuple(cell_id for cell_id, _ in self.blockers)

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
        found += [f"{cell_id} ({why})" for cell_id, why in self.blockers]
        return found


def _blocker(record: CellRecord, role: Role) -> str | None:
    """Why one baseline cell keeps the gate shut on its platform; None when it lets the gate hold."""
    platform = record.platform
    if not record.outcome.lock_key and platform:  # not locked there: nothing to ship
        reason = next((s.reason for s in record.outcome.suites), "").removeprefix(f"on {platform}: ")
        return f"cannot be locked for {platform}, so the release cannot ship it: {reason}"
    if not record.outcome.tested:
        if role is Role.LOCKED:
            return None
        return (
            f"{NOT_TESTED}: no executor serves platform {platform}, and a tested platform must pass; run it on a "
            f"dask worker started with --resources platform:{platform}=1, or move it under platforms.locked"
        )
    suites = record.outcome.suites
    if suites and all(gates(s) for s in suites):
        return None
    bad = ", ".join(_why(s) for s in suites if not gates(s))
    where = (
        f" on {platform}{' (locked only: tested, so it must pass)' if role is Role.LOCKED else ''}" if platform else ""
    )
    return f"{bad or 'no suites'}{where}"


def _why(suite: SuiteOutcome) -> str:
    """`app failed`; a skip says why it does not count and how to expect it."""
    if suite.status is not Status.SKIPPED:
        return f"{suite.suite} {suite.status}"
    return (
        f"{suite.suite} skipped: no test ran, which is no evidence; if that is intended, "
        f"add a policy.expected_skips rule for suite {suite.suite}"
    )


def evaluate(
    records: Sequence[CellRecord],
    pythons: Sequence[PyVersion],
    *,
    finished: bool,
    platforms: Platforms | None = None,
) -> Gate:
    """The gate over a run's recorded cells, for the manifest's Pythons (and platforms)."""
    axis = [(p, Role.TESTED if tested else Role.LOCKED) for p, tested in platform_axis(platforms)]
    primary = axis[0][0]
    baselines = {(r.python, r.platform): r for r in records if r.baseline}
    blockers = tuple(
        (record.cell_id, why)
        for python in pythons
        for platform, role in axis
        if (record := baselines.get((python, platform))) is not None and (why := _blocker(record, role)) is not None
    )
    missing = tuple(python for python in pythons if any((python, p) not in baselines for p, _ in axis))
    states = (
        tuple(
            _state(platform, role, [baselines.get((python, platform)) for python in pythons]) for platform, role in axis
        )
        if platforms is not None
        else ()
    )
    return Gate(
        baseline={p: baselines[p, primary] for p in pythons if (p, primary) in baselines},
        blockers=blockers,
        missing=missing,
        unfinished=not finished,
        platforms=states,
        baselines={key: record for key, record in baselines.items() if key[0] in pythons},
    )


def _state(platform: Platform, role: Role, records: Sequence[CellRecord | None]) -> PlatformState:
    found = [r for r in records if r is not None]
    if any(not r.outcome.lock_key for r in found):
        coverage = Coverage.NOT_LOCKED
    elif len(found) < len(records) or any(not r.outcome.tested for r in found):
        coverage = Coverage.NOT_TESTED
    else:
        coverage = Coverage.TESTED
    return PlatformState(platform, role, coverage, tuple(r.cell_id for r in found))
