"""Real packages from the public index (deselected by default; run with `pytest -m network`).

The NumPy 2 ABI break: pandas 2.1.1 declares no upper bound on NumPy, installs beside
NumPy 2.0.0 and fails to import; pandas 2.2.2 works with NumPy 1.26.4 and 2.0.0. curator must
say exactly that, on Python 3.11 and 3.12.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from curator.cli import main
from tests.conftest import WriteManifest

pytestmark = pytest.mark.network

SUITE = """\
import numpy as np
import pandas as pd


def test_frame_from_numpy():
    frame = pd.DataFrame({"x": np.arange(3)})
    assert frame["x"].sum() == 3
"""


def test_numpy_2_abi_break_is_found(write_manifest: WriteManifest, tmp_path: Path) -> None:
    path = write_manifest(
        """
        distribution: abi
        version: "1"
        python: ["3.11", "3.12"]
        index:
          exclude_newer: "2024-07-01"
        packages:
          numpy: ["1.26.4", "2.0.0"]
          pandas: ["2.1.1", "2.2.2"]
        suites:
          pandas-numpy:
            path: suites/pandas_numpy
            requires: [pandas, numpy]
        matrix:
          strategy: pairs
        policy:
          retries: 0
        """,
        suites={"suites/pandas_numpy": SUITE},
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1
    with (out / "cells.csv").open() as handle:
        status = {(r["python"], r["pins"]): r for r in csv.DictReader(handle)}
    for python in ("3.11", "3.12"):
        broken = status[python, "numpy==2.0.0 pandas==2.1.1"]
        assert broken["status"] in ("error", "failed")
        assert "numpy.dtype size changed" in broken["signature"] or "binary incompatibility" in broken["signature"]
        assert status[python, "numpy==1.26.4 pandas==2.1.1"]["status"] == "passed"
        assert status[python, "numpy==1.26.4 pandas==2.2.2"]["status"] == "passed"
        assert status[python, "numpy==2.0.0 pandas==2.2.2"]["status"] == "passed"
        matrix = (out / "matrices" / f"py{python}__pandas__numpy.csv").read_text().splitlines()
        assert matrix[0] == "pandas,1.26.4,2.0.0"
        assert matrix[1].startswith("2.1.1,passed,")
        assert matrix[2] == "2.2.2,passed,passed"
