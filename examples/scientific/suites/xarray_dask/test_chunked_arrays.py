"""xarray over dask arrays: lazy, chunked computations that agree with NumPy."""

import dask
import dask.array as da
import numpy as np
import xarray as xr


def _dataset() -> xr.Dataset:
    data = np.arange(24.0).reshape(4, 6)
    return xr.Dataset(
        {"t": (("y", "x"), data)},
        coords={"y": np.arange(4), "x": np.linspace(0.0, 1.0, 6)},
    )


def test_chunked_dataset_is_lazy_and_computes_like_numpy():
    chunked = _dataset().chunk({"x": 3})
    assert isinstance(chunked["t"].data, da.Array)
    mean = chunked["t"].mean(dim="x")
    assert isinstance(mean.data, da.Array)
    np.testing.assert_allclose(mean.compute().to_numpy(), np.arange(24.0).reshape(4, 6).mean(axis=1))


def test_groupby_and_rolling_on_dask():
    chunked = _dataset().chunk({"y": 2})
    rolled = chunked["t"].rolling(x=2).mean().compute()
    assert np.isnan(rolled.to_numpy()[:, 0]).all()
    grouped = chunked["t"].groupby(chunked["y"] % 2).sum().compute()
    assert grouped.sizes["y"] == 2


def test_dask_array_from_xarray_persists():
    with dask.config.set(scheduler="synchronous"):
        total = _dataset().chunk({"x": 2})["t"].sum().compute()
    assert float(total) == sum(range(24))
