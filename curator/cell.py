"""One cell, end to end: its nox session on the uv backend → suites → outcomes.

The lock is resolved before a cell is handed to an executor (see `run.py`); here the cell's
environment is created from the absolute interpreter path, the lock installed exactly
(hash-checked), and each suite run through `suite_runner.py`, which records exit statuses
so a crash is told from a failure. curator itself enforces the cell's wall clock: past it,
the whole process group is killed. Failing suites are retried per the policy.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from curator import envs, junit, proc
from curator.ids import SuiteName
from curator.interpreters import Interpreter
from curator.layout import RunLayout, atomic_write
from curator.manifest import Distribution
from curator.outcome import (
    Attempt,
    CellOutcome,
    Counts,
    Status,
    SuiteOutcome,
    deterministic,
    failure_signature,
    masked,
    raw_status,
    settle,
    signature,
    to_retry,
)
from curator.plan import INSTALL_SUITE, RUNNER_FILES, Cell
from curator.templates import protocol

CELL_ENV = {"MPLBACKEND": "Agg", "PYTHONFAULTHANDLER": "1"}


@dataclass(frozen=True)
class SuiteSpec:
    """How to run one suite in a cell."""

    name: SuiteName
    argv: tuple[str, ...]
    cwd: str
    junit: bool
    requires: frozenset[str] = frozenset()
    env: Mapping[str, str] = field(default_factory=lambda: dict(CELL_ENV))

    def to_json(self) -> dict[str, object]:
        """Its entry in nox-cells.json (`protocol.SUITE_FIELDS`)."""
        return {"name": self.name, "argv": list(self.argv), "cwd": self.cwd, "junit": self.junit, "env": dict(self.env)}


@dataclass(frozen=True)
class CellTask:
    """Everything a worker needs to run a cell (picklable: it may travel to a dask worker)."""

    cell: Cell
    interpreter: Interpreter
    install_args: tuple[str, ...]
    suites: tuple[SuiteSpec, ...]
    layout: RunLayout
    env_dir: Path
    outcome_key: str
    lock_key: str
    timeout: float
    retries: int
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def out_dir(self) -> Path:
        """Where this cell's logs and JUnit files go."""
        return self.layout.log_dir(self.cell.id)

    @property
    def lock_path(self) -> Path:
        """The cell's lock file in the run folder."""
        return self.layout.lock(self.cell.id)

    @property
    def environment(self) -> envs.Spec:
        """What the cell's environment must be, and where it lives (the folder nox uses for it)."""
        location = envs.location(self.env_dir, self.cell.id)
        return envs.Spec(self.env_dir, location, self.interpreter, self.lock_path, self.lock_key, self.install_args)

    def reproduce(self) -> str:
        """The one command that reproduces this cell on this machine (from any folder)."""
        return shlex.join(["nox", "-f", str(self.layout.noxfile), "-s", self.cell.id])


def suite_specs(distribution: Distribution, cell: Cell, layout: RunLayout) -> tuple[SuiteSpec, ...]:
    """The commands of a cell's suites: integration suites and packages' own tests.

    Packages' own tests run from the run folder's empty `scratch/`, so nothing local shadows
    the installed package; suites without a pytest.ini of their own get the run's empty one,
    so no configuration around them (this repository's, say) leaks in.
    """
    suites = {s.name: s for s in distribution.suites}
    env = {**CELL_ENV, **distribution.environment.env}  # the manifest's variables win over curator's
    empty_ini = layout.pytest_ini
    scratch = layout.scratch
    specs: list[SuiteSpec] = []
    for name in cell.suites:
        if name == INSTALL_SUITE:
            continue
        if name in suites:
            suite = suites[name]
            ini = next(
                (suite.path / f for f in ("pytest.ini", ".pytest.ini") if (suite.path / f).is_file()),
                empty_ini,
            )
            argv = ["python", "-m", "pytest", str(suite.path), f"--rootdir={suite.path}", "-c", str(ini)]
            argv += ["-p", "no:cacheprovider", "-rfE", "-q"]
            specs.append(SuiteSpec(name, tuple(argv), str(suite.path), junit=True, requires=suite.requires, env=env))
            continue
        package = name.removesuffix(":tests")
        for command in distribution.package(package).tests:
            words = shlex.split(command)
            pytest = _is_pytest(words)
            if pytest:
                words += ["-c", str(empty_ini), f"--rootdir={scratch}", "-p", "no:cacheprovider"]
            specs.append(
                SuiteSpec(name, tuple(words), str(scratch), junit=pytest, requires=frozenset({package}), env=env)
            )
    return tuple(_merge_multi_command(specs))


