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
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path

import jinja2
import pandas as pd

from curator import __version__
from curator.host.layout import REPORT_NAME, atomic_write
from curator.model import codec
from curator.model.ids import PyVersion
from curator.model.outcome import RunKind, Status
from curator.nightly.night import Night
from curator.report import charts, views
from curator.report.data import RunData
from curator.report.nightly_view import short_time
from curator.report.views import GraphView, MatrixView
from curator.resolve.graph import DependencyGraph
from curator.results.matrix import pass_rate
from curator.results.rows import RunSummary
from curator.store.db import RunRecord, Store


def _environment() -> jinja2.Environment:
    """The report's Jinja environment, one per process and cache folder: each template is compiled
    once, and its compiled code is kept in curator's cache (Jinja checks it against the template's
    source), so a run's report does not compile its templates again. The folder is named for
    this file and Jinja's version: code compiled with other options is never read back."""
    from curator.host.layout import cache_dir

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
    env.filters["pin_parts"] = _pin_parts
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


def _drawn(data: RunData) -> tuple[MatrixView, ...]:
    """The figures drawn on the main page, each with its heatmap."""
    out = []
    for m in views.figures(data.matrix_views):
        key = (m.python, m.row, m.column)
        svg = charts.status_heatmap(
            data.matrices[key],
            title=f"{m.row} × {m.column}",  # the figure names the Pythons (one figure for equal matrices)
            salt=f"{m.python}-{m.row}-{m.column}",
            counts=data.matrix_counts[key],
        )
        out.append(replace(m, image=charts.data_uri(svg)))
    return tuple(out)


GRAPH_NODES = 150
"""A baseline graph of more packages is not drawn in the report (it would take minutes and read as a
smudge); `curator graph` still draws it."""
CHART_ROWS = 16
"""The most candidates the candidates' heatmap draws; past that the package tiles are the overview."""


def _candidates_image(data: RunData) -> str:
    """The heatmap of the candidates ('' past `CHART_ROWS`: the package tiles hold every candidate)."""
    candidates = data.candidates
    if candidates.empty or len(candidates) > CHART_ROWS:
        return ""
    blessed = {(p.name, str(p.blessed)) for p in data.distribution.packages}
    labels = [f"{name} {version}" + (" ★" if (name, version) in blessed else "") for name, version in candidates.index]
    title = "Every candidate on every Python (★ blessed)"
    image = charts.status_heatmap(candidates, title=title, salt="candidates", row_labels=labels)
    return charts.data_uri(image)


def _graph_pictures(data: RunData) -> tuple[GraphView, ...]:
    """Each Python's baseline graph with its drawing (none past `GRAPH_NODES`, or when it is the
    first Python's again) and its DOT source as a download."""
    out = []
    for found in data.graph_views:
        graph = data.baselines[PyVersion(found.python)].graph
        dot = "data:text/vnd.graphviz;charset=utf-8;base64," + base64.b64encode(graph.to_dot().encode()).decode()
        view = replace(found, dot=dot, dot_name=f"{data.record.distribution}-py{found.python}-baseline.dot")
        if view.nodes <= GRAPH_NODES and not view.same:
            svg = charts.memo(
                "graph",
                [graph.to_json(), view.failing, view.python],
                partial(_graph_svg, graph, view.python, view.failing),
            )
            view = replace(view, image=charts.data_uri(svg))
        out.append(view)
    return tuple(out)


OPEN_FINDINGS = 2
"""The unexpected findings shown open on the main page, most serious first (the rest one line each)."""
OPEN_GRAPH = 40
"""A baseline graph of at most this many packages is shown open (it reads at a glance)."""


def _map_image(data: RunData) -> str:
    """The picture of the manifest packages by layer ('' when there is nothing, or too much, to draw)."""
    overview = data.overview
    if not overview.drawable:
        return ""
    layers = [[(node.id, node.label, node.status) for node in layer] for layer in overview.layers]
    edges = [(edge.source, edge.target, edge.status) for edge in overview.edges]
    title = f"{data.distribution.name} {data.distribution.version}: the manifest packages by layer"
    return charts.data_uri(charts.manifest_map(layers, edges, title=title, salt="manifest-map"))


_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*?)((?:==|>=|<=|!=|~=|<|>).*)")


def _pin_parts(text: str) -> tuple[str, str]:
    """`flask==2.2.3` → (`flask`, `==2.2.3`); anything else whole, with nothing after it."""
    match = _PIN.fullmatch(text)
    return (match[1], match[2]) if match else (text, "")


def _graph_svg(graph: DependencyGraph, python: str, failing: Sequence[tuple[str, str]]) -> str:
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": f"graph-{python}", "svg.fonttype": "none"}):
        return graph.to_svg(failing=failing)


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
    matrices = data.matrix_views
    by_key = {(m.python, m.row, m.column): m for m in matrices}
    quiet = [m for m in matrices if not m.drawn]
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
        "telling": _drawn(data),
        "quiet": quiet,
        "quiet_pairs": views.pairs(quiet),
        "quiet_refused": sum(1 for m in quiet if str(Status.UNRESOLVABLE) in m.statuses),
        "matrix_by_key": by_key,
        "finding_ids": {f.signature: f"f-{i}" for i, f in enumerate(data.findings)},
        "packages": data.packages,
        "package_names": set(data.distribution.package_names),
        "tiles": data.tiles,
        "untiled": data.untiled,
        "blessable": data.blessable,
        "held_cards": data.held_cards,
        "blockers_shown": data.blockers_shown,
        "suites_below": data.suites_below,
        "overview": data.overview,
        "map_image": _map_image(data),
        "open_graph": OPEN_GRAPH,
        "open_findings": OPEN_FINDINGS,
        "edge_notes": data.edge_notes,
        "candidates": data.candidates,
        "untested": data.untested,
        "candidates_image": _candidates_image(data),
        "blessed": {(str(p.name), str(p.blessed)) for p in data.distribution.packages},
        "held": data.held,
        "blockers": data.blockers,
        "rates": [
            {**rate, "pass_rate": None if pd.isna(rate["pass_rate"]) else float(rate["pass_rate"])}
            for rate in rates.to_dict("records")
        ],
        "rate_columns": [c for c in rates.columns if c not in ("suite", "outcomes", "pass_rate")],
        "graphs": _graph_pictures(data),
        "rules": data.rules,
        "unexpected_passes": [
            (r.cell_id, s) for r in data.records for s in r.outcome.suites if s.status is Status.UNEXPECTED_PASS
        ],
        "timing": data.timing,
        "finished": data.finished,
        "suites": data.cell_suites,
        "cells": data.cell_lines,
        "compact": len(data.cell_suites) > views.WIDE_SUITES,
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
