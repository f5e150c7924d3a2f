"""pandas and Arrow: tables, Parquet in memory, Arrow-backed dtypes."""

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(4, dtype=np.int64),
            "value": [0.5, 1.5, np.nan, 3.5],
            "name": ["a", "b", None, "d"],
            "when": pd.date_range("2024-01-01", periods=4, freq="h"),
        }
    )


def test_frame_to_table_and_back():
    frame = _frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("when").type == pa.timestamp("ns")
    pd.testing.assert_frame_equal(table.to_pandas(), frame)


def test_parquet_in_memory():
    buffer = io.BytesIO()
    frame = _frame()
    frame.to_parquet(buffer, engine="pyarrow", index=False)
    buffer.seek(0)
    assert pq.read_metadata(buffer).num_rows == 4
    buffer.seek(0)
    pd.testing.assert_frame_equal(pd.read_parquet(buffer, engine="pyarrow"), frame)


def test_arrow_backed_strings():
    series = pd.Series(["x", None, "zz"], dtype=pd.ArrowDtype(pa.string()))
    assert series.str.len().tolist()[::2] == [1, 2]
    assert series.isna().tolist() == [False, True, False]
