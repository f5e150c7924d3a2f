"""Everything a run's report says, computed once from the store: one frozen `RunData`.

The writers — cells.csv, matrices/, run.json (`report/files.py`), the HTML page
(`report/html.py`), `curator report --format json` — only render this value; none of them
reads the store or recomputes a table. (coverage.py keeps its `HtmlDataGeneration` apart from
its `HtmlReporter` the same way.)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from curator import codec
from curator.graph import DependencyGraph
from curator.ids import ANY_PLATFORM, Platform, PyVersion, python_key
from curator.layout import RunLayout
from curator.manifest import Distribution
from curator.matrix import all_matrices, candidate_summary, matrix_counts, pass_rate, suite_pass_rates, varied_pairs
from curator.outcome import RunKind
from curator.plan import Plan
from curator.report.analysis import Finding, RuleView, Timing, group_failures, policy_view, timing
from curator.report.blockers import Blocker, HeldBack, holds_back
from curator.report.nightly import NightlyView
from curator.report.nightly import view as nightly_view
from curator.resolve import Lock
from curator.results import ResultRow, RunSummary, result_rows, summarize, table_of, vouched_lock
from curator.store import CellRecord, RunRecord, Store

MatrixKey = tuple[str, str, str]  # (python, row package, column package)


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
    nightly: NightlyView | None = None  # a nightly's categories, culprits and trend (docs/nightly.md)

    @property
    def pass_rate(self) -> float | None:
        """Passed suites over those that ran."""
        return pass_rate(self.summary.counts)

    @property
    def manifest_changed(self) -> bool:
        """The manifest read now is not the one the run tested."""
        return self.distribution.sha256 != self.record.manifest_sha256


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
    for python in sorted({r.python for r in tested}, key=python_key):
        if python in baselines:
            edges[python] = [(e.dependent, e.dependency) for e in baselines[python].graph.manifest_edges()]
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
        candidates=candidate_summary(table, distribution),
        findings=findings,
        history={f.signature: seen.get(f.signature) for f in findings},
        held=held,
        blockers=blockers,
        splits=_splits(plan),
        rates=suite_pass_rates(table),
        rules=policy_view(tested, distribution.policy, today),
        timing=timing(records, (record.finished or time.time()) - record.started),
        finished=record.finished or time.time(),
        nightly=nightly,
    )


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
    return dict(sorted(data.matrices.items(), key=lambda item: (python_key(item[0][0]), item[0][1], item[0][2])))
