"""Strategies → cells: which test environments are worth building.

Every strategy starts from the baseline (one cell per Python with every package blessed:
the release candidate as it would ship, the cell that gates a release) and adds cells
that change some packages to other candidates. Identical cells are merged. A cell's key
is a content hash of every input that decides its outcome and is known without network
(see `plan_key`); at run time the resolved lock, the interpreter's exact build and the
suites' commands are folded in (see `cell.outcome_key`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import assert_never

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.cover import CoverTooLarge, covering_array
from curator.errors import PlanTooLarge, UsageError
from curator.graph import DependencyGraph
from curator.ids import CellId, PyVersion, SuiteName, cell_id
from curator.manifest import Distribution, Package, Scope, Strategy
from curator.pins import Pins

INSTALL_SUITE = SuiteName("install")  # the one check of a cell that has no suites: does it install?


@dataclass(frozen=True)
class Cell:
    """One test environment: a Python, pins for manifest packages, the suites to run there."""

    id: CellId
    python: PyVersion
    pins: Pins  # every manifest package it installs, in manifest order
    changes: Pins  # the pins that differ from blessed
    suites: tuple[SuiteName, ...]
    key: str
    reasons: tuple[str, ...] = ()  # why the plan holds it: baseline, upgrade numpy, pair …

    @property
    def is_baseline(self) -> bool:
        """Whether every manifest package in the cell is at its blessed version."""
        return not self.changes

    def requirements(self, test_requires: Sequence[str]) -> list[str]:
        """What the cell's lock resolves: its pins and the test runner."""
        return self.pins.requirements() + list(test_requires)

    def to_json(self) -> dict[str, object]:
        """The documented JSON form (`curator plan --format json`)."""
        return {
            "id": self.id,
            "python": self.python,
            "pins": self.pins.to_json(),
            "changes": self.changes.to_json(),
            "key": self.key,
            "suites": list(self.suites),
            "baseline": self.is_baseline,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Cell:
        """The inverse of `to_json` (a stored plan read back for `--resume`)."""
        suites, reasons = data["suites"], data.get("reasons", [])
        assert isinstance(suites, list) and isinstance(reasons, list)
        return cls(
            id=CellId(str(data["id"])),
            python=PyVersion(str(data["python"])),
            pins=Pins.from_json(data["pins"]),
            changes=Pins.from_json(data["changes"]),
            suites=tuple(SuiteName(str(s)) for s in suites),
            key=str(data["key"]),
            reasons=tuple(str(r) for r in reasons),
        )


@dataclass(frozen=True)
class Plan:
    """The cells a run builds, in a stable order (baseline first)."""

    strategy: Strategy
    cells: tuple[Cell, ...]

    def to_json(self) -> dict[str, object]:
        """`{"strategy": …, "cells": [...]}`."""
        return {"strategy": str(self.strategy), "cells": [cell.to_json() for cell in self.cells]}

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """A plan stored as JSON (`to_json`), read back."""
        data = json.loads(text)
        return cls(Strategy(data["strategy"]), tuple(Cell.from_json(c) for c in data["cells"]))

    def cell(self, cell_id: str) -> Cell:
        """The cell with this id."""
        for cell in self.cells:
            if cell.id == cell_id:
                return cell
        raise KeyError(cell_id)


Assignment = dict[NormalizedName, Version]


def build(
    distribution: Distribution,
    strategy: Strategy | None = None,
    *,
    pythons: Sequence[PyVersion] | None = None,
    graphs: Mapping[PyVersion, DependencyGraph] | None = None,
    enforce_limit: bool = True,
) -> Plan:
    """The plan for `strategy` (default: the manifest's) on `pythons` (default: all of them).

    `pairs` needs each Python's dependency graph; the others need no network. A plan larger
    than `matrix.max_cells` is refused before a huge one is ever built.
    """
    strategy = strategy or distribution.matrix.strategy
    pythons = tuple(pythons or distribution.python)
    limit = distribution.matrix.max_cells
    if enforce_limit and strategy in _COUNTABLE:
        count = _count(distribution, strategy) * len(pythons)
        if count > limit:
            raise _too_large(distribution, strategy, count, pythons, graphs)
    builder = _Builder(distribution)
    for python in pythons:
        graph = graphs.get(python) if graphs else None
        if strategy is Strategy.PAIRS and graph is None:
            raise UsageError(f"the pairs strategy needs the dependency graph for Python {python}")
        for assignment, reason in _assignments(distribution, strategy, graph):
            builder.add(python, assignment, reason)
    plan = Plan(strategy, builder.cells())
    if enforce_limit and len(plan.cells) > limit:
        raise _too_large(distribution, strategy, len(plan.cells), pythons, graphs)
    return plan


_COUNTABLE = (Strategy.BASELINE, Strategy.UPGRADES, Strategy.FULL)


def _count(distribution: Distribution, strategy: Strategy) -> int:
    """Cells per Python of a strategy that can be counted without building it."""
    packages = distribution.packages
    match strategy:
        case Strategy.BASELINE:
            return 1
        case Strategy.UPGRADES:
            return 1 + sum(len(p.others) for p in packages)
        case Strategy.FULL:
            return math.prod(len(p.versions) for p in packages)
        case Strategy.PAIRS | Strategy.COVER:
            raise ValueError(f"{strategy} cannot be counted without building it")
        case _ as unreachable:
            assert_never(unreachable)


def estimate(
    distribution: Distribution,
    strategy: Strategy,
    pythons: Sequence[PyVersion],
    graphs: Mapping[PyVersion, DependencyGraph] | None = None,
) -> int:
    """How many cells `strategy` gives on `pythons`."""
    if strategy in _COUNTABLE:
        return _count(distribution, strategy) * len(pythons)
    return len(build(distribution, strategy, pythons=pythons, graphs=graphs, enforce_limit=False).cells)


def counts(
    distribution: Distribution, graphs: Mapping[PyVersion, DependencyGraph] | None = None
) -> dict[Strategy, int | None]:
    """Cells per strategy over every Python of the manifest (None: `pairs` needs the graph, or
    `cover` is too large to build)."""
    out: dict[Strategy, int | None] = dict.fromkeys(Strategy)
    for strategy in Strategy:
        if strategy is not Strategy.PAIRS or graphs is not None:
            with contextlib.suppress(CoverTooLarge):
                out[strategy] = estimate(distribution, strategy, distribution.python, graphs)
    return out


def _too_large(
    distribution: Distribution,
    strategy: Strategy,
    count: int,
    pythons: Sequence[PyVersion],
    graphs: Mapping[PyVersion, DependencyGraph] | None,
) -> PlanTooLarge:
    limit = distribution.matrix.max_cells
    fitting = []
    for other in (Strategy.PAIRS, Strategy.COVER, Strategy.UPGRADES, Strategy.BASELINE):
        if other is strategy or (other is Strategy.PAIRS and graphs is None):
            continue
        try:
            n = estimate(distribution, other, pythons, graphs)
        except CoverTooLarge:
            continue
        if n <= limit:
            fitting.append(f"'{other}' ({n} cells)")
    hint = f"; {' or '.join(fitting[:2])} would fit" if fitting else ""
    return PlanTooLarge(
        f"{distribution.where('matrix.max_cells')}: the '{strategy}' plan has {count} cells, "
        f"more than max_cells {limit}{hint}, or raise max_cells"
    )


# ----------------------------------------------------------------- strategies


def _assignments(
    distribution: Distribution, strategy: Strategy, graph: DependencyGraph | None
) -> list[tuple[Assignment, str]]:
    """The changed pins of each cell (empty: baseline), with the reason it is planned."""
    out: list[tuple[Assignment, str]] = [({}, "baseline")]
    packages = distribution.packages
    match strategy:
        case Strategy.BASELINE:
            pass
        case Strategy.UPGRADES:
            for package in packages:
                for version in package.others:
                    verb = "upgrade" if version > package.blessed else "downgrade"
                    out.append(({package.name: version}, f"{verb} {package.name}"))
        case Strategy.PAIRS:
            assert graph is not None
            out += _pairs(packages, graph)
        case Strategy.FULL:
            for combo in itertools.product(*(p.versions for p in packages)):
                assignment = {p.name: v for p, v in zip(packages, combo, strict=True) if v != p.blessed}
                out.append((assignment, "full"))
        case Strategy.COVER:
            varied = [p for p in packages if len(p.versions) > 1]
            try:
                rows = covering_array([list(p.versions) for p in varied], start=[p.blessed for p in varied])
            except CoverTooLarge as error:
                raise CoverTooLarge(f"{distribution.where('packages')}: {error}") from error
            for row in rows:
                assignment = {p.name: v for p, v in zip(varied, row, strict=True) if v != p.blessed}
                out.append((assignment, "cover"))
    return out


def _pairs(packages: Sequence[Package], graph: DependencyGraph) -> list[tuple[Assignment, str]]:
    """Every candidate × candidate along each manifest edge; candidates of a package on no
    edge are still tried once each, alone (as `upgrades` would), so none goes untested."""
    by_name = {p.name: p for p in packages}
    out: list[tuple[Assignment, str]] = []
    on_edges: set[str] = set()
    for edge in graph.manifest_edges():
        a, b = by_name[edge.dependent], by_name[edge.dependency]  # type: ignore[index]
        on_edges |= {a.name, b.name}
        for va, vb in itertools.product(a.versions, b.versions):
            assignment = {n: v for n, v in ((a.name, va), (b.name, vb)) if v != by_name[n].blessed}
            out.append((assignment, f"pair {a.name} × {b.name}"))
    for package in packages:
        if package.name not in on_edges:
            out += [({package.name: version}, f"{package.name} (on no edge)") for version in package.others]
    return out


# ----------------------------------------------------------------- cells


class _Builder:
    """Turns (python, changes) into cells, merging duplicates and keeping first-seen order."""

    def __init__(self, distribution: Distribution) -> None:
        self.distribution = distribution
        self.inputs = KeyInputs.of(distribution)
        self.blessed = distribution.blessed
        self._cells: dict[tuple[str, Pins], Cell] = {}

    def add(self, python: PyVersion, changes: Assignment, reason: str) -> None:
        dist = self.distribution
        names = _cell_packages(dist, set(changes))
        pins = Pins((name, changes.get(name, self.blessed[name])) for name in names)
        ident = (python, pins)
        if ident in self._cells:
            cell = self._cells[ident]
            if reason not in cell.reasons:
                self._cells[ident] = replace(cell, reasons=(*cell.reasons, reason))
            return
        ordered = Pins((n, changes[n]) for n in dist.package_names if n in changes)
        suites = _cell_suites(dist, set(names))
        key = plan_key(self.inputs, python, pins, suites)
        self._cells[ident] = Cell(
            cell_id(python, tuple(ordered.items())), python, pins, ordered, suites, key, (reason,)
        )

    def cells(self) -> tuple[Cell, ...]:
        return tuple(self._cells.values())


def _cell_packages(dist: Distribution, changed: set[NormalizedName]) -> list[NormalizedName]:
    """Manifest packages a cell installs: all, or (scope: involved) what its changes touch."""
    if dist.matrix.scope is Scope.FULL or not changed:
        return list(dist.package_names)
    involved = set(changed)
    for suite in dist.suites:
        if suite.requires & changed:
            involved |= suite.requires
    return [name for name in dist.package_names if name in involved]


def _cell_suites(dist: Distribution, packages: set[NormalizedName]) -> tuple[SuiteName, ...]:
    """Suites whose requirements the cell holds, then the own tests of its packages."""
    suites = [s.name for s in dist.suites if s.requires <= packages]
    suites += [p.suite_name for p in dist.packages if p.tests and p.name in packages]
    return tuple(suites) or (INSTALL_SUITE,)


@dataclass(frozen=True)
class KeyInputs:
    """What a manifest contributes to its cells' keys, read once (suite folders are hashed here)."""

    suites: Mapping[SuiteName, object]  # an integration suite's content digest, a package's test commands
    common: Mapping[str, object]  # test runner, package sources, policy, how curator runs suites

    @classmethod
    def of(cls, dist: Distribution) -> KeyInputs:
        """Read every input of `dist` that goes into a key."""
        suites: dict[SuiteName, object] = {s.name: suite_digest(s.path) for s in dist.suites}
        suites.update({p.suite_name: list(p.tests) for p in dist.packages})
        common = {
            "test_requires": list(dist.test_requires),
            "index": {
                "url": dist.index.url,
                "find_links": [str(p) for p in dist.index.find_links],
                "no_index": dist.index.no_index,
                "exclude_newer": dist.index.exclude_newer,
            },
            "policy": {"timeout": dist.policy.timeout, "retries": dist.policy.retries},
            "runner": runner_digest(),
        }
        return cls(suites, common)


def plan_key(inputs: KeyInputs, python: str, pins: Pins, suites: Sequence[SuiteName]) -> str:
    """Hash of every input that decides a cell's outcome and is known before resolution.

    In: the Python, the pins, the content of each suite the cell runs (or a package's test
    commands), the test runner's requirements, the package sources, the policy's timeout and
    retries, and how curator runs suites (`runner_digest`). Not in: the distribution's name and
    version, the strategy, suites the cell does not run, and the expected failures (outcomes
    are stored raw and judged when read).
    """
    payload = {
        "python": python,
        "pins": str(pins),
        "suites": {name: inputs.suites.get(name, []) for name in suites},
        **inputs.common,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@cache
def runner_digest() -> str:
    """Hash of the files that run suites inside a cell (the noxfile, the suite runner and their
    protocol): a change to how suites run changes every key, with nothing to bump by hand."""
    from importlib.resources import files

    templates = files("curator") / "templates"
    digest = hashlib.sha256()
    for name in RUNNER_FILES:
        digest.update(name.encode() + b"\0" + templates.joinpath(name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


RUNNER_FILES = ("noxfile.py", "suite_runner.py", "protocol.py")
"""The files of `curator/templates/` copied into every run folder."""


def suite_digest(folder: Path) -> str:
    """Content hash of a suite folder's files (caches and bytecode left out)."""
    digest = hashlib.sha256()
    for path in suite_files(folder):
        digest.update(str(path.relative_to(folder).as_posix()).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def suite_files(folder: Path) -> list[Path]:
    """The files of a suite folder that are its content, sorted (caches and bytecode left out)."""
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not _ignored(p.relative_to(folder))]


def _ignored(relative: Path) -> bool:
    skip_dirs = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
    return bool(skip_dirs & set(relative.parts)) or relative.suffix in {".pyc", ".pyo"}
