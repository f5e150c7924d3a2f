""" "Why is X not in the release at its newest?" — for each manifest package that ships an older
candidate than its newest, or whose newest candidate fails, the evidence that explains it, and the
blockers ranked by how many packages each holds back.

A blocker is what the evidence names: a package whose declared requirement the resolver cites
(`cfx-capped==1.0 depends on cfx-base<2`), a failure signature that broke the newest candidate's
cells, the manifest's own choice (the newest passed everywhere, yet an older one is blessed), or a
newest candidate that this run never tested. Pure functions over store records.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.version import Version

from curator.model.distribution import Distribution, Package
from curator.model.outcome import Status
from curator.resolve.lock import mentioned
from curator.store.db import CellRecord

# What keeps a candidate out of a release. Flaky and unexpected-pass outcomes worked.
HOLDING = frozenset(
    {
        Status.UNRESOLVABLE,
        Status.FAILED,
        Status.ERROR,
        Status.CRASHED,
        Status.TIMEOUT,
        Status.INSTALL_ERROR,
        Status.EXPECTED_FAIL,
    }
)


class Kind(enum.StrEnum):
    """What kind of thing holds a package back."""

    CONSTRAINT = "constraint"  # a declared requirement the resolver cites
    FAILURE = "failure"  # the newest candidate's cells fail with this signature
    CHOICE = "choice"  # nothing in the evidence: the manifest blesses an older candidate
    UNTESTED = "untested"  # the run holds no cell with the newest candidate


@dataclass(frozen=True)
class Evidence:
    """One outcome of a cell holding the newest candidate."""

    cell: str
    python: str
    suite: str
    status: Status
    reason: str
    signature: str
    beside: str = ""  # the cell's other changes from blessed, `flask 2.2.5, click 8.0` ('' for its own cell)


@dataclass(frozen=True)
class HeldBack:
    """A package that ships below its newest candidate, or whose newest candidate fails."""

    package: str
    blessed: str
    newest: str
    explanation: str  # one sentence: the chain from the package to what holds it
    evidence: tuple[Evidence, ...]
    blockers: tuple[tuple[Kind, str], ...]

    @property
    def at_newest(self) -> bool:
        """It ships its newest candidate (and that candidate fails somewhere)."""
        return self.blessed == self.newest


@dataclass(frozen=True)
class Blocker:
    """One thing that holds packages back, with the packages it holds."""

    kind: Kind
    name: str
    packages: tuple[str, ...]


def relevant_suites(distribution: Distribution, package: Package) -> set[str]:
    """The suites that speak to a package: those that require it, and its own tests."""
    names = {s.name for s in distribution.suites if package.name in s.requires}
    return names | ({package.suite_name} if package.tests else set())


@dataclass(frozen=True)
class _Found:
    """The outcomes of the cells holding a package's newest candidate: those of its own cells
    (changing nothing else: its upgrade cell, or the baseline when it is blessed) and the others."""

    own_cells: tuple[str, ...]
    own: tuple[Evidence, ...]
    others: tuple[Evidence, ...]
    holding: int  # cells that hold the candidate


def _holding(records: Sequence[CellRecord]) -> dict[tuple[str, Version], list[CellRecord]]:
    """The cells holding each (package, version), indexed once: a run of a thousand packages has
    thousands of cells, and asking every cell about every package is millions of questions."""
    index: dict[tuple[str, Version], list[CellRecord]] = {}
    for record in records:
        for name, version in record.pins.items():
            index.setdefault((name, version), []).append(record)
    return index


def _evidence(
    holding_index: dict[tuple[str, Version], list[CellRecord]], distribution: Distribution, package: Package
) -> _Found:
    newest = max(package.versions)
    holding = holding_index.get((package.name, newest), [])
    relevant = relevant_suites(distribution, package)
    own: list[Evidence] = []
    others: list[Evidence] = []
    own_cells: list[str] = []
    for record in holding:
        mine = set(record.changes) <= {package.name}
        if mine:
            own_cells.append(record.cell_id)
        beside = ", ".join(f"{n} {v}" for n, v in record.changes.items() if n != package.name)
        for suite in record.outcome.suites:
            if relevant and suite.suite not in relevant and suite.status is not Status.UNRESOLVABLE:
                continue
            if suite.status is Status.SKIPPED:  # no test ran: no evidence either way
                continue
            found = Evidence(
                record.cell_id, record.python, suite.suite, suite.status, suite.reason, suite.signature, beside
            )
            (own if mine else others).append(found)
    return _Found(tuple(own_cells), tuple(own), tuple(others), len(holding))


def _mentioned(reason: str, distribution: Distribution, package: str) -> list[str]:
    """Other manifest packages a resolver's explanation names (`cfx-capped==1.0 depends on …`)."""
    return [str(name) for name in mentioned(reason, distribution.package_names) if name != package]


def _causes(
    bad: Sequence[Evidence], distribution: Distribution, package: Package
) -> tuple[str, list[tuple[Kind, str]]]:
    """`unresolvable in CELLS: reason; failed in CELLS (suite): signature` and the blockers named."""
    blockers: list[tuple[Kind, str]] = []
    cells_by_cause: dict[str, list[str]] = {}  # one sentence per cause, naming every cell it hit
    for e in bad:
        if e.status is Status.UNRESOLVABLE:
            for other in _mentioned(e.reason, distribution, package.name) or ["the resolver"]:
                if (Kind.CONSTRAINT, other) not in blockers:
                    blockers.append((Kind.CONSTRAINT, other))
            cause = f"unresolvable in {{cells}}: {e.reason}"
        else:
            label = e.signature or f"{e.status}: {e.reason}"
            if (Kind.FAILURE, label) not in blockers:
                blockers.append((Kind.FAILURE, label))
            cause = f"{e.status} in {{cells}} ({e.suite}): {label}"
        cells = cells_by_cause.setdefault(cause, [])
        if e.cell not in cells:
            cells.append(e.cell)
    sentences = [cause.replace("{cells}", ", ".join(cells)) for cause, cells in cells_by_cause.items()]
    details = "; ".join(sentences[:3]) + (f"; and {len(sentences) - 3} more" if len(sentences) > 3 else "")
    return details, blockers


