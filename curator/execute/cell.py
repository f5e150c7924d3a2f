"""One cell, end to end: its nox session on the uv backend → suites → outcomes.

The lock is resolved before a cell is handed to an executor (see `run.py`); here the cell's
environment is created from the absolute interpreter path, the lock installed exactly
(hash-checked), and each suite run through `suite_runner.py`, which records exit statuses
so a crash is told from a failure. curator itself enforces the cell's wall clock: past it,
the whole process group is killed. Failing suites are retried per the policy.

Every process of a cell (uv, nox, the suites) gets the cell's own temporary folder (TMPDIR, TEMP,
TMP), removed when the cell ends. A cell whose run folder lost the files curator runs it with
while it ran (a suite that deleted the folder around it) is an `error` saying so, never an
install error; what can be kept of its logs is kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from curator.execute import envs
from curator.execute import testcases as junit
from curator.execute.harness import protocol
from curator.host import proc
from curator.host.layout import RunLayout, atomic_write
from curator.model import codec
from curator.model.distribution import Distribution
from curator.model.ids import SuiteName
from curator.model.outcome import (
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
from curator.plan.cells import INSTALL_SUITE, RUNNER_FILES, Cell
from curator.resolve.interpreters import Interpreter

CELL_ENV = {"MPLBACKEND": "Agg", "PYTHONFAULTHANDLER": "1"}


@dataclass(frozen=True)
class SuiteSpec:
    """How to run one suite in a cell: its JSON form is a suite of nox-cells.json
    (`protocol.SUITE_FIELDS`, the runner's side of the same shape) and of a wire task."""

    name: SuiteName
    argv: tuple[str, ...]
    cwd: str
    junit: bool
    env: Mapping[str, str] = field(default_factory=lambda: dict(CELL_ENV))


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
    lock_text: str = ""  # the lock file's content, to write it again if a suite removes it ("": not known)
    exact_python: bool = True  # False: of a platform this machine does not serve; any CPython X.Y runs it

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
            specs.append(SuiteSpec(name, tuple(argv), str(suite.path), junit=True, env=env))
            continue
        package = name.removesuffix(":tests")
        for command in distribution.package(package).tests:
            words = shlex.split(command)
            pytest = _is_pytest(words)
            if pytest:
                words += ["-c", str(empty_ini), f"--rootdir={scratch}", "-p", "no:cacheprovider"]
            specs.append(SuiteSpec(name, tuple(words), str(scratch), junit=pytest, env=env))
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
        merged.append(SuiteSpec(name, ("sh", "-c", script), first.cwd, junit=False, env=first.env))
    return merged


def outcome_key(
    cell: Cell,
    lock_key: str,
    interpreter: Interpreter,
    suites: Sequence[SuiteSpec],
    layout: RunLayout,
    *,
    exact: bool = True,
) -> str:
    """What decides a cell's outcome, resolved: the plan key (see `plan.plan_key`), the lock, the
    interpreter's exact build, and each suite's command, folder and variables as they will run
    (the run folder's own path left out, so equal cells of two runs have equal keys).

    Not `exact`: the cell is of a platform this machine does not serve, so the worker that runs it
    takes any CPython of its X.Y, and the key holds that X.Y (the platform is in the plan key)."""
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
        "python": [interpreter.full_version, interpreter.build] if exact else [interpreter.version],
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
        "suites": [codec.to_json(s) for s in task.suites],
    }


