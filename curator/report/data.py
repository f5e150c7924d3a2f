"""Everything a run's report says, computed once from the store: one frozen `RunData`.

The writers — cells.csv, matrices/, run.json (`report/files.py`), the HTML page
(`report/html.py`), `curator report --format json` — only render this value; none of them
reads the store or recomputes a table. (coverage.py keeps its `HtmlDataGeneration` apart from
its `HtmlReporter` the same way.)
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from curator.host.layout import RunLayout
from curator.model import codec
from curator.model.distribution import Distribution
from curator.model.ids import ANY_PLATFORM, Platform, PyVersion, SuiteName, python_key
from curator.model.outcome import RunKind, Status, worst
from curator.plan.cells import Plan
from curator.report import overview, packages, views
from curator.report.analysis import Finding, RuleView, Timing, group_failures, policy_view, timing
from curator.report.blockers import Blocker, HeldBack, Kind, holds_back
from curator.report.nightly_view import NightlyView
from curator.report.nightly_view import view as nightly_view
from curator.report.overview import ManifestMap
from curator.report.packages import PackagePage
from curator.report.views import CellLine, GraphView, MatrixView
from curator.resolve.graph import DependencyGraph
from curator.resolve.lock import Lock
from curator.results.matrix import (
    all_matrices,
    candidate_summary,
    matrix_counts,
    pass_rate,
    suite_pass_rates,
    telling,
    varied_pairs,
)
from curator.results.rows import ResultRow, RunSummary, result_rows, summarize, table_of, vouched_lock
from curator.store.db import CellRecord, RunRecord, Store

MatrixKey = tuple[str, str, str]  # (python, row package, column package)

CHOICE_CARDS = 3
"""Up to this many packages held back by nothing but the manifest's choice get a card each on the main
page; more are named in one line ("consider blessing …"), each card on its package's page."""
PACKAGE_TILES = 60
"""Up to this many packages get a tile each on the main page; past that, only those that need attention
do, and the rest are named in one collapsed list (every package keeps its page)."""


@dataclass(frozen=True)
class Baseline:
    """One Python's resolved baseline: the lock the store vouches for, and its graph."""

    python: PyVersion
    lock: Lock  # the distribution's packages only (the test runner left out)
    graph: DependencyGraph


@dataclass(frozen=True)
class RunData:
    """A run's evidence and every view of it the reports show. `records` and `rows` hold every cell;
    the views of evidence (table, matrices, findings, what holds a package back, the policy) hold
    only the cells that were tested — a cell "locked, not tested" is said per platform instead."""

    record: RunRecord
    distribution: Distribution
    layout: RunLayout
    store_path: Path
    today: dt.date
    records: tuple[CellRecord, ...]
    rows: tuple[ResultRow, ...]
    table: pd.DataFrame
    summary: RunSummary
    baselines: dict[PyVersion, Baseline]
    edges: dict[PyVersion, list[tuple[str, str]]]  # the pairs drawn as matrices, per Python
    edge_notes: dict[PyVersion, str]  # why a Python's pairs are not its dependency edges
    matrices: dict[MatrixKey, pd.DataFrame]
    matrix_counts: dict[MatrixKey, pd.DataFrame]
    candidates: pd.DataFrame
    findings: list[Finding]
    history: dict[str, tuple[str, int] | None]  # signature → (first run that saw it, runs that did)
    held: list[HeldBack]
    blockers: list[Blocker]
    splits: dict[str, list[str]]  # a refused cell → the minimal cells its suites were retried in
    rates: pd.DataFrame
    rules: list[RuleView]
    timing: Timing
    finished: float
    telling: tuple[MatrixKey, ...]  # the matrices that tell more than the candidates (`matrix.telling`)
    matrix_views: tuple[MatrixView, ...]  # every matrix as a table, oldest Python first
    graph_views: tuple[GraphView, ...]  # each Python's baseline graph, with its failing edges
    cell_suites: tuple[SuiteName, ...]  # the cells table's suites
    cell_lines: tuple[CellLine, ...]  # the cells table, baseline cells first
    untested: tuple[str, ...]  # `name version` of the candidates no cell tested
    pair_status: dict[tuple[str, str], str]  # each pair's worst square on any Python (`overview.pair_status`)
    packages: tuple[PackagePage, ...]  # every manifest package's page, manifest order
    overview: ManifestMap  # the manifest packages by layer, alike ones folded
    nightly: NightlyView | None = None  # a nightly's categories, culprits and trend (docs/nightly.md)

    @property
    def pass_rate(self) -> float | None:
        """Passed suites over those that ran."""
        return pass_rate(self.summary.counts)

    @property
    def manifest_changed(self) -> bool:
        """The manifest read now is not the one the run tested."""
        return self.distribution.sha256 != self.record.manifest_sha256

    @property
    def blessable(self) -> tuple[HeldBack, ...]:
        """The packages held back by nothing but the manifest's choice, when there are too many for a
        card each on the main page (then they are named in one line: consider blessing them)."""
        pages = {page.name: page for page in self.packages}
        choice = tuple(item for item in self.held if item.package in pages and pages[item.package].choice_only)
        return choice if len(choice) > CHOICE_CARDS else ()

    @property
    def held_cards(self) -> tuple[HeldBack, ...]:
        """The packages held back that the main page gives a card each."""
        listed = {item.package for item in self.blessable}
        return tuple(item for item in self.held if item.package not in listed)

    @property
    def blockers_shown(self) -> tuple[Blocker, ...]:
        """The blockers ranked on the main page: all of them, but the manifest's choices when those
        packages are named in one line (`blessable`)."""
        listed = {item.package for item in self.blessable}
        return tuple(b for b in self.blockers if not (b.kind is Kind.CHOICE and set(b.packages) <= listed))

    @property
    def tiles(self) -> tuple[PackagePage, ...]:
        """The packages with a tile on the main page: every one, or past `PACKAGE_TILES` those that
        need attention."""
        if len(self.packages) <= PACKAGE_TILES:
            return self.packages
        return tuple(page for page in self.packages if page.attention)

    @property
    def untiled(self) -> tuple[PackagePage, ...]:
        """The packages without a tile (named in one collapsed list)."""
        shown = {page.name for page in self.tiles}
        return tuple(page for page in self.packages if page.name not in shown)

    @property
    def suites_below(self) -> list[dict[str, object]]:
        """The suites whose pass rate is below 100% (or that never ran), worst first."""
        return [
            {"suite": row["suite"], "pass_rate": None if pd.isna(row["pass_rate"]) else float(row["pass_rate"])}
            for row in self.rates.to_dict("records")
            if pd.isna(row["pass_rate"]) or row["pass_rate"] < 1
        ]


