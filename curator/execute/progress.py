"""Progress is an observer the core calls; the terminal and CI render it (see `terminal.py`)."""

from __future__ import annotations

from typing import Protocol

from curator.model.outcome import CellOutcome
from curator.plan.cells import Cell


class Observer(Protocol):
    """What a run reports while it works. Calls come from the coordinating thread only."""

    def phase(self, name: str, total: int) -> None:
        """A new phase starts (`resolving`, `splitting`, `testing`) with `total` steps."""

    def step(self, name: str, detail: str) -> None:
        """One step of the current phase is done; `detail` is a cell id, or a sentence (`splitting`)."""

    def cell_started(self, cell: Cell) -> None:
        """A cell began building or testing."""

    def cell_note(self, cell: Cell, text: str) -> None:
        """Something about a cell that has not finished: what it waits for, what it cleared away."""

    def cell_finished(self, cell: Cell, outcome: CellOutcome, *, reused: bool) -> None:
        """A cell's outcome was recorded."""
