"""Benchmark: what durability costs the results store, per recorded cell.

    python bench/bench_store.py                 # 200 cells of 50 test cases, in a folder beside this file
    python bench/bench_store.py --cases 400 --dir /tmp

Three ways of committing a cell, each in a fresh store on the same disk, the median of --cells
commits: `normal` (WAL, synchronous=NORMAL, SQLite's own checkpoints every 1,000 pages: what
curator did before issue 14), `full` (synchronous=FULL: the WAL fsynced on every commit), and
`checkpoint` (NORMAL, then `PRAGMA wal_checkpoint(PASSIVE)` after each commit: what curator does
now, so a `-wal` file lost after a kill loses at most the commit being made). Also: one
`wal_checkpoint(TRUNCATE)` at the end of a run of NORMAL commits, and `integrity_check` of the
last store.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curator.model.distribution import Strategy
from curator.model.ids import (
    CellId,
    PyVersion,
    RunId,
    SuiteName,
)
from curator.model.outcome import (
    CellOutcome,
    Counts,
    RunKind,
    RunStatus,
    Status,
    SuiteOutcome,
    TestCase,
)
from curator.model.pins import Pins
from curator.store.db import (
    CellRecord,
    RunRecord,
    Store,
)


def _cell(number: int, cases: int) -> CellRecord:
    tests = tuple(TestCase("pkg.tests.test_module", f"test_{i}", "passed", 0.01) for i in range(cases))
    suite = SuiteOutcome(SuiteName("suite"), Status.PASSED, Status.PASSED, "", "", Counts(cases, 0, 0, 0), 1.0, 1,
                         "logs/x/suite.log", tests)  # fmt: skip
    outcome = CellOutcome(CellId(f"py3.12-c@{number}"), (suite,), duration=1.0, lock_key="L", outcome_key=f"k{number}")
    return CellRecord(RunId("r"), outcome.cell_id, PyVersion("3.12"), "3.12.1 /py", Pins(), Pins(), False, "P",
                      outcome)  # fmt: skip


def _run() -> RunRecord:
    return RunRecord(RunId("r"), RunKind.RUN, "d", "1", "/m", "0", Strategy.UPGRADES, (PyVersion("3.12"),), "/o", 0.0,
                     RunStatus.RUNNING, '{"cells": []}')  # fmt: skip


def measure(folder: Path, mode: str, cells: int, cases: int) -> tuple[float, float]:
    """(median ms per commit, ms of a final TRUNCATE checkpoint)."""
    path = folder / f"{mode}.sqlite"
    store = Store(path)
    if mode == "full":
        store.db.execute("PRAGMA synchronous=FULL")
    if mode != "checkpoint":
        store.checkpoint = lambda: None  # type: ignore[method-assign]  # as before issue 14
    store.create_run(_run())
    times = []
    for number in range(cells):
        record = _cell(number, cases)
        start = time.perf_counter()
        store.record_cell(record)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    final = time.perf_counter() - start
    store.close()
    return statistics.median(times) * 1000, final * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--dir", type=Path, default=ROOT / "bench")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        for mode in ("normal", "full", "checkpoint"):
            per_cell, final = measure(folder, mode, args.cells, args.cases)
            print(f"{mode:10s} {per_cell:6.2f} ms a cell; then TRUNCATE checkpoint {final:6.1f} ms")
        start = time.perf_counter()
        with Store(folder / "checkpoint.sqlite") as store:
            store.db.execute("PRAGMA integrity_check").fetchall()
        size = (folder / "checkpoint.sqlite").stat().st_size / 1e6
        print(f"integrity_check of {size:.1f} MB: {(time.perf_counter() - start) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
