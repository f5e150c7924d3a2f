"""Everything a report says about one manifest package: its page.

A distribution team reads its results per package (CRAN's check page, Debian's autopkgtest history,
conda-forge's status page): its candidates on each Python, every cell and suite it took part in, the
matrices of its edges, what it needs and what needs it, what holds it back and what it holds back,
the findings that touch it, and its history across runs and nights. All of it is computed here once,
from values `report/data.py` already holds, into frozen `PackagePage`s the writers render.

Pure functions; the one read of the store (earlier runs' outcomes) is `data.build`'s.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pandas as pd

from curator.host.layout import REPORT_NAME
from curator.model.distribution import Distribution
from curator.model.outcome import Status, worst
from curator.model.pins import Pins
from curator.report.analysis import Finding
from curator.report.blockers import HeldBack, Kind
from curator.store.db import CellRecord, PastOutcome, RunRecord

HISTORY_RUNS = 12
"""How many earlier runs (and nights) of the distribution a package page looks back on."""

CELL_SUITES = 8
"""Past this many suites in a cell, a package page's row lists those that did not pass and counts the rest."""

_SETTLED = frozenset({str(Status.PASSED)})


@dataclass(frozen=True)
class CandidateRow:
    """One candidate of the package: its status on each Python ('' untested)."""

    version: str
    blessed: bool
    statuses: tuple[str, ...]  # in the order of the run's Pythons


@dataclass(frozen=True)
class CellPart:
    """A cell the package took part in: it held the package, and changed it, gates the release, or ran
    a suite that speaks to it."""

    cell: str
    python: str
    baseline: bool
    version: str  # the package's version in the cell
    changed: bool  # the cell changes the package from its blessed version
    others: tuple[str, ...]  # the cell's other changes from blessed (`name==version`)
    suites: tuple[tuple[str, str, str], ...]  # (suite, status, log) of the suites that speak to it
    passed_too: int  # more of those that passed, left unlisted (a cell of many suites lists the others)
    tally: tuple[tuple[str, int], ...]  # no suite speaks to the package: the cell's suites counted by status
    status: str  # the worst of those ('' when the cell ran none of them)
    duration: float
    reused_from: str


@dataclass(frozen=True)
class Neighbour:
    """A manifest package next to this one (it needs it, or is needed by it)."""

    name: str
    status: str  # the worst status of the pair's matrices on any Python ('' none)


@dataclass(frozen=True)
class HistoryEntry:
    """The package in one run or night: each version its own cells tested, and how it did."""

    run: str
    kind: str  # run | nightly
    started: float
    verdict: str
    link: str | None  # that run's report, relative to this one's folder (None: no report there)
    current: bool
    versions: tuple[tuple[str, str], ...]  # (version, worst status of the suites that speak to it)


@dataclass(frozen=True)
class PackagePage:
    """One manifest package, as its page in the report shows it."""

    name: str
    blessed: str
    newest: str
    maintainers: tuple[str, ...]
    candidates: tuple[CandidateRow, ...]
    suites: tuple[str, ...]  # the suites that speak to it (those that require it, its own tests)
    cells: tuple[CellPart, ...]
    matrices: tuple[tuple[str, str, str], ...]  # (python, row, column) of every matrix of its edges
    needs: tuple[Neighbour, ...]
    needed_by: tuple[Neighbour, ...]
    held: HeldBack | None  # why it ships below its newest candidate, or why its newest fails
    holds: tuple[str, ...]  # the packages it holds back (a constraint of it the resolver cites)
    findings: tuple[int, ...]  # indices into the run's findings that touch it
    history: tuple[HistoryEntry, ...]  # newest first, this run included
    attention: bool  # a candidate that did not pass (or was not tested), a blocker, a failure

    @property
    def anchor(self) -> str:
        """The id of its page in the report (`#pkg-numpy`)."""
        return anchor(self.name)

    @property
    def choice_only(self) -> bool:
        """Held back by nothing but the manifest's choice (its newest passed: consider blessing it)."""
        return self.held is not None and all(kind is Kind.CHOICE for kind, _ in self.held.blockers)


def anchor(name: str) -> str:
    """The id of a package's page."""
    return f"pkg-{name}"


def speaking_suites(distribution: Distribution) -> dict[str, frozenset[str]]:
    """Each package's suites: those that require it, and its own tests."""
    found: dict[str, set[str]] = {p.name: ({p.suite_name} if p.tests else set()) for p in distribution.packages}
    for suite in distribution.suites:
        for name in suite.requires:
            found.setdefault(name, set()).add(suite.name)
    return {name: frozenset(suites) for name, suites in found.items()}


