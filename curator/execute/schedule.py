"""The order cells run in: the longest first, from what earlier runs took.

With N cells at a time, the run ends when its last cell does; starting the long ones first leaves
short ones to fill the gaps at the end (longest processing time first, a classic bound within
4/3 of the best order). A cell's expected time is its last duration in the store (any earlier run
of the same distribution, the cell run rather than reused); a cell never run before is estimated
from those that were, by its number of suites; with no history at all, cells with more suites go
first. Ties keep the plan's order, which puts each Python's baseline first: the environment the
others are copied from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from curator.model.ids import CellId
from curator.plan.cells import Cell


def expected(cells: Sequence[Cell], history: Mapping[CellId, float]) -> dict[CellId, float]:
    """Each cell's expected duration in seconds: its own, else an estimate per suite."""
    known = [(history[c.id], len(c.suites)) for c in cells if history.get(c.id, 0) > 0]
    per_suite = sum(d for d, _ in known) / max(1, sum(n for _, n in known)) if known else 1.0
    return {c.id: history[c.id] if history.get(c.id, 0) > 0 else per_suite * len(c.suites) for c in cells}


def longest_first(cells: Sequence[Cell], history: Mapping[CellId, float]) -> list[Cell]:
    """`cells`, the longest expected first; ties in the given order."""
    estimate = expected(cells, history)
    order = {c.id: i for i, c in enumerate(cells)}
    return sorted(cells, key=lambda c: (-estimate[c.id], order[c.id]))
