"""A run: plan → resolve every cell → reuse what is known → executor → store.

The coordinator (this module, one thread) owns the store: every finished cell is committed
the moment it is reported, so an interrupted run loses nothing and `--resume` runs only the
cells not yet recorded. Outcomes are reused by key across runs unless `--rerun` is given.
Writing the run folder's reports is the next stage's job (`report.publish`).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from curator.execute import cell as cells
from curator.execute.executors.interface import WAIT, Broken, Executor, Feed, Finished, Note, Started
from curator.execute.progress import Observer
from curator.execute.schedule import longest_first
from curator.host import targets as platforms
from curator.host.layout import RunLayout, cache_dir, default_runs
from curator.host.locking import LOCK_NAME, FolderLock
from curator.model import codec
from curator.model.distribution import Distribution, Strategy
from curator.model.errors import ExecutorLost, UsageError
from curator.model.ids import ANY_PLATFORM, CellId, Platform, PyVersion, RunId, SuiteName
from curator.model.outcome import (
    CURATOR_FAILED,
    NOT_TESTED,
    CellOutcome,
    RunKind,
    RunStatus,
    Status,
    SuiteOutcome,
    judge,
    masked,
    signature,
)
from curator.plan import cells as planning
from curator.plan.cells import INSTALL_SUITE, Cell, Plan
from curator.resolve.interpreters import Interpreter
from curator.resolve.lock import Lock, Resolution, ResolveFailed, Resolver, Unresolvable, index_args, mentioned
from curator.resolve.upstream import ReleaseLog
from curator.store.db import CellRecord, LockRow, RunRecord, Store

if TYPE_CHECKING:  # networkx: imported where a graph is made
    from curator.resolve.graph import DependencyGraph

UNTESTED_LOG = "untested.log"
"""In the log folder of a cell no executor of its platform ran: why ("locked, not tested")."""
CURATOR_ERROR_LOG = "curator-error.log"
"""In a cell's log folder: the traceback of an exception of curator's own that stopped the cell."""
FEED_WAIT = 0.05  # seconds the feed waits for the next lock before it lets the executor report events


@dataclass(frozen=True)
class RunRequest:
    """What `curator run` was asked to do."""

    distribution: Distribution
    interpreters: Mapping[PyVersion, Interpreter]
    strategy: Strategy | None = None
    out_dir: Path | None = None
    rerun: bool = False
    resume: str | None = None
    kind: RunKind = RunKind.RUN
    plan: Plan | None = None  # the cells to run, instead of a strategy's (a nightly's first batch)
    rerun_flaky: bool = False  # run a cell again, rather than reuse it, when its key has been flaky
    split_unresolvable: bool = False  # or the manifest's matrix.split_unresolvable


@dataclass(frozen=True)
class RunResult:
    """A run whose cells are recorded (all of them, or those finished before an interrupt)."""

    run_id: RunId
    layout: RunLayout
    interrupted: bool
    lost: str = ""  # why the executor went away mid-run (the run is then interrupted, and resumable)


def new_run_id() -> RunId:
    """A sortable, unique run id: `20261123-201503-3fa2`."""
    return RunId(time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2))


class Coordinator:
    """Drives one run; see `execute`. Use it as a context manager (or call `close`): it holds the run
    folder from the start of the run until it is closed, so the caller can write the run's report
    before anyone else may touch the folder."""

    def __init__(
        self, request: RunRequest, store: Store, executor: Executor, observer: Observer, cancel: threading.Event
    ) -> None:
        self.request = request
        self.store = store
        self.dist = request.distribution
        self.executor = executor
        self.observer = observer
        self.cancel = cancel
        self.resolver = Resolver(self.dist.index, cache=cache_dir())
        self.env = cells.nox_env()
        self.today = dt.date.today()
        self.requires = {s.name: s.requires for s in self.dist.suites} | {
            p.suite_name: frozenset({p.name}) for p in self.dist.packages
        }
        self.folder_lock: FolderLock | None = None
        self.graphs: dict[PyVersion, DependencyGraph] = {}  # each Python's, once planning or a split needed it
        self.listed: dict[CellId, cells.CellTask] = {}  # every cell in nox-cells.json

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the run folder (held from the start of `execute` so that no other run, resume
        or report writes into it meanwhile)."""
        if self.folder_lock is not None:
            self.folder_lock.release()
            self.folder_lock = None

    def _hold(self, folder: Path, run_id: RunId, what: str) -> None:
        """Take the run folder for this process (`Busy` when another holds it)."""
        self.folder_lock = FolderLock.take(folder, command=self.request.kind, run=run_id, what=what)

    # ------------------------------------------------------------------ setup

    def _start(self) -> tuple[RunRecord, Plan]:
        request, dist, store = self.request, self.dist, self.store
        if request.resume:
            record = _unfinished(store.run(request.resume))
            self._hold(Path(record.out_dir), record.id, f"run {record.id} (its folder {record.out_dir})")
            record = _unfinished(store.run(record.id))  # as it is now that no other process can resume it
            if record.manifest_sha256 != dist.sha256:
                raise UsageError(
                    f"{dist.path}: the manifest changed since run {record.id} started; start a new run instead"
                )
            store.reopen_run(record.id, executor=json.dumps(self.executor.describe()))
            return record, Plan.stored(record.id, record.plan)
        pythons = list(request.interpreters)
        plan = request.plan
        if plan is None:
            strategy = request.strategy or dist.matrix.strategy
            graphs = None
            if planning.needs_graphs(dist, strategy):
                from curator.resolve.graph import (
                    baseline_requirements,
                    resolve_graph,  # networkx: pairs, scope minimal
                )

                self._ask_index([(baseline_requirements(dist), i, ANY_PLATFORM) for i in request.interpreters.values()])
                with ThreadPoolExecutor(max_workers=4, thread_name_prefix="curator-graph") as pool:
                    graphs = dict(
                        zip(
                            request.interpreters,
                            pool.map(
                                lambda i: resolve_graph(dist, i, self.resolver, cache_dir()),
                                request.interpreters.values(),
                            ),
                            strict=True,
                        )
                    )
                self.graphs.update(graphs)
            plan = planning.build(dist, strategy, pythons=pythons, graphs=graphs)
        run_id = new_run_id()
        out_dir = (request.out_dir or default_runs(dist.root) / run_id).resolve()
        self._hold(out_dir, run_id, f"--out {out_dir}" if request.out_dir else str(out_dir))
        if any(p.name != LOCK_NAME for p in out_dir.iterdir()):
            raise UsageError(f"--out {out_dir}: the folder is not empty; choose a new one")
        record = RunRecord(
            id=run_id,
            kind=request.kind,
            distribution=dist.name,
            version=dist.version,
            manifest_path=str(dist.path.resolve()),
            manifest_sha256=dist.sha256,
            strategy=plan.strategy,
            pythons=tuple(pythons),
            out_dir=str(out_dir),
            started=time.time(),
            status=RunStatus.RUNNING,
            plan=codec.dumps(plan),
            executor=json.dumps(self.executor.describe()),
        )
        store.create_run(record)
        return record, plan

    # ------------------------------------------------------------------ the run

    def execute(self) -> RunResult:
        """Run every cell not yet recorded; the run folder's reports are written afterwards."""
        self.record, self.plan = self._start()
        return self._batch(self.plan.cells)

    def extend(self, cells: Sequence[Cell]) -> RunResult:
        """Add cells to the run `execute` began (a nightly's probes) and run those not yet recorded.

        The stored plan grows with them first, so `--resume` knows them; a cell already in the plan
        is not added twice.
        """
        known = {c.id for c in self.plan.cells}
        new = tuple({c.id: c for c in cells if c.id not in known}.values())
        if new:
            self.plan = replace(self.plan, cells=self.plan.cells + new)
            self.store.update_plan(self.record.id, codec.dumps(self.plan))
        planned = {c.id: c for c in self.plan.cells}
        return self._batch([planned[c] for c in dict.fromkeys(c.id for c in cells)])

    def _batch(self, batch: Sequence[Cell]) -> RunResult:
        """Resolve, reuse or run the cells of `batch` that the run has not recorded yet."""
        store, record = self.store, self.record
        layout = RunLayout(Path(record.out_dir))
        done = store.recorded_cell_ids(record.id)
        pending = [c for c in batch if c.id not in done]
        if self.cancel.is_set():
            return RunResult(record.id, layout, interrupted=True)
        cells.write_nox_files(layout, [])  # the runner's files; each cell is added once its lock is made
        resolutions: dict[CellId, Resolution] = {}
        try:
            self._run_tasks(record.id, self._feed(pending, layout, resolutions), resolutions)
        except ExecutorLost as lost:
            return RunResult(record.id, layout, interrupted=True, lost=str(lost))
        finally:
            self._restore(layout, thorough=True)
        return RunResult(record.id, layout, interrupted=self.cancel.is_set())

    def _restore(self, layout: RunLayout, *, thorough: bool) -> None:
        """Write the run folder's harness again where something removed it — a suite that deleted
        the folder around it: the runner's files, every cell in nox-cells.json and every cell's
        lock, so each cell's reproduce command works. Quick unless `thorough` (a cell said its
        harness went missing; the end of a batch): then every cell is looked for."""
        needed = [*(layout.root / n for n in planning.RUNNER_FILES), layout.pytest_ini, layout.scratch]
        needed += [layout.nox_cells, layout.locks]
        whole = all(path.exists() for path in needed)
        if whole and not thorough:
            return
        for task in self.listed.values():
            if not task.lock_path.exists():
                _write_lock(task.lock_path, task.lock_text)
        if whole:
            from curator.execute.harness import protocol

            try:
                text = layout.nox_cells.read_text(encoding="utf-8")
                whole = set(self.listed) <= set(protocol.validate_cells_file(json.loads(text)))
            except (OSError, ValueError):  # not the file curator wrote: every cell it lists is written again
                layout.nox_cells.unlink(missing_ok=True)
                whole = False
        if not whole:
            cells.write_nox_files(layout, list(self.listed.values()))

    def _feed(self, pending: Sequence[Cell], layout: RunLayout, resolutions: dict[CellId, Resolution]) -> Feed:
        """The cells to run, the longest first, each handed to the executor as soon as its lock is
        made (`WAIT` while the next one is being resolved), so the first cells build and test while
        the others resolve; cells refused or reused are recorded on the way."""
        order = longest_first(pending, self.store.durations(self.dist.name))
        self.observer.phase("resolving", len(order))
        self.observer.phase("testing", len(order))
        yield from self._resolved(order, layout, resolutions)
        if self.cancel.is_set() or not (self.request.split_unresolvable or self.dist.matrix.split_unresolvable):
            return
        added = self._split(self.plan, order, resolutions)
        if added:
            self.plan = replace(self.plan, cells=(*self.plan.cells, *added))
            self.store.update_plan(self.record.id, codec.dumps(self.plan))
            self.observer.phase("resolving", len(added))
            yield from self._resolved(added, layout, resolutions)

    def _resolved(self, order: Sequence[Cell], layout: RunLayout, resolutions: dict[CellId, Resolution]) -> Feed:
        """Resolve `order`'s locks a few at a time (uv is mostly waiting on I/O) and hand over, in
        that order, the tasks of the cells to run; a cell of a platform the executor does not serve
        is recorded "locked, not tested" with its lock instead (unless an outcome of its key is known)."""
        self._ask_index(
            [
                (c.requirements(self.dist.runner_requires), self.request.interpreters[c.python], c.platform)
                for c in order
            ]
        )
        served: dict[Platform, bool] = {}  # whether the executor serves each platform met in this batch

        def one(cell: Cell) -> Resolution:
            requirements = cell.requirements(self.dist.runner_requires)
            if self.cancel.is_set():
                return ResolveFailed(cell.python, tuple(requirements), "cancelled")
            return self.resolver.attempt(requirements, self.request.interpreters[cell.python], cell.platform)

        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="curator-resolve")
        unlisted: list[cells.CellTask] = []  # tasks not yet in nox-cells.json (reused ones too: reproducible)
        ready: list[cells.CellTask] = []  # tasks to run, not yet handed over
        listed = 0
        try:
            futures = [pool.submit(one, cell) for cell in order]
            for cell, future in zip(order, futures, strict=True):
                while not future.done():
                    # hand over what is ready before waiting for more; nox-cells.json is written whole,
                    # so in batches that grow with it (a few times per run however many cells, not once per cell)
                    if ready and 2 * len(unlisted) >= listed:
                        cells.add_nox_cells(layout, unlisted)
                        listed += len(unlisted)
                        yield from ready
                        unlisted, ready = [], []
                    if self.cancel.is_set():
                        return
                    # the feed waits for the resolution itself, briefly, so that the executor neither polls
                    # (a cached lock is ready in a millisecond) nor spins; WAIT lets it report its events
                    if not wait([future], timeout=FEED_WAIT).done:
                        yield WAIT
                resolution = resolutions[cell.id] = future.result()
                self.observer.step("resolving", cell.id)
                if self.cancel.is_set():
                    return
                listing, running = self._settle(cell, resolution, layout, served)
                unlisted += listing
                ready += running
            cells.add_nox_cells(layout, unlisted)
            yield from ready
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _settle(
        self, cell: Cell, resolution: Resolution, layout: RunLayout, served: dict[Platform, bool]
    ) -> tuple[list[cells.CellTask], list[cells.CellTask]]:
        """A resolved cell's fate: recorded (refused, reused, or locked and not tested), or to run.
        Its task to add to nox-cells.json (a cell this machine's executor runs), and to hand over."""
        if not isinstance(resolution, Lock):
            self._record(self.record.id, cell, self._unbuildable(cell, resolution, layout), reused=False)
            return [], []
        task = self._task(cell, resolution, layout)
        if cell.platform not in served:  # asked once per batch: a dask cluster is asked about its workers
            served[cell.platform] = self.executor.serves(cell.platform)
        if served[cell.platform]:
            self.listed[cell.id] = task
        listing = [task] if served[cell.platform] else []
        if not self.request.rerun and self._reuse(self.record.id, task, resolution):
            return listing, []
        if not served[cell.platform]:
            self._record(self.record.id, cell, self._untested(cell, layout, resolution), reused=False, lock=resolution)
            return [], []
        return listing, [task]

    def _ask_index(self, questions: Sequence[tuple[Sequence[str], Interpreter, Platform]]) -> None:
        """Before cached answers from an index not frozen in time are used again: ask the index once,
        a few projects at a time, about every package they depend on (`upstream.ReleaseLog`)."""
        if self.resolver.frozen or self.resolver.cache is None:
            return
        watched = {
            w
            for requirements, interpreter, platform in questions
            for w in self.resolver.watched(requirements, interpreter, platform)
        }
        if self.resolver.index_state is None:
            self.resolver.index_state = ReleaseLog(self.dist.index)
        if isinstance(self.resolver.index_state, ReleaseLog):
            self.resolver.index_state.load(watched)

    def _split(self, plan: Plan, pending: Sequence[Cell], resolutions: Mapping[CellId, Resolution]) -> list[Cell]:
        """Minimal cells for the suites of every refused cell (`--split-unresolvable`), each
        recorded with the cell it was split from and the packages the resolver named."""
        planned = {(c.python, c.pins) for c in plan.cells}
        splits: list[tuple[Cell, list[str], list[Cell]]] = []
        for cell in pending:
            refusal = resolutions[cell.id]
            if not isinstance(refusal, Unresolvable):
                continue
            conflicts = mentioned(refusal.reason, self.dist.package_names)
            graph = self._graph(cell.python)
            new = [c for c in planning.split(self.dist, cell, graph, conflicts) if (c.python, c.pins) not in planned]
            planned |= {(c.python, c.pins) for c in new}
            if new:
                splits.append((cell, conflicts, new))
        if splits:
            self.observer.phase("splitting", len(splits))
        for cell, conflicts, new in splits:
            named = ", ".join(conflicts) or "see its reason"
            self.observer.step(
                "splitting",
                f"{cell.id} refused ({named}): its suites also run in {len(new)} "
                f"minimal cell{'s' if len(new) != 1 else ''}: {', '.join(c.id for c in new)}",
            )
        return [c for _, _, new in splits for c in new]

    def _graph(self, python: PyVersion) -> DependencyGraph:
        """The dependency graph of `python`'s resolved baseline (what a split cell's suites pull in)."""
        if python not in self.graphs:
            from curator.resolve.graph import resolve_graph  # networkx: only when a refused cell is split

            interpreter = self.request.interpreters[python]
            self.graphs[python] = resolve_graph(self.dist, interpreter, self.resolver, cache_dir())
        return self.graphs[python]

    def _task(self, cell: Cell, lock: Lock, layout: RunLayout) -> cells.CellTask:
        interpreter = self.request.interpreters[cell.python]
        lock_path = layout.lock(cell.id)
        exact = platforms.served_here(cell.platform)  # else a worker's own X.Y runs it
        where = f" on {cell.platform}" if cell.platform else ""
        header = (
            f"# curator lock for cell {cell.id} of {self.dist.name} {self.dist.version}\n"
            f"# Python {interpreter.full_version if exact else interpreter.version}{where} "
            f"({interpreter.path if exact else 'any CPython of that version'}); "
            "pip install --require-hashes -r THIS_FILE\n"
        )
        _write_lock(lock_path, header + lock.text)
        suites = cells.suite_specs(self.dist, cell, layout)
        return cells.CellTask(
            cell=cell,
            interpreter=interpreter,
            install_args=tuple(index_args(self.dist.index)),
            suites=suites,
            layout=layout,
            env_dir=cache_dir() / "envs" / cells.env_key(interpreter, lock.key),
            outcome_key=cells.outcome_key(cell, lock.key, interpreter, suites, layout, exact=exact),
            lock_key=lock.key,
            timeout=self.dist.policy.timeout,
            retries=self.dist.policy.retries,
            env=self.env,
            lock_text=header + lock.text,
            exact_python=exact,
        )

    def _unbuildable(self, cell: Cell, failure: Unresolvable | ResolveFailed, layout: RunLayout) -> CellOutcome:
        """The outcome of a cell whose lock could not be made: unresolvable, or a tool failure."""
        status = Status.UNRESOLVABLE if isinstance(failure, Unresolvable) else Status.INSTALL_ERROR
        reason = f"on {cell.platform}: {failure.reason}" if cell.platform else failure.reason
        log_dir = layout.log_dir(cell.id)
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "resolve.log").write_text(reason + "\n")
        log = layout.relative(log_dir / "resolve.log")
        sig = signature_of_reason(reason)
        suites = tuple(SuiteOutcome(name, status, status, reason, sig, log=log, tail=reason) for name in cell.suites)
        return CellOutcome(cell.id, suites, log=log)

    def _untested(self, cell: Cell, layout: RunLayout, lock: Lock) -> CellOutcome:
        """The outcome of a cell no executor of its platform could run: "locked, not tested" — every
        suite `skipped` (no test ran: no evidence) with the reason, `tested` false, its lock kept (the
        release ships it); no outcome key, so it is never reused, and never judged by the policy."""
        path = layout.log_dir(cell.id) / UNTESTED_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        reason = (
            f"{NOT_TESTED}: no executor serves platform {cell.platform} (a dask worker started with "
            f"--resources {platforms.resource(cell.platform)}=1 would run it); its lock is {layout.lock_ref(cell.id)}"
        )
        path.write_text(reason + "\n", encoding="utf-8")
        log = layout.relative(path)
        suites = tuple(
            SuiteOutcome(name, Status.SKIPPED, Status.SKIPPED, reason, NOT_TESTED, log=log) for name in cell.suites
        )
        return CellOutcome(cell.id, suites, lock_key=lock.key, log=log, worker="", tested=False)

    def _broken(self, cell: Cell, reason: str, detail: str) -> CellOutcome:
        """The outcome of a cell curator itself failed to run (an exception of its own, `Broken`):
        `error` in every suite, with the exception as reason and signature and its traceback as the
        log — never `install-error`, which would blame the environment (and a nightly would call it
        the infrastructure's doing). It has no outcome key, so it is never reused."""
        layout = RunLayout(Path(self.record.out_dir))
        path = layout.log_dir(cell.id) / CURATOR_ERROR_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"curator failed while running cell {cell.id}:\n{detail or reason}\n", encoding="utf-8")
        log = layout.relative(path)
        status, why = Status.ERROR, f"{CURATOR_FAILED}{reason}"
        sig = masked(f"curator: {reason.splitlines()[0] if reason else 'failed'}")
        tail = detail or reason
        suites = tuple(SuiteOutcome(name, status, status, why, sig, log=log, tail=tail) for name in cell.suites)
        return CellOutcome(cell.id, suites, log=log)

    def _reuse(self, run_id: RunId, task: cells.CellTask, lock: Lock) -> bool:
        """Record a stored outcome with the same key instead of running the cell again.

        An environment that could not be built is built again rather than reused: `install-error` may
        be the machine's or the network's doing, which says nothing about the key, and a nightly counts
        it only when it happens again (a stored failure reused is no second attempt)."""
        earlier = self.store.reusable(task.outcome_key, exclude_run=run_id)
        if earlier is None or (self.request.rerun_flaky and self.store.flaky(task.outcome_key)):
            return False
        if any(s.raw_status is Status.INSTALL_ERROR for s in earlier.outcome.suites):
            return False
        source = RunLayout(Path(self.store.run(earlier.run_id).out_dir))
        original_logs = source.log_dir(task.cell.id)
        if original_logs.is_dir() and not task.out_dir.exists():
            shutil.copytree(original_logs, task.out_dir)
        origin = earlier.outcome.reused_from or earlier.run_id
        reproduce = task.reproduce() if task.cell.id in self.listed else earlier.outcome.reproduce  # not runnable here
        outcome = replace(earlier.outcome, reused_from=origin, reproduce=reproduce)
        self._record(run_id, task.cell, outcome, reused=True, lock=lock)
        return True

    def _run_tasks(self, run_id: RunId, feed: Feed, resolutions: Mapping[CellId, Resolution]) -> None:
        by_id = {c.id: c for c in self.plan.cells}
        for event in self.executor.execute(feed, self.cancel):
            if event.cell_id not in by_id:  # a cell split off while the run went on
                by_id = {c.id: c for c in self.plan.cells}
            match event:
                case Started(cell_id):
                    self.observer.cell_started(by_id[cell_id])
                case Note(cell_id, text):
                    self.observer.cell_note(by_id[cell_id], text)
                case Finished(cell_id, outcome):
                    lock = resolutions.get(cell_id)
                    self._record(
                        run_id, by_id[cell_id], outcome, reused=False, lock=lock if isinstance(lock, Lock) else None
                    )
                    lost = any(s.signature == cells.HARNESS_LOST for s in outcome.suites)
                    self._restore(RunLayout(Path(self.record.out_dir)), thorough=lost)
                case Broken(cell_id, reason, detail):
                    self._record(run_id, by_id[cell_id], self._broken(by_id[cell_id], reason, detail), reused=False)

    def _record(
        self, run_id: RunId, cell: Cell, outcome: CellOutcome, *, reused: bool, lock: Lock | None = None
    ) -> None:
        judged = (
            replace(outcome, suites=tuple(self._judge(cell, s) for s in outcome.suites)) if outcome.tested else outcome
        )
        interpreter = self.request.interpreters[cell.python]
        recorded = self.store.record_cell(
            CellRecord(
                run_id=run_id,
                cell_id=cell.id,
                python=cell.python,
                interpreter=f"{interpreter.full_version} {interpreter.path}",
                pins=cell.pins,
                changes=cell.changes,
                baseline=cell.is_baseline,
                plan_key=cell.key,
                outcome=judged,
                platform=cell.platform,
            ),
            lock=LockRow(lock.key, cell.python, lock.text) if lock is not None else None,
        )
        if recorded:  # not a second report of the same outcome
            self.observer.cell_finished(cell, judged, reused=reused)

    def _judge(self, cell: Cell, suite: SuiteOutcome) -> SuiteOutcome:
        if suite.suite == INSTALL_SUITE:
            return replace(suite, status=suite.raw_status)
        return judge(
            suite,
            python=cell.python,
            pins=cell.pins,
            suite_requires=self.requires.get(SuiteName(suite.suite), frozenset()),
            policy=self.dist.policy,
            today=self.today,
        )


def _write_lock(path: Path, text: str) -> None:
    """A cell's lock file in the run folder (its text begins with a header saying what it is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _unfinished(record: RunRecord) -> RunRecord:
    if record.status is RunStatus.FINISHED:
        raise UsageError(f"run {record.id} already finished; nothing to resume")
    return record


def signature_of_reason(reason: str) -> str:
    """A resolver's explanation, normalised like an error line."""
    return signature(f"ResolutionError: {reason}").removeprefix("ResolutionError: ") or reason[:200]
