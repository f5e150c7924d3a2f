"""The local executor: N cells at a time on this machine, each in its own process group.

Worker threads only wait on subprocesses (nox, uv, pytest), so a crashing interpreter or a
hung test never takes curator down, and a cancel kills exactly the cells' process groups.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from curator.cell import CellTask, Interrupted, execute
from curator.executors.interface import Broken, Event, Feed, Finished, Note, Started


class LocalExecutor:
    """Runs cells on this machine, `jobs` at a time (default: the CPU count)."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)

    def describe(self) -> dict[str, object]:
        """`{"kind": "local", "jobs": N}`."""
        return {"kind": "local", "jobs": self.jobs}

    def execute(self, tasks: Feed, cancel: threading.Event) -> Iterator[Event]:
        """Run every task, each as soon as the feed hands it over; events arrive in the calling thread."""
        events: queue.Queue[Event | None] = queue.Queue()

        def work(task: CellTask) -> None:
            if cancel.is_set():
                events.put(None)
                return
            events.put(Started(task.cell.id))

            def note(text: str) -> None:
                events.put(Note(task.cell.id, text))

            try:
                events.put(Finished(task.cell.id, execute(task, cancel, note)))
            except Interrupted:
                events.put(None)
            except Exception as exc:
                events.put(Broken(task.cell.id, f"{type(exc).__name__}: {exc}"))

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
                        pool.submit(work, item)
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
