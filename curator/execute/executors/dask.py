"""The dask executor: the same cells, as tasks on a dask.distributed cluster.

`connect(scheduler, jobs)` joins a running scheduler (`dask scheduler` and `dask worker` on real
machines, dask-jobqueue, dask-kubernetes), or starts a `LocalCluster` of `jobs` single-threaded
worker processes when no address is given. Each cell travels as a self-contained `WireTask`
(`wire.py`); its suite folders travel once per content digest, as small tasks of their own that
dask can recompute if the worker holding them dies. On the worker, `run_cell` finds the interpreter
itself (refusing the cell when this machine has not the exact Python its key was computed with),
materialises a private run folder from the worker's own curator, and runs `cell.execute` — the one
code path local cells take too, wall-clock limit and process-group kills included.

A cell of a platform (`platforms` in the manifest) goes only to a worker that advertises the dask
resource `platform:<target>` (`dask worker --resources platform:x86_64-pc-windows-msvc=1`); a LocalCluster
gives its workers the resources of every platform of the manifest this machine serves. A platform
no worker advertises is not served: its cells are recorded "locked, not tested", never queued forever.
Such a cell's worker, when this machine does not serve its platform, takes any CPython of the cell's
X.Y (its exact build cannot be known here).

The coordinator stays the single writer: results stream back as futures complete and each becomes
a `Finished` event at once. A worker that dies mid-cell makes dask run the task again elsewhere, up
to the scheduler's `allowed-failures`; after that the cell is `error` ("worker lost: …"). A
scheduler that goes away ends the iteration with `ExecutorLost`. Cancelling sets a dask `Event`
that every running cell watches, so the workers kill their cells' process groups.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import secrets
import shutil
import signal
import tarfile
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from curator.execute.cell import CellTask, Interrupted, execute, nox_env, write_nox_files
from curator.execute.cell import env_key as cell_env_key
from curator.execute.executors.interface import Broken, Event, Feed, Finished, Started
from curator.execute.executors.wire import (
    WireError,
    WireResult,
    WireTask,
    folder_blob,
    pack,
    pack_logs,
    unpack,
    unpack_folder,
)
from curator.host import targets as platforms
from curator.host.layout import RunLayout, cache_dir
from curator.model.errors import ExecutorLost, InterpreterNotFound, UsageError
from curator.model.ids import CellId, Platform, SuiteName
from curator.model.outcome import CellOutcome, Status, SuiteOutcome
from curator.plan.cells import INSTALL_SUITE
from curator.resolve.interpreters import Finder

if TYPE_CHECKING:
    import distributed

log = logging.getLogger("curator.execute.executors.dask")

INSTALL_HINT = "pip install 'curator[dask]'"
ALLOWED_FAILURES = 2
"""How often a LocalCluster's scheduler reruns a cell whose worker died (an external scheduler uses its
own `distributed.scheduler.allowed-failures`, 3 by default)."""
STOP_GRACE = 30.0
"""How long a cancel waits for running cells to be killed on their workers before leaving them."""
WATCH_INTERVAL = 5.0
"""Each running cell long-polls the scheduler's cancel event this often (a set event answers at once)."""


# ---------------------------------------------------------------------- the worker's side


def run_cell(task: Mapping[str, Any], blobs: Mapping[str, bytes], cancel_event: str, topic: str) -> dict[str, object]:
    """Run one cell on this dask worker; the JSON of a `WireResult`.

    `blobs` are the suite folders the task names, by digest; `cancel_event` names the run's dask
    `Event`; `topic` is where the worker says when the cell starts and ends.
    """
    from distributed import Event as DaskEvent
    from distributed import get_worker

    worker = get_worker()
    where = str(worker.address)
    cell = task.get("cell")
    cell_id = str(cell.get("id")) if isinstance(cell, Mapping) else "?"
    worker.log_event(topic, {"cell": cell_id, "state": "started", "worker": where})
    try:
        return _run(WireTask.from_json(task), blobs, DaskEvent(cancel_event), where).to_json()
    finally:
        worker.log_event(topic, {"cell": cell_id, "state": "ended", "worker": where})


