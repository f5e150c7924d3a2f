"""Strategies → cells: which test environments are worth building.

Every strategy starts from the baseline (one cell per Python with every package blessed:
the release candidate as it would ship, the cell that gates a release) and adds cells
that change some packages to other candidates. Identical cells are merged. A cell's key
is a content hash of every input that decides its outcome and is known without network
(see `plan_key`); at run time the resolved lock, the interpreter's exact build and the
suites' commands are folded in (see `cell.outcome_key`).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import math
import os
import stat
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.model import codec
from curator.model.distribution import Distribution, Scope, Strategy, platform_axis
from curator.model.errors import CoverTooLarge, PlanTooLarge, UsageError
from curator.model.ids import ANY_PLATFORM, CellId, Platform, PyVersion, SuiteName, cell_id, minimal_cell_id
from curator.model.outcome import NightPlan
from curator.model.pins import Pins
from curator.plan.strategies import STRATEGIES, Assignment, suggestions

if TYPE_CHECKING:  # networkx, for the pairs strategy only: imported where a graph is made
    from curator.resolve.graph import DependencyGraph

INSTALL_SUITE = SuiteName("install")  # the one check of a cell that has no suites: does it install?
SPLIT_FROM = "split from "  # the reason of a cell added because the cell it names was refused
MAX_ENUMERATED = 1_000_000  # combinations a plan with exclude patterns may walk through


@dataclass(frozen=True)
class Cell:
    """One test environment: a Python, pins for manifest packages, the suites to run there."""

    JSON_COMPUTED: ClassVar = {"baseline": "is_baseline"}  # its JSON form is `curator plan --format json`'s

    id: CellId
    python: PyVersion
    pins: Pins  # every manifest package it installs, in manifest order
    changes: Pins  # the pins that differ from blessed
    suites: tuple[SuiteName, ...]
    key: str
    reasons: tuple[str, ...] = ()  # why the plan holds it: baseline, upgrade numpy, pair …
    minimal: bool = False  # holds only some manifest packages, the rest left out (scope: minimal, a split)
    split_from: tuple[CellId, ...] = ()  # the refused cells whose suites it retries (`--split-unresolvable`)
    platform: Platform = ANY_PLATFORM  # the uv target it is resolved for and runs on ("": the manifest names none)

    @property
    def is_baseline(self) -> bool:
        """Whether every manifest package in the cell is at its blessed version."""
        return not self.changes

    def requirements(self, test_requires: Sequence[str]) -> list[str]:
        """What the cell's lock resolves: its pins and the test runner."""
        return self.pins.requirements() + list(test_requires)


@dataclass(frozen=True)
class Plan:
    """The cells a run builds, in a stable order (baseline first)."""

    strategy: Strategy | NightPlan
    cells: tuple[Cell, ...]
    inputs: Mapping[str, object] = field(default_factory=dict)  # what else decided it (a nightly's as-of)
    excluded: int = field(default=0, metadata=codec.spec(json=None))  # cells `matrix.exclude` kept out (not stored)

    @classmethod
    def stored(cls, run: str, text: str) -> Plan:
        """A run's plan as the store keeps it (`codec.dumps`), read back; a `UsageError` when it is
        not one curator wrote."""
        try:
            return codec.loads(cls, text, "plan")
        except codec.CodecError as exc:
            raise UsageError(f"run {run}: its stored plan is not one curator wrote ({exc})") from None

    def cell(self, cell_id: str) -> Cell:
        """The cell with this id."""
        for cell in self.cells:
            if cell.id == cell_id:
                return cell
        raise KeyError(cell_id)


Closure = Mapping[NormalizedName, frozenset[NormalizedName]]
"""Each manifest package → the manifest packages it needs installed, itself included (one Python)."""


def closure(distribution: Distribution, graph: DependencyGraph) -> dict[NormalizedName, frozenset[NormalizedName]]:
    """What each manifest package pulls in of the manifest, through the resolved baseline's graph."""
    names = set(distribution.package_names)
    return {
        name: frozenset({name, *(NormalizedName(n) for n in graph.dependencies(name) if n in names)})
        for name in distribution.package_names
    }


