"""The strategies, one entry each: which cells a strategy asks for, whether they can be counted
without building them, whether they need the dependency graph, and how the strategy is described.

Planning (`plan.build`), counting (`plan.estimate`, `curator check`), the hint of a plan that is
too large, the coordinator (which resolves the graph only for a strategy that needs it) and the
docs' table of strategies (docs/manifest.md, checked by a test) all read `STRATEGIES`; a
`Strategy` without an entry here fails at import.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.model.distribution import Distribution, Package, Strategy
from curator.model.errors import CoverTooLarge

if TYPE_CHECKING:  # networkx, for the pairs strategy only: imported where a graph is made
    from curator.resolve.graph import DependencyGraph

Assignment = dict[NormalizedName, Version]
Changes = Callable[[Distribution, "DependencyGraph | None"], Iterable[tuple[Assignment, str]]]


@dataclass(frozen=True)
class StrategySpec:
    """One strategy: the cells it plans beyond each Python's baseline, and what is known about them."""

    strategy: Strategy
    summary: str  # one sentence: what it asks, for `curator check` and the docs
    changes: Changes  # the changed pins of each cell after the baseline, with the reason it is planned
    count: Callable[[Distribution], int] | None = None  # cells per Python, by arithmetic (None: build to know)
    needs_graph: bool = False  # its cells follow the resolved dependency graph
    suggested: int | None = None  # its place among the strategies a too-large plan suggests (None: never)


def _upgrades(distribution: Distribution, _graph: DependencyGraph | None) -> Iterable[tuple[Assignment, str]]:
    for package in distribution.packages:
        for version in package.others:
            verb = "upgrade" if version > package.blessed else "downgrade"
            yield {package.name: version}, f"{verb} {package.name}"


def _pairs(distribution: Distribution, graph: DependencyGraph | None) -> Iterable[tuple[Assignment, str]]:
    """Every candidate × candidate along each manifest edge; candidates of a package on no
    edge are still tried once each, alone (as `upgrades` would), so none goes untested."""
    assert graph is not None, "the pairs strategy needs the dependency graph"
    packages: Sequence[Package] = distribution.packages
    by_name = {p.name: p for p in packages}
    on_edges: set[str] = set()
    for edge in graph.manifest_edges():
        a, b = by_name[edge.dependent], by_name[edge.dependency]  # type: ignore[index]
        on_edges |= {a.name, b.name}
        for va, vb in itertools.product(a.versions, b.versions):
            assignment = {n: v for n, v in ((a.name, va), (b.name, vb)) if v != by_name[n].blessed}
            yield assignment, f"pair {a.name} × {b.name}"
    for package in packages:
        if package.name not in on_edges:
            for version in package.others:
                yield {package.name: version}, f"{package.name} (on no edge)"


def _full(distribution: Distribution, _graph: DependencyGraph | None) -> Iterable[tuple[Assignment, str]]:
    packages = distribution.packages
    for combo in itertools.product(*(p.versions for p in packages)):
        yield {p.name: v for p, v in zip(packages, combo, strict=True) if v != p.blessed}, "full"


def _cover(distribution: Distribution, _graph: DependencyGraph | None) -> Iterable[tuple[Assignment, str]]:
    from curator.plan.cover import covering_array  # NumPy: imported when a cover is planned

    varied = [p for p in distribution.packages if len(p.versions) > 1]
    try:
        rows = covering_array([list(p.versions) for p in varied], start=[p.blessed for p in varied])
    except CoverTooLarge as error:
        raise CoverTooLarge(f"{distribution.where('packages')}: {error}") from error
    for row in rows:
        yield {p.name: v for p, v in zip(varied, row, strict=True) if v != p.blessed}, "cover"


def _nothing(_distribution: Distribution, _graph: DependencyGraph | None) -> Iterable[tuple[Assignment, str]]:
    return ()


_SPECS = (
    StrategySpec(
        Strategy.BASELINE,
        "one cell per Python with every package blessed: the release as it would ship, the cell that gates it",
        _nothing,
        count=lambda _d: 1,
        suggested=4,
    ),
    StrategySpec(
        Strategy.UPGRADES,
        "the baseline, and one cell per other candidate of each package: one change at a time names its culprit",
        _upgrades,
        count=lambda d: 1 + sum(len(p.others) for p in d.packages),
        suggested=3,
    ),
    StrategySpec(
        Strategy.PAIRS,
        "every candidate × candidate of two packages where one needs the other (directly or through others), "
        "and each candidate of a package on no such edge once",
        _pairs,
        needs_graph=True,
        suggested=1,
    ),
    StrategySpec(
        Strategy.FULL,
        "the cartesian product of every package's candidates",
        _full,
        count=lambda d: math.prod(len(p.versions) for p in d.packages),
    ),
    StrategySpec(
        Strategy.COVER,
        "a pairwise covering array: every pair of candidates of any two packages in some cell, far fewer cells "
        "than full",
        _cover,
        suggested=2,
    ),
)

STRATEGIES: Mapping[Strategy, StrategySpec] = {spec.strategy: spec for spec in _SPECS}
"""Every strategy's entry, in the order `Strategy` declares them."""

if missing := [s for s in Strategy if s not in STRATEGIES]:  # pragma: no cover - a programming error
    raise TypeError(f"strategies without an entry in curator.plan.strategies: {', '.join(missing)}")


def suggestions() -> list[StrategySpec]:
    """The strategies a plan that is too large may suggest instead, most informative first."""
    return sorted((s for s in _SPECS if s.suggested is not None), key=lambda s: s.suggested or 0)
