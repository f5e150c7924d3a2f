"""A run: plan → resolve every cell → reuse what is known → executor → store → run folder.

The coordinator (this module, one thread) owns the store: every finished cell is committed
the moment it is reported, so an interrupted run loses nothing and `--resume` runs only the
cells not yet recorded. Outcomes are reused by key across runs unless `--rerun` is given.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from curator import cell as cells
from curator import plan as planning
from curator.errors import ToolError, UsageError
from curator.executors.interface import Broken, Executor, Finished, Started
from curator.graph import resolve_graph
from curator.interpreters import Interpreter
from curator.manifest import Distribution, Strategy
from curator.outcome import CellOutcome, Status, SuiteOutcome, judge, signature
from curator.plan import INSTALL_SUITE, Cell, Plan
from curator.progress import Observer
from curator.report.html import render_index, render_run
from curator.resolve import Lock, Resolver, Unresolvable, cache_dir, index_args
from curator.results import RunSummary, write_outputs
from curator.store import CellRecord, RunRecord, Store


@dataclass(frozen=True)
class RunRequest:
    """What `curator run` was asked to do."""

    distribution: Distribution
    interpreters: Mapping[str, Interpreter]
    store_path: Path
    strategy: Strategy | None = None
    out_dir: Path | None = None
    rerun: bool = False
    resume: str | None = None


def default_store(distribution: Distribution) -> Path:
    """`reports/curator.sqlite` beside the manifest."""
    return distribution.root / "reports" / "curator.sqlite"


def new_run_id() -> str:
    """A sortable, unique run id: `20261123-201503-3fa2`."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class Coordinator:
    """Drives one run; see `execute`."""

    def __init__(self, request: RunRequest, executor: Executor, observer: Observer, cancel: threading.Event) -> None:
        self.request = request
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

    # ------------------------------------------------------------------ setup

    def _start(self, store: Store) -> tuple[RunRecord, Plan]:
        request, dist = self.request, self.dist
        if request.resume:
            record = store.run(request.resume)
            if record.status == "finished":
                raise UsageError(f"run {record.id} already finished; nothing to resume")
            if record.manifest_sha256 != dist.sha256:
                raise UsageError(
                    f"{dist.path}: the manifest changed since run {record.id} started; start a new run instead"
                )
            store.reopen_run(record.id)
            return record, planning.plan_from_json(record.plan)
        strategy = request.strategy or dist.matrix.strategy
        pythons = list(request.interpreters)
        graphs = None
        if strategy is Strategy.PAIRS:
            graphs = {v: resolve_graph(dist, i, self.resolver, cache_dir()) for v, i in request.interpreters.items()}
        plan = planning.build(dist, strategy, pythons=pythons, graphs=graphs)
        run_id = new_run_id()
        out_dir = (request.out_dir or dist.root / "reports" / run_id).resolve()
        if out_dir.exists() and any(out_dir.iterdir()):
            raise UsageError(f"--out {out_dir}: the folder is not empty; choose a new one")
        out_dir.mkdir(parents=True, exist_ok=True)
        record = RunRecord(
            id=run_id,
            distribution=dist.name,
            version=dist.version,
            manifest_path=str(dist.path.resolve()),
            manifest_sha256=dist.sha256,
            strategy=str(strategy),
            pythons=tuple(pythons),
            out_dir=str(out_dir),
            started=time.time(),
            status="running",
            plan=json.dumps(plan.to_json()),
        )
        store.create_run(record)
        return record, plan

    # ------------------------------------------------------------------ the run

    def execute(self) -> RunSummary:
        """Run every cell not yet recorded; write the run folder; return the summary."""
        with Store(self.request.store_path) as store:
            record, plan = self._start(store)
            out_dir = Path(record.out_dir)
            done = store.recorded_cell_ids(record.id)
            pending = [c for c in plan.cells if c.id not in done]
            locks = self._resolve_all(pending)
            tasks = {
                cell.id: self._task(cell, lock, out_dir) for cell in pending if isinstance(lock := locks[cell.id], Lock)
            }
            cells.write_nox_files(out_dir, list(tasks.values()))
            self.observer.phase("testing", len(pending))
            to_run: list[cells.CellTask] = []
            for cell in pending:
                if self.cancel.is_set():
                    break
                lock = locks[cell.id]
                if not isinstance(lock, Lock):
                    self._record(store, record.id, cell, self._unbuildable(cell, lock, out_dir), reused=False)
                    continue
                task = tasks[cell.id]
                if not self.request.rerun and self._reuse(store, record.id, task):
                    continue
                to_run.append(task)
            self._run_tasks(store, record.id, plan, to_run)
            interrupted = self.cancel.is_set()
            summary = write_outputs(store, record.id, self.dist, out_dir, self.today, interrupted=interrupted)
            store.finish_run(
                record.id,
                status="interrupted" if interrupted else "finished",
                verdict=None if interrupted else summary.verdict,
                summary=json.dumps(summary.to_json()),
            )
            # The reports are rendered once the run's record is final, so the index shows its verdict.
            render_run(store, record.id, self.dist, out_dir, today=self.today, summary=summary)
            render_index(store)
            return summary

    def _resolve_all(self, pending: Sequence[Cell]) -> dict[str, Lock | Unresolvable | str]:
        """Resolve every pending cell's lock, a few at a time (uv is mostly waiting on I/O)."""
        self.observer.phase("resolving", len(pending))
        results: dict[str, Lock | Unresolvable | str] = {}

        def one(cell: Cell) -> tuple[str, Lock | Unresolvable | str]:
            if self.cancel.is_set():
                return cell.id, "cancelled"
            interpreter = self.request.interpreters[cell.python]
            try:
                return cell.id, self.resolver.resolve(cell.requirements(self.dist.test_requires), interpreter)
            except ToolError as exc:
                return cell.id, f"resolution failed: {exc}"

        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="curator-resolve") as pool:
            for cell_id, result in pool.map(one, pending):
                results[cell_id] = result
                self.observer.step("resolving", cell_id)
        return results

    def _task(self, cell: Cell, lock: Lock, out_dir: Path) -> cells.CellTask:
        interpreter = self.request.interpreters[cell.python]
        lock_path = out_dir / "locks" / f"{cell.id}.txt"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        header = (
            f"# curator lock for cell {cell.id} of {self.dist.name} {self.dist.version}\n"
            f"# Python {interpreter.full_version} ({interpreter.path}); pip install --require-hashes -r THIS_FILE\n"
        )
        lock_path.write_text(header + lock.text)
        return cells.CellTask(
            cell=cell,
            interpreter=interpreter,
            lock_path=lock_path,
            install_args=tuple(index_args(self.dist.index)),
            suites=cells.suite_specs(self.dist, cell, out_dir),
            run_dir=out_dir,
            env_dir=cache_dir() / "envs" / cells.env_key(interpreter, lock.key),
            outcome_key=cells.outcome_key(cell, lock.key, interpreter),
            lock_key=lock.key,
            timeout=self.dist.policy.timeout,
            retries=self.dist.policy.retries,
            env=self.env,
        )

    def _unbuildable(self, cell: Cell, lock: Unresolvable | str, out_dir: Path) -> CellOutcome:
        """The outcome of a cell whose lock could not be made: unresolvable, or a tool failure."""
        if isinstance(lock, Unresolvable):
            status, reason = Status.UNRESOLVABLE, lock.reason
        else:
            status, reason = Status.INSTALL_ERROR, lock
        log_dir = out_dir / "logs" / cell.id
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "resolve.log").write_text(reason + "\n")
        log = str((log_dir / "resolve.log").relative_to(out_dir))
        sig = signature_of_reason(reason)
        suites = tuple(SuiteOutcome(name, status, status, reason, sig, log=log, tail=reason) for name in cell.suites)
        return CellOutcome(cell.id, suites, log=log)

    def _reuse(self, store: Store, run_id: str, task: cells.CellTask) -> bool:
        """Record a stored outcome with the same key instead of running the cell again."""
        earlier = store.reusable(task.outcome_key, exclude_run=run_id)
        if earlier is None:
            return False
        source = store.run(earlier.run_id)
        original_logs = Path(source.out_dir) / "logs" / task.cell.id
        if original_logs.is_dir() and not task.out_dir.exists():
            shutil.copytree(original_logs, task.out_dir)
        origin = earlier.outcome.reused_from or earlier.run_id
        outcome = replace(earlier.outcome, reused_from=origin, reproduce=task.reproduce())
        self._record(store, run_id, task.cell, outcome, reused=True)
        return True

    def _run_tasks(self, store: Store, run_id: str, plan: Plan, tasks: Sequence[cells.CellTask]) -> None:
        by_id = {c.id: c for c in plan.cells}
        for event in self.executor.execute(tasks, self.cancel):
            match event:
                case Started(cell_id):
                    self.observer.cell_started(by_id[cell_id])
                case Finished(cell_id, outcome):
                    self._record(store, run_id, by_id[cell_id], outcome, reused=False)
                case Broken(cell_id, reason):
                    cell = by_id[cell_id]
                    status = Status.INSTALL_ERROR
                    suites = tuple(
                        SuiteOutcome(n, status, status, f"the executor failed: {reason}", reason) for n in cell.suites
                    )
                    self._record(store, run_id, cell, CellOutcome(cell_id, suites), reused=False)

    def _record(self, store: Store, run_id: str, cell: Cell, outcome: CellOutcome, *, reused: bool) -> None:
        judged = replace(outcome, suites=tuple(self._judge(cell, s) for s in outcome.suites))
        interpreter = self.request.interpreters[cell.python]
        store.record_cell(
            run_id,
            CellRecord(
                run_id=run_id,
                cell_id=cell.id,
                python=cell.python,
                interpreter=f"{interpreter.full_version} {interpreter.path}",
                pins=cell.pins_text,
                changes=json.dumps({n: str(v) for n, v in cell.changes}),
                baseline=cell.is_baseline,
                plan_key=cell.key,
                outcome=judged,
            ),
        )
        self.observer.cell_finished(cell, judged, reused=reused)

    def _judge(self, cell: Cell, suite: SuiteOutcome) -> SuiteOutcome:
        if suite.suite == INSTALL_SUITE:
            return replace(suite, status=suite.raw_status)
        return judge(
            suite,
            python=cell.python,
            pins=cell.pin_map,
            suite_requires=self.requires.get(suite.suite, frozenset()),
            policy=self.dist.policy,
            today=self.today,
        )


def signature_of_reason(reason: str) -> str:
    """A resolver's explanation, normalised like an error line."""
    return signature(f"ResolutionError: {reason}").removeprefix("ResolutionError: ") or reason[:200]
