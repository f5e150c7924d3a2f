"""Pairwise covering arrays: the `cover` strategy's rows.

Every pair of values of any two columns (candidates of any two packages) appears in at least
one row, with far fewer rows than the cartesian product. Deterministic: the same columns give
the same rows, so a plan's cells and keys are stable.

Construction is IPOG (in parameter order: the product of the two largest columns, then one
column at a time, horizontal growth then vertical growth) on bitsets, near-linear in practice,
in two flavours whose results are compared. A shrinking pass (drop the last row, repair the
array by local moves) then buys rows back where that is cheap. All work is counted in steps,
never timed, so the rows never depend on how busy the machine is; a problem that would take
more than its budget raises `CoverTooLarge`, at once when that is clear from its shape.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from functools import lru_cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from curator.model.errors import CoverTooLarge

T = TypeVar("T")
IntArray = npt.NDArray[np.int64]
Pair = tuple[int, int, int, int]  # (column i, column j, value of i, value of j), i < j

BUDGET = 200_000_000
"""Construction steps `covering_array` may take (a step is about one 64-bit word operation,
20-40 ns: a few seconds of CPU). 1,000 columns of 3 values take about 28 million."""

SHRINK_STEPS = 10_000_000
"""Steps each of the two shrinking passes may take. A pass starts only where one repair fits,
and stops (keeping what it has) rather than fail."""

_EVALUATION = 8  # fixed cost of one gain evaluation, in steps, on top of its words
_MOVES_PER_REPAIR = 300  # a repair that needs more moves than this rarely succeeds at all
_MOVE = 3000  # fixed cost of one move of the shrinking pass, in steps


def covering_array(
    values: Sequence[Sequence[T]], start: Sequence[T] | None = None, *, budget: int = BUDGET
) -> list[list[T]]:
    """Rows in which every pair of values of any two columns appears at least once.

    With `start`, the first row is that one (the baseline). Two columns give their product,
    the optimum. More columns are built in parameter order, twice: each row in turn, then
    (with what is left of the budget) best first; each is shrunk where that fits its own
    budget, and the smaller wins. 13 columns of 3 values give 15 rows (optimal), 30 give 20,
    1,000 give 43. Raises `CoverTooLarge` if even the first way takes more than `budget` steps.
    """
    sizes = [len(column) for column in values]
    if not sizes:
        return [list(start)] if start is not None else [[]]
    if min(sizes) == 0:
        raise ValueError("every column of a covering array needs at least one value")
    first = tuple(list(values[c]).index(start[c]) for c in range(len(sizes))) if start is not None else None
    rows = _rows(tuple(sizes), first, budget)
    return [[values[c][a] for c, a in enumerate(row)] for row in rows]


@lru_cache(maxsize=16)  # a plan asks once per Python, `curator check` once more
def _rows(sizes: tuple[int, ...], first: tuple[int, ...] | None, budget: int) -> tuple[tuple[int, ...], ...]:
    """`covering_array` over value indices: column `c` takes the values `0 … sizes[c] - 1`."""
    order = sorted(range(len(sizes)), key=lambda c: (-sizes[c], c))  # largest columns first
    ordered = [sizes[c] for c in order]
    ordered_first = [first[c] for c in order] if first is not None else None
    in_row_order = _Ipog(ordered, ordered_first, budget, best_first=False)
    candidates = [in_row_order.build()]
    if len(sizes) > 2:
        with contextlib.suppress(CoverTooLarge):  # costs more, usually gives fewer rows: on what is left
            candidates.append(_Ipog(ordered, ordered_first, budget - in_row_order.steps, best_first=True).build())
        fixed = 0 if first is None else 1
        candidates = [_Shrinker(ordered, fixed).shrink(rows) for rows in candidates]
    rows = min(candidates, key=len)
    back = sorted(range(len(sizes)), key=order.__getitem__)  # position of each column in `order`
    return tuple(dict.fromkeys(tuple(row[p] for p in back) for row in rows))  # filled rows may repeat


class _Ipog:
    """IPOG on bitsets. While column `k` is added, `uncovered[v]` has bit `offset[j] + a` set
    for every pair (column j = a, column k = v), j < k, that no row holds yet, and `masks[r]`
    has those bits of the values row `r` holds: a gain is one AND and a popcount.

    Horizontal growth gives column k to the existing rows, either in row order (each row the
    value that covers most) or best (row, value) first, as IPOG-F does. Vertical growth covers
    what is left in rows that still have room (-1: any value will do), else in new rows.
    """

    def __init__(self, sizes: Sequence[int], first: Sequence[int] | None, budget: int, *, best_first: bool) -> None:
        self.sizes = list(sizes)
        self.first = list(first) if first is not None else None
        self.budget = budget
        self.best_first = best_first
        self.offset = [0]
        for size in sizes:
            self.offset.append(self.offset[-1] + size)
        self.column_of = [c for c, size in enumerate(sizes) for _ in range(size)]
        self.steps = 0
        self.rows: list[list[int]] = []
        self.masks: list[int] = []

    def build(self) -> list[list[int]]:
        sizes, first = self.sizes, self.first
        if len(sizes) == 1:
            return ([list(first)] if first is not None else []) + [
                [a] for a in range(sizes[0]) if first is None or a != first[0]
            ]
        self._charge(sizes[0] * sizes[1] * len(sizes))  # the product of the first two columns
        self._refuse_if_hopeless()
        pairs = [(a, b) for a in range(sizes[0]) for b in range(sizes[1])]
        if first is not None:
            pairs.remove((first[0], first[1]))
            pairs.insert(0, (first[0], first[1]))
        self.rows = [[a, b] for a, b in pairs]
        self.masks = [self._bit(0, a) | self._bit(1, b) for a, b in pairs]
        for k in range(2, len(sizes)):
            self._vertical(k, self._horizontal(k))
        fill = first if first is not None else [0] * len(sizes)
        return [[v if v >= 0 else fill[c] for c, v in enumerate(row)] for row in self.rows]

    def _refuse_if_hopeless(self) -> None:
        """Fail at once when even the first evaluation of each column, on no more rows than
        the product of the two largest columns, would exceed the budget."""
        least_rows = self.sizes[0] * self.sizes[1]
        least = sum(least_rows * self.sizes[k] * self._cost(k) for k in range(2, len(self.sizes)))
        self._charge(least, dry_run=True)

    def _cost(self, k: int) -> int:
        return _EVALUATION + 1 + self.offset[k] // 64

    def _charge(self, steps: int, *, dry_run: bool = False) -> None:
        if self.steps + steps > self.budget:
            raise CoverTooLarge(
                f"the pairwise covering array of {len(self.sizes)} packages with up to {self.sizes[0]} candidates "
                f"each would take more than {self.budget:,} steps to build; "
                "list fewer candidates or choose another strategy"
            )
        if not dry_run:
            self.steps += steps

    def _bit(self, column: int, value: int) -> int:
        return 1 << (self.offset[column] + value)

    def _horizontal(self, k: int) -> list[int]:
        """Give column `k` to every existing row; return the pairs left uncovered, by value."""
        uncovered = [(1 << self.offset[k]) - 1] * self.sizes[k]
        for row in self.rows:
            row.append(-1)
        lowest = 0
        if self.first is not None:  # the baseline row takes its own value
            self.rows[0][k] = self.first[k]
            uncovered[self.first[k]] &= ~self.masks[0]
            lowest = 1
        if self.best_first:
            evaluations = self._best_first(k, uncovered, lowest)
        else:
            evaluations = self._in_row_order(k, uncovered, lowest)
        self._charge(evaluations * self._cost(k))
        for r, row in enumerate(self.rows):
            if row[k] >= 0:
                self.masks[r] |= self._bit(k, row[k])
        return uncovered

    def _in_row_order(self, k: int, uncovered: list[int], lowest: int) -> int:
        """Each row in turn takes the value that covers most (none covers anything: -1)."""
        for r in range(lowest, len(self.rows)):
            mask, best, value = self.masks[r], 0, -1
            for v in range(self.sizes[k]):
                gain = (uncovered[v] & mask).bit_count()
                if gain > best:
                    best, value = gain, v
            if value >= 0:
                self.rows[r][k] = value
                uncovered[value] &= ~mask
        return (len(self.rows) - lowest) * self.sizes[k]

    def _best_first(self, k: int, uncovered: list[int], lowest: int) -> int:
        """The (row, value) that covers most goes first. Gains only fall as pairs get covered,
        so a bucket queue of possibly stale gains finds it: take the top entry if its gain is
        still that, else file it lower."""
        rows, masks = self.rows, self.masks
        gains = [
            (r, v, (uncovered[v] & masks[r]).bit_count())
            for r in range(len(rows) - 1, lowest - 1, -1)  # popped last in, so low rows go first
            for v in range(self.sizes[k] - 1, -1, -1)
        ]
        top = max((gain for _, _, gain in gains), default=0)
        buckets: list[list[tuple[int, int]]] = [[] for _ in range(top + 1)]
        for r, v, gain in gains:
            buckets[gain].append((r, v))
        evaluations = len(gains)
        while top:
            if not buckets[top]:
                top -= 1
                continue
            r, v = buckets[top].pop()
            if rows[r][k] != -1:
                continue
            evaluations += 1
            gain = (uncovered[v] & masks[r]).bit_count()
            if gain == top:
                rows[r][k] = v
                uncovered[v] &= ~masks[r]
            else:
                buckets[gain].append((r, v))
        return evaluations

    def _vertical(self, k: int, uncovered: list[int]) -> None:
        """Cover each pair still missing in the first row with room for it, else in a new row."""
        lowest = 0 if self.first is None else 1
        for v in range(self.sizes[k]):
            while uncovered[v]:
                low = uncovered[v] & -uncovered[v]
                j = self.column_of[low.bit_length() - 1]
                a = low.bit_length() - 1 - self.offset[j]
                self._charge(_EVALUATION * (len(self.rows) - lowest))
                for r in range(lowest, len(self.rows)):
                    row = self.rows[r]
                    if row[k] == v and row[j] == -1:
                        row[j] = a
                        self.masks[r] |= low
                        uncovered[v] &= ~low
                        break
                    if row[k] == -1 and row[j] in (a, -1):
                        row[j], row[k] = a, v
                        self.masks[r] |= low
                        uncovered[v] &= ~self.masks[r]
                        self.masks[r] |= self._bit(k, v)
                        break
                else:
                    row = [-1] * (k + 1)
                    row[j], row[k] = a, v
                    self.rows.append(row)
                    self.masks.append(low | self._bit(k, v))
                    uncovered[v] &= ~low


class _Shrinker:
    """Drop the last row and repair the array by local moves, while that works and fits.

    A move takes a missing pair (i = a, j = b) into the row where that loses fewest others
    (ties broken by a seeded generator). `counts` holds, at `((i * k + j) * top + x) * top + y`,
    how many rows hold the pair (i = x, j = y), in both orders, so a move is judged on every
    row at once by a few array lookups.
    """

    def __init__(self, sizes: Sequence[int], fixed: int, steps: int = SHRINK_STEPS) -> None:
        self.sizes = list(sizes)  # largest first
        self.k = len(sizes)
        self.top = max(sizes)
        self.fixed = fixed  # rows never changed (the baseline)
        self.steps_left = steps
        self.rng = random.Random(0)
        self.columns = np.arange(self.k)
        self.base: IntArray = np.zeros(0, dtype=np.int64)  # where the counts of (i, j) start
        self.counts: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.missing: list[Pair] = []
        self.where: dict[Pair, int] = {}  # position of each pair in `missing`
        self.touched: dict[tuple[int, int], tuple[IntArray, IntArray]] = {}

    def _costs(self, rows: int) -> tuple[int, int]:
        """Steps to recount an array of `rows` rows, and steps of one move in it."""
        k, top = self.k, self.top
        return rows * k * k + k * k * top * top, (rows - self.fixed) * k + _MOVE

    def _fits(self, rows: int) -> bool:
        """Whether a repair of an array of `rows` rows fits in the steps left."""
        recount, move = self._costs(rows)
        return recount + _MOVES_PER_REPAIR * move <= self.steps_left

    def shrink(self, rows: list[list[int]]) -> list[list[int]]:
        least = max(self.fixed + 1, self.sizes[0] * self.sizes[1])  # no array has fewer rows
        if len(rows) <= least or not self._fits(len(rows) - 1):
            return rows
        self.base = (self.columns[:, None] * self.k + self.columns[None, :]) * self.top * self.top
        array = np.array(rows, dtype=np.int64)
        while len(array) > least and self._fits(len(array) - 1):
            trial = array[:-1].copy()
            if not self._repair(trial):
                break
            array = trial
        return [[int(v) for v in row] for row in array]

    def _repair(self, rows: IntArray) -> bool:
        recount, move = self._costs(len(rows))
        self.steps_left -= recount
        self._recount(rows)
        movable = rows[self.fixed :]  # a view: moves change `rows`
        for _ in range(_MOVES_PER_REPAIR):
            if not self.missing:
                return True
            self.steps_left -= move
            i, j, a, b = self.missing[self.rng.randrange(len(self.missing))]
            row = movable[self._best_row(movable, i, j, a, b)]
            self._count(row, i, j, -1)
            row[i], row[j] = a, b
            self._count(row, i, j, +1)
        return not self.missing

    def _recount(self, rows: IntArray) -> None:
        k, top = self.k, self.top
        left, right = np.triu_indices(k, 1)
        flat = ((left * k + right) * top + rows[:, left]) * top + rows[:, right]
        counts = np.bincount(flat.ravel(), minlength=k * k * top * top).reshape(k, k, top, top)
        fits = np.arange(top)[None, :] < np.array(self.sizes)[:, None]  # (column, value) exists
        wanted = fits[left][:, :, None] & fits[right][:, None, :]
        holes = np.argwhere(wanted & (counts[left, right] == 0))
        self.missing = [(int(left[p]), int(right[p]), int(a), int(b)) for p, a, b in holes]
        self.where = {pair: n for n, pair in enumerate(self.missing)}
        self.counts = (counts + counts.transpose(1, 0, 3, 2)).astype(np.int32).reshape(-1)

    def _best_row(self, rows: IntArray, i: int, j: int, a: int, b: int) -> int:
        """Index in `rows` of the row that gains most (pairs covered minus pairs lost) by
        taking i = a and j = b."""
        top, counts = self.top, self.counts
        new = np.array([[a], [b]])
        base = self.base[[i, j]][:, None, :]  # (2, 1, k)
        now = rows.T[[i, j]][:, :, None]  # (2, rows, 1): each row's values in columns i and j
        gained = counts[base + new[:, :, None] * top + rows] == 0  # (2, rows, k)
        lost = counts[base + now * top + rows] == 1
        others = (self.columns != i) & (self.columns != j)
        change = (gained & others).sum(axis=2) - (lost & others).sum(axis=2)
        change[now[:, :, 0] == new] = 0
        pair_lost = counts[self.base[i, j] + now[0, :, 0] * top + now[1, :, 0]] == 1
        delta = change.sum(axis=0) + 1 - pair_lost
        best = np.flatnonzero(delta == delta.max())
        return int(best[self.rng.randrange(len(best))])

    def _count(self, row: IntArray, i: int, j: int, step: int) -> None:
        """Add `step` to the count of each pair of `row` that involves column i or j."""
        if (i, j) not in self.touched:
            others = self.columns[self.columns != i]
            rest = others[others != j]  # (i, j) is counted once, with i
            self.touched[i, j] = (
                np.concatenate([np.full(len(others), i), np.full(len(rest), j)]),
                np.concatenate([others, rest]),
            )
        column, other = self.touched[i, j]
        value, values = row[column], row[other]
        forward = self.base[column, other] + value * self.top + values
        self.counts[forward] += step
        self.counts[self.base[other, column] + values * self.top + value] += step
        for n in np.flatnonzero(self.counts[forward] == (0 if step < 0 else 1)).tolist():
            c, o, v, w = int(column[n]), int(other[n]), int(value[n]), int(values[n])
            pair = (c, o, v, w) if c < o else (o, c, w, v)
            if step < 0:
                self.where[pair] = len(self.missing)
                self.missing.append(pair)
            else:
                at, last = self.where.pop(pair), self.missing.pop()
                if at < len(self.missing):
                    self.missing[at] = last
                    self.where[last] = at