def pages(
    distribution: Distribution,
    records: Sequence[CellRecord],
    *,
    candidates: pd.DataFrame,
    matrices: Mapping[tuple[str, str, str], pd.DataFrame],
    findings: Sequence[Finding],
    held: Sequence[HeldBack],
    needs: nx.DiGraph,
    pair_status: Mapping[tuple[str, str], str],
    history: Sequence[tuple[RunRecord, Sequence[PastOutcome]]],
    folder: Path,
) -> tuple[PackagePage, ...]:
    """The page of every manifest package, in manifest order.

    `needs` is the manifest packages' graph of who needs whom (`overview.needs_graph`),
    `pair_status` each pair's worst matrix status, `history` this run and the earlier ones
    (newest first, `Store.outcomes_before`), `folder` this run's folder (for links to the others).
    """
    speaks = speaking_suites(distribution)
    held_by_name = {h.package: h for h in held}
    holds: dict[str, list[str]] = {}
    for item in held:
        for kind, name in item.blockers:
            if kind is Kind.CONSTRAINT and name != item.package:
                holds.setdefault(name, []).append(item.package)
    parts = _parts(distribution, records, speaks)
    touching = _touching(distribution, findings, speaks)
    by_package: dict[str, list[tuple[str, str, str]]] = {}
    for key in sorted(matrices, key=lambda k: (_python_key(k[0]), k[1], k[2])):
        for name in dict.fromkeys(key[1:]):
            by_package.setdefault(name, []).append(key)
    past = _history(distribution, history, speaks, folder)
    statuses = {
        key: tuple(str(v) for v in row) for key, row in zip(candidates.index, candidates.to_numpy(), strict=True)
    }
    found: list[PackagePage] = []
    for package in distribution.packages:
        name = package.name
        rows = tuple(
            CandidateRow(str(v), v == package.blessed, statuses.get((name, str(v)), ())) for v in package.versions
        )
        squares = [s for row in rows for s in row.statuses]
        held_back = held_by_name.get(name)
        blocked = held_back is not None and any(kind is not Kind.CHOICE for kind, _ in held_back.blockers)
        found.append(
            PackagePage(
                name=name,
                blessed=str(package.blessed),
                newest=str(max(package.versions)),
                maintainers=package.maintainers,
                candidates=rows,
                suites=tuple(sorted(speaks.get(name, ()))),
                cells=tuple(parts.get(name, ())),
                matrices=tuple(by_package.get(name, ())),
                needs=tuple(Neighbour(n, pair_status.get((name, n), "")) for n in sorted(needs.successors(name)))
                if name in needs
                else (),
                needed_by=tuple(Neighbour(n, pair_status.get((n, name), "")) for n in sorted(needs.predecessors(name)))
                if name in needs
                else (),
                held=held_back,
                holds=tuple(holds.get(name, ())),
                findings=tuple(touching.get(name, ())),
                history=tuple(past.get(name, ())),
                attention=blocked or bool(holds.get(name)) or any(s not in _SETTLED for s in squares),
            )
        )
    return tuple(found)


def _parts(
    distribution: Distribution, records: Sequence[CellRecord], speaks: Mapping[str, frozenset[str]]
) -> dict[str, list[CellPart]]:
    """For each package, the cells it took part in (baseline cells first, then by Python and id).

    A cell of a thousand-package run holds a thousand pins: each cell is visited once, and each of
    its suites is credited to the packages it speaks to. A package no suite speaks to took part in
    every cell that holds it, and its row counts the cell's suites by status (each suite is named on
    the pages of the packages it speaks to)."""
    speaking_to = _speaking_to(speaks)
    silent = {p.name for p in distribution.packages if not speaks.get(p.name)}
    found: dict[str, list[CellPart]] = {}
    ordered = sorted(records, key=lambda r: (not r.baseline, _python_key(r.python), r.cell_id))
    for record in ordered:
        mine: dict[str, list[tuple[str, str, str]]] = {}
        for suite in record.outcome.suites:
            for name in speaking_to.get(suite.suite, ()):
                if name in record.pins:
                    mine.setdefault(name, []).append((suite.suite, str(suite.status), suite.log))
        tally = tuple(Counter(str(s.status) for s in record.outcome.suites).most_common())
        every = worst(s.status for s in record.outcome.suites)
        names = set(mine) | set(record.changes) | (silent & set(record.pins))
        if record.baseline:
            names |= set(record.pins)
        for name in names:
            if name not in record.pins:
                continue
            suites = mine.get(name, [])
            listed = suites if len(suites) <= CELL_SUITES else [s for s in suites if s[1] != str(Status.PASSED)]
            found.setdefault(name, []).append(
                CellPart(
                    cell=record.cell_id,
                    python=record.python,
                    baseline=record.baseline,
                    version=str(record.pins[name]),
                    changed=name in record.changes,
                    others=tuple(f"{n}=={v}" for n, v in record.changes.items() if n != name),
                    suites=tuple(listed),
                    passed_too=len(suites) - len(listed),
                    tally=tally if name in silent else (),
                    status=(str(every or "") if name in silent else _worst(s for _, s, _ in suites)),
                    duration=record.outcome.duration,
                    reused_from=record.outcome.reused_from or "",
                )
            )
    return found


