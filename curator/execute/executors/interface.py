"""What an executor is: it runs `CellTask`s and reports events as cells start and finish."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from curator.execute.cell import CellTask
from curator.model.errors import ExecutorLost
from curator.model.ids import CellId, Platform
from curator.model.outcome import CellOutcome

__all__ = ["WAIT", "Broken", "Event", "Executor", "ExecutorLost", "Feed", "Finished", "Note", "Started", "Wait"]


@dataclass(frozen=True)
class Started:
    """A cell began."""

    cell_id: CellId


@dataclass(frozen=True)
class Finished:
    """A cell ended with an outcome."""

    cell_id: CellId
    outcome: CellOutcome


@dataclass(frozen=True)
class Broken:
    """A cell could not be run to its end because curator itself failed (an exception in the executor
    or in curator's code around the cell, not in the suites): `reason` is the exception's type and
    message, `detail` its traceback when there is one. The cell is recorded `error`, never as the
    environment's `install-error`."""

    cell_id: CellId
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Note:
    """Something a person watching should know about a cell that has not finished (what it waits for)."""

    cell_id: CellId
    text: str


Event = Started | Finished | Broken | Note


class Wait:
    """What a stream of tasks yields while its next task is not ready (its lock is being resolved):
    an executor then reports the events it has, and asks again at once. The stream does the waiting
    (the coordinator waits up to `run.FEED_WAIT` for the next lock before each `WAIT`), so an
    executor neither sleeps on a ready task nor spins on one that is not."""


WAIT = Wait()
Feed = Iterable[CellTask | Wait]
"""The cells to run, as the coordinator makes them ready (longest first), with `WAIT` in between."""


class Executor(Protocol):
    """Runs cells; yields events in the order they happen, in the caller's thread.

    When `cancel` is set, running cells are stopped (their process groups killed) and their
    outcomes are not reported; the iterator then ends. An executor that can no longer run
    anything (its scheduler went away) raises `ExecutorLost` after the events it has.
    """

    def describe(self) -> dict[str, object]:
        """Where the cells run, as run.json records it: `{"kind": "local", "jobs": 2}`."""
        ...

    def serves(self, platform: Platform) -> bool:
        """Whether it can run cells of `platform` (a uv target; "" — a manifest naming no platforms —
        is served everywhere). A cell of a platform no executor serves is never handed over: it is
        recorded "locked, not tested"."""
        ...

    def execute(self, tasks: Feed, cancel: threading.Event) -> Iterator[Event]:
        """Run every task of the feed, starting each as it comes (an executor that wants them all at
        once takes them all first); report events whenever the feed says `WAIT`."""
        ...