def _run(task: WireTask, blobs: Mapping[str, bytes], cancelled: distributed.Event, where: str) -> WireResult:
    cell_id = task.cell.id
    if cancelled.is_set():
        return WireResult(cell_id, where, None)
    try:
        hint = Path(task.hint) if task.hint else None
        if task.full_version:
            interpreter = Finder().find_exact(task.python, task.full_version, task.build, hint=hint)
        else:  # a cell of another platform than the coordinator's: its X.Y is what was asked for
            interpreter = Finder().find(task.python)
    except InterpreterNotFound as exc:
        reason = f"worker {where} refused the cell: {exc}"
        lacks = f"worker lacks Python {task.full_version or task.python}"
        return WireResult(cell_id, where, refused(task, where, reason, lacks))
    missing = [folder for folder in task.local_folders() if not Path(folder).is_dir()]
    if missing:
        reason = (
            f"worker {where} refused the cell: it has no find-links folder {missing[0]} (a package source of "
            "the manifest); give every worker that folder at the same path, or serve it as an index"
        )
        return WireResult(cell_id, where, refused(task, where, reason, "worker lacks a find-links folder"))
    cache = cache_dir()
    folders = {digest: _suite_folder(cache / "dask" / "suites", digest, blobs[digest]) for digest in task.folders}
    (cache / "dask" / "cells").mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"{cell_id}-", dir=cache / "dask" / "cells"))
    try:
        layout = RunLayout(root)
        local = CellTask(
            cell=task.cell,
            interpreter=interpreter,
            install_args=task.install_args,
            suites=unpack(task, root, folders),
            layout=layout,
            env_dir=cache / "envs" / cell_env_key(interpreter, task.lock_key),
            outcome_key=task.outcome_key,
            lock_key=task.lock_key,
            timeout=task.timeout,
            retries=task.retries,
            env=nox_env(),
        )
        local.lock_path.parent.mkdir(parents=True, exist_ok=True)
        local.lock_path.write_text(task.lock_text, encoding="utf-8")
        write_nox_files(layout, [local])
        cancel, done = threading.Event(), threading.Event()
        watcher = threading.Thread(target=_watch, args=(cancelled, cancel, done), daemon=True, name="curator-cancel")
        watcher.start()
        try:
            outcome = execute(local, cancel)
        except Interrupted:
            return WireResult(cell_id, where, None)
        finally:
            done.set()
        logs, truncated = pack_logs(local.out_dir, note=where)
        return WireResult(cell_id, where, replace(outcome, worker=where), logs, truncated)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _watch(cancelled: distributed.Event, cancel: threading.Event, done: threading.Event) -> None:
    """Turn the run's dask cancel event into this cell's own: its process group is then killed."""
    while not done.is_set():
        try:
            if cancelled.wait(timeout=WATCH_INTERVAL):
                cancel.set()
                return
        except Exception:  # the scheduler is unreachable for now: the cell goes on, bounded by its own clock
            done.wait(1.0)


def _suite_folder(root: Path, digest: str, blob: bytes) -> Path:
    """A suite folder in this worker's cache, unpacked once per digest (atomically: by rename)."""
    target = root / digest
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=root))
    unpack_folder(blob, scratch)
    try:
        scratch.rename(target)
    except OSError:  # another cell unpacked it first
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def refused(task: WireTask, where: str, reason: str, signature: str) -> CellOutcome:
    """A cell this worker cannot run: `error` for every suite, with the reason; never reused by key."""
    return errored(task.cell.id, task.cell.suites, reason, signature, where)