def _is_pytest(words: Sequence[str]) -> bool:
    return bool(words) and (
        Path(words[0]).name in ("pytest", "py.test") or (len(words) >= 3 and words[1:3] == ["-m", "pytest"])
    )


def _merge_multi_command(specs: list[SuiteSpec]) -> list[SuiteSpec]:
    """A package with several test commands runs them as one suite, through `sh -c … && …`."""
    by_name: dict[SuiteName, list[SuiteSpec]] = {}
    for spec in specs:
        by_name.setdefault(spec.name, []).append(spec)
    merged: list[SuiteSpec] = []
    for name, group in by_name.items():
        if len(group) == 1:
            merged.append(group[0])
            continue
        script = " && ".join(shlex.join(s.argv) for s in group)
        first = group[0]
        merged.append(
            SuiteSpec(name, ("sh", "-c", script), first.cwd, junit=False, requires=first.requires, env=first.env)
        )
    return merged


def outcome_key(
    cell: Cell, lock_key: str, interpreter: Interpreter, suites: Sequence[SuiteSpec], layout: RunLayout
) -> str:
    """What decides a cell's outcome, resolved: the plan key (see `plan.plan_key`), the lock, the
    interpreter's exact build, and each suite's command, folder and variables as they will run
    (the run folder's own path left out, so equal cells of two runs have equal keys)."""
    run = str(layout.root)
    commands = [
        {
            "name": spec.name,
            "argv": [part.replace(run, "<run>") for part in spec.argv],
            "cwd": spec.cwd.replace(run, "<run>"),
            "junit": spec.junit,
            "env": dict(sorted(spec.env.items())),
        }
        for spec in suites
    ]
    payload = {
        "plan": cell.key,
        "lock": lock_key,
        "python": [interpreter.full_version, interpreter.build],
        "suites": commands,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def env_key(interpreter: Interpreter, lock_key: str) -> str:
    """Environments are shared by content: same interpreter and same lock, same environment (and the
    way environments are made, so an older curator's are never taken for one of these)."""
    text = f"{interpreter.path}\n{interpreter.full_version}\n{lock_key}\n{envs.FORMAT}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def nox_spec(task: CellTask) -> dict[str, object]:
    """This cell's entry in the run's nox-cells.json (`protocol.CELL_FIELDS`)."""
    return {
        "python": str(task.interpreter.path),
        "lock": str(task.lock_path),
        "install_args": list(task.install_args),
        "suites": [s.to_json() for s in task.suites],
    }


def _nox(
    task: CellTask,
    *,
    attempt: int,
    only: Sequence[str],
    timeout: float,
    cancel: threading.Event | None,
    lock: int,
    token: str,
) -> proc.Completed:
    """One nox invocation for this cell (appending to the cell log)."""
    env = {
        **task.env,
        protocol.ENV_OUT: str(task.out_dir),
        protocol.ENV_ATTEMPT: str(attempt),
        protocol.ENV_PREPARED: str(task.environment.location),
        proc.TOKEN: token,
    }
    argv = [
        *_nox_command(),
        "-f",
        str(task.layout.noxfile),
        "-s",
        task.cell.id,
        "--envdir",
        str(task.env_dir),
        "--no-color",
        "--no-install",  # curator prepared the environment (`envs.prepare`): nox only runs the suites in it
    ]
    if only:
        argv += ["--", *only]
    log = task.out_dir / protocol.CELL_LOG
    return proc.run(argv, cwd=task.layout.root, env=env, timeout=timeout, log_path=log, cancel=cancel, keep_fds=(lock,))


def _nox_command() -> list[str]:
    import sys

    return [sys.executable, "-m", "nox"]


@dataclass(frozen=True)
class Holder:
    """Who holds an environment's lock, written into the lock file while it is held: the process
    that took it, the cell, and the token every process of that cell carries (`proc.TOKEN`)."""

    pid: int
    host: str
    run: str
    cell: str
    token: str
    since: float

    def describe(self) -> str:
        """`cell py3.12-baseline of run 20261124-… (pid 4242 on host, for 35 s)`."""
        return (
            f"cell {self.cell} of run {self.run} (pid {self.pid} on {self.host}, for {time.time() - self.since:.0f} s)"
        )


def _holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
        return Holder(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


class EnvironmentBusy(Exception):
    """Another cell held the environment for longer than this one may wait."""


@contextmanager
def _env_lock(
    env_dir: Path,
    holder: Holder,
    *,
    bound: float,
    cancel: threading.Event | None,
    notify: Callable[[str], None],
) -> Iterator[int]:
    """One cell at a time per environment, across processes and concurrent runs.

    Yields the lock's file descriptor, which each nox process of the cell inherits: if curator is
    killed (-9), the lock stays held by the cell's leftover processes. A cell that finds the lock
    held says by whom (`notify`), waits at most `bound` seconds, and stops waiting when the run is
    cancelled (Ctrl-C, SIGTERM). A holder whose own process is gone (a curator killed with -9) has
    left only orphans behind: they are killed (by the token they carry) and the lock taken.
    """
    env_dir.mkdir(parents=True, exist_ok=True)
    path = env_dir / ".curator.lock"
    with path.open("a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + bound
        said = ""
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            if cancel is not None and cancel.is_set():
                raise Interrupted(holder.cell)
            other = _holder(path)
            if other is not None and other.host == holder.host and not proc.alive(other.pid):
                killed = proc.sweep(other.token)
                notify(
                    f"environment {env_dir.name} was held by what {other.describe()} left running after it was "
                    f"killed: {len(killed)} process(es) ended"
                )
                time.sleep(0.2)
                continue
            who = other.describe() if other else "another process"
            if said != (key := f"{other.pid} {other.cell}" if other else "?"):
                notify(f"waiting for {who} to release environment {env_dir.name}")
                said = key
            if time.monotonic() > deadline:
                raise EnvironmentBusy(f"{who} held environment {env_dir.name} for more than {bound:.0f} s")
            time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder.__dict__))
        handle.flush()
        try:
            yield handle.fileno()
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


class Interrupted(Exception):
    """The run was cancelled while this cell was running; its outcome is not recorded."""


def _silent(_message: str) -> None:
    """Where notes go when nobody listens."""


@dataclass(frozen=True)
class Built:
    """A cell's environment built ahead of its tests (`prepare`): `failure` is None when it is
    ready, else what failed (the cell is then `install-error` without running a suite)."""

    failure: proc.Completed | None


@contextmanager
def _holding(
    task: CellTask, cancel: threading.Event | None, notify: Callable[[str], None]
) -> Iterator[tuple[int, str]]:
    """The cell's environment held (`_env_lock`), and the token every process of this hold carries:
    whatever of them is still running when the hold ends — a daemon a test started, even in a
    session of its own — is killed."""
    token = secrets.token_hex(8)
    holder = Holder(os.getpid(), socket.gethostname(), task.layout.root.name, task.cell.id, token, time.time())
    with _env_lock(task.env_dir, holder, bound=task.timeout + 60, cancel=cancel, notify=notify) as lock:
        try:
            yield lock, token
        finally:
            proc.sweep(token)


def prepare(task: CellTask, cancel: threading.Event | None = None, notify: Callable[[str], None] = _silent) -> Built:
    """Build the cell's environment now, so that `execute(task, ready=…)` only tests in it: the local
    executor builds the next cells' environments while a cell's suites run."""
    with _holding(task, cancel, notify) as (_, token):
        _fresh_logs(task)
        return Built(_prepare(task, cancel=cancel, token=token, ahead=True))


def execute(
    task: CellTask,
    cancel: threading.Event | None = None,
    notify: Callable[[str], None] = _silent,
    *,
    ready: Built | None = None,
) -> CellOutcome:
    """Build the cell's environment (unless `ready`: built by `prepare`), run its suites (with
    retries), and classify each one.

    Every process of the cell carries a token (`proc.TOKEN`); when the cell ends, whatever of it
    is still running is killed (`_holding`). `notify` hears what the cell waits for before it can start.
    """
    with _holding(task, cancel, notify) as (lock, token):
        return _execute(task, cancel, lock, token, ready)


def _fresh_logs(task: CellTask) -> None:
    shutil.rmtree(task.out_dir, ignore_errors=True)  # what an interrupted earlier attempt left
    task.out_dir.mkdir(parents=True)


def _execute(task: CellTask, cancel: threading.Event | None, lock: int, token: str, ready: Built | None) -> CellOutcome:
    """`execute` with the environment held."""
    started = time.monotonic()
    deadline = started + task.timeout
    if ready is None:
        _fresh_logs(task)
        first = _prepare(task, cancel=cancel, token=token)
    else:  # built ahead; checked again, as the environment's lock was let go in between
        first = ready.failure or _prepare(task, cancel=cancel, token=token, again=True)
    if first is None:
        first = _nox(
            task, attempt=1, only=(), timeout=deadline - time.monotonic(), cancel=cancel, lock=lock, token=token
        )
    if first.interrupted:
        raise Interrupted(task.cell.id)
    installed = (task.out_dir / protocol.INSTALLED).exists()
    attempts: dict[str, list[Attempt]] = {s.name: [_attempt(task, s, 1, first.timed_out)] for s in task.suites}
    held = deterministic({n: a[-1] for n, a in attempts.items()}, timeout=task.timeout) if task.retries else {}
    specs: dict[str, SuiteSpec] = {spec.name: spec for spec in task.suites}
    for number in range(2, task.retries + 2):  # every suite worth it again, in one nox session per round
        again_names = to_retry({n: a[-1] for n, a in attempts.items()}, timeout=task.timeout, held=held)
        remaining = deadline - time.monotonic()
        if not installed or not again_names or remaining <= 1:
            break
        again = _nox(task, attempt=number, only=again_names, timeout=remaining, cancel=cancel, lock=lock, token=token)
        if again.interrupted:
            raise Interrupted(task.cell.id)
        for name in again_names:
            attempts[name].append(_attempt(task, specs[name], number, again.timed_out))
    duration = time.monotonic() - started
    log = task.layout.relative(task.out_dir / protocol.CELL_LOG)
    if not installed:
        suites = _not_installed(task, first, log)
    else:
        suites = tuple(_suite_outcome(task, spec, attempts[spec.name], held.get(spec.name)) for spec in task.suites)
        if not task.suites:
            suites = (SuiteOutcome(INSTALL_SUITE, Status.PASSED, Status.PASSED, "the environment installed", log=log),)
    return CellOutcome(
        task.cell.id,
        suites,
        duration=duration,
        lock_key=task.lock_key,
        outcome_key=task.outcome_key,
        log=log,
        reproduce=task.reproduce(),
    )


def _prepare(
    task: CellTask, *, cancel: threading.Event | None, token: str, again: bool = False, ahead: bool = False
) -> proc.Completed | None:
    """Build (or check) the cell's environment; what failed when it could not be, else None.

    How it was made and what each step took go into the cell's log and `environment.json` (`again`:
    a check of an environment built ahead, which leaves the record of how it was built alone
    unless it had to be built anew; `ahead`: built before the cell's turn, outside its duration).
    """
    prepared = envs.prepare(
        task.environment,
        env={**task.env, proc.TOKEN: token},
        log=task.out_dir / protocol.CELL_LOG,
        timeout=task.timeout,
        cancel=cancel,
    )
    facts: dict[str, object] = {
        "how": prepared.how,
        "ok": prepared.ok,
        "seconds": {k: round(v, 3) for k, v in prepared.seconds.items()},
    }
    if ahead:
        facts["ahead"] = True
    if not (again and prepared.ok and prepared.how == envs.REUSED):
        atomic_write(task.out_dir / ENVIRONMENT_FILE, json.dumps(facts))
    if prepared.interrupted:
        raise Interrupted(task.cell.id)
    return None if prepared.ok else prepared.failure


ENVIRONMENT_FILE = "environment.json"
"""In a cell's log folder: how its environment was made (reused, copied, created) and each step's seconds."""


def _attempt(task: CellTask, spec: SuiteSpec, number: int, timed_out: bool) -> Attempt:
    files = protocol.artefacts(task.out_dir, spec.name, number)
    try:
        result = protocol.read_result(files["result"])
    except (ValueError, protocol.ProtocolError) as exc:  # a result file the runner did not finish writing
        result = {"state": "started", "error": str(exc)}
    cases = junit.read(files["junit"]) if spec.junit else ()
    tail = proc.read_tail(files["log"], lines=60)
    if result.get("state") != "finished":
        return Attempt(None, 0.0, spec.junit, cases, started=bool(result), timed_out=timed_out, tail=tail)
    return Attempt(int(result["returncode"]), float(result["duration"]), spec.junit, cases, tail=tail)


def _suite_outcome(task: CellTask, spec: SuiteSpec, attempts: list[Attempt], held: str | None) -> SuiteOutcome:
    status, reason = settle(attempts, timeout=task.timeout)
    if held:
        reason = f"{reason} ({held})"
    log_path = protocol.artefacts(task.out_dir, spec.name, len(attempts))["log"]
    log = task.layout.relative(log_path if log_path.exists() else task.out_dir / protocol.CELL_LOG)
    if status is Status.FLAKY:
        failing, last = next(a for a in attempts if a.returncode != 0), attempts[-1]
    else:  # the attempt that shows the status (a failure stays shown when a retry ran no test)
        shows = [a for a in attempts if raw_status(a, timeout=task.timeout)[0] is status]
        failing = last = (shows or attempts)[-1]
    sig = ""
    if status is Status.CRASHED:
        sig = f"crashed: {reason.removeprefix('the interpreter died by ')}"
    elif status is Status.TIMEOUT:
        sig = "timeout"
    elif status is Status.SKIPPED:
        sig = masked(reason)  # `no test ran: every test was skipped (<n>): could not import 'numpy'…`
    elif status is not Status.PASSED:
        sig = failure_signature(failing) or reason
    return SuiteOutcome(
        spec.name,
        status,
        status,
        reason=reason,
        signature=sig,
        counts=Counts.of(last.cases),
        duration=sum(a.duration for a in attempts),
        attempts=sum(1 for a in attempts if a.started or a.returncode is not None),
        log=log,
        cases=last.cases,
        tail=failing.tail,
    )


def _not_installed(task: CellTask, first: proc.Completed, log: str) -> tuple[SuiteOutcome, ...]:
    """Every suite of a cell whose environment never got built shares one outcome."""
    tail = first.tail(40)
    if first.timed_out:
        status, reason = Status.TIMEOUT, f"building the environment took longer than {task.timeout:g}s"
        sig = "timeout"
    else:
        status, reason = Status.INSTALL_ERROR, "the environment could not be built"
        sig = signature(tail) or _uv_error(tail) or reason
    names = [s.name for s in task.suites] or [INSTALL_SUITE]
    return tuple(SuiteOutcome(name, status, status, reason, sig, log=log, tail=tail) for name in names)


def _uv_error(tail: str) -> str:
    for line in tail.splitlines():
        text = line.strip()
        if text.startswith(("error:", "×", "Caused by:")):
            return str(re.sub(r"\d+(\.\d+)+", "<version>", text)[:300])
    return ""


def write_nox_files(layout: RunLayout, tasks: Sequence[CellTask]) -> None:
    """The run's noxfile.py, suite_runner.py, protocol.py and nox-cells.json (all cells of the plan)."""
    from importlib.resources import files

    templates = files("curator") / "templates"
    layout.root.mkdir(parents=True, exist_ok=True)
    for name in RUNNER_FILES:
        (layout.root / name).write_text(templates.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
    layout.pytest_ini.write_text("[pytest]\n", encoding="utf-8")
    layout.scratch.mkdir(exist_ok=True)
    add_nox_cells(layout, tasks, always=True)


def add_nox_cells(layout: RunLayout, tasks: Sequence[CellTask], *, always: bool = False) -> None:
    """Add cells to the run's nox-cells.json (written whole, through a rename: a nox starting meanwhile
    reads the cells before or after, never half of them); the cells already there stay (a resumed
    run's, an earlier batch's)."""
    if not tasks and not always:
        return
    cells: dict[str, dict[str, object]] = {}
    if layout.nox_cells.exists():
        cells.update(protocol.validate_cells_file(json.loads(layout.nox_cells.read_text(encoding="utf-8"))))
    cells.update({task.cell.id: nox_spec(task) for task in tasks})
    atomic_write(layout.nox_cells, json.dumps(protocol.cells_file(cells), indent=1))


def nox_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment nox runs in: the user's, cleaned, with curator's own uv."""
    from curator.resolve import uv_binary

    return proc.clean_env(os.environ if base is None else base, UV=str(uv_binary()))