def needs_graphs(distribution: Distribution, strategy: Strategy) -> bool:
    """Whether planning `strategy` needs each Python's dependency graph: `pairs` for its edges,
    `scope: minimal` for what each suite's `requires` pull in (unless nothing changes from blessed)."""
    if STRATEGIES[strategy].needs_graph:
        return True
    changing = strategy is not Strategy.BASELINE or bool(distribution.matrix.include)
    return distribution.matrix.scope is Scope.MINIMAL and changing


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
    walk_limit = None  # a product larger than the limit, which exclude patterns may bring under it
    entry = STRATEGIES[strategy]
    if enforce_limit and entry.count is not None:
        count = _on_platforms(distribution, entry.count(distribution), pythons)
        if count > limit and (not distribution.matrix.exclude or count > MAX_ENUMERATED):
            raise _too_large(distribution, strategy, count, pythons, graphs)
        walk_limit = limit if count > limit else None
    closures: dict[PyVersion, Closure] = {}
    for python in pythons:
        graph = graphs.get(python) if graphs else None
        if graph is not None:
            closures[python] = closure(distribution, graph)
        elif entry.needs_graph:
            raise UsageError(f"the {strategy} strategy needs the dependency graph for Python {python}")
        elif needs_graphs(distribution, strategy):
            raise UsageError(f"scope: minimal needs the dependency graph for Python {python}")
    builder = _Builder(distribution, limit=walk_limit, closures=closures)
    try:
        for python in pythons:
            for platform, tested in platform_axis(distribution.platforms):
                builder.platform = platform
                _plan_python(builder, strategy, python, graphs.get(python) if graphs else None, tested=tested)
    except _Over:
        raise _too_large(distribution, strategy, None, pythons, graphs) from None
    plan = Plan(strategy, builder.cells(), excluded=builder.excluded)
    if enforce_limit and len(plan.cells) > limit:
        raise _too_large(distribution, strategy, len(plan.cells), pythons, graphs)
    return plan


def _plan_python(
    builder: _Builder, strategy: Strategy, python: PyVersion, graph: DependencyGraph | None, *, tested: bool
) -> None:
    """One Python's cells on the builder's platform: the strategy's and the includes where it is
    tested, the baseline alone where it is only locked (the release as it ships there)."""
    if not tested:
        builder.add(python, {}, "baseline (locked platform)")
        return
    for assignment, reason in _assignments(builder.distribution, strategy, graph):
        builder.add(python, assignment, reason)
    for include in builder.distribution.matrix.include:
        if include.applies_to(python):
            builder.add(python, include.pins, f"include (line {include.line})", excludable=False)


def split(
    distribution: Distribution, cell: Cell, graph: DependencyGraph, conflicts: Sequence[str] = ()
) -> tuple[Cell, ...]:
    """Minimal cells for the suites of a cell the resolver refused (`--split-unresolvable`).

    Each suite that involves the cell's changes gets the smallest environment holding its
    `requires` and those of the changes they pull in (`matrix.scope: minimal`; `graph` is the
    cell's Python's), so a pair refused only because of a bystander still gets its own verdict.
    `conflicts` (the manifest packages the resolver named) go into the new cells' reason. The
    baseline is never split: it is the release as it ships.
    """
    if cell.is_baseline or cell.minimal:
        return ()
    why = f"{SPLIT_FROM}{cell.id}" + (f" (refused: {', '.join(conflicts)})" if conflicts else "")
    reach = closure(distribution, graph)
    builder = _Builder(distribution, closures={cell.python: reach})
    builder.platform = cell.platform
    held = dict(cell.changes.items())
    for names in _minimal_packages(distribution, set(held), reach):
        pins = builder.pins(names, held)
        if pins != cell.pins:
            builder.add_cell(cell.python, pins, why, excludable=True, minimal=True, split_from=cell.id)
    return builder.cells()


class _Over(Exception):
    """The plan being built passed `max_cells`."""


def _on_platforms(distribution: Distribution, per_python: int, pythons: Sequence[PyVersion]) -> int:
    """Cells of a plan of `per_python` cells per Python on each tested platform, and the baseline
    of each Python on each platform only locked."""
    axis = platform_axis(distribution.platforms)
    tested = sum(1 for _, full in axis if full)
    return (per_python * tested + (len(axis) - tested)) * len(pythons)


def estimate(
    distribution: Distribution,
    strategy: Strategy,
    pythons: Sequence[PyVersion],
    graphs: Mapping[PyVersion, DependencyGraph] | None = None,
) -> int:
    """How many cells `strategy` gives on `pythons`.

    Counted without building where that is exact; a plan shaped by `include`, `exclude` or
    `scope: minimal` is built (past `MAX_ENUMERATED` combinations, the product is returned).
    """
    matrix = distribution.matrix
    shaped = matrix.include or matrix.exclude or matrix.scope is Scope.MINIMAL
    entry = STRATEGIES[strategy]
    if entry.count is not None:
        count = _on_platforms(distribution, entry.count(distribution), pythons)
        if not shaped or count > MAX_ENUMERATED:
            return count
    if not shaped and not entry.needs_graph:  # the distinct assignments, without making cells of them
        rows = {frozenset(assignment.items()) for assignment, _ in _assignments(distribution, strategy, None)}
        return _on_platforms(distribution, len(rows), pythons)
    return len(build(distribution, strategy, pythons=pythons, graphs=graphs, enforce_limit=False).cells)


