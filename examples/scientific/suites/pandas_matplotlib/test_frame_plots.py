"""pandas' plotting on matplotlib's Agg backend."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def test_line_plot_of_a_time_series():
    series = pd.Series(np.arange(10.0), index=pd.date_range("2024-01-01", periods=10, freq="D"))
    ax = series.plot()
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_ydata(), np.arange(10.0))
    plt.close("all")


def test_bar_and_histogram_of_a_frame():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [3, 2, 1]}, index=["x", "y", "z"])
    ax = frame.plot.bar()
    assert len(ax.patches) == 6
    axes = frame.hist(bins=3)
    assert axes.shape == (1, 2)
    plt.close("all")


def test_figure_saves_to_png_bytes(tmp_path):
    fig, ax = plt.subplots()
    pd.DataFrame({"y": [1, 4, 9]}).plot(ax=ax)
    target = tmp_path / "plot.png"
    fig.savefig(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(fig)