def errored(cell_id: CellId, suites: Sequence[SuiteName], reason: str, signature: str, where: str) -> CellOutcome:
    """An outcome of `error` in every suite of a cell that did not run to the end for a reason outside it
    (no outcome key: it is never reused)."""
    names = list(suites) or [INSTALL_SUITE]
    outcomes = tuple(SuiteOutcome(s, Status.ERROR, Status.ERROR, reason, signature) for s in names)
    return CellOutcome(cell_id, outcomes, worker=where)


def _blob(data: bytes) -> bytes:
    """A suite folder's archive, as a task of its own (so a lost copy is recomputed, not lost)."""
    return data


# ---------------------------------------------------------------------- the coordinator's side


class DaskExecutor:
    """Runs cells as tasks on a dask.distributed cluster (see `connect`)."""

    def __init__(self, client: distributed.Client, *, description: dict[str, object]) -> None:
        self.client = client
        self.description = description
        self._folders: dict[Path, tuple[str, distributed.Future[Any]]] = {}

    def describe(self) -> dict[str, object]:
        """`{"kind": "dask", "scheduler": ADDRESS}` (and `"workers"` for a LocalCluster)."""
        return dict(self.description)

    def serves(self, platform: Platform) -> bool:
        """Whether a worker of the cluster advertises `platform:<target>` now (every worker serves a
        cell of a manifest that names no platforms)."""
        if not platform:
            return True
        wanted = platforms.resource(platform)
        try:
            workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        except TypeError:  # a distributed that always lists every worker
            workers = self.client.scheduler_info().get("workers", {})
        except (OSError, TimeoutError) as exc:
            raise ExecutorLost(f"the dask scheduler at {self.description.get('scheduler')} went away ({exc})") from None
        return any(wanted in (worker.get("resources") or {}) for worker in workers.values())

    def execute(self, tasks: Feed, cancel: threading.Event) -> Iterator[Event]:
        """Submit every task (the whole feed first); events arrive in the calling thread as workers report."""
        ready = [task for task in tasks if isinstance(task, CellTask)]
        if not ready:
            return
        batch = _Batch(self, ready)
        try:
            while batch.pending:
                if cancel.is_set():
                    batch.stop()
                    return
                try:
                    kind, item = batch.reports.get(timeout=0.2)
                except queue.Empty:
                    continue
                if kind == "worker":
                    yield from batch.heard(item)
                    continue
                future, result = item
                entry = batch.pending.pop(future.key, None)
                if entry is None:
                    continue
                event = self._settle(entry, future, result, cancel)
                future.release()
                if event is not None:
                    yield from batch.began(event.cell_id)
                    yield event
        finally:
            batch.close()

    def _settle(
        self, task: CellTask, future: distributed.Future[Any], result: object, cancel: threading.Event
    ) -> Finished | Broken | None:
        """The event a completed future stands for (None: nothing to record)."""
        from distributed import KilledWorker

        if future.status == "finished":
            try:
                wire = WireResult.from_json(result)  # type: ignore[arg-type]
            except WireError as exc:  # a worker with another curator
                return Broken(task.cell.id, str(exc))
            if wire.outcome is None:
                return None  # interrupted by a cancel: not recorded, as locally
            return Finished(task.cell.id, self._land(task, wire))
        if future.status == "cancelled":
            if cancel.is_set():
                return None
            address = self.description.get("scheduler")
            raise ExecutorLost(f"the dask scheduler at {address} went away ({_reason(result)})")
        result = _exception(result)
        if isinstance(result, KilledWorker):
            last = str(getattr(result.last_worker, "address", "") or "lost")
            died = result.allowed_failures + 1
            reason = f"worker lost: {died} workers died while running the cell (the last: {last})"
            lost = errored(task.cell.id, task.cell.suites, reason, "worker lost", last)
            return Finished(task.cell.id, self._land(task, WireResult(task.cell.id, last, lost)))
        hint = " (is curator installed on every worker?)" if isinstance(result, ImportError) else ""
        detail = "".join(traceback.format_exception(result)) if isinstance(result, BaseException) else ""
        return Broken(task.cell.id, f"{type(result).__name__}: {result}{hint}", detail)

    def _land(self, task: CellTask, wire: WireResult) -> CellOutcome:
        """Write a worker's logs under this run's `logs/<cell>/`; the outcome as this machine sees it."""
        outcome = wire.outcome
        assert outcome is not None
        shutil.rmtree(task.out_dir, ignore_errors=True)
        task.out_dir.mkdir(parents=True)
        if not wire.logs:  # the cell never ran (refused by its worker, or its workers died): say why
            note = task.out_dir / "worker.log"
            note.write_text("".join(f"{s.suite}: {s.reason}\n" for s in outcome.suites), encoding="utf-8")
            where = task.layout.relative(note)
            suites = tuple(replace(s, log=s.log or where) for s in outcome.suites)
            return replace(outcome, suites=suites, log=where, reproduce=task.reproduce(), lock_key=task.lock_key)
        with tarfile.open(fileobj=io.BytesIO(wire.logs), mode="r:gz") as archive:
            archive.extractall(task.out_dir, filter="data")
        if wire.truncated:
            log.warning(
                "%s: logs cut to their head and tail on the way back: %s", task.cell.id, ", ".join(wire.truncated)
            )
        return replace(outcome, reproduce=task.reproduce(), outcome_key=task.outcome_key, lock_key=task.lock_key)

    def folder(self, path: Path) -> tuple[str, distributed.Future[Any]]:
        """A suite folder's digest and the future of its archive, submitted once."""
        if path not in self._folders:
            digest, blob = folder_blob(path)
            future = self.client.submit(_blob, blob, key=f"curator-suite-{digest}", pure=False)
            self._folders[path] = (digest, future)
        return self._folders[path]


