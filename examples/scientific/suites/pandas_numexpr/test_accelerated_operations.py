"""pandas' accelerators: numexpr for eval and query, bottleneck for reductions."""

import bottleneck as bn
import numexpr as ne
import numpy as np
import pandas as pd


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame({"a": rng.normal(size=5000), "b": rng.normal(size=5000), "c": np.arange(5000)})


def test_eval_with_the_numexpr_engine():
    frame = _frame()
    result = frame.eval("a * 2 + b", engine="numexpr")
    np.testing.assert_allclose(result, frame["a"] * 2 + frame["b"])
    np.testing.assert_allclose(ne.evaluate("a * 2 + b", local_dict=frame), result)


def test_query_with_the_numexpr_engine():
    frame = _frame()
    assert frame.query("c < 10 and a > -100", engine="numexpr").shape[0] == 10


def test_bottleneck_reductions_agree_with_pandas():
    frame = _frame()
    values = frame["a"].to_numpy().copy()
    values[::7] = np.nan
    assert np.isclose(bn.nanmean(values), pd.Series(values).mean())
    rolling = pd.Series(values).rolling(5, min_periods=1).mean().to_numpy()
    np.testing.assert_allclose(bn.move_mean(values, 5, min_count=1)[-100:], rolling[-100:])


def test_pandas_uses_the_accelerators():
    assert pd.get_option("compute.use_numexpr") and pd.get_option("compute.use_bottleneck")
