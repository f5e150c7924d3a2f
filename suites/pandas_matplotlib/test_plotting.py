"""Plotting pandas data with matplotlib (headless Agg backend)."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def teardown_function():
    plt.close("all")


def test_frame_plot_draws_one_line_per_column():
    frame = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    ax = frame.plot()
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    np.testing.assert_allclose(lines[1].get_ydata(), frame["b"].to_numpy())


def test_datetime_index_becomes_a_date_axis():
    index = pd.date_range("2024-01-01", periods=30, freq="D")
    series = pd.Series(np.sin(np.linspace(0, 3, 30)), index=index)
    ax = series.plot()
    low, high = ax.get_xlim()
    assert high > low
    labels = [tick.get_text() for tick in ax.get_xticklabels(minor=True) + ax.get_xticklabels()]
    ax.figure.canvas.draw()
    assert any(label for label in labels) or ax.xaxis.get_major_formatter() is not None


def test_histogram_and_bar_render_to_png():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=500), "group": rng.integers(0, 4, size=500)})
    fig, (left, right) = plt.subplots(1, 2)
    frame["x"].plot.hist(ax=left, bins=20)
    frame.groupby("group")["x"].mean().plot.bar(ax=right)
    assert len(left.patches) == 20
    assert len(right.patches) == 4
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scatter_uses_column_values():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0]})
    ax = frame.plot.scatter(x="x", y="y")
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(np.asarray(offsets), frame[["x", "y"]].to_numpy())