class _Batch:
    """One `execute` call on the cluster: its futures, and what the workers said about them."""

    def __init__(self, executor: DaskExecutor, tasks: Sequence[CellTask]) -> None:
        from distributed import Event as DaskEvent
        from distributed import as_completed

        self.client = executor.client
        token = secrets.token_hex(4)
        self.topic = f"curator-{token}"
        self.cancelled = DaskEvent(f"curator-cancel-{token}", client=self.client)
        self.reports: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.client.subscribe_topic(self.topic, lambda event: self.reports.put(("worker", event[1])))
        self.pending: dict[str, CellTask] = {}
        self.futures: dict[str, distributed.Future[Any]] = {}
        self.started: set[CellId] = set()
        self.running: set[CellId] = set()  # started on a worker and not yet ended there
        for task in tasks:
            folders = {path: executor.folder(path) for path in _suite_paths(task)}
            wire = pack(task, {path: digest for path, (digest, _) in folders.items()})
            needed = {digest: future for digest, future in folders.values() if digest in wire.folders}
            key = f"curator-cell-{task.cell.id}-{token}"
            where = {platforms.resource(task.cell.platform): 1} if task.cell.platform else None
            self.futures[key] = self.client.submit(
                run_cell, wire.to_json(), needed, self.cancelled.name, self.topic, key=key, pure=False, resources=where
            )
            self.pending[key] = task
        futures = list(self.futures.values())

        def completions() -> None:
            completed = as_completed(futures, loop=self.client.loop, with_results=True, raise_errors=False)
            for future, result in completed:
                self.reports.put(("done", (future, result)))

        threading.Thread(target=completions, daemon=True, name="curator-dask-results").start()

    def heard(self, message: Mapping[str, object]) -> Iterator[Started]:
        """A worker said a cell started or ended there."""
        cell_id = CellId(str(message.get("cell")))
        if message.get("state") != "started":
            self.running.discard(cell_id)
            return
        self.running.add(cell_id)
        if any(task.cell.id == cell_id for task in self.pending.values()):
            yield from self.began(cell_id)

    def began(self, cell_id: CellId) -> Iterator[Started]:
        """`Started`, once per cell (a task rerun after a worker died starts again)."""
        if cell_id not in self.started:
            self.started.add(cell_id)
            yield Started(cell_id)

    def stop(self) -> None:
        """Cancel: tell the workers (they kill their cells' process groups), drop the cells not
        started, and wait a bounded time for the running ones to end."""
        with contextlib.suppress(Exception):
            self.cancelled.set()
        idle = [self.futures[key] for key, task in self.pending.items() if task.cell.id not in self.running]
        with contextlib.suppress(Exception):
            self.client.cancel(idle)
        deadline = time.monotonic() + STOP_GRACE
        while self.running and time.monotonic() < deadline:
            try:
                kind, item = self.reports.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "worker":
                for _ in self.heard(item):
                    pass
            elif (task := self.pending.get(item[0].key)) is not None:
                self.running.discard(task.cell.id)
        if self.running:
            log.warning("cells still running on their workers after %gs: %s", STOP_GRACE, ", ".join(self.running))
        with contextlib.suppress(Exception):
            self.client.cancel([self.futures[key] for key in self.pending])
        self.pending.clear()

    def close(self) -> None:
        """Leave nothing running on the cluster for this batch (a second Ctrl-C, a lost scheduler)."""
        if self.pending:
            with contextlib.suppress(Exception):
                self.cancelled.set()
                self.client.cancel([self.futures[key] for key in self.pending])
        with contextlib.suppress(Exception):
            self.client.unsubscribe_topic(self.topic)


