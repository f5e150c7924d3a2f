"""The one wrapper curator uses to run other programs.

Every child gets an explicit `cwd` and `env` (cells run in parallel: nothing here touches
the parent's working directory or environment), runs in its own process group so that a
timeout or an interrupt kills it and everything it started, and comes back as a value
carrying its exit status and the tail of its output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("curator.host.proc")

TAIL_LINES = 40


@dataclass(frozen=True)
class Completed:
    """A finished child process."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Exit status 0 within the time limit."""
        return self.returncode == 0 and not self.timed_out and not self.interrupted

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines of the child's output (stderr after stdout)."""
        text = "\n".join(part for part in (self.stdout.rstrip(), self.stderr.rstrip()) if part)
        return "\n".join(text.splitlines()[-lines:])


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None = None,
    log_path: Path | None = None,
    stdin: str | None = None,
    cancel: threading.Event | None = None,
    keep_fds: Sequence[int] = (),
) -> Completed:
    """Run `argv` to completion, or until `timeout` seconds or `cancel` is set: then its whole
    process group is killed.

    With `log_path`, stdout and stderr go to that file (appended) and `stdout` of the result
    holds its tail, read from the file curator holds open: a log the child deleted (with the folder
    around it) is written again where it was (`KEPT_BYTES` at most). Otherwise both are captured
    in memory. `keep_fds` stay open in the child.
    """
    args = tuple(os.fspath(a) for a in argv)
    log.debug("run %s (cwd=%s)", shlex.join(args), cwd)
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    log_file = log_path.open("a+b") if log_path is not None else None
    kept = ""
    timed_out = interrupted = False
    try:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=log_file if log_file is not None else subprocess.PIPE,
            stderr=subprocess.STDOUT if log_file is not None else subprocess.PIPE,
            start_new_session=True,
            pass_fds=tuple(keep_fds),
        )
        payload = stdin.encode() if stdin is not None else None
        chunks: tuple[bytes | None, bytes | None] = (None, None)
        try:
            while True:
                wait = 0.2 if cancel is not None else None
                if deadline is not None:
                    left = max(0.0, deadline - time.monotonic())
                    wait = left if wait is None else min(wait, left)
                try:
                    chunks = process.communicate(input=payload, timeout=wait)
                    kill_group(process)  # what it started and left behind in its group ends with it
                    break
                except subprocess.TimeoutExpired:
                    payload = None  # already sent
                    if deadline is not None and time.monotonic() >= deadline:
                        timed_out = True
                    elif cancel is not None and cancel.is_set():
                        interrupted = True
                    else:
                        continue
                    kill_group(process)
                    chunks = process.communicate()
                    break
        except BaseException:
            kill_group(process)
            process.wait()
            raise
    finally:
        if log_file is not None and log_path is not None:
            with contextlib.suppress(OSError):
                kept = _tail_of(log_file)
                _keep(log_file, log_path)
            log_file.close()
    duration = time.monotonic() - started
    if log_path is not None:
        stdout, stderr = kept, ""
    else:
        stdout = (chunks[0] or b"").decode("utf-8", "replace")
        stderr = (chunks[1] or b"").decode("utf-8", "replace")
    return Completed(args, process.returncode, stdout, stderr, duration, timed_out, interrupted)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill a child's whole process group (it was started in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


TOKEN = "CURATOR_CELL_TOKEN"
"""A variable every process of a cell inherits, so what escaped its process group can be found."""


def sweep(token: str, *, rounds: int = 3) -> list[int]:
    """Kill every process whose environment carries `TOKEN=token`: what a cell left running after
    it ended, even daemons that made a session of their own. Linux (`/proc`); elsewhere nothing
    is found. A few rounds, as a dying parent may have forked once more."""
    needle = f"{TOKEN}={token}".encode()
    killed: list[int] = []
    for _ in range(rounds):
        found = [pid for pid in _pids() if needle in _environ(pid)]
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        if not found:
            break
        time.sleep(0.05)
    return killed


def _pids() -> list[int]:
    try:
        return [int(e.name) for e in os.scandir("/proc") if e.name.isdigit() and int(e.name) != os.getpid()]
    except OSError:
        return []


def _environ(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:  # gone, or another user's
        return []


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def read_tail(path: Path, lines: int = TAIL_LINES, max_bytes: int = 64 * 1024) -> str:
    """The last `lines` lines of a (possibly large) text file."""
    try:
        with path.open("rb") as handle:
            return _tail_of(handle, lines, max_bytes)
    except FileNotFoundError:
        return ""


def _tail_of(handle: BinaryIO, lines: int = TAIL_LINES, max_bytes: int = 64 * 1024) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - max_bytes))
    data = handle.read()
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


KEPT_BYTES = 16 * 1024 * 1024
"""The most of a deleted log that is written again (its end)."""


def _keep(handle: BinaryIO, path: Path) -> None:
    """Write the log `handle` holds open again at `path` when something removed it meanwhile."""
    try:
        if os.path.samestat(os.fstat(handle.fileno()), path.stat()):
            return
    except FileNotFoundError:
        pass
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - KEPT_BYTES))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as again:
        shutil.copyfileobj(handle, again)


def clean_env(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    """An environment for a child: the user's, minus what would leak into a cell's Python.

    Variables that would point a child at another interpreter or environment are dropped;
    interpreters are never downloaded behind the user's back.
    """
    dropped = {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PYTHONSAFEPATH",
    }
    env = {k: v for k, v in base.items() if k not in dropped and not k.startswith("NOX_")}
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    env.update(extra)
    return env