def _beside(bad: Sequence[Evidence]) -> str:
    """`failed beside flask 2.2.5 in CELL (suite): signature; …` — failures in cells that change
    something else too, each named with what else they change."""
    parts: dict[str, list[str]] = {}
    for e in bad:
        label = e.signature or e.reason
        cause = f"{e.status} beside {e.beside} in {{cells}} ({e.suite}): {label}"
        cells = parts.setdefault(cause, [])
        if e.cell not in cells:
            cells.append(e.cell)
    sentences = [cause.replace("{cells}", ", ".join(cells)) for cause, cells in parts.items()]
    return "; ".join(sentences[:3]) + (f"; and {len(sentences) - 3} more" if len(sentences) > 3 else "")


def _cells(n: int) -> str:
    return f"{n} cell{'s' if n != 1 else ''}"


def _explain(
    package: Package, found: _Found, distribution: Distribution
) -> tuple[str, tuple[tuple[Kind, str], ...], tuple[Evidence, ...]]:
    """One sentence that claims only what the evidence shows, the blockers it names, and the
    evidence behind it."""
    newest, blessed, name = max(package.versions), package.blessed, package.name
    manifest = distribution.path.name
    everything = (*found.own, *found.others)
    if not everything:
        why = (
            f"no cell that holds it ran a test of a suite that speaks to it ({_cells(found.holding)} hold it)"
            if found.holding
            else "no cell holds it"
        )
        return (
            f"{name} {newest} was not tested in this run ({why}); the release ships {blessed}.",
            ((Kind.UNTESTED, f"{name} {newest} untested"),),
            (),
        )
    # the verdict comes from its own cells when there are any (the rest as it ships), else from every cell
    chosen = found.own if found.own_cells else everything
    bad = [e for e in chosen if e.status in HOLDING]
    if not bad:
        suites = ", ".join(sorted({e.suite for e in chosen}))
        passed = "passed"
        elsewhere = [e for e in found.others if e.status in HOLDING] if found.own_cells else []
        choice = ((Kind.CHOICE, f"{manifest}: blessed {name} {blessed}"),)
        if not elsewhere:
            return (
                f"{name} {newest} {passed} its suites ({suites}) in every cell that holds it "
                f"({_cells(found.holding)}), but {manifest} blesses {blessed}: nothing in the evidence holds it "
                f"back — consider blessing {newest}.",
                choice,
                tuple(chosen),
            )
        kind = "upgrade" if newest > blessed else "own"
        own = ("cells " if len(found.own_cells) > 1 else "cell ") + ", ".join(found.own_cells)
        return (
            f"{name} {newest} {passed} its suites ({suites}) in its {kind} {own}, where everything else is "
            f"blessed; it {_beside(elsewhere)}. {manifest} blesses {blessed}: as the rest ships, nothing in the "
            f"evidence holds it back — consider blessing {newest}.",
            choice,
            (*chosen, *elsewhere),
        )
    details, blockers = _causes(bad, distribution, package)
    if newest == blessed:
        return f"{name} ships its newest, {newest}, but it fails: {details}", tuple(blockers), tuple(bad)
    kinds = frozenset(k for k, _ in blockers)
    verb = {frozenset({Kind.CONSTRAINT}): "refused by the resolver", frozenset({Kind.FAILURE}): "broken"}.get(
        kinds, "refused and broken"
    )
    return f"{name} stays at {blessed} because {newest} is {verb}: {details}", tuple(blockers), tuple(bad)


def holds_back(records: Sequence[CellRecord], distribution: Distribution) -> tuple[list[HeldBack], list[Blocker]]:
    """The packages held back (manifest order) and the blockers, most packages held first."""
    held: list[HeldBack] = []
    holding = _holding(records)
    for package in distribution.packages:
        newest = max(package.versions)
        found = _evidence(holding, distribution, package)
        chosen = found.own if found.own_cells else (*found.own, *found.others)
        failing = any(e.status in HOLDING for e in chosen)
        if package.blessed == newest and not failing:
            continue
        explanation, blockers, evidence = _explain(package, found, distribution)
        held.append(
            HeldBack(
                package=package.name,
                blessed=str(package.blessed),
                newest=str(newest),
                explanation=explanation,
                evidence=evidence,
                blockers=blockers,
            )
        )
    return held, rank_blockers(held)


def rank_blockers(held: Sequence[HeldBack]) -> list[Blocker]:
    """Each blocker once, with the packages it holds; the one holding the most packages first."""
    packages: dict[tuple[Kind, str], list[str]] = {}
    for item in held:
        for blocker in item.blockers:
            packages.setdefault(blocker, []).append(item.package)
    ranked = [Blocker(kind, name, tuple(names)) for (kind, name), names in packages.items()]
    return sorted(ranked, key=lambda b: (-len(b.packages), list(Kind).index(b.kind), b.name))
