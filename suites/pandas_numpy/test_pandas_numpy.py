"""pandas on NumPy: the conversions and ufunc dispatch every analysis relies on."""

import numpy as np
import pandas as pd
import pytest


def test_frame_from_arrays_keeps_dtypes():
    frame = pd.DataFrame({"i": np.arange(5, dtype=np.int32), "f": np.linspace(0, 1, 5), "b": np.ones(5, dtype=bool)})
    assert frame.dtypes.to_dict() == {"i": np.dtype("int32"), "f": np.dtype("float64"), "b": np.dtype("bool")}
    assert frame.to_numpy().shape == (5, 3)


def test_ufuncs_on_series_return_aligned_series():
    series = pd.Series([1.0, 4.0, 9.0], index=["a", "b", "c"])
    root = np.sqrt(series)
    assert isinstance(root, pd.Series)
    assert root.index.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(root.to_numpy(), [1.0, 2.0, 3.0])
    added = np.add(series, pd.Series([1.0, 1.0], index=["c", "a"]))
    assert np.isnan(added["b"]) and added["a"] == 2.0 and added["c"] == 10.0


def test_nullable_integers_round_trip_through_numpy():
    series = pd.array([1, None, 3], dtype="Int64")
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    assert values.dtype == np.float64
    assert np.isnan(values[1]) and values[2] == 3.0
    with pytest.raises(ValueError, match=r"missing values|NA"):
        series.to_numpy(dtype="int64")


def test_datetime64_and_timedelta_interplay():
    stamps = pd.date_range("2024-01-01", periods=4, freq="D")
    as_numpy = stamps.to_numpy()
    assert as_numpy.dtype == np.dtype("datetime64[ns]")
    gaps = np.diff(as_numpy)
    assert (gaps == np.timedelta64(1, "D")).all()
    assert pd.Series(as_numpy).dt.dayofweek.tolist() == [0, 1, 2, 3]


def test_groupby_aggregates_with_numpy_functions():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"key": np.repeat(["x", "y"], 50), "value": rng.normal(size=100)})
    result = frame.groupby("key")["value"].agg(["mean", "std", "max"])
    expected = frame[frame.key == "x"]["value"].to_numpy()
    np.testing.assert_allclose(result.loc["x", "mean"], expected.mean())
    np.testing.assert_allclose(result.loc["x", "std"], expected.std(ddof=1))


def test_numpy_random_generator_feeds_categorical():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 3, size=200)
    categorical = pd.Categorical.from_codes(codes, categories=["low", "mid", "high"])
    counts = pd.Series(categorical).value_counts()
    assert counts.sum() == 200
    assert np.array_equal(np.sort(counts.index.codes), [0, 1, 2])