def build(
    store: Store,
    run_id: str,
    distribution: Distribution,
    *,
    today: dt.date,
    interrupted: bool | None = None,
    finished: float | None = None,
    folder: Path | None = None,
) -> RunData:
    """Read a run from the store once and compute every view of it.

    `interrupted` and `finished` describe a run being published now (its record is not final
    yet); by default the recorded ones are used. `folder` is the run folder when it is no longer
    where the run wrote it.
    """
    record = store.run(run_id)
    if finished is not None:
        record = replace(record, finished=finished)
    layout = RunLayout((folder or Path(record.out_dir)).resolve())
    records = tuple(store.cells(record.id))
    rows = tuple(result_rows(records, layout))
    tested = tuple(r for r in records if r.outcome.tested)  # what was tested: the evidence the views weigh
    table = table_of([row for row in rows if row.tested])
    if interrupted is None:
        interrupted = record.status != "finished"
    plan = Plan.stored(record.id, record.plan)
    summary = summarize(records, record, plan, distribution, today, interrupted=interrupted)
    nightly = nightly_view(store, record) if record.kind is RunKind.NIGHTLY else None
    if nightly is not None and not interrupted:  # a nightly is red for a regression, not for any failing cell
        summary = replace(summary, verdict=nightly.night.verdict)
    primary = distribution.platforms.primary if distribution.platforms else ANY_PLATFORM
    baselines = {
        python: found
        for python in record.pythons
        if (found := _baseline(store, distribution, layout, records, python, platform=primary))
    }
    edges: dict[PyVersion, list[tuple[str, str]]] = {}
    notes: dict[PyVersion, str] = {}
    needed = {
        python: [(e.dependent, e.dependency) for e in b.graph.manifest_edges()] for python, b in baselines.items()
    }
    for python in sorted({r.python for r in tested}, key=python_key):
        if python in baselines:
            edges[python] = needed[python]
        else:
            edges[python] = varied_pairs(table, distribution, python)
            notes[python] = (
                f"Python {python} has no resolved baseline in this run, so its dependency edges are unknown: "
                "a matrix is drawn for every pair of packages that take more than one version"
            )
    matrices = all_matrices(table, distribution, edges)
    counts = {key: matrix_counts(table, *key, distribution) for key in matrices}
    findings = group_failures(tested, distribution.package_names)
    seen = store.first_seen([f.signature for f in findings], distribution=record.distribution, before=record.started)
    held, blockers = holds_back(tested, distribution)
    candidates = candidate_summary(table, distribution)
    needs = overview.needs_graph(distribution.package_names, (pair for pairs in needed.values() for pair in pairs))
    blamed = {frozenset(pair) for f in findings for pair in itertools.combinations(f.conflicts, 2)}
    pairs = overview.pair_status({key: set(m.to_numpy().flat) for key, m in matrices.items()}, blamed)
    earlier = store.outcomes_before(record.distribution, before=record.started, limit=packages.HISTORY_RUNS)
    pages = packages.pages(
        distribution,
        tested,
        candidates=candidates,
        matrices=matrices,
        findings=findings,
        held=held,
        needs=needs,
        pair_status=pairs,
        history=[(replace(record, verdict=summary.verdict), packages.current_outcomes(tested)), *earlier],
        folder=layout.root,
    )
    worst_candidate = {page.name: _worst_square(page) for page in pages}
    attention = {page.name for page in pages if page.attention}
    drawn = tuple(
        key for key, result in matrix_items_of(matrices).items() if telling(result, blamed=frozenset(key[1:]) in blamed)
    )
    tables = views.matrix_views(matrix_items_of(matrices), counts, drawn)
    baseline_graphs = {
        python: ({str(n): str(v) for n, v in b.lock.versions.items()}, b.graph) for python, b in baselines.items()
    }
    suites, lines = views.cell_lines(records)
    return RunData(
        record=record,
        distribution=distribution,
        layout=layout,
        store_path=store.path,
        today=today,
        records=records,
        rows=rows,
        table=table,
        summary=summary,
        baselines=baselines,
        edges=edges,
        edge_notes=notes,
        matrices=matrices,
        matrix_counts=counts,
        candidates=candidates,
        findings=findings,
        history={f.signature: seen.get(f.signature) for f in findings},
        held=held,
        blockers=blockers,
        splits=_splits(plan),
        rates=suite_pass_rates(table),
        rules=policy_view(tested, distribution.policy, today),
        timing=timing(records, (record.finished or time.time()) - record.started),
        finished=record.finished or time.time(),
        telling=drawn,
        matrix_views=tables,
        graph_views=views.graph_views(baseline_graphs, tables, pairs),
        cell_suites=suites,
        cell_lines=lines,
        untested=views.untested(candidates),
        pair_status=pairs,
        packages=pages,
        overview=overview.build_map(needs, worst_candidate, attention, pairs),
        nightly=nightly,
    )


