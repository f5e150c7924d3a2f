"""Written by curator: runs one suite's command inside a cell's environment.

Standard library only (it runs on the cell's Python, 3.8 and later). It writes the command's
output to a log file — once, bounded: its head and its tail, with a line saying how much was cut
between (`protocol.LOG_HEAD`, `protocol.LOG_TAIL`) — and, for a reproduction at a terminal, to its
own stdout as well; it records the exit status — negative when the interpreter died by a signal —
in a small JSON file (protocol.py beside it describes both), so a crash is told apart from a
failure. A log whose folder the suite deleted is written again where it was. It always exits 0
itself: the nox session decides whether the cell failed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import IO


def _protocol() -> ModuleType:
    path = pathlib.Path(__file__).with_name("protocol.py")
    spec = importlib.util.spec_from_file_location("curator_protocol", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DRAIN_SECONDS = 2.0  # how long output may still come after the suite's process ended


class BoundedLog:
    """A suite's log: the first `head` bytes of its output as they come, then only the last `tail`.

    The tail is kept in memory and written out each time as much again has come, so the file never
    holds more than about `head + 2 * tail` bytes, even when the suite is killed midway; at `close`
    it holds the head, the line saying how much was cut (`protocol.cut_notice`) and the tail.
    Opened for reading too: a log whose folder a suite deleted is written again from it.
    """

    def __init__(self, path: pathlib.Path, head: int, tail: int, notice: Callable[[int, int], bytes]) -> None:
        self.path = path
        self.head, self.tail = head, tail
        self.notice = notice  # (bytes cut, bytes in all) -> the line put where the cut is
        self.handle = path.open("w+b")
        self.total = 0  # bytes the suite printed
        self.after = 0  # bytes the file holds after the head
        self.recent = bytearray()  # the output after the head: at least its last `tail` bytes
        self.lock = threading.Lock()
        self.closed = False

    def write(self, data: bytes) -> None:
        """Take the next output (from the reader thread); `ValueError` once closed."""
        with self.lock:
            if self.closed:
                raise ValueError("the log is closed")
            room = max(0, self.head - self.total)
            if room:
                self.handle.write(data[:room])
            rest = data[room:]
            self.total += len(data)
            if rest:
                self.handle.write(rest)
                self.after += len(rest)
                self.recent += rest
                if len(self.recent) > 2 * self.tail:
                    del self.recent[: len(self.recent) - self.tail]
                if self.after > 2 * self.tail + 4096:
                    self._cut()
            self.handle.flush()

    def _cut(self) -> None:
        """Rewrite what follows the head: the notice, then the last `tail` bytes (from a line's start
        when one begins near)."""
        kept = bytes(self.recent[-self.tail :]) if self.tail else b""
        start = kept.find(b"\n", 0, 64 * 1024)
        if 0 <= start < len(kept) - 1 and self.total - self.head > len(kept):
            kept = kept[start + 1 :]
        notice = self.notice(self.total - self.head - len(kept), self.total)
        self.handle.seek(self.head)
        self.handle.write(notice + kept)
        self.handle.truncate()
        self.after = len(notice) + len(kept)

    def close(self) -> None:
        """Cut what is beyond the bound, write the log again if its folder was deleted, close it."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.total - self.head > self.tail:
                self._cut()
            self.handle.flush()
            try:
                same = os.path.samestat(os.fstat(self.handle.fileno()), self.path.stat())
            except OSError:
                same = False
            if not same:  # the suite removed it, or the folder around it: keep what it printed
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.handle.seek(0)
                self.path.write_bytes(self.handle.read())
            self.handle.close()


def _tee(stream: IO[bytes] | None, log: BoundedLog, echo: bool) -> None:
    """Copy the suite's output to its log (and, with `echo`, to our stdout), line by line, as it comes."""
    if stream is None:
        return
    try:
        for line in iter(stream.readline, b""):
            log.write(line)
            if echo:
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
    except (OSError, ValueError):  # the log was closed: the suite has ended, what is left is not its output
        return


def main() -> int:
    protocol = _protocol()
    job = protocol.validate_job(json.loads(sys.argv[1]))
    argv = protocol.job_argv(job["argv"], sys.executable)
    env = dict(os.environ)
    env.update(job["env"])
    started = time.time()
    result = pathlib.Path(job["result"])

    def record(**fields: object) -> None:
        data: dict[str, object] = {"argv": argv, "started": started}
        data.update(fields)
        protocol.write_json(result, data)

    record(state="started")
    head, tail = protocol.LOG_HEAD, protocol.LOG_TAIL

    def notice(cut: int, total: int) -> bytes:
        return bytes(protocol.cut_notice(cut, total, head, tail))

    log = BoundedLog(pathlib.Path(job["log"]), head, tail, notice)
    try:
        try:
            child = subprocess.Popen(argv, cwd=job["cwd"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as exc:
            message = f"cannot start {argv[0]}: {exc}\n".encode()
            log.write(message)
            sys.stdout.buffer.write(message)
            returncode = 127
        else:
            # The output is read beside the wait, not until end of file: a process the suite left behind
            # (a daemon holding the pipe) would keep it open long after the suite itself has ended.
            reader = threading.Thread(target=_tee, args=(child.stdout, log, job["echo"]), daemon=True)
            reader.start()
            returncode = child.wait()
            reader.join(DRAIN_SECONDS)
    finally:
        log.close()
    if not job["echo"]:
        cut = " (cut to its head and tail)" if log.total > head + tail else ""
        print(f"output: {protocol.size(log.total)} in {job['log']}{cut}", flush=True)
    result.parent.mkdir(parents=True, exist_ok=True)  # deleted by the suite: the result still says how it ended
    record(state="finished", returncode=returncode, duration=time.time() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
