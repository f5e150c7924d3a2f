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
import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.version import Version

from curator.manifest import Distribution, Package
from curator.outcome import Status
from curator.store import CellRecord

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


def _relevant(distribution: Distribution, package: Package) -> set[str]:
    """The suites that speak to a package: those that require it, and its own tests."""
    names = {s.name for s in distribution.suites if package.name in s.requires}
    return names | ({package.suite_name} if package.tests else set())


class _Holding:
    """Which records hold which candidate, indexed once: a run of a thousand packages has thousands
    of cells, and asking every cell about every package is a million questions."""

    def __init__(self, records: Sequence[CellRecord]) -> None:
        self.records = records
        self.unchanged = [r for r in records if not r.changes]
        self.changed: dict[tuple[str, str], list[CellRecord]] = {}
        for record in records:
            for name, version in record.changes.items():
                self.changed.setdefault((name, str(version)), []).append(record)

    def chosen(self, package: Package, version: Version) -> list[CellRecord]:
        """The cells holding `version` that change nothing else, else every cell holding it."""
        name = package.name
        if version == package.blessed:
            own = [r for r in self.unchanged if name in r.pins]
            return own or [r for r in self.records if name in r.pins and name not in r.changes]
        holding = self.changed.get((name, str(version)), [])
        return [r for r in holding if len(r.changes) == 1] or holding


def _evidence(holding: _Holding, distribution: Distribution, package: Package) -> list[Evidence]:
    """Outcomes of the cells that hold the newest candidate, preferring cells that change nothing else."""
    chosen = holding.chosen(package, max(package.versions))
    relevant = _relevant(distribution, package)
    found = []
    for record in chosen:
        for suite in record.outcome.suites:
            if relevant and suite.suite not in relevant and suite.status is not Status.UNRESOLVABLE:
                continue
            found.append(
                Evidence(record.cell_id, record.python, suite.suite, suite.status, suite.reason, suite.signature)
            )
    return found


def _mentioned(reason: str, distribution: Distribution, package: str) -> list[str]:
    """Other manifest packages a resolver's explanation names (`cfx-capped==1.0 depends on …`)."""
    names = []
    for other in distribution.package_names:
        if other == package:
            continue
        spellings = {other, other.replace("-", "_"), other.replace("-", ".")}
        pattern = r"(?<![\w.-])(?:" + "|".join(re.escape(s) for s in spellings) + r")(?![\w-])"
        if re.search(pattern, reason, flags=re.IGNORECASE):
            names.append(str(other))
    return names


def _explain(
    package: Package, evidence: Sequence[Evidence], distribution: Distribution
) -> tuple[str, tuple[tuple[Kind, str], ...]]:
    newest, blessed = max(package.versions), package.blessed
    bad = [e for e in evidence if e.status in HOLDING]
    if not evidence:
        return (
            f"{package.name} {newest} was not tested in this run (no cell holds it); the release ships {blessed}.",
            ((Kind.UNTESTED, f"{package.name} {newest} untested"),),
        )
    if not bad:
        return (
            f"{package.name} {newest} passed in every cell that holds it, but {distribution.path.name} "
            f"blesses {blessed}: nothing in the evidence holds it back — consider blessing {newest}.",
            ((Kind.CHOICE, f"{distribution.path.name}: blessed {package.name} {blessed}"),),
        )
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
    if newest == blessed:
        return f"{package.name} ships its newest, {newest}, but it fails: {details}", tuple(blockers)
    kinds = frozenset(k for k, _ in blockers)
    verb = {frozenset({Kind.CONSTRAINT}): "refused by the resolver", frozenset({Kind.FAILURE}): "broken"}.get(
        kinds, "refused and broken"
    )
    return f"{package.name} stays at {blessed} because {newest} is {verb}: {details}", tuple(blockers)


def holds_back(records: Sequence[CellRecord], distribution: Distribution) -> tuple[list[HeldBack], list[Blocker]]:
    """The packages held back (manifest order) and the blockers, most packages held first."""
    held: list[HeldBack] = []
    holding = _Holding(records)
    for package in distribution.packages:
        newest = max(package.versions)
        evidence = _evidence(holding, distribution, package)
        failing = any(e.status in HOLDING for e in evidence)
        if package.blessed == newest and not failing:
            continue
        explanation, blockers = _explain(package, evidence, distribution)
        held.append(
            HeldBack(
                package=package.name,
                blessed=str(package.blessed),
                newest=str(newest),
                explanation=explanation,
                evidence=tuple(e for e in evidence if e.status in HOLDING) or tuple(evidence),
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
