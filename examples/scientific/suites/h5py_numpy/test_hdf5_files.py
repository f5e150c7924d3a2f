"""h5py datasets holding NumPy arrays."""

import h5py
import numpy as np


def test_dataset_round_trip_with_compression(tmp_path):
    data = np.arange(1000, dtype=np.float32).reshape(10, 100)
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("values", data=data, compression="gzip", chunks=(5, 50))
        handle["values"].attrs["unit"] = "m"
    with h5py.File(path, "r") as handle:
        np.testing.assert_array_equal(handle["values"][()], data)
        np.testing.assert_array_equal(handle["values"][2:4, 10:20], data[2:4, 10:20])
        assert handle["values"].attrs["unit"] == "m"


def test_in_memory_file_with_structured_dtype():
    records = np.array([(1, 2.5), (2, 3.5)], dtype=[("id", "i4"), ("score", "f8")])
    with h5py.File("memory.h5", "w", driver="core", backing_store=False) as handle:
        handle["records"] = records
        back = handle["records"][()]
    assert back.dtype.names == ("id", "score")
    np.testing.assert_array_equal(back["score"], [2.5, 3.5])


def test_groups_and_resizable_datasets(tmp_path):
    with h5py.File(tmp_path / "grow.h5", "w") as handle:
        series = handle.create_group("run").create_dataset("series", shape=(0,), maxshape=(None,), dtype="f8")
        for chunk in (np.ones(3), np.zeros(2)):
            series.resize(series.shape[0] + len(chunk), axis=0)
            series[-len(chunk) :] = chunk
        assert handle["run/series"].shape == (5,)
