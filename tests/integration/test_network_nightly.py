"""A nightly of the default distribution against the public index, as of a past date (deselected by
default; run with `pytest -m network`).

With `--as-of 2025-01-15` the newest releases are history, so the test is repeatable: numpy 2.2.1,
matplotlib 3.10.0 and scipy 1.15.1 are new next to the blessed set; pandas 2.2.3 and networkx 3.4.2
are already blessed. A second night with the same as-of time is a replay: every cell is reused.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from curator.cli import main

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2025-01-15"
NEWEST = {"numpy": "2.2.1", "pandas": "2.2.3", "matplotlib": "3.10.0", "scipy": "1.15.1", "networkx": "3.4.2"}


def test_a_nightly_of_the_default_distribution_as_of_a_past_date(tmp_path: Path) -> None:
    shutil.copy(ROOT / "distribution.yaml", tmp_path / "distribution.yaml")
    shutil.copytree(ROOT / "suites", tmp_path / "suites")
    manifest = tmp_path / "distribution.yaml"
    first, second = tmp_path / "night-1", tmp_path / "night-2"
    code = main(["nightly", str(manifest), "--as-of", AS_OF, "--out", str(first), "--jobs", "2", "--plain"])
    night = json.loads((first / "nightly.json").read_text())
    assert night["as_of"] == "2025-01-15T00:00:00Z"
    assert night["newest"] == NEWEST
    with (first / "cells.csv").open() as handle:
        cells = {row["cell"] for row in csv.DictReader(handle)}
    for python in ("3.11", "3.12"):
        assert {
            f"py{python}-baseline",
            f"py{python}-numpy@2.2.1-matplotlib@3.10.0-scipy@1.15.1",
            f"py{python}-numpy@2.2.1",
            f"py{python}-matplotlib@3.10.0",
            f"py{python}-scipy@1.15.1",
        } <= cells
    results = night["results"]
    assert {(r["python"], r["suite"]) for r in results} == {
        (python, suite)
        for python in ("3.11", "3.12")
        for suite in (
            "pandas-numpy",
            "pandas-matplotlib",
            "matplotlib-numpy",
            "scipy-numpy",
            "networkx-scipy",
            "networkx:tests",
        )
    }
    assert {r["category"] for r in results} == {"still-passing"}  # the first night: against the blessed baseline
    assert code == 0
    assert [s["rule"] for s in night["stale_exceptions"]] == [
        "pandas<2.2.2, numpy>=2"
    ]  # tests pandas 2.1.1: not tonight
    # the evidence is clean: propose blesses the three new releases, and nothing else changes
    updated = tmp_path / "proposed.yaml"
    assert main(["propose", str(manifest), "--from", str(first), "--out", str(updated)]) == 0
    before, after = manifest.read_text().splitlines(), updated.read_text().splitlines()
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        ('    versions: ["1.26.4", "2.1.3"]', '    versions: ["1.26.4", "2.1.3", "2.2.1"]'),
        ('    versions: ["3.9.4"]', '    versions: ["3.9.4", "3.10.0"]'),
        ('    versions: ["1.14.1"]', '    versions: ["1.14.1", "1.15.1"]'),
    ]
    # the same as-of time again is a replay: the same newest releases, every cell reused, nothing changes
    again = main(["nightly", str(manifest), "--as-of", AS_OF, "--out", str(second), "--jobs", "2", "--plain"])
    replay = json.loads((second / "nightly.json").read_text())
    assert replay["newest"] == NEWEST
    assert replay["compared_to"]["nightly"] == night["run"]
    with (second / "cells.csv").open() as handle:
        assert all(row["reused_from"] for row in csv.DictReader(handle))
    assert {r["category"] for r in replay["results"]} <= {"still-passing", "still-failing", "spurious"}
    assert again == 0
