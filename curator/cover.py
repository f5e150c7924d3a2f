"""Pairwise covering arrays: the `cover` strategy's rows.

Every pair of values of any two columns (candidates of any two packages) appears in at least
one row, with far fewer rows than the cartesian product. Deterministic: the same columns give
the same rows, so a plan's cells and keys are stable.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")


def covering_array(values: Sequence[Sequence[T]], start: Sequence[T] | None = None) -> list[list[T]]:
    """Rows in which every pair of values of any two columns appears at least once.

    Two passes, both deterministic (seeded): a greedy construction in the manner of AETG
    (each row starts from the column value left in most uncovered pairs, then fills the
    other columns in random order with the value that covers most), then a shrinking pass
    that drops the last row and repairs the array by local moves while it can. With
    `start`, the first row is that one (the baseline) and is never changed. On 30 columns of
    3 values this gives 20 rows (the greedy pass alone: 25; the lower bound is 9).
    """
    sizes = [len(column) for column in values]
    if not sizes:
        return [list(start)] if start is not None else [[]]
    first = [list(values[c]).index(start[c]) for c in range(len(sizes))] if start else None
    rows = _CoverageSearch(sizes).build(first)
    return [[values[c][a] for c, a in enumerate(row)] for row in rows]


class _CoverageSearch:
    """Covering-array search over value indices; `counts` tracks how often each pair is hit."""

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
        """Count (step=+1) or uncount (-1) the pairs of `row` that touch `columns`."""
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
                    (
                        sum(self._pair(c, v, o, w) in self.uncovered for o, w in row.items()),
                        self.rng.random(),
                        v,
                    )
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
        """Local search: move each missing pair into the row where it costs least."""
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
        """Pairs newly covered minus pairs newly lost if `row` took `changes`."""
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