def _speaking_to(speaks: Mapping[str, frozenset[str]]) -> dict[str, list[str]]:
    """Each suite → the packages it speaks to."""
    found: dict[str, list[str]] = {}
    for name, suites in speaks.items():
        for suite in suites:
            found.setdefault(suite, []).append(name)
    return found


def _python_key(python: str) -> tuple[int, ...]:
    return tuple(int(part) for part in python.split("."))


def _touching(
    distribution: Distribution, findings: Sequence[Finding], speaks: Mapping[str, frozenset[str]]
) -> dict[str, list[int]]:
    """Each package → the findings whose cells change it, whose refusal names it, or whose suites
    that ran speak to it (a refused suite never ran: it says nothing about the packages it tests)."""
    found: dict[str, list[int]] = {}
    names = set(distribution.package_names)
    for index, finding in enumerate(findings):
        touched: set[str] = set(finding.conflicts) & names
        for hit in finding.hits:
            touched |= {part.split("==", 1)[0] for part in hit.changes.split()} & names
            if hit.status is not Status.UNRESOLVABLE:
                touched |= {name for name, suites in speaks.items() if hit.suite in suites}
        for name in touched:
            found.setdefault(name, []).append(index)
    return found


def _history(
    distribution: Distribution,
    runs: Sequence[tuple[RunRecord, Sequence[PastOutcome]]],
    speaks: Mapping[str, frozenset[str]],
    folder: Path,
) -> dict[str, list[HistoryEntry]]:
    """Each package in each run (newest first): for every version a cell changed it to, and the
    blessed one of a baseline cell, the worst status of the suites that speak to it in the cells that
    change nothing else — or, when there are none, in every cell that changes it."""
    found: dict[str, list[HistoryEntry]] = {}
    names = set(distribution.package_names)
    speaking_to = _speaking_to(speaks)
    silent = {p.name for p in distribution.packages if not speaks.get(p.name)}
    for index, (run, outcomes) in enumerate(runs):
        own: dict[tuple[str, str], list[Status]] = {}
        shared: dict[tuple[str, str], list[Status]] = {}
        cells: dict[str, list[PastOutcome]] = {}
        for outcome in outcomes:
            cells.setdefault(outcome.cell_id, []).append(outcome)
        for rows in cells.values():
            first = rows[0]
            every = [o.status for o in rows]
            by_package: dict[str, list[Status]] = {}
            for o in rows:
                for name in speaking_to.get(o.suite, ()):
                    by_package.setdefault(name, []).append(o.status)
            changed = [name for name in first.changes if name in names]
            for name in changed:
                statuses = every if name in silent else by_package.get(name, [])
                target = own if len(first.changes) == 1 else shared
                target.setdefault((name, str(first.changes[name])), []).extend(statuses)
            if first.baseline:
                for name, pinned in first.pins.items():
                    if name in names and name not in first.changes:
                        statuses = every if name in silent else by_package.get(name, [])
                        own.setdefault((name, str(pinned)), []).extend(statuses)
        versions: dict[str, dict[str, str]] = {}
        for (name, version), statuses in [*shared.items(), *own.items()]:  # its own cells speak last
            found_worst = worst(statuses)
            versions.setdefault(name, {})[version] = str(found_worst) if found_worst else ""
        link = None if index == 0 else _link(Path(run.out_dir) / REPORT_NAME, folder)
        for name, tested in versions.items():
            found.setdefault(name, []).append(
                HistoryEntry(
                    run=run.id,
                    kind=run.kind,
                    started=run.started,
                    verdict=str(run.verdict or run.status),
                    link=link,
                    current=index == 0,
                    versions=tuple(sorted(tested.items(), key=lambda item: _version_key(item[0]))),
                )
            )
    return found


def _link(report: Path, folder: Path) -> str | None:
    try:
        exists = report.is_file()
    except OSError:
        return None
    return Path(os.path.relpath(report, folder)).as_posix() if exists else None


def _version_key(version: str) -> tuple[int, object]:
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def current_outcomes(records: Iterable[CellRecord]) -> list[PastOutcome]:
    """This run's outcomes in the shape of an earlier run's (`Store.outcomes_before`)."""
    return [
        PastOutcome(r.cell_id, r.python, r.baseline, r.changes, r.pins if r.baseline else Pins(), s.suite, s.status)
        for r in records
        for s in r.outcome.suites
    ]


def _worst(statuses: Iterable[str]) -> str:
    found = worst(Status(s) for s in statuses if s)
    return str(found) if found else ""
