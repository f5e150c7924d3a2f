"""The local executor: N cells at a time on this machine, each in its own process group.

Worker threads only wait on subprocesses (nox, uv, pytest), so a crashing interpreter or a
hung test never takes curator down, and a cancel kills exactly the cells' process groups.
"""

from __future__ import annotations

import os
import queue
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor

from curator.execute.cell import Built, CellTask, Interrupted, execute, prepare
from curator.execute.executors.interface import Broken, Event, Feed, Finished, Note, Started
from curator.host import targets as platforms
from curator.model.ids import Platform


class LocalExecutor:
    """Runs cells on this machine, `jobs` at a time (default: the CPU count)."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)

    def describe(self) -> dict[str, object]:
        """`{"kind": "local", "jobs": N}`."""
        return {"kind": "local", "jobs": self.jobs}

    def serves(self, platform: Platform) -> bool:
        """This machine's platform: any target whose wheels it installs (`platforms.served_here`)."""
        return platforms.served_here(platform)

    def execute(self, tasks: Feed, cancel: threading.Event) -> Iterator[Event]:
        """Run every task, each as soon as the feed hands it over; events arrive in the calling thread.

        A cell's environment is built (`cell.prepare`) as soon as the cell arrives, in the order
        cells arrive, `jobs` at a time, and its suites run when a worker is free: while a cell's
        suites run, the next cells' environments are built — with `--jobs 1`, on the core the
        suites leave idle."""
        cells = _Cells(cancel)
        events = cells.events
        builders = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="curator-build")
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="curator-cell")
        feed = iter(tasks)
        feeding = True
        remaining = 0  # submitted, not yet ended
        try:
            while feeding or remaining:
                if feeding:
                    item = next(feed, None) if not cancel.is_set() else None
                    if item is None:
                        feeding = False
                        continue  # nothing may be running: waiting for an event would only wait
                    if isinstance(item, CellTask):
                        pool.submit(cells.work, item, builders.submit(cells.build, item))
                        remaining += 1
                        continue
                try:  # while feeding, the feed itself waits for its next task (`WAIT`): only report what came
                    event = events.get_nowait() if feeding else events.get(timeout=0.5)
                except queue.Empty:
                    continue
                if not isinstance(event, Started | Note):
                    remaining -= 1
                if event is not None:
                    yield event
        finally:
            if remaining:  # the consumer stopped early (an interrupt): stop the cells still running
                cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            builders.shutdown(wait=True, cancel_futures=True)


class _Cells:
    """What the threads of one `LocalExecutor.execute` share: the events they report, the cancel."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.events: queue.Queue[Event | None] = queue.Queue()

    def noting(self, task: CellTask) -> Callable[[str], None]:
        def note(text: str) -> None:
            self.events.put(Note(task.cell.id, text))

        return note

    def build(self, task: CellTask) -> Built | None:
        """On a builder thread: the cell's environment (None: cancelled)."""
        if self.cancel.is_set():
            return None
        try:
            return prepare(task, self.cancel, self.noting(task))
        except Interrupted:
            return None

    def work(self, task: CellTask, built: Future[Built | None]) -> None:
        """On a worker thread: the cell's suites, once its environment is built."""
        if self.cancel.is_set():
            self.events.put(None)
            return
        self.events.put(Started(task.cell.id))
        try:
            ready = built.result()
            if ready is None:
                raise Interrupted(task.cell.id)
            self.events.put(Finished(task.cell.id, execute(task, self.cancel, self.noting(task), ready=ready)))
        except (Interrupted, CancelledError):
            self.events.put(None)
        except Exception as exc:  # curator's own failure: the cell is `error` with it, the run goes on
            detail = "".join(traceback.format_exception(exc))
            self.events.put(Broken(task.cell.id, f"{type(exc).__name__}: {exc}", detail))