def _suite_paths(task: CellTask) -> set[Path]:
    """The integration suite folders a task runs in (outside the run folder: they travel by digest)."""
    return {Path(s.cwd) for s in task.suites if not Path(s.cwd).is_relative_to(task.layout.root)}


def _exception(result: object) -> object:
    """The exception of a failed task: `as_completed(..., raise_errors=False)` gives `(type, exception,
    traceback)`, which would otherwise be read as a tuple (hiding a `KilledWorker`, and the message)."""
    if isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], BaseException):
        error: BaseException = result[1]
        return error.with_traceback(result[2]) if isinstance(result[2], TracebackType) else error
    return result


def _reason(error: object) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


@contextlib.contextmanager
def connect(
    scheduler: str | None, jobs: int | None = None, platforms_here: Sequence[Platform] = ()
) -> Iterator[DaskExecutor]:
    """A `DaskExecutor` on the scheduler at `scheduler`, or on a LocalCluster of `jobs` single-threaded
    worker processes (default: the CPU count) that lives as long as the context; its workers advertise
    `platform:<target>` for each of `platforms_here` (the manifest's platforms this machine serves)."""
    try:
        import dask.config
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(f"--executor dask needs dask.distributed: {INSTALL_HINT}") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot connect ({_reason(exc)})") from None
        try:
            yield DaskExecutor(client, description={"kind": "dask", "scheduler": scheduler})
        finally:
            _close(client)
        return
    workers = max(1, jobs or os.cpu_count() or 1)
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}), _no_sigint():
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            resources={platforms.resource(p): 1 for p in platforms_here} or None,
        )
    try:
        client = Client(cluster, set_as_default=False)
        try:
            description = {"kind": "dask", "scheduler": str(cluster.scheduler_address), "workers": workers}
            yield DaskExecutor(client, description=description)
        finally:
            _close(client)
    finally:
        with contextlib.suppress(Exception):
            cluster.close(timeout=STOP_GRACE)


@contextlib.contextmanager
def _no_sigint() -> Iterator[None]:
    """Worker processes started meanwhile ignore SIGINT: a Ctrl-C in the terminal reaches the whole
    process group, and it is curator's to handle (workers kill their cells when told), not theirs to die of."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _close(client: distributed.Client) -> None:
    """Close a client without the long reconnection attempts (and their tracebacks) of a lost scheduler."""
    quiet = logging.getLogger("distributed.client")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with contextlib.suppress(Exception):
            client.close(timeout=5)
    finally:
        quiet.setLevel(level)
