"""Pictures for the report (matplotlib figures drawn straight to SVG): status heatmaps and the pass-rate trend.

Each chart is SVG text with its text kept as text (`svg.fonttype: none`), no date, and ids salted
by the chart's name, so the same data draws the same bytes. Every square of a heatmap carries its
status letter (`Status.letter`) and the legend repeats letter and name: colour is never the only
cue.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from curator.model.outcome import Status

# Fill colours, light enough for a dark letter on all but the two gravest statuses.
COLOURS: Mapping[Status, str] = {
    Status.PASSED: "#9fd8a4",
    Status.SKIPPED: "#e2e2e2",
    Status.EXPECTED_FAIL: "#a8cdf0",
    Status.FLAKY: "#fbe3a6",
    Status.UNRESOLVABLE: "#d6bde8",
    Status.UNEXPECTED_PASS: "#fff07a",
    Status.FAILED: "#f19a9a",
    Status.ERROR: "#f5a0c8",
    Status.INSTALL_ERROR: "#c9b4a8",
    Status.TIMEOUT: "#f7b267",
    Status.CRASHED: "#a01c1c",
}
DARK_FILLS = frozenset({Status.CRASHED})
UNTESTED_FILL = "#ffffff"
UNTESTED_MARK = "·"
_FONT = ["DejaVu Sans", "Bitstream Vera Sans", "Arial", "Helvetica", "sans-serif"]


def letter_colour(status: Status) -> str:
    """The colour of a status letter on its fill (readable on every fill)."""
    return "#ffffff" if status in DARK_FILLS else "#1a1a1a"


@contextmanager
def _figure(salt: str, width: float, height: float) -> Iterator[Any]:
    import matplotlib
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot state, no backend to switch

    rc: Any = {"svg.fonttype": "none", "svg.hashsalt": salt, "font.family": "sans-serif", "font.sans-serif": _FONT}
    with matplotlib.rc_context(rc):
        yield Figure(figsize=(width, height))


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def warm() -> None:
    """Draw a small heatmap and throw it away: matplotlib's first picture loads fonts and builds
    caches (a tenth of a second, more on a machine without matplotlib's font cache), which is
    better spent while a run's cells run (`cli.common.preloading`) than after them."""
    square = pd.DataFrame([[str(Status.PASSED)]], index=pd.Index(["1"], name="a"), columns=pd.Index(["1"], name="b"))
    _heatmap(square, title="warm", salt="warm", counts=None, row_labels=None, column_labels=None)


def memo(kind: str, inputs: object, draw: Callable[[], str]) -> str:
    """The picture `draw` makes of `inputs`, drawn once: a picture is a pure function of its data
    (see the module's doc), so it is kept in curator's cache under a hash of the data, the drawing
    code and matplotlib's version, and a report of unchanged data draws nothing (nor imports
    matplotlib)."""
    from curator.host.layout import atomic_write, cache_dir

    payload = json.dumps([kind, _drawing_version(), inputs], sort_keys=True, default=str)
    path = cache_dir() / "charts" / f"{hashlib.sha256(payload.encode()).hexdigest()[:32]}.svg"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    svg = draw()
    with contextlib.suppress(OSError):  # a cache that cannot be written costs a redraw next time, nothing else
        atomic_write(path, svg)
    return svg


@cache
def _drawing_version() -> str:
    from importlib import metadata

    from curator.resolve import graph

    digest = hashlib.sha256(Path(__file__).read_bytes() + Path(graph.__file__).read_bytes())
    return f"{digest.hexdigest()[:16]} matplotlib {metadata.version('matplotlib')}"


def data_uri(svg: str) -> str:
    """An SVG as a `data:` URI, for an `<img>` that needs nothing from the network."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@dataclass(frozen=True)
class _Square:
    row: int
    column: int
    status: Status | None
    count: int


def status_heatmap(
    matrix: pd.DataFrame,
    *,
    title: str,
    salt: str,
    counts: pd.DataFrame | None = None,
    row_labels: Sequence[str] | None = None,
    column_labels: Sequence[str] | None = None,
) -> str:
    """A status matrix (values: status names, '' untested) as an SVG heatmap with letters and legend.

    `counts` (same shape) adds how many outcomes stand behind a square when more than one.
    Square size is fixed, so a 2 × 2 and a 15 × 15 matrix both stay legible.
    """
    inputs = [
        matrix.to_json(orient="split"),
        None if counts is None else counts.to_json(orient="split"),
        title,
        salt,
        None if row_labels is None else list(row_labels),
        None if column_labels is None else list(column_labels),
    ]
    return memo(
        "heatmap",
        inputs,
        lambda: _heatmap(
            matrix, title=title, salt=salt, counts=counts, row_labels=row_labels, column_labels=column_labels
        ),
    )


def _heatmap(
    matrix: pd.DataFrame,
    *,
    title: str,
    salt: str,
    counts: pd.DataFrame | None,
    row_labels: Sequence[str] | None,
    column_labels: Sequence[str] | None,
) -> str:
    rows = list(row_labels) if row_labels is not None else [str(v) for v in matrix.index]
    columns = list(column_labels) if column_labels is not None else [str(v) for v in matrix.columns]
    squares = []
    for i, row_key in enumerate(matrix.index):
        for j, column_key in enumerate(matrix.columns):
            value = str(matrix.loc[row_key, column_key])
            count = 0
            if counts is not None and row_key in counts.index and column_key in counts.columns:
                count = int(counts.loc[row_key, column_key])
            squares.append(_Square(i, j, Status(value) if value else None, count))
    # Fixed inches per square: the axes are placed by hand, so a 2x2 and a 15x15 matrix have
    # squares (and letters) of the same size.
    size = 0.42
    n_rows, n_columns = max(len(rows), 1), max(len(columns), 1)
    rotate = n_columns > 4 or max((len(c) for c in columns), default=0) > 7
    left = 0.35 + 0.075 * max((len(r) for r in rows), default=4)
    bottom = 0.55 + (0.065 * max((len(c) for c in columns), default=4) if rotate else 0.0)
    top, gap, legend = 0.45, 0.2, 1.7
    legend_height = 0.25 + 0.2 * (len({s.status for s in squares}) + 1)
    width = left + size * n_columns + gap + legend
    height = max(bottom + size * n_rows + top, bottom + legend_height + top)
    with _figure(salt, width, height) as fig:
        ax = fig.add_axes(
            (left / width, (height - top - size * n_rows) / height, size * n_columns / width, size * n_rows / height)
        )
        from matplotlib.patches import Patch, Rectangle

        for square in squares:
            fill = COLOURS[square.status] if square.status else UNTESTED_FILL
            ax.add_patch(
                Rectangle((square.column, square.row), 1, 1, facecolor=fill, edgecolor="#ffffff", linewidth=2.5)
            )
            if square.status is None:
                ax.add_patch(
                    Rectangle(
                        (square.column + 0.06, square.row + 0.06),
                        0.88,
                        0.88,
                        facecolor="none",
                        edgecolor="#bbbbbb",
                        linewidth=0.8,
                        linestyle=":",
                    )
                )
            mark = square.status.letter if square.status else UNTESTED_MARK
            colour = letter_colour(square.status) if square.status else "#777777"
            ax.text(
                square.column + 0.5,
                square.row + 0.5,
                mark,
                ha="center",
                va="center",
                fontsize=12,
                fontweight="bold",
                color=colour,
            )
            if square.count > 1:
                ax.text(
                    square.column + 0.93, square.row + 0.9, str(square.count), ha="right", fontsize=6.5, color=colour
                )
        ax.set_xlim(0, n_columns)
        ax.set_ylim(n_rows, 0)
        ax.set_xticks([j + 0.5 for j in range(len(columns))], columns, rotation=45 if rotate else 0)
        if rotate:
            for label in ax.get_xticklabels():
                label.set_horizontalalignment("right")
        ax.set_yticks([i + 0.5 for i in range(len(rows))], rows)
        ax.tick_params(length=0, labelsize=9)
        ax.set_xlabel(str(matrix.columns.name or ""), fontsize=9.5, fontweight="bold")
        ax.set_ylabel(str(matrix.index.name or "") if not isinstance(matrix.index, pd.MultiIndex) else "")
        ax.yaxis.label.set_fontweight("bold")
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(title, fontsize=10, loc="left")
        present = sorted({s.status for s in squares if s.status}, key=lambda s: s.severity)
        handles = [Patch(facecolor=COLOURS[s], edgecolor="#888888", label=f"{s.letter}  {s}") for s in present]
        if any(s.status is None for s in squares):
            handles.append(Patch(facecolor=UNTESTED_FILL, edgecolor="#888888", label=f"{UNTESTED_MARK}  not tested"))
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            fontsize=8.5,
            handlelength=1.2,
            borderaxespad=0.0,
        )
        return _svg(fig)


@dataclass(frozen=True)
class TrendPoint:
    """One run on the pass-rate trend."""

    label: str  # when it ran, short
    pass_rate: float | None  # 0 to 1; None when nothing ran
    verdict: str  # passed | failed | interrupted | …


def trend(points: Sequence[TrendPoint], *, title: str, salt: str) -> str:
    """Pass rate per run, oldest first; a failed run is a red cross, a passed one a green dot."""
    return memo("trend", [[p.__dict__ for p in points], title, salt], lambda: _trend(points, title=title, salt=salt))


def _trend(points: Sequence[TrendPoint], *, title: str, salt: str) -> str:
    width = min(11.0, max(5.0, 0.55 * len(points) + 2.5))
    with _figure(salt, width, 2.8) as fig:
        ax = fig.add_subplot()
        xs = [i for i, p in enumerate(points) if p.pass_rate is not None]
        ys = [100 * (points[i].pass_rate or 0.0) for i in xs]
        ax.plot(xs, ys, color="#5a6b7b", linewidth=1.4, zorder=1)
        styles = {
            "passed": ("o", "#2e7d32", "run passed"),
            "failed": ("X", "#c62828", "run failed"),
        }
        shown: set[str] = set()
        for i in xs:
            point = points[i]
            marker, colour, label = styles.get(point.verdict, ("s", "#9e9e9e", f"run {point.verdict}"))
            ax.scatter(
                [i],
                [100 * (point.pass_rate or 0.0)],
                marker=marker,
                s=55,
                color=colour,
                zorder=2,
                label=label if label not in shown else None,
            )
            shown.add(label)
        ax.set_ylim(-3, 103)
        ax.set_xlim(-0.6, max(len(points) - 0.4, 0.6))
        ax.set_ylabel("suites passed (%)", fontsize=9)
        step = max(1, len(points) // 12)
        ax.set_xticks(range(0, len(points), step), [p.label for p in points][::step], rotation=30, ha="right")
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", color="#e5e5e5")
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
        ax.set_title(title, fontsize=10, loc="left")
        if shown:
            ax.legend(loc="lower left", fontsize=8, frameon=False)
        return _svg(fig)


MAP_ROW = 7
"""The most boxes side by side in the manifest map: a wider layer is laid out in several rows."""


def manifest_map(
    layers: Sequence[Sequence[tuple[str, str, str]]], edges: Sequence[tuple[str, str, str]], *, title: str, salt: str
) -> str:
    """The manifest packages by layer as SVG: each node `(id, label, status)` a box filled with its
    status's colour (white: untested), each edge `(source, target, status)` an arrow from dependent
    to dependency, red and dashed when the pair's matrices hold a failure or a refusal."""
    inputs = [[list(layer) for layer in layers], list(edges), title, salt]
    return memo("manifest-map", inputs, lambda: _manifest_map(layers, edges, title=title, salt=salt))


def _manifest_map(
    layers: Sequence[Sequence[tuple[str, str, str]]], edges: Sequence[tuple[str, str, str]], *, title: str, salt: str
) -> str:
    rows: list[list[tuple[str, str, str]]] = []
    for layer in layers:
        for start in range(0, len(layer), MAP_ROW):
            rows.append(list(layer[start : start + MAP_ROW]))
    columns = max((len(row) for row in rows), default=1)
    lines = [max((label.count("\n") + 1 for _, label, _ in row), default=1) for row in rows]
    heights = [0.55 + 0.22 * n for n in lines]
    width, height = max(6.0, 1.75 * columns + 0.4), sum(heights) + 0.7
    positions: dict[str, tuple[float, float]] = {}
    bands: list[tuple[float, float]] = []  # each layer's vertical extent, shaded in turn
    y = 0.0
    row_of_layer = [i for i, layer in enumerate(layers) for _ in range(0, len(layer), MAP_ROW)]
    for index, (row, row_height) in enumerate(zip(rows, heights, strict=True)):
        offset = (columns - len(row)) / 2
        for i, (node, _, _) in enumerate(row):
            positions[node] = (offset + i + 0.5, -(y + row_height / 2))
        if index == 0 or row_of_layer[index] != row_of_layer[index - 1]:
            bands.append((y, y))
        bands[-1] = (bands[-1][0], y + row_height)
        y += row_height
    with _figure(salt, width, height) as fig:
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 - 0.45 / height))
        for i, (top, bottom) in enumerate(bands):
            if i % 2 == 0:
                ax.axhspan(-bottom, -top, color="#f2f5f8", zorder=0, lw=0)
        bad = {s for s in Status if s in {Status.FAILED, Status.ERROR, Status.CRASHED, Status.TIMEOUT,
                                          Status.INSTALL_ERROR, Status.UNRESOLVABLE}}  # fmt: skip
        for source, target, status in edges:
            if source not in positions or target not in positions:
                continue
            broken = bool(status) and Status(status) in bad
            (x1, y1), (x2, y2) = positions[source], positions[target]
            ax.annotate(
                "",
                xy=(x2, y2 + 0.2),
                xytext=(x1, y1 - 0.2),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": "#c0392b" if broken else "#7f8c97",
                    "lw": 1.8 if broken else 0.9,
                    "linestyle": "--" if broken else "-",
                    "alpha": 1.0 if broken else 0.7,
                    "shrinkA": 4,
                    "shrinkB": 4,
                    "connectionstyle": "arc3,rad=0.06",
                },
                zorder=1,
            )
        for row in rows:
            for node, label, status in row:
                x, y_ = positions[node]
                fill = COLOURS[Status(status)] if status else UNTESTED_FILL
                folded = "\n" in label
                ax.text(
                    x,
                    y_,
                    label,
                    ha="center",
                    va="center",
                    fontsize=7 if folded else 8.5,
                    fontweight="normal" if folded else "bold",
                    color=letter_colour(Status(status)) if status else "#1a1a1a",
                    wrap=False,
                    zorder=2,
                    bbox={
                        "boxstyle": "round,pad=0.35",
                        "fc": fill,
                        "ec": "#2c6fad" if not folded else "#888888",
                        "lw": 1.2,
                        "linestyle": "-" if not folded else ":",
                    },
                )
        ax.set_xlim(0, columns)
        ax.set_ylim(-y, 0)
        ax.axis("off")
        ax.set_title(title, fontsize=10, loc="left")
        return _svg(fig)
