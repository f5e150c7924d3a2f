"""Quiet reruns without `exclude_newer`: the index is asked once per package, uv not at all, and a new
release of any package in a lock makes exactly that lock resolved again. A loopback index (PEP 691
with upload times) serves the releases; uv and curator read it over HTTP as they would any index."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from curator.cli import main
from tests.conftest import manifest_writer
from tests.ecosystem import FakeDist
from tests.simple_index import SimpleIndex

LONG_AGO = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
SUITE = "import cfx_app\n\ndef test_run():\n    assert cfx_app.run() == 2\n"


def _rows(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (out / "cells.csv").open() as handle:
        return {(row["cell"], row["suite"]): row for row in csv.DictReader(handle)}


class Quiet:
    def __init__(self, folder: Path, index: SimpleIndex, manifest: Path) -> None:
        self.folder, self.index, self.manifest, self.runs = folder, index, manifest, 0

    def run(self) -> tuple[Path, list[str], list[str]]:
        """A run: its folder, the pages uv asked the index for, and those curator asked for."""
        self.runs += 1
        out = self.folder / f"run-{self.runs}"
        before = len(self.index.agents)
        assert main(["run", str(self.manifest), "--out", str(out), "--plain", "--jobs", "1"]) == 0
        asked = self.index.agents[before:]
        uv = [path for agent, path in asked if agent.startswith("uv")]
        curator = [path for agent, path in asked if not agent.startswith("uv")]
        return out, uv, curator


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory, runner_wheels: Path) -> Iterator[Quiet]:
    folder = tmp_path_factory.mktemp("quiet")
    index = SimpleIndex(folder / "index")
    index.publish(FakeDist("cfx-dep", "1.0", {"cfx_dep/__init__.py": "ONE = 1\n"}), LONG_AGO)
    for version in ("1.0", "2.0"):
        index.publish(FakeDist("cfx-lib", version, {"cfx_lib/__init__.py": "TWO = 2\n"}), LONG_AGO)
    app = {"cfx_app/__init__.py": "import cfx_dep, cfx_lib\n\ndef run():\n    return cfx_dep.ONE + 1\n"}
    index.publish(FakeDist("cfx-app", "1.0", app, requires=("cfx-lib<2", "cfx-dep")), LONG_AGO)
    with index.serve():
        text = (
            "distribution: quiet\n"
            'version: "1.0"\n'
            'python: ["3.12"]\n'
            f"index:\n  url: {index.url}\n  find_links: [{os.fspath(runner_wheels)}]\n"
            'packages:\n  cfx-lib: {versions: ["1.0", "2.0"], blessed: "1.0"}\n  cfx-app: ["1.0"]\n'
            "suites:\n  app:\n    path: suites/app\n    requires: [cfx-app, cfx-lib]\n"
            "matrix:\n  strategy: upgrades\n"
        )
        manifest = manifest_writer(folder)(text, suites={"suites/app": SUITE})
        yield Quiet(folder, index, manifest)


def test_an_unchanged_rerun_asks_the_index_once_per_package_and_uv_nothing(quiet: Quiet) -> None:
    first, uv_first, _ = quiet.run()
    rows = _rows(first)
    assert rows[("py3.12-baseline", "app")]["status"] == "passed"
    assert rows[("py3.12-cfx-lib@2.0", "app")]["status"] == "unresolvable"  # cfx-app needs cfx-lib<2
    assert uv_first  # the first run resolved both cells

    second, uv_second, curator_second = quiet.run()
    assert uv_second == []  # neither the lock nor the refusal was resolved again
    assert sorted(curator_second) == sorted(set(curator_second))  # each project asked about once
    assert "/simple/cfx-dep/" in curator_second  # a package of the lock that no manifest names
    rows = _rows(second)
    assert rows[("py3.12-baseline", "app")]["reused_from"] == json.loads((first / "run.json").read_text())["run_id"]
    assert rows[("py3.12-cfx-lib@2.0", "app")]["status"] == "unresolvable"


def test_a_new_release_of_a_package_in_a_lock_resolves_that_lock_again(quiet: Quiet) -> None:
    if quiet.runs < 2:
        test_an_unchanged_rerun_asks_the_index_once_per_package_and_uv_nothing(quiet)
    quiet.index.publish(FakeDist("cfx-dep", "1.1", {"cfx_dep/__init__.py": "ONE = 1\n"}), dt.datetime.now(dt.UTC))
    out, uv, _ = quiet.run()
    # uv read cfx-app's page twice: to resolve the baseline's lock again and to sync its environment; the
    # refusal, which cfx-dep has no part in, was not resolved again (that would have been a third time)
    assert uv.count("/simple/cfx-app/") == 2
    rows = _rows(out)
    assert rows[("py3.12-baseline", "app")]["reused_from"] == ""  # a new lock: run again
    assert "cfx-dep==1.1" in (out / "locks" / "py3.12-baseline.txt").read_text()
    assert rows[("py3.12-cfx-lib@2.0", "app")]["status"] == "unresolvable"