def counts(
    distribution: Distribution, graphs: Mapping[PyVersion, DependencyGraph] | None = None
) -> dict[Strategy, int | None]:
    """Cells per strategy over every Python of the manifest (None: it needs the graphs — `pairs`, or
    any change under `scope: minimal` — or `cover` is too large to build)."""
    out: dict[Strategy, int | None] = dict.fromkeys(STRATEGIES)
    for strategy in STRATEGIES:
        if graphs is not None or not needs_graphs(distribution, strategy):
            with contextlib.suppress(CoverTooLarge):
                out[strategy] = estimate(distribution, strategy, distribution.python, graphs)
    return out


def counted(count: int) -> str:
    """A cell count as a person reads it: exact up to a trillion, then its order of magnitude
    (the product of 20,000 packages' candidates has more digits than Python will print)."""
    return str(count) if count < 10**12 else f"about 10^{math.floor(math.log10(count))}"


def _too_large(
    distribution: Distribution,
    strategy: Strategy,
    count: int | None,
    pythons: Sequence[PyVersion],
    graphs: Mapping[PyVersion, DependencyGraph] | None,
) -> PlanTooLarge:
    limit = distribution.matrix.max_cells
    fitting = []
    for entry in suggestions():
        other = entry.strategy
        if other is strategy or (graphs is None and needs_graphs(distribution, other)):
            continue
        try:
            n = estimate(distribution, other, pythons, graphs)
        except CoverTooLarge:
            continue
        if n <= limit:
            fitting.append(f"'{other}' ({n} cells)")
    hint = f"; {' or '.join(fitting[:2])} would fit" if fitting else ""
    size = f"{counted(count)} cells, more than" if count is not None else "more cells than"
    return PlanTooLarge(
        f"{distribution.where('matrix.max_cells')}: the '{strategy}' plan has {size} "
        f"max_cells {limit}{hint}, or raise max_cells"
    )


# ----------------------------------------------------------------- strategies


def _assignments(
    distribution: Distribution, strategy: Strategy, graph: DependencyGraph | None
) -> list[tuple[Assignment, str]]:
    """The changed pins of each cell (empty: baseline), with the reason it is planned."""
    return [({}, "baseline"), *STRATEGIES[strategy].changes(distribution, graph)]


# ----------------------------------------------------------------- cells


def cells_for(
    distribution: Distribution, wanted: Sequence[tuple[PyVersion, Mapping[NormalizedName, Version], str]]
) -> tuple[Cell, ...]:
    """Cells for hand-picked changes — (Python, changed pins, reason) — with the ids, pins, suites
    and keys any strategy would give them (a nightly's latest, upgrade and probe cells)."""
    builder = _Builder(distribution)
    for python, changes, reason in wanted:
        builder.add(python, dict(changes), reason)
    return builder.cells()


