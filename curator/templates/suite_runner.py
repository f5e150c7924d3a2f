"""Written by curator: runs one suite's command inside a cell's environment.

Standard library only (it runs on the cell's Python, 3.8 and later). It tees the command's
output to its own stdout and to a log file, and records the exit status — negative when the
interpreter died by a signal — in a small JSON file (protocol.py beside it describes both), so
a crash is told apart from a failure. It always exits 0 itself: the nox session decides
whether the cell failed.
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


def _tee(stream: IO[bytes] | None, log: IO[bytes]) -> None:
    """Copy the suite's output to its log and to our stdout, line by line, as it comes."""
    if stream is None:
        return
    try:
        for line in iter(stream.readline, b""):
            log.write(line)
            log.flush()
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
    with pathlib.Path(job["log"]).open("wb") as log:
        try:
            child = subprocess.Popen(argv, cwd=job["cwd"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as exc:
            message = f"cannot start {argv[0]}: {exc}\n".encode()
            log.write(message)
            sys.stdout.buffer.write(message)
            record(state="finished", returncode=127, duration=time.time() - started)
            return 0
        # The output is read beside the wait, not until end of file: a process the suite left behind
        # (a daemon holding the pipe) would keep it open long after the suite itself has ended.
        reader = threading.Thread(target=_tee, args=(child.stdout, log), daemon=True)
        reader.start()
        returncode = child.wait()
        reader.join(DRAIN_SECONDS)
        log.flush()
    record(state="finished", returncode=returncode, duration=time.time() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