def _worst_square(page: PackagePage) -> str:
    """The worst status of a package's candidates on any Python ('' when none was tested)."""
    found = worst(Status(s) for row in page.candidates for s in row.statuses if s)
    return str(found) if found else ""


def _splits(plan: Plan) -> dict[str, list[str]]:
    """Each refused cell of a run, and the cells split from it."""
    found: dict[str, list[str]] = {}
    for cell in plan.cells:
        for parent in cell.split_from:
            found.setdefault(parent, []).append(cell.id)
    return found


def _baseline(
    store: Store,
    distribution: Distribution,
    layout: RunLayout,
    records: Sequence[CellRecord],
    python: PyVersion,
    *,
    platform: Platform,
) -> Baseline | None:
    cell = next((r for r in records if r.baseline and r.python == python and r.platform == platform), None)
    if cell is None or not cell.outcome.lock_key:
        return None
    lock = vouched_lock(store, layout, cell)
    if lock is None:
        return None
    shipped = lock.closure(distribution.package_names)
    return Baseline(python, shipped, DependencyGraph.build(distribution, shipped))


def summary_json(data: RunData) -> dict[str, object]:
    """`curator report --format json`: the run's summary, each unexpected outcome with its signature,
    and a row per cell × suite with the columns of cells.csv."""
    return {
        "distribution": data.record.distribution,
        "version": data.record.version,
        **codec.to_json(data.summary),
        "report": str(data.layout.report),
        "suites": [codec.row_json(row) for row in data.rows],
    }


def matrix_items(data: RunData) -> Mapping[MatrixKey, pd.DataFrame]:
    """The run's matrices, oldest Python first (the order files and sections use)."""
    return matrix_items_of(data.matrices)


def matrix_items_of(matrices: Mapping[MatrixKey, pd.DataFrame]) -> dict[MatrixKey, pd.DataFrame]:
    """Matrices, oldest Python first, then by row and column package."""
    return dict(sorted(matrices.items(), key=lambda item: (python_key(item[0][0]), item[0][1], item[0][2])))