def _nox(
    task: CellTask,
    *,
    attempt: int,
    only: Sequence[str],
    timeout: float,
    cancel: threading.Event | None,
    hold: Hold,
) -> proc.Completed:
    """One nox invocation for this cell (appending to the cell log)."""
    env = {
        **task.env,
        protocol.ENV_OUT: str(task.out_dir),
        protocol.ENV_ATTEMPT: str(attempt),
        protocol.ENV_PREPARED: str(task.environment.location),
        **hold.env(),
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
    return proc.run(
        argv, cwd=task.layout.root, env=env, timeout=timeout, log_path=log, cancel=cancel, keep_fds=(hold.lock,)
    )


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
    tmp: str = ""  # the cell's temporary folder, removed with what the holder left running

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
                if Path(other.tmp).name.startswith(TMP_PREFIX):
                    _remove_tree(Path(other.tmp))
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
    ready, else what failed (the cell is then `install-error` without running a suite); `lost`:
    what of the run folder was removed meanwhile (the cell is then an `error` saying so)."""

    failure: proc.Completed | None
    lost: tuple[str, ...] = ()


TMP_PREFIX = "curator-cell-"
"""How a cell's temporary folder is named, in the machine's temporary folder."""


@dataclass(frozen=True)
class Hold:
    """A cell's hold on its environment: the lock's descriptor (inherited by its nox processes), the
    token every process of the hold carries, and the hold's own temporary folder."""

    lock: int
    token: str
    tmp: Path

    def env(self) -> dict[str, str]:
        """The variables every process of the hold gets: the token, and the temporary folder under
        each name programs look for it (Python's `tempfile` reads TMPDIR, TEMP and TMP)."""
        folder = str(self.tmp)
        return {proc.TOKEN: self.token, "TMPDIR": folder, "TEMP": folder, "TMP": folder}


@contextmanager
def _holding(task: CellTask, cancel: threading.Event | None, notify: Callable[[str], None]) -> Iterator[Hold]:
    """The cell's environment held (`_env_lock`), with the token every process of this hold carries
    and a temporary folder of its own: whatever of them is still running when the hold ends — a
    daemon a test started, even in a session of its own — is killed, then the folder removed with
    whatever the suites left in it. The folder is named in the lock file, so a curator killed with -9
    leaves it to the next one that finds the lock's holder gone."""
    token = secrets.token_hex(8)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    holder = Holder(
        os.getpid(), socket.gethostname(), task.layout.root.name, task.cell.id, token, time.time(), str(tmp)
    )
    try:
        with _env_lock(task.env_dir, holder, bound=task.timeout + 60, cancel=cancel, notify=notify) as lock:
            try:
                yield Hold(lock, token, tmp)
            finally:
                proc.sweep(token)
    finally:
        _remove_tree(tmp)


def _remove_tree(folder: Path) -> None:
    """Remove a folder suites wrote in, whatever modes they left (folders made writable first;
    links are removed, never followed)."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for path, dirs, _ in os.walk(folder):
        for name in (".", *dirs):
            inner = Path(path, name)
            if not inner.is_symlink():
                with contextlib.suppress(OSError):
                    inner.chmod(0o700)
    shutil.rmtree(folder, ignore_errors=True)


def prepare(task: CellTask, cancel: threading.Event | None = None, notify: Callable[[str], None] = _silent) -> Built:
    """Build the cell's environment now, so that `execute(task, ready=…)` only tests in it: the local
    executor builds the next cells' environments while a cell's suites run."""
    with _holding(task, cancel, notify) as hold:
        _fresh_logs(task)
        lock = _identity(task.lock_path)
        name = task.layout.relative(task.lock_path)
        if lock is None:  # removed from the run folder before the cell's turn (the coordinator writes it again)
            return Built(None, (name,))
        failure = _prepare(task, cancel=cancel, hold=hold, ahead=True)
        return Built(failure, (name,) if failure is not None and _identity(task.lock_path) != lock else ())


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
    with _holding(task, cancel, notify) as hold:
        return _execute(task, cancel, hold, ready)


def _fresh_logs(task: CellTask) -> None:
    shutil.rmtree(task.out_dir, ignore_errors=True)  # what an interrupted earlier attempt left
    task.out_dir.mkdir(parents=True)


def _execute(task: CellTask, cancel: threading.Event | None, hold: Hold, ready: Built | None) -> CellOutcome:
    """`execute` with the environment held."""
    started = time.monotonic()
    if ready is None:
        _fresh_logs(task)
    _mend(task)
    before = _harness(task)
    log = task.layout.relative(task.out_dir / protocol.CELL_LOG)
    gone = (ready.lost if ready is not None else ()) + tuple(name for name, found in before.items() if found is None)
    if gone:  # its lock is gone (the coordinator writes it again): the cell cannot run as curator runs it
        suites = _harness_lost(task, gone, {}, None, log)
    else:
        if ready is None:
            failure = _prepare(task, cancel=cancel, hold=hold)
        else:  # built ahead; checked again, as the environment's lock was let go in between
            failure = ready.failure or _prepare(task, cancel=cancel, hold=hold, again=True)
        suites = _tested(task, cancel, hold, failure, before, deadline=started + task.timeout, log=log)
    return CellOutcome(
        task.cell.id,
        suites,
        duration=time.monotonic() - started,
        lock_key=task.lock_key,
        outcome_key=task.outcome_key,
        log=log,
        reproduce=task.reproduce(),
    )


def _tested(
    task: CellTask,
    cancel: threading.Event | None,
    hold: Hold,
    failure: proc.Completed | None,
    before: Mapping[str, tuple[int, int] | None],
    *,
    deadline: float,
    log: str,
) -> tuple[SuiteOutcome, ...]:
    """The suites run in the built environment (unless building it `failure`d), retried as the
    policy says, and judged; an `error` each when the run folder lost its harness meanwhile."""
    first = failure or _nox(task, attempt=1, only=(), timeout=deadline - time.monotonic(), cancel=cancel, hold=hold)
    if first.interrupted:
        raise Interrupted(task.cell.id)
    gone = _lost(before, _harness(task))
    installed = (task.out_dir / protocol.INSTALLED).exists()
    attempts: dict[str, list[Attempt]] = {s.name: [_attempt(task, s, 1, first.timed_out)] for s in task.suites}
    held = deterministic({n: a[-1] for n, a in attempts.items()}, timeout=task.timeout) if task.retries else {}
    specs: dict[str, SuiteSpec] = {spec.name: spec for spec in task.suites}
    for number in range(2, task.retries + 2):  # every suite worth it again, in one nox session per round
        again_names = to_retry({n: a[-1] for n, a in attempts.items()}, timeout=task.timeout, held=held)
        remaining = deadline - time.monotonic()
        if gone or not installed or not again_names or remaining <= 1:
            break
        again = _nox(task, attempt=number, only=again_names, timeout=remaining, cancel=cancel, hold=hold)
        if again.interrupted:
            raise Interrupted(task.cell.id)
        for name in again_names:
            attempts[name].append(_attempt(task, specs[name], number, again.timed_out))
        gone = _lost(before, _harness(task))
    if gone:
        return _harness_lost(task, gone, attempts, first, log)
    return _judged(task, installed=installed, attempts=attempts, held=held, first=first, log=log)


def _judged(
    task: CellTask,
    *,
    installed: bool,
    attempts: Mapping[str, list[Attempt]],
    held: Mapping[str, str],
    first: proc.Completed,
    log: str,
) -> tuple[SuiteOutcome, ...]:
    """Each suite's outcome from its attempts (all of them one install error when the environment
    never got built)."""
    if not installed:
        return _not_installed(task, first, log)
    if not task.suites:
        return (SuiteOutcome(INSTALL_SUITE, Status.PASSED, Status.PASSED, "the environment installed", log=log),)
    return tuple(_suite_outcome(task, spec, attempts[spec.name], held.get(spec.name)) for spec in task.suites)


def _prepare(
    task: CellTask, *, cancel: threading.Event | None, hold: Hold, again: bool = False, ahead: bool = False
) -> proc.Completed | None:
    """Build (or check) the cell's environment; what failed when it could not be, else None.

    How it was made and what each step took go into the cell's log and `environment.json` (`again`:
    a check of an environment built ahead, which leaves the record of how it was built alone
    unless it had to be built anew; `ahead`: built before the cell's turn, outside its duration).
    """
    prepared = envs.prepare(
        task.environment,
        env={**task.env, **hold.env()},
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


ROOT = "the run folder"
HARNESS_LOST = "the run folder was removed while the cell ran"
"""The signature of a cell whose run folder lost the files curator runs it with (`_harness`)."""


def _harness(task: CellTask) -> dict[str, tuple[int, int] | None]:
    """What a cell needs of its run folder, by name: which file each is (device, inode), None when
    it is missing. A suite that deletes the folder around it takes them with it; a folder written
    again (the cell's log folder, by a suite writing its JUnit file) is another file. The runner's
    files and `nox-cells.json` count only by being there: curator itself replaces them (the
    coordinator adds cells, and writes what went missing again)."""
    layout = task.layout
    by_file = {
        ROOT: layout.root,
        layout.relative(task.lock_path): task.lock_path,
        layout.relative(task.out_dir) + "/": task.out_dir,
    }
    by_name = [*(layout.root / name for name in RUNNER_FILES), layout.nox_cells]
    found = {name: _identity(path) for name, path in by_file.items()}
    found |= {path.name: (0, 0) if path.exists() else None for path in by_name}
    return found


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file `path` is (device, inode); None when there is none."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _lost(before: Mapping[str, tuple[int, int] | None], after: Mapping[str, tuple[int, int] | None]) -> tuple[str, ...]:
    """What was there `before` and is gone (or another file) `after`."""
    return tuple(name for name, was in before.items() if was is not None and after.get(name) != was)


def _harness_lost(
    task: CellTask,
    gone: Sequence[str],
    attempts: Mapping[str, list[Attempt]],
    first: proc.Completed | None,
    log: str,
) -> tuple[SuiteOutcome, ...]:
    """Every suite of a cell whose run folder lost its harness while it ran: an `error` naming what
    went — the suites' results cannot be told from what their removal did. Their logs are kept
    where the runner and nox could write them again."""
    task.out_dir.mkdir(parents=True, exist_ok=True)
    root = task.layout.root
    what = f"the run folder {root} was removed" if ROOT in gone else f"{', '.join(gone)} went missing from {root}"
    reason = (
        f"{what} while the cell ran (by one of its suites, or by something else on this machine): its suites "
        "cannot be judged; curator writes the run folder's files again, so the reproduce command works"
    )
    outcomes = []
    for spec in task.suites:
        last = attempts[spec.name][-1] if attempts.get(spec.name) else None
        suite_log = protocol.artefacts(task.out_dir, spec.name, len(attempts.get(spec.name, [])) or 1)["log"]
        outcomes.append(
            SuiteOutcome(
                spec.name,
                Status.ERROR,
                Status.ERROR,
                reason=reason,
                signature=HARNESS_LOST,
                counts=Counts.of(last.cases) if last else Counts(),
                duration=sum(a.duration for a in attempts.get(spec.name, [])),
                attempts=len(attempts.get(spec.name, [])),
                log=task.layout.relative(suite_log) if suite_log.exists() else log,
                cases=last.cases if last else (),
                tail=(last.tail if last else "") or (first.tail(40) if first else ""),
            )
        )
    if not outcomes:
        outcomes.append(SuiteOutcome(INSTALL_SUITE, Status.ERROR, Status.ERROR, reason, HARNESS_LOST, log=log))
    return tuple(outcomes)


def _mend(task: CellTask) -> None:
    """Write again what a suite removed of the run folder's harness — the runner files, pytest.ini,
    scratch/, nox-cells.json with this cell in it, its lock and log folder — so the cell still runs
    as curator would run it (the coordinator writes the rest of the run folder again when it hears)."""
    layout = task.layout
    needed = [*(layout.root / name for name in RUNNER_FILES), layout.pytest_ini, layout.scratch, layout.nox_cells]
    if not all(path.exists() for path in needed):
        write_nox_files(layout, [task])
    if task.lock_text and not task.lock_path.exists():
        task.lock_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(task.lock_path, task.lock_text)
    task.out_dir.mkdir(parents=True, exist_ok=True)


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

    templates = files("curator.execute") / "harness"
    layout.root.mkdir(parents=True, exist_ok=True)
    for name in RUNNER_FILES:  # through a rename: a nox starting meanwhile reads the whole file
        atomic_write(layout.root / name, templates.joinpath(name).read_text(encoding="utf-8"))
    atomic_write(layout.pytest_ini, "[pytest]\n")
    layout.scratch.mkdir(exist_ok=True)
    add_nox_cells(layout, tasks, always=True)


_nox_cells_written = threading.Lock()  # the coordinator adds cells while a cell may write the file again (`mend`)


def add_nox_cells(layout: RunLayout, tasks: Sequence[CellTask], *, always: bool = False) -> None:
    """Add cells to the run's nox-cells.json (written whole, through a rename: a nox starting meanwhile
    reads the cells before or after, never half of them); the cells already there stay (a resumed
    run's, an earlier batch's)."""
    if not tasks and not always:
        return
    with _nox_cells_written:
        cells: dict[str, dict[str, object]] = {}
        if layout.nox_cells.exists():
            cells.update(protocol.validate_cells_file(json.loads(layout.nox_cells.read_text(encoding="utf-8"))))
        cells.update({task.cell.id: nox_spec(task) for task in tasks})
        atomic_write(layout.nox_cells, json.dumps(protocol.cells_file(cells), indent=1))


def nox_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment nox runs in: the user's, cleaned, with curator's own uv."""
    from curator.resolve.lock import uv_binary

    return proc.clean_env(os.environ if base is None else base, UV=str(uv_binary()))