class _Builder:
    """Turns (python, pins a cell holds) into cells, merging duplicates and keeping first-seen order."""

    def __init__(
        self,
        distribution: Distribution,
        *,
        limit: int | None = None,
        closures: Mapping[PyVersion, Closure] | None = None,
    ) -> None:
        self.distribution = distribution
        self.closures = closures or {}
        self.inputs = KeyInputs.of(distribution)
        self.blessed = distribution.blessed
        self.limit = limit
        self.platform = ANY_PLATFORM  # the platform the cells added next are for
        self._excluded: set[tuple[str, str, Pins]] = set()
        self._cells: dict[tuple[str, str, Pins], Cell] = {}

    def add(
        self, python: PyVersion, held: Mapping[NormalizedName, Version], reason: str, *, excludable: bool = True
    ) -> None:
        """The cell(s) that hold `held` (a strategy's changes, or an include's pins) under the scope."""
        dist = self.distribution
        changed = any(version != self.blessed[name] for name, version in held.items())
        if dist.matrix.scope is Scope.MINIMAL and changed:
            for names in _minimal_packages(dist, set(held), self.closures.get(python)):
                self.add_cell(python, self.pins(names, held), reason, excludable=excludable, minimal=True)
            return
        names = _cell_packages(dist, set(held))
        self.add_cell(python, self.pins(names, held), reason, excludable=excludable)

    def pins(self, names: set[NormalizedName], held: Mapping[NormalizedName, Version]) -> Pins:
        """`names` in manifest order, each at its `held` version, else blessed."""
        return Pins((n, held.get(n, self.blessed[n])) for n in self.distribution.package_names if n in names)

    def add_cell(
        self,
        python: PyVersion,
        pins: Pins,
        reason: str,
        *,
        excludable: bool,
        minimal: bool = False,
        split_from: CellId | None = None,
    ) -> None:
        """One cell, unless an exclude pattern matches it or an equal cell is planned already."""
        dist = self.distribution
        platform = self.platform
        if excludable and any(pattern.matches(python, pins) for pattern in dist.matrix.exclude):
            self._excluded.add((python, platform, pins))
            return
        ident = (python, platform, pins)
        parents = (split_from,) if split_from else ()
        if ident in self._cells:
            cell = self._cells[ident]
            if reason not in cell.reasons:
                cell = replace(cell, reasons=(*cell.reasons, reason))
            self._cells[ident] = replace(cell, split_from=tuple(dict.fromkeys((*cell.split_from, *parents))))
            return
        if self.limit is not None and len(self._cells) >= self.limit:
            raise _Over
        changes = Pins((n, v) for n, v in pins.items() if v != self.blessed[n])
        minimal = minimal and len(pins) < len(dist.packages)  # holding everything, it is an ordinary cell
        involved = dist.matrix.scope is Scope.INVOLVED and bool(changes) and not minimal
        closure = self.closures.get(python) if minimal else None
        suites = _cell_suites(
            dist, set(pins), minimal=minimal, changed=set(changes) if involved else None, closure=closure
        )
        key = plan_key(self.inputs, python, pins, suites, platform)
        ident_text = (
            minimal_cell_id(python, tuple(pins.items()), platform)
            if minimal
            else cell_id(python, tuple(changes.items()), platform)
        )
        self._cells[ident] = Cell(
            ident_text,
            python,
            pins,
            changes,
            suites,
            key,
            (reason,),
            minimal=minimal,
            split_from=parents,
            platform=platform,
        )

    def cells(self) -> tuple[Cell, ...]:
        return tuple(self._cells.values())

    @property
    def excluded(self) -> int:
        """Distinct cells an exclude pattern kept out of the plan."""
        return len(self._excluded)


def _cell_packages(dist: Distribution, held: set[NormalizedName]) -> set[NormalizedName]:
    """Manifest packages a cell installs: all, or (scope: involved) what its pins touch."""
    if dist.matrix.scope is Scope.FULL or not held:
        return set(dist.package_names)
    involved = set(held)
    for suite in dist.suites:
        if suite.requires & held:
            involved |= suite.requires
    return involved


def _suite_needs(dist: Distribution) -> list[frozenset[NormalizedName]]:
    """What each suite needs installed: its `requires` (every package when it names none), and
    each package's own tests their package."""
    everything = frozenset(dist.package_names)
    needs = [s.requires or everything for s in dist.suites]
    return needs + [frozenset({p.name}) for p in dist.packages if p.tests]


def _minimal_packages(
    dist: Distribution, held: set[NormalizedName], closure: Closure | None
) -> list[set[NormalizedName]]:
    """scope: minimal — for each suite that needs a held package, what the suite needs and the held
    packages among what that pulls in (`closure`; the suite's test of them would not see the others);
    just the held packages when no suite needs any (an install check). Without a closure (a nightly,
    planned before anything is resolved), every held package goes in."""
    groups: list[set[NormalizedName]] = []
    for needs in _suite_needs(dist):
        if not needs & held:
            continue
        reach = held if closure is None else set().union(*(closure.get(n, {n}) for n in needs))
        if (names := set(needs) | (held & reach)) not in groups:
            groups.append(names)
    return groups or [held]


