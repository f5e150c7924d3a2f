"""Benchmark: how many cells per second the coordinator records, and how long the report takes.

    python bench/bench_coordinator.py                   # 1,000 and 10,000 cells
    python bench/bench_coordinator.py --cells 20000     # any sizes

A `SimulatedExecutor` (a real implementation of the executor protocol) returns a synthetic outcome
for every cell at once — as a cluster of thousands of workers would, at the limit — so what is
timed is curator's own side of a run: planning, the (simulated) locks written, the reuse look-ups,
judging and committing every cell to the SQLite store, the progress observer, then the run folder
(cells.csv, matrices, run.json, the HTML report). Resolution is simulated too (uv is not asked:
the packages do not exist). Each cell has the suites its manifest gives it, each suite 20 test cases,
one suite in twenty fails with a signature. The manifest is synthetic: N packages of 3 candidates,
one integration suite per 10 packages, `upgrades` on P Pythons, `scope: involved`, so the cells
number P × (1 + 2N): 1 × 500 packages → 1,001 cells; 3 × 1,000 → 6,003 (a nightly of a
1,000-package distribution); 3 × 1,667 → 10,005.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console

from curator import manifest
from curator.cli.terminal import PlainObserver
from curator.execute.cell import CellTask
from curator.execute.coordinator import (
    Coordinator,
    RunRequest,
)
from curator.execute.executors.interface import (
    Event,
    Feed,
    Finished,
    Started,
)
from curator.model.ids import (
    PyVersion,
    SuiteName,
)
from curator.model.outcome import (
    CellOutcome,
    Counts,
    Status,
    SuiteOutcome,
    TestCase,
)
from curator.plan.cells import Cell
from curator.report.publish import publish
from curator.resolve.interpreters import Interpreter
from curator.resolve.lock import (
    Lock,
    parse_requirements,
)
from curator.store.db import Store

CASES = 20


class SimulatedExecutor:
    """Returns a synthetic outcome for every task, as fast as the coordinator takes them."""

    def __init__(self, seed: int = 0) -> None:
        self.random = random.Random(seed)

    def describe(self) -> dict[str, object]:
        """What run.json records."""
        return {"kind": "simulated"}

    def serves(self, platform: str) -> bool:
        """Every platform: the outcomes are made up anyway."""
        return True

    def execute(self, tasks: Feed, cancel: threading.Event) -> Iterator[Event]:
        """A `Started` and a `Finished` per task."""
        for task in tasks:
            if cancel.is_set():
                return
            if not isinstance(task, CellTask):
                continue
            yield Started(task.cell.id)
            yield Finished(task.cell.id, self.outcome(task))

    def outcome(self, task: CellTask) -> CellOutcome:
        """Passing suites, one in twenty failing with one of a few signatures."""
        suites = []
        for spec in task.suites:
            failing = self.random.random() < 0.05
            cases = tuple(
                TestCase(f"test_{spec.name}", f"test_{i}", "failed" if failing and i == 0 else "passed", 0.01)
                for i in range(CASES)
            )
            status = Status.FAILED if failing else Status.PASSED
            signature = f"AssertionError: broken by <version> ({self.random.randrange(5)})" if failing else ""
            log = f"logs/{task.cell.id}/{spec.name}.log"
            reason = "1 test(s) failed" if failing else ""
            suites.append(
                SuiteOutcome(
                    SuiteName(spec.name), status, status, reason, signature, Counts.of(cases), 1.0, 1, log, cases
                )
            )
        return CellOutcome(
            task.cell.id,
            tuple(suites),
            duration=self.random.uniform(5, 60),
            lock_key=task.lock_key,
            outcome_key=task.outcome_key,
            log=f"logs/{task.cell.id}/cell.log",
            reproduce=task.reproduce(),
            worker=f"tcp://10.0.0.{self.random.randrange(1, 200)}:40000",
        )


class SimulatedResolver:
    """A lock per cell without uv: its pins, hashed."""

    frozen = True  # nothing to ask the index about (the coordinator's `_ask_index`)
    cache = None

    def attempt(self, requirements: Sequence[str], interpreter: Interpreter) -> Lock:
        """The lock of these requirements."""
        lines = [f"{r} \\\n    --hash=sha256:{abs(hash(r)):064d}\n" for r in requirements]
        return parse_requirements(interpreter.version, "".join(lines))


PYTHONS = ("3.11", "3.12", "3.13")


def synthetic_manifest(folder: Path, packages: int, pythons: int) -> Path:
    """N packages of 3 candidates, one suite per 10 packages (requiring 2 of them)."""
    axis = ", ".join(f'"{p}"' for p in PYTHONS[:pythons])
    lines = ["distribution: sim", 'version: "1"', f"python: [{axis}]", "packages:"]
    lines += [f'  pkg{i:05d}: ["1.0", "1.1", "2.0"]' for i in range(packages)]
    lines.append("suites:")
    for s in range(max(1, packages // 10)):
        a, b = s * 10, s * 10 + 1
        (folder / "suites" / f"s{s}").mkdir(parents=True, exist_ok=True)
        (folder / "suites" / f"s{s}" / "test_it.py").write_text("def test_it():\n    pass\n")
        lines += [f"  s{s}:", f"    path: suites/s{s}", f"    requires: [pkg{a:05d}, pkg{b:05d}]"]
    lines += ["matrix:", "  strategy: upgrades", f"  max_cells: {10 * packages}", "  scope: involved"]
    path = folder / "distribution.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class NullObserver:
    """Progress that shows nothing (to time the coordinator without a terminal)."""

    def __init__(self) -> None:
        self.testing = 0.0
        self.last = 0.0
        self.finished = 0

    def phase(self, name: str, total: int) -> None:
        """Note when testing starts."""
        if name == "testing":
            self.testing = time.perf_counter()

    def step(self, name: str, detail: str) -> None:
        """Nothing."""

    def cell_started(self, cell: Cell) -> None:
        """Nothing."""

    def cell_note(self, cell: Cell, text: str) -> None:
        """Nothing."""

    def cell_finished(self, cell: Cell, outcome: CellOutcome, *, reused: bool) -> None:
        """Note when the last cell was recorded."""
        self.finished += 1
        self.last = time.perf_counter()


class TimedPlain(NullObserver):
    """`--plain` progress (one line per cell) into a buffer, timed like `NullObserver`."""

    def __init__(self) -> None:
        super().__init__()
        self.plain = PlainObserver(Console(file=io.StringIO(), width=120))

    def phase(self, name: str, total: int) -> None:
        """Both."""
        super().phase(name, total)
        self.plain.phase(name, total)

    def cell_finished(self, cell: Cell, outcome: CellOutcome, *, reused: bool) -> None:
        """Both."""
        self.plain.cell_finished(cell, outcome, reused=reused)
        super().cell_finished(cell, outcome, reused=reused)


def one(packages: int, pythons: int, work: Path, *, plain: bool) -> dict[str, float]:
    """Time a simulated run of `packages` packages on `pythons` Pythons."""
    folder = work / f"n{packages}x{pythons}-{'plain' if plain else 'null'}"
    folder.mkdir()
    os.environ["CURATOR_CACHE_DIR"] = str(folder / "cache")
    dist = manifest.load(synthetic_manifest(folder, packages, pythons))
    interpreters = {
        PyVersion(v): Interpreter(PyVersion(v), f"{v}.1", Path(f"/sim/bin/python{v}"), "sim", "sim")
        for v in PYTHONS[:pythons]
    }
    observer = TimedPlain() if plain else NullObserver()
    started = time.perf_counter()
    with Store(folder / "curator.sqlite") as store:
        request = RunRequest(dist, interpreters, out_dir=folder / "out")
        coordinator = Coordinator(request, store, SimulatedExecutor(), observer, threading.Event())
        coordinator.resolver = SimulatedResolver()  # type: ignore[assignment]
        result = coordinator.execute()
        ran = time.perf_counter()
        publish(store, result.run_id, dist, today=dt.date.today(), interrupted=False)
        published = time.perf_counter()
    recorded = observer.finished
    return {
        "cells": recorded,
        "run_s": ran - started,
        "record_s": observer.last - observer.testing,
        "cells_per_s": recorded / max(1e-9, observer.last - observer.testing),
        "report_s": published - ran,
        "store_mb": (folder / "curator.sqlite").stat().st_size / 1e6,
        "html_mb": (folder / "out" / "index.html").stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--size", nargs="+", default=["500x1", "1000x3", "1667x3"], help="PACKAGESxPYTHONS (default: %(default)s)"
    )
    parser.add_argument("--plain", action="store_true", help="with --plain progress lines (rich, into a buffer)")
    parser.add_argument("--keep", type=Path, help="leave the simulated runs in this (new) folder, reports included")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="curator-bench-coord-") as scratch:
        tmp = str(args.keep or scratch)
        header = ("cells", "run s", "record s", "cells/s", "report s", "store MB", "html MB")
        print(" ".join(f"{h:>9}" for h in header))
        for size in args.size:
            packages, pythons = (int(n) for n in size.split("x"))
            r = one(packages, pythons, Path(tmp), plain=args.plain)
            print(
                f"{r['cells']:>9.0f} {r['run_s']:>9.1f} {r['record_s']:>9.1f} {r['cells_per_s']:>9.0f} "
                f"{r['report_s']:>9.1f} {r['store_mb']:>9.1f} {r['html_mb']:>9.1f}"
            )


if __name__ == "__main__":
    main()
