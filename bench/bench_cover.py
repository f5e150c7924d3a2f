"""Benchmark: the `cover` strategy's covering array, old (AETG-style greedy + shrinking, before
issue 11) against new (curator.plan.cover: IPOG on bitsets + a bounded shrinking pass).

    python bench/bench_cover.py                    # every shape, old in a child process, 60 s each
    python bench/bench_cover.py --old-timeout 300  # give the old algorithm longer
    python bench/bench_cover.py --no-old           # the new algorithm only
    python bench/bench_cover.py --check            # also time `curator check` on synthetic manifests

Each shape is COLUMNSxVALUES: that many packages with that many candidates, the baseline (first
row) at each one's newest. CPU seconds are `time.process_time()` (best of --repeat for the new
algorithm, one run of the old); every array is checked to cover every pair. The lower bound is
the product of the two largest columns.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curator.plan.cover import covering_array

SHAPES = ["2x60", "10x2", "5x4", "13x3", "30x3", "100x3", "100x10", "1000x3"]
CHECK_SHAPES = ["2x60", "100x10", "1000x3"]

T = TypeVar("T")


# ----------------------------------------------------------------- the old algorithm (as it was)


def old_covering_array(values: Sequence[Sequence[T]], start: Sequence[T] | None = None) -> list[list[T]]:
    """curator.plan.cover.covering_array before issue 11, kept here only to compare against."""
    sizes = [len(column) for column in values]
    if not sizes:
        return [list(start)] if start is not None else [[]]
    first = [list(values[c]).index(start[c]) for c in range(len(sizes))] if start else None
    rows = _OldCoverageSearch(sizes).build(first)
    return [[values[c][a] for c, a in enumerate(row)] for row in rows]


class _OldCoverageSearch:
    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = list(sizes)
        self.k = len(sizes)
        self.rng = random.Random(0)
        self.counts: dict[tuple[int, int, int, int], int] = {}
        self.uncovered: set[tuple[int, int, int, int]] = set()

    def _pair(self, c: int, v: int, o: int, w: int) -> tuple[int, int, int, int]:
        return (c, o, v, w) if c < o else (o, c, w, v)

    def _reset(self, rows: Sequence[Sequence[int]]) -> None:
        k, sizes = self.k, self.sizes
        self.counts = {
            (i, j, a, b): 0 for i in range(k) for j in range(i + 1, k) for a in range(sizes[i]) for b in range(sizes[j])
        }
        for row in rows:
            for i in range(k):
                for j in range(i + 1, k):
                    self.counts[i, j, row[i], row[j]] += 1
        self.uncovered = {pair for pair, n in self.counts.items() if n == 0}

    def _add(self, row: Sequence[int], columns: Sequence[int], step: int) -> None:
        touched = set(columns)
        for c in touched:
            for o in range(self.k):
                if o == c or (o in touched and o < c):
                    continue
                pair = self._pair(c, row[c], o, row[o])
                self.counts[pair] += step
                if self.counts[pair] == 0:
                    self.uncovered.add(pair)
                else:
                    self.uncovered.discard(pair)

    def build(self, first: list[int] | None) -> list[list[int]]:
        rows: list[list[int]] = [first] if first is not None else []
        self._reset(rows)
        if self.k == 1:
            taken = {row[0] for row in rows}
            return rows + [[a] for a in range(self.sizes[0]) if a not in taken]
        while self.uncovered:
            row = self._greedy_row()
            rows.append(row)
            self._add(row, range(self.k), +1)
        return self._shrink(rows, fixed=1 if first is not None else 0)

    def _greedy_row(self, tries: int = 20) -> list[int]:
        tally: dict[tuple[int, int], int] = {}
        for i, j, a, b in self.uncovered:
            tally[i, a] = tally.get((i, a), 0) + 1
            tally[j, b] = tally.get((j, b), 0) + 1
        most = max(tally.values())
        seeds = sorted(cv for cv, n in tally.items() if n == most)
        best: list[int] = []
        best_gain = -1
        for _ in range(tries):
            column, value = self.rng.choice(seeds)
            row = {column: value}
            order = [c for c in range(self.k) if c != column]
            self.rng.shuffle(order)
            for c in order:
                scored = [
                    (sum(self._pair(c, v, o, w) in self.uncovered for o, w in row.items()), self.rng.random(), v)
                    for v in range(self.sizes[c])
                ]
                row[c] = max(scored)[2]
            full = [row[c] for c in range(self.k)]
            gain = sum((i, j, full[i], full[j]) in self.uncovered for i in range(self.k) for j in range(i + 1, self.k))
            if gain > best_gain:
                best, best_gain = full, gain
        return best

    def _shrink(self, rows: list[list[int]], fixed: int, budget: int = 1500) -> list[list[int]]:
        while len(rows) > fixed + 1:
            trial = [list(row) for row in rows[:-1]]
            if not self._repair(trial, fixed, budget):
                break
            rows = trial
        return rows

    def _repair(self, rows: list[list[int]], fixed: int, budget: int) -> bool:
        self._reset(rows)
        for _ in range(budget):
            if not self.uncovered:
                return True
            i, j, a, b = self.rng.choice(sorted(self.uncovered))
            best_key: tuple[int, float] | None = None
            best_row = fixed
            for n in range(fixed, len(rows)):
                key = (self._delta(rows[n], {i: a, j: b}), self.rng.random())
                if best_key is None or key > best_key:
                    best_key, best_row = key, n
            row = rows[best_row]
            self._add(row, (i, j), -1)
            row[i], row[j] = a, b
            self._add(row, (i, j), +1)
        return not self.uncovered

    def _delta(self, row: Sequence[int], changes: Mapping[int, int]) -> int:
        new = list(row)
        for c, v in changes.items():
            new[c] = v
        delta = 0
        for c in changes:
            for o in range(self.k):
                if o == c or (o in changes and o < c):
                    continue
                old_pair = self._pair(c, row[c], o, row[o])
                new_pair = self._pair(c, new[c], o, new[o])
                if old_pair == new_pair:
                    continue
                delta += (self.counts[new_pair] == 0) - (self.counts[old_pair] == 1)
        return delta


# ----------------------------------------------------------------- measuring


def shape_values(shape: str) -> tuple[list[list[int]], list[int]]:
    columns, values = (int(n) for n in shape.split("x"))
    return [list(range(values))] * columns, [values - 1] * columns


def covers_every_pair(values: Sequence[Sequence[int]], rows: Sequence[Sequence[int]]) -> bool:
    """Every pair of values of any two columns is in some row (bitmask per column pair)."""
    array = np.array(rows, dtype=np.int64)
    sizes = [len(v) for v in values]
    for i in range(len(sizes)):
        later = range(i + 1, len(sizes))
        for j in (j for j in later if sizes[i] * sizes[j] > 62):  # too many pairs for one int64
            if len({(r[i], r[j]) for r in rows}) != sizes[i] * sizes[j]:
                return False
        small = [j for j in later if sizes[i] * sizes[j] <= 62]
        if small:
            widths = np.array([sizes[j] for j in small], dtype=np.int64)
            codes = array[:, i : i + 1] * widths + array[:, small]
            seen = np.bitwise_or.reduce(np.left_shift(1, codes), axis=0)
            if not np.array_equal(seen, (1 << (sizes[i] * widths)) - 1):
                return False
    return True


def time_new(shape: str, repeat: int) -> tuple[int, float, bool]:
    values, start = shape_values(shape)
    from curator.plan.cover import _rows

    best = float("inf")
    rows: list[list[int]] = []
    for _ in range(repeat):
        _rows.cache_clear()
        began = time.process_time()
        rows = covering_array(values, start=start)
        best = min(best, time.process_time() - began)
    assert rows[0] == start
    return len(rows), best, covers_every_pair(values, rows)


OLD_MEMORY = 3 << 30  # bytes the old algorithm may use (it keeps a dict entry per pair)


def _old_child(shape: str, out: Connection) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (OLD_MEMORY, OLD_MEMORY))
    values, start = shape_values(shape)
    began = time.process_time()
    try:
        rows = old_covering_array(values, start=start)
    except MemoryError:
        out.send(f"out of memory ({OLD_MEMORY >> 30} GB) after {time.process_time() - began:.0f} s")
        return
    out.send((len(rows), time.process_time() - began, covers_every_pair(values, rows)))


def time_old(shape: str, timeout: float) -> tuple[int, float, bool] | str:
    """The old algorithm in a child process, so a shape it cannot finish is given up on."""
    receive, send = mp.Pipe(duplex=False)
    child = mp.Process(target=_old_child, args=(shape, send))
    child.start()
    result: tuple[int, float, bool] | str = receive.recv() if receive.poll(timeout) else f"> {timeout:g} s"
    if child.is_alive():
        child.terminate()
    child.join()
    return result


def check_times(folder: Path, shapes: Sequence[str]) -> list[tuple[str, float, float]]:
    """Wall and CPU seconds of `curator check` on a synthetic manifest of each shape."""
    out = []
    for shape in shapes:
        columns, values = (int(n) for n in shape.split("x"))
        versions = ", ".join(f"'{v}.0'" for v in range(1, values + 1))
        packages = "\n".join(f"  pkg{i:04d}: {{versions: [{versions}]}}" for i in range(columns))
        path = folder / f"{shape}.yaml"
        path.write_text(
            f"distribution: synthetic\nversion: '1'\npython: ['3.11']\npackages:\n{packages}\n"
            "matrix:\n  strategy: cover\n"
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "curator", "check", str(path)], check=True, capture_output=True)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out.append((shape, wall, cpu))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shapes", nargs="*", default=SHAPES, help=f"COLUMNSxVALUES (default: {' '.join(SHAPES)})")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the new algorithm per shape (best is kept)")
    parser.add_argument("--old-timeout", type=float, default=60.0, help="seconds the old algorithm gets per shape")
    parser.add_argument("--no-old", action="store_true", help="do not run the old algorithm")
    parser.add_argument("--check", action="store_true", help="also time `curator check` on synthetic manifests")
    args = parser.parse_args()

    header = (
        f"{'shape':>8} {'bound':>6} | {'old rows':>8} {'old CPU s':>10} | {'new rows':>8} {'new CPU s':>10} | covers"
    )
    print(header)
    print("-" * len(header))
    for shape in args.shapes:
        columns, values = (int(n) for n in shape.split("x"))
        bound = values * values if columns >= 2 else values
        rows, seconds, ok = time_new(shape, args.repeat)
        old = "not run" if args.no_old else time_old(shape, args.old_timeout)
        if isinstance(old, str):
            old_text = f"{old:>19}"
        else:
            ok = ok and old[2]
            old_text = f"{old[0]:>8} {old[1]:>10.3f}"
        print(f"{shape:>8} {bound:>6} | {old_text} | {rows:>8} {seconds:>10.3f} | {'yes' if ok else 'NO'}", flush=True)

    if args.check:
        print(f"\n{'curator check':>14} {'wall s':>7} {'CPU s':>6}")
        with tempfile.TemporaryDirectory() as folder:
            for shape, wall, cpu in check_times(Path(folder), CHECK_SHAPES):
                print(f"{shape:>14} {wall:>7.2f} {cpu:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
