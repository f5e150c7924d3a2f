"""The HTML report of a run (`RUN_DIR/index.html`) and the index of every run (`reports/index.html`).

Both are rendered with Jinja2 (autoescaped: whatever a test printed shows as text) — the run's
page from what `report/data.py` computed, the index from the runs' recorded summaries — into
one self-contained file each: CSS, the filter script and every picture are inline, and a
Content-Security-Policy forbids loading anything, so the file opens from disk, from an e-mail
or on an air-gapped machine exactly as it does here.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import jinja2
import pandas as pd

from curator import __version__, codec
from curator.graph import DependencyGraph
from curator.ids import SuiteName, python_key
from curator.layout import REPORT_NAME, atomic_write
from curator.matrix import pass_rate
from curator.nightly.model import Night
from curator.outcome import RunKind, Status
from curator.report import charts
from curator.report.blockers import HOLDING
from curator.report.data import RunData, matrix_items
from curator.report.nightly import short_time
from curator.results import RunSummary
from curator.store import CellRecord, RunRecord, Store


@dataclass(frozen=True)
class MatrixView:
    """One compatibility matrix: its heatmap and the same data as a table."""

    anchor: str
    python: str
    row: str
    column: str
    image: str  # data: URI of the heatmap
    columns: list[str]
    rows: list[tuple[str, list[tuple[str, int]]]]  # row label → (status or '', outcomes behind it)
    statuses: list[str]


@dataclass(frozen=True)
class GraphView:
    """The dependency graph picture of one Python's resolved baseline."""

    python: str
    image: str  # '' when the graph is too large to draw in a report (`GRAPH_NODES`)
    failing: list[tuple[str, str]]
    differs: list[str]  # `name version` where this Python resolved otherwise than the first one
    nodes: int = 0


def _environment() -> jinja2.Environment:
    """The report's Jinja environment, one per process and cache folder: each template is compiled
    once, and its compiled code is kept in curator's cache (Jinja checks it against the template's
    source), so a run's report does not compile its templates again. The folder is named for
    this file and Jinja's version: code compiled with other options is never read back."""
    from curator.layout import cache_dir

    return _environment_in(cache_dir() / "templates" / _compiled_by())


@cache
def _compiled_by() -> str:
    from importlib import metadata

    return hashlib.sha256(Path(__file__).read_bytes() + metadata.version("jinja2").encode()).hexdigest()[:16]


