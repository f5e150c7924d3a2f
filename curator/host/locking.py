"""One curator process at a time in a folder: a run folder while its run lives, a release folder
while a bundle is placed, a channel while it is published to or yanked from.

The lock is an `fcntl.flock` on `FOLDER/.curator.lock`, taken without waiting: a second process
gets `Busy` at once, naming the folder and what holds it (the holder writes its pid, host,
command and run into the file). The kernel drops the lock when its process dies, however it
dies, so a lock left by a killed run is never stale and needs no takeover. The file is removed on
release; a process that opened it just before then finds, once it holds the lock, that the file
it holds is no longer the one at the path, and opens it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import socket
from pathlib import Path

from curator.host.inputs import quoted
from curator.model.errors import Busy, UsageError

LOCK_NAME = ".curator.lock"
COMMANDS = ("run", "nightly", "report", "release", "sign", "publish", "yank", "signers")
_HOLDER_LIMIT = 4096  # bytes of holder information read back


class FolderLock:
    """An exclusive lock on a folder, held until `release` (or the end of a `with` block)."""

    def __init__(self, folder: Path, fd: int, info: dict[str, object]) -> None:
        self.folder = folder
        self._fd: int | None = fd
        self._info = info

    @classmethod
    def take(cls, folder: Path, *, command: str, run: str | None = None, what: str | None = None) -> FolderLock:
        """Lock `folder` (created if missing) for `command` (one of `COMMANDS`);
        `Busy` when another process holds it. `what` starts the message (default: the folder)."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{folder}: cannot create the folder ({exc.strerror})") from None
        path = folder / LOCK_NAME
        for _ in range(100):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            except OSError as exc:
                raise UsageError(f"{path}: cannot open the lock file ({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _describe(_read(fd))
                os.close(fd)
                raise Busy(
                    f"{what or folder} is in use by {holder}; let it finish (or stop it), then try again"
                ) from None
            if _same_file(path, fd):
                break
            os.close(fd)  # its last holder removed it between our open and our lock: open the new one
        else:  # pragma: no cover - a hundred holders in a row each removing the file under us
            raise Busy(f"{what or folder}: could not take its lock ({path})")
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        info: dict[str, object] = {"pid": os.getpid(), "host": socket.gethostname(), "command": command}
        lock = cls(folder, fd, info | {"run": run, "since": since})
        lock._write()
        return lock

    def note(self, run: str) -> None:
        """Record which run holds the folder, once it is known."""
        self._info["run"] = run
        self._write()

    def release(self) -> None:
        """Remove the lock file and let go; a second call does nothing."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            path = self.folder / LOCK_NAME
            if _same_file(path, fd):
                with contextlib.suppress(OSError):
                    path.unlink()
        finally:
            os.close(fd)  # closing drops the flock

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

    def _write(self) -> None:
        if self._fd is None:
            return
        data = json.dumps(self._info).encode()
        with contextlib.suppress(OSError):  # the lock holds without its description
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)


def _same_file(path: Path, fd: int) -> bool:
    try:
        there = path.lstat()
    except OSError:
        return False
    here = os.fstat(fd)
    return (there.st_dev, there.st_ino) == (here.st_dev, here.st_ino)


def _read(fd: int) -> dict[str, object]:
    try:
        data = json.loads(os.pread(fd, _HOLDER_LIMIT, 0))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(info: dict[str, object]) -> str:
    """`curator run of run 20261123-201503-3fa2 (pid 4242 on build-3, since 2026-11-23T20:15:03+00:00)`."""
    command, pid = info.get("command"), info.get("pid")
    if command not in COMMANDS or not isinstance(pid, int) or isinstance(pid, bool):
        return "another curator process"
    said = f"curator {command}"
    if isinstance(run := info.get("run"), str):
        said += f" of run {_plain(run)}"
    where = f"pid {pid}"
    if isinstance(host := info.get("host"), str):
        where += f" on {_plain(host)}"
    if isinstance(since := info.get("since"), str):
        where += f", since {_plain(since)}"
    return f"{said} ({where})"


def _plain(value: str) -> str:
    """A value from the lock file as a message shows it: as is when it is a plain word, else quoted."""
    return value if re.fullmatch(r"[\w.:+-]{1,80}", value, re.ASCII) else quoted(value)
