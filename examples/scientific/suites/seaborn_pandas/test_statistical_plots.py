"""seaborn's statistical plots from pandas frames, drawn by matplotlib."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def _tips() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "bill": rng.uniform(5, 50, size=120),
            "tip": rng.uniform(1, 10, size=120),
            "day": np.tile(["Thu", "Fri", "Sat", "Sun"], 30),
        }
    )


def test_scatter_with_hue_draws_every_point():
    ax = sns.scatterplot(data=_tips(), x="bill", y="tip", hue="day")
    assert sum(len(c.get_offsets()) for c in ax.collections) == 120
    plt.close("all")


def test_barplot_aggregates_per_category():
    ax = sns.barplot(data=_tips(), x="day", y="tip", errorbar=None)
    assert len(ax.patches) == 4
    plt.close("all")


def test_heatmap_of_a_pivot_table():
    frame = _tips().assign(size=lambda f: (f.bill // 15).astype(int))
    pivot = frame.pivot_table(index="day", columns="size", values="tip", aggfunc="mean")
    ax = sns.heatmap(pivot)
    assert ax.get_ylabel() == "day"
    plt.close("all")
