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


MARKUPSAFE_SUITE = """\
import markupsafe


def test_escape():
    assert str(markupsafe.escape("<b>")) == "&lt;b&gt;"
"""


def test_real_markupsafe_locked_for_windows_ships_its_windows_wheel_and_verifies(
    write_manifest: WriteManifest, tmp_path: Path
) -> None:
    """MarkupSafe compiles its speedups per platform: the bundle carries the Windows lock and wheel,
    resolved and downloaded on this Linux machine, and verifies."""
    from curator.host import targets as platforms
    from curator.resolve.lock import parse_requirements

    path = write_manifest(
        """
        distribution: web
        version: "1"
        python: ["3.12"]
        index:
          exclude_newer: "2025-01-01"
        packages:
          markupsafe: ["3.0.2"]
        suites:
          escape:
            path: suites/escape
            requires: [markupsafe]
        matrix:
          strategy: baseline
        platforms:
          locked: [x86_64-pc-windows-msvc]
        """,
        suites={"suites/escape": MARKUPSAFE_SUITE},
    )
    out, dist = tmp_path / "out", tmp_path / "dist"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 0
    argv = ["release", str(path), "--run", str(out), "--unsigned", "--wheelhouse", "--out", str(dist)]
    assert main(argv) == 0
    bundle = dist / "web-1"
    windows = parse_requirements("3.12", (bundle / "locks" / "py3.12-x86_64-pc-windows-msvc.txt").read_text())
    assert {str(k): str(v) for k, v in windows.versions.items()} == {"markupsafe": "3.0.2"}
    wheels = {p.name.lower() for p in (bundle / "wheels").iterdir()}
    assert "markupsafe-3.0.2-cp312-cp312-win_amd64.whl" in wheels
    here = platforms.here() or ""
    assert any("manylinux" in name and "x86_64" in name for name in wheels) or not here.startswith("x86_64")
    assert main(["verify", str(dist / "web-1.tar.gz")]) == 0
