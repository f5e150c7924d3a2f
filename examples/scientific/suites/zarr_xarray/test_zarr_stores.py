"""xarray datasets stored as Zarr, read back chunk by chunk."""

import numpy as np
import xarray as xr
import zarr


def _dataset() -> xr.Dataset:
    return xr.Dataset(
        {"temperature": (("time", "site"), np.arange(40.0).reshape(10, 4))},
        coords={"time": np.arange(10), "site": ["a", "b", "c", "d"]},
        attrs={"source": "test"},
    )


def test_dataset_round_trip_through_a_zarr_directory(tmp_path):
    store = tmp_path / "data.zarr"
    _dataset().to_zarr(store, mode="w")
    back = xr.open_zarr(store)
    xr.testing.assert_identical(back.load(), _dataset())
    assert back.attrs["source"] == "test"


def test_zarr_array_chunks_and_slices(tmp_path):
    array = zarr.open(str(tmp_path / "plain.zarr"), mode="w", shape=(100, 100), chunks=(10, 10), dtype="f4")
    array[:] = np.arange(10000, dtype="f4").reshape(100, 100)
    assert array.chunks == (10, 10)
    np.testing.assert_array_equal(array[5:7, 90:92], np.arange(10000, dtype="f4").reshape(100, 100)[5:7, 90:92])


def test_append_along_a_dimension(tmp_path):
    store = tmp_path / "grow.zarr"
    first = _dataset().isel(time=slice(0, 5))
    second = _dataset().isel(time=slice(5, 10))
    first.to_zarr(store, mode="w")
    second.to_zarr(store, append_dim="time")
    assert xr.open_zarr(store).sizes["time"] == 10
