"""The report's tables as values: each matrix as rows of squares, each Python's baseline graph with
its failing edges, the cells table, the candidates no cell tested.

Computed once by `report.data.build` into `RunData`; the HTML writer only adds pictures (a heatmap,
a graph drawing) to these values and renders them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from curator.model.ids import CellId, PyVersion, SuiteName, python_key
from curator.model.outcome import Status
from curator.report.blockers import HOLDING
from curator.resolve.graph import DependencyGraph
from curator.store.db import CellRecord

MatrixKey = tuple[str, str, str]  # (python, row package, column package)

WIDE_SUITES = 24
"""Past this many suites, the cells table lists each cell's suites that did not pass instead of a
column per suite (a thousand-package run would otherwise be millions of empty squares)."""


@dataclass(frozen=True)
class MatrixView:
    """One compatibility matrix as a table (and, once the writer draws it, its heatmap)."""

    anchor: str
    python: str
    row: str
    column: str
    columns: list[str]
    rows: list[tuple[str, list[tuple[str, int]]]]  # row label → (status or '', outcomes behind it)
    statuses: list[str]
    drawn: bool  # drawn on the main page (`matrix.telling`); otherwise only listed, and on its packages' pages
    pythons: tuple[str, ...] = ()  # the Pythons a drawn figure stands for (the same matrix on each)
    image: str = ""  # data: URI of the heatmap, added by the writer


@dataclass(frozen=True)
class GraphView:
    """One Python's resolved baseline graph: how big, where it differs, which edges fail."""

    python: str
    failing: list[tuple[str, str]]
    differs: list[str]  # `name version` where this Python resolved otherwise than the first one
    nodes: int = 0
    same: bool = False  # the same graph, failing edges included, as the first Python's (drawn there, not again)
    image: str = ""  # data: URI of the drawing, added by the writer ('' when too large or the same)
    dot: str = ""  # data: URI of the graph as Graphviz DOT (a download), added by the writer
    dot_name: str = ""


@dataclass(frozen=True)
class CellLine:
    """One row of the cells table."""

    id: CellId
    python: PyVersion
    platform: str  # the target it was planned for ('' when the manifest names no platforms)
    tested: bool  # False: "locked, not tested" (no executor of its platform): it shows no statuses
    baseline: bool
    changes: list[str]
    status: str
    suites: list[str]  # the status of each of the table's suites ('' where it did not run), or none when wide
    unsettled: list[tuple[str, str]]  # (suite, status) of each suite that did not pass
    passed: int
    statuses: list[str]
    duration: float
    reused_from: str
    log: str


def matrix_views(
    matrices: Mapping[MatrixKey, pd.DataFrame], counts: Mapping[MatrixKey, pd.DataFrame], drawn: Sequence[MatrixKey]
) -> tuple[MatrixView, ...]:
    """Every matrix as a table, in `matrices`' order."""
    views = []
    shown = set(drawn)
    for (python, row, column), result in matrices.items():
        behind = counts[python, row, column]
        rows = []
        for version in result.index:
            squares = []
            for other in result.columns:
                count = int(behind.loc[version, other]) if version in behind.index and other in behind.columns else 0
                squares.append((str(result.loc[version, other]), count))
            rows.append((str(version), squares))
        views.append(
            MatrixView(
                anchor=f"m-py{python}-{row}-{column}",
                python=python,
                row=row,
                column=column,
                columns=[str(c) for c in result.columns],
                rows=rows,
                statuses=sorted({s for _, squares in rows for s, _ in squares if s}),
                drawn=(python, row, column) in shown,
            )
        )
    return tuple(views)


def figures(matrices: Sequence[MatrixView]) -> tuple[MatrixView, ...]:
    """The drawn matrices, one figure for a pair whose matrix is the same on several Pythons."""
    found: dict[tuple[str, str, str], MatrixView] = {}
    for m in matrices:
        if not m.drawn:
            continue
        same = (m.row, m.column, repr((m.columns, m.rows)))
        if same in found:
            first = found[same]
            found[same] = replace(first, pythons=(*first.pythons, m.python))
        else:
            found[same] = replace(m, pythons=(m.python,))
    return tuple(found.values())


def pairs(matrices: Sequence[MatrixView]) -> list[tuple[str, str, list[str]]]:
    """(row, column, Pythons) of each pair of packages among `matrices`, in their order."""
    found: dict[tuple[str, str], list[str]] = {}
    for m in matrices:
        found.setdefault((m.row, m.column), []).append(m.python)
    return [(row, column, pythons) for (row, column), pythons in sorted(found.items())]


def graph_views(
    baselines: Mapping[PyVersion, tuple[Mapping[str, str], DependencyGraph]],
    matrices: Sequence[MatrixView],
    pair_status: Mapping[tuple[str, str], str],
) -> tuple[GraphView, ...]:
    """The baseline graph of each Python (what the distribution ships: the test runner left out),
    with the edges whose matrix holds failures; `baselines` maps a Python to its versions and its graph."""
    views: list[GraphView] = []
    first: dict[str, str] = {}
    first_edges: list[tuple[str, str]] = []
    for python in sorted(baselines, key=python_key):
        versions, graph = baselines[python]
        edges = sorted(graph.graph.edges)
        failing = sorted(
            (m.row, m.column)
            for m in matrices
            if m.python == python and any(Status(s) in HOLDING for s in m.statuses)
            if (m.row, m.column) in edges
            if (status := pair_status.get((m.row, m.column))) and Status(status) in HOLDING
        )
        differs = sorted(f"{n} {v}" for n, v in versions.items() if first and first.get(n) != v)
        if not first:
            first, first_edges = dict(versions), edges
        same = bool(views) and not differs and edges == first_edges and failing == views[0].failing
        views.append(GraphView(python, failing, differs, graph.graph.number_of_nodes(), same=same))
    return tuple(views)


def cell_lines(records: Sequence[CellRecord]) -> tuple[tuple[SuiteName, ...], tuple[CellLine, ...]]:
    """The cells table: its suites, and one line per cell, baseline cells first."""
    suites = tuple(dict.fromkeys(s.suite for r in records for s in r.outcome.suites))
    lines = []
    for record in sorted(records, key=lambda r: (not r.baseline, python_key(r.python), r.cell_id)):
        tested = record.outcome.tested  # a cell "locked, not tested" shows no status: nothing ran
        by_suite = {s.suite: str(s.status) if tested else "" for s in record.outcome.suites}
        lines.append(
            CellLine(
                id=record.cell_id,
                python=record.python,
                platform=record.platform,
                tested=tested,
                baseline=record.baseline,
                changes=record.changes.requirements(),
                status=str(record.outcome.status),
                suites=[by_suite.get(s, "") for s in suites] if len(suites) <= WIDE_SUITES else [],
                unsettled=[
                    (s.suite, str(s.status)) for s in record.outcome.suites if tested and s.status is not Status.PASSED
                ],
                passed=sum(1 for s in record.outcome.suites if s.status is Status.PASSED),
                statuses=sorted(set(by_suite.values())),
                duration=record.outcome.duration,
                reused_from=record.outcome.reused_from or "",
                log=record.outcome.log,
            )
        )
    return suites, tuple(lines)


def untested(candidates: pd.DataFrame) -> tuple[str, ...]:
    """`name version` of the candidates no cell tested."""
    return tuple(
        f"{name} {version}"
        for (name, version), statuses in zip(candidates.index, candidates.to_numpy(), strict=True)
        if not any(statuses)
    )