@cache
def _environment_in(compiled: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("curator.report", "templates"),
        bytecode_cache=_CompiledTemplates(str(compiled)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        letter=lambda status: Status(status).letter if status else charts.UNTESTED_MARK,
        colours={str(s): c for s, c in charts.COLOURS.items()},
        dark={str(s) for s in charts.DARK_FILLS},
        statuses=[str(s) for s in sorted(Status, key=lambda s: -s.severity)],
        seconds=_seconds,
        when=_when,
        percent=lambda rate: "—" if rate is None or pd.isna(rate) else f"{100 * rate:.0f}%",
    )
    return env


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's folder of compiled templates; one that cannot be read or written costs a compile, nothing else."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)


def warm() -> None:
    """Compile the report's templates ahead (while a run's cells run, `cli.common.preloading`)."""
    environment = _environment()
    for name in environment.list_templates(extensions=["j2"]):
        environment.get_template(name)


def _script() -> tuple[str, str]:
    """The report's script and its CSP hash (so no other script, injected or not, may run)."""
    loader = jinja2.PackageLoader("curator.report", "templates")
    source, _, _ = loader.get_source(jinja2.Environment(autoescape=True), "filters.js")
    digest = base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")
    return source, f"'sha256-{digest}'"


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "—"
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# ----------------------------------------------------------------------- the run report


def _matrix_views(data: RunData) -> list[MatrixView]:
    views = []
    for (python, row, column), result in matrix_items(data).items():
        counts = data.matrix_counts[python, row, column]
        image = charts.status_heatmap(
            result,
            title=f"{row} × {column} on Python {python}",
            salt=f"{python}-{row}-{column}",
            counts=counts,
        )
        rows = []
        for version in result.index:
            squares = []
            for other in result.columns:
                count = int(counts.loc[version, other]) if version in counts.index and other in counts.columns else 0
                squares.append((str(result.loc[version, other]), count))
            rows.append((str(version), squares))
        statuses = sorted({s for _, squares in rows for s, _ in squares if s})
        views.append(
            MatrixView(
                anchor=f"m-py{python}-{row}-{column}",
                python=python,
                row=row,
                column=column,
                image=charts.data_uri(image),
                columns=[str(c) for c in result.columns],
                rows=rows,
                statuses=statuses,
            )
        )
    return views


GRAPH_NODES = 150
"""A baseline graph of more packages is not drawn in the report (it would take minutes and read as a
smudge); `curator graph` still draws it."""
CHART_ROWS = 80
WIDE_SUITES = 24
"""Past this many suites, the cells table lists each cell's suites that did not pass instead of a
column per suite (a thousand-package run would otherwise be millions of empty squares)."""
"""The most candidates one heatmap draws: past that (a distribution of hundreds of packages) it draws
the packages with a candidate that did not pass, and the table beside it holds every candidate."""


def _candidates_image(data: RunData) -> str:
    """The heatmap of the candidates ('' for none: too many to draw, and every one passing)."""
    candidates = data.candidates
    title = "Every candidate on every Python (★ blessed)"
    if len(candidates) > CHART_ROWS:
        settled = {"", str(Status.PASSED), str(Status.EXPECTED_FAIL)}
        troubled = {name for (name, _), row in zip(candidates.index, candidates.to_numpy(), strict=True)
                    if any(str(v) not in settled for v in row)}  # fmt: skip
        shown = [name in troubled for name, _ in candidates.index]
        candidates = candidates[shown].head(CHART_ROWS)
        if candidates.empty:
            return ""
        packages = len({name for name, _ in candidates.index})
        title = (
            f"Candidates of the {packages} packages with one not passing, of {len(troubled)}"
            f" (★ blessed; every candidate in the table)"
        )
    blessed = {(p.name, str(p.blessed)) for p in data.distribution.packages}
    labels = [f"{name} {version}" + (" ★" if (name, version) in blessed else "") for name, version in candidates.index]
    image = charts.status_heatmap(candidates, title=title, salt="candidates", row_labels=labels)
    return charts.data_uri(image)


def _graph_views(data: RunData, matrices: Sequence[MatrixView]) -> list[GraphView]:
    """The baseline graph of each Python (what the distribution ships: the test runner left out),
    with the edges whose matrix holds failures marked."""
    views: list[GraphView] = []
    first: dict[str, str] = {}
    for python in sorted(data.baselines, key=python_key):
        baseline = data.baselines[python]
        graph = baseline.graph
        failing = sorted(
            (m.row, m.column)
            for m in matrices
            if m.python == python and any(Status(s) in HOLDING for s in m.statuses)
            if graph.graph.has_edge(m.row, m.column)
        )
        versions = {str(name): str(version) for name, version in baseline.lock.versions.items()}
        differs = sorted(f"{n} {v}" for n, v in versions.items() if first and first.get(n) != v)
        first = first or versions
        nodes = graph.graph.number_of_nodes()
        if nodes > GRAPH_NODES:
            views.append(GraphView(python, "", failing, differs, nodes))
            continue
        svg = charts.memo("graph", [graph.to_json(), failing, python], partial(_graph_svg, graph, python, failing))
        views.append(GraphView(python, charts.data_uri(svg), failing, differs, nodes))
    return views


def _graph_svg(graph: DependencyGraph, python: str, failing: Sequence[tuple[str, str]]) -> str:
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": f"graph-{python}", "svg.fonttype": "none"}):
        return graph.to_svg(failing=failing)


def _untested(candidates: pd.DataFrame) -> list[str]:
    """`name version` of the candidates no cell tested."""
    return [
        f"{name} {version}"
        for (name, version), statuses in zip(candidates.index, candidates.to_numpy(), strict=True)
        if not any(statuses)
    ]


def _cells_view(records: Sequence[CellRecord]) -> tuple[list[SuiteName], list[dict[str, object]]]:
    suites = list(dict.fromkeys(s.suite for r in records for s in r.outcome.suites))
    rows: list[dict[str, object]] = []
    for record in sorted(records, key=lambda r: (not r.baseline, python_key(r.python), r.cell_id)):
        tested = record.outcome.tested  # a cell "locked, not tested" shows no status: nothing ran
        by_suite = {s.suite: str(s.status) if tested else "" for s in record.outcome.suites}
        rows.append(
            {
                "id": record.cell_id,
                "python": record.python,
                "platform": record.platform,
                "tested": tested,
                "baseline": record.baseline,
                "changes": " ".join(record.changes.requirements()),
                "status": str(record.outcome.status),
                "suites": [by_suite.get(s, "") for s in suites] if len(suites) <= WIDE_SUITES else [],
                "unsettled": [
                    (s.suite, str(s.status)) for s in record.outcome.suites if tested and s.status is not Status.PASSED
                ],
                "passed": sum(1 for s in record.outcome.suites if s.status is Status.PASSED),
                "statuses": sorted(set(by_suite.values())),
                "duration": record.outcome.duration,
                "reused_from": record.outcome.reused_from or "",
                "log": record.outcome.log,
            }
        )
    return suites, rows


def reproduce_line(command: str, suites: Sequence[str]) -> str:
    """A cell's `nox` command narrowed to some of its suites (`nox -f … -s CELL -- SUITE …`)."""
    if not command:
        return ""
    return f"{command} -- {shlex.join(suites)}" if suites else command


def _nightly_trend(data: RunData) -> str | None:
    """The pass rate of the latest cells across nights, oldest first (a nightly's report only)."""
    if data.nightly is None or not data.nightly.trend:
        return None
    points = [charts.TrendPoint(short_time(n.as_of), n.pass_rate, n.verdict) for n in data.nightly.trend]
    title = "Latest cell's suites working per night (as of, UTC; oldest → newest)"
    return charts.data_uri(charts.trend(points, title=title, salt="nightly-trend"))


def render_run(data: RunData) -> Path:
    """Write the run folder's `index.html`, the report of one run; returns its path."""
    matrices = _matrix_views(data)
    suites, cells = _cells_view(data.records)
    script, script_hash = _script()
    rates = data.rates
    context = {
        "run": data.record,
        "distribution": data.distribution,
        "summary": data.summary,
        "gate_problems": data.summary.gate.problems,
        "manifest_changed": data.manifest_changed,
        "pass_rate": data.pass_rate,
        "pythons": list(data.record.pythons),
        "findings": data.findings,
        "history": data.history,
        "splits": data.splits,
        "cell_status": {r.cell_id: str(r.outcome.status) for r in data.records},
        "reproduce_line": reproduce_line,
        "matrices": matrices,
        "edge_notes": data.edge_notes,
        "candidates": data.candidates,
        "untested": _untested(data.candidates),
        "candidates_image": _candidates_image(data),
        "blessed": {(str(p.name), str(p.blessed)) for p in data.distribution.packages},
        "held": data.held,
        "blockers": data.blockers,
        "rates": [
            {**rate, "pass_rate": None if pd.isna(rate["pass_rate"]) else float(rate["pass_rate"])}
            for rate in rates.to_dict("records")
        ],
        "rate_columns": [c for c in rates.columns if c not in ("suite", "outcomes", "pass_rate")],
        "graphs": _graph_views(data, matrices),
        "rules": data.rules,
        "unexpected_passes": [
            (r.cell_id, s) for r in data.records for s in r.outcome.suites if s.status is Status.UNEXPECTED_PASS
        ],
        "timing": data.timing,
        "finished": data.finished,
        "suites": suites,
        "cells": cells,
        "compact": len(suites) > WIDE_SUITES,
        "script": script,
        "script_hash": script_hash,
        "curator_version": __version__,
        "store_path": data.store_path,
        "index_link": os.path.relpath(data.store_path.parent / REPORT_NAME, data.layout.root),
        "nightly": data.nightly,
        "nightly_trend": _nightly_trend(data),
    }
    html = _environment().get_template("run.html.j2").render(context)
    atomic_write(data.layout.report, html)
    return data.layout.report


# ----------------------------------------------------------------------- the index of runs


@dataclass(frozen=True)
class RunRow:
    """One run in the index."""

    record: RunRecord
    counts: dict[str, int]
    cells: int
    gate: bool | None
    pass_rate: float | None
    link: str | None  # relative path to its report, when it exists
    categories: dict[str, int] | None = None  # a nightly's results per category


def _run_row(record: RunRecord, folder: Path, store: Store) -> RunRow:
    summary = codec.loads(RunSummary, record.summary, "summary") if record.summary else None
    counts = dict(summary.counts) if summary else {}
    report = Path(record.out_dir) / REPORT_NAME
    row = store.nightly(record.id) if record.kind is RunKind.NIGHTLY else None
    night = codec.loads(Night, row.document, "nightly.json") if row is not None else None
    return RunRow(
        record=record,
        counts=counts,
        cells=summary.cells if summary else 0,
        gate=summary.gate.holds if summary else None,
        pass_rate=pass_rate(counts) if counts else None,
        link=Path(os.path.relpath(report, folder)).as_posix() if report.exists() else None,
        categories={str(c): n for c, n in night.counts.items()} if night is not None else None,
    )


def render_index(store: Store) -> Path:
    """Write `index.html` beside the store: every run, newest first, and the pass-rate trend."""
    folder = store.path.parent
    rows = [_run_row(record, folder, store) for record in store.runs()]
    oldest_first = [r for r in reversed(rows) if r.pass_rate is not None]
    trend = None
    if oldest_first:
        points = [
            charts.TrendPoint(
                dt.datetime.fromtimestamp(r.record.started, tz=dt.UTC).strftime("%m-%d %H:%M"),
                r.pass_rate,
                r.record.verdict or r.record.status,
            )
            for r in oldest_first[-60:]
        ]
        trend = charts.data_uri(charts.trend(points, title="Suites passed per run (oldest → newest)", salt="trend"))
    template = _environment().get_template("index.html.j2")
    html = template.render(rows=rows, trend=trend, store=store.path, script_hash="'none'", curator_version=__version__)
    target = folder / REPORT_NAME
    atomic_write(target, html)
    return target