def _cell_suites(
    dist: Distribution,
    packages: set[NormalizedName],
    *,
    minimal: bool = False,
    changed: set[NormalizedName] | None = None,
    closure: Closure | None = None,
) -> tuple[SuiteName, ...]:
    """Suites whose requirements the cell holds, then the own tests of its packages. A suite that
    names no requirement runs everywhere, except in a minimal cell (it may need anything). With
    `changed` (a changed cell under `scope: involved`), only the suites the changes can affect: those
    that name a changed package (or none at all); the own tests of the packages it holds stay, since
    it holds only packages a suite names beside a change. With `closure` (a minimal cell), only the
    suites that pull in everything the cell holds: a suite beside a pin it never uses would be judged
    by a conflict that is not its own."""

    def reaches(requires: frozenset[NormalizedName]) -> bool:
        return closure is None or packages <= set().union(*(closure.get(n, {n}) for n in requires))

    suites = [
        s.name
        for s in dist.suites
        if s.requires <= packages
        and (s.requires or not minimal)
        and (changed is None or not s.requires or s.requires & changed)
        and reaches(s.requires)
    ]
    suites += [p.suite_name for p in dist.packages if p.tests and p.name in packages and reaches(frozenset({p.name}))]
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
        environment = dist.environment
        if environment.seed or environment.env:  # absent when unset, so older keys stay valid
            common["environment"] = {"seed": environment.seed, "env": dict(sorted(environment.env.items()))}
        return cls(suites, common)


def plan_key(inputs: KeyInputs, python: str, pins: Pins, suites: Sequence[SuiteName], platform: str = "") -> str:
    """Hash of every input that decides a cell's outcome and is known before resolution.

    In: the Python, the platform (only when the manifest names platforms, so the keys of one that
    names none stay as they were), the pins, the content of each suite the cell runs (or a
    package's test commands), the test runner's requirements, the package sources, the policy's
    timeout and retries, and how curator runs suites (`runner_digest`). Not in: the
    distribution's name and version, the strategy, suites the cell does not run, and the expected
    failures (outcomes are stored raw and judged when read).
    """
    payload = {
        "python": python,
        "pins": str(pins),
        "suites": {name: inputs.suites.get(name, []) for name in suites},
        **inputs.common,
    }
    if platform:
        payload["platform"] = platform
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


_SKIPPED_FOLDERS = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".venv"}
    | {"node_modules"}
)


@cache
def runner_digest() -> str:
    """Hash of how suites run inside a cell: the code of the noxfile, the suite runner and their
    protocol (its version included), without comments, docstrings and blank lines — a change to
    what they do changes every key, with nothing to bump by hand; a change to how they read does not."""
    from importlib.resources import files

    templates = files("curator.execute") / "harness"
    return digest_of({name: templates.joinpath(name).read_text(encoding="utf-8") for name in RUNNER_FILES})


def digest_of(sources: Mapping[str, str]) -> str:
    """The runner digest of these sources (file name → text)."""
    digest = hashlib.sha256()
    for name, source in sources.items():
        digest.update(name.encode() + b"\0" + behaviour(source).encode() + b"\0")
    return digest.hexdigest()[:16]


def behaviour(source: str) -> str:
    """Python source as it behaves: comments, docstrings, blank lines and trailing spaces taken out
    (read from the text itself, so the result is the same whichever Python reads it)."""
    spans = [
        (token.start, token.end)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body:
            first = body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                spans.append(((first.lineno, first.col_offset), (first.end_lineno or 0, first.end_col_offset or 0)))
    lines = source.splitlines()
    for (line, column), (end_line, end_column) in sorted(spans, reverse=True):
        head, tail = lines[line - 1][:column], lines[end_line - 1][end_column:]
        lines[line - 1 : end_line] = [head + tail]
    return "\n".join(kept for text in lines if (kept := text.rstrip()))


RUNNER_FILES = ("noxfile.py", "suite_runner.py", "protocol.py")
"""The files of `curator/templates/` copied into every run folder."""


def suite_digest(folder: Path) -> str:
    """Content hash of a suite folder's files, read in chunks (caches, VCS folders and bytecode left out)."""
    digest = hashlib.sha256()
    for relative in _suite_files(folder):
        digest.update(os.fsencode(relative.as_posix()) + b"\0")
        try:
            with (folder / relative).open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        except OSError as exc:
            raise UsageError(f"{folder / relative}: cannot read this file of a suite ({exc.strerror})") from None
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _suite_files(folder: Path) -> list[Path]:
    """Regular files under `folder`, relative to it, sorted by their parts; skipped folders are
    never entered, and links to folders are not followed."""
    found: list[Path] = []
    for base, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_FOLDERS]
        for name in names:
            path = Path(base, name)
            if path.suffix in {".pyc", ".pyo"}:
                continue
            try:
                regular = stat.S_ISREG(path.stat().st_mode)  # a link to a file counts as that file
            except OSError:
                continue  # a dangling link
            if regular:
                found.append(path.relative_to(folder))
    return sorted(found, key=lambda p: p.parts)


def suite_files(folder: Path) -> list[Path]:
    """The files of a suite folder that are its content (what `suite_digest` hashes), sorted."""
    return [folder / relative for relative in _suite_files(folder)]
