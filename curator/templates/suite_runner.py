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
import time
from types import ModuleType


def _protocol() -> ModuleType:
    path = pathlib.Path(__file__).with_name("protocol.py")
    spec = importlib.util.spec_from_file_location("curator_protocol", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
        assert child.stdout is not None
        for line in iter(child.stdout.readline, b""):
            log.write(line)
            log.flush()
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
        returncode = child.wait()
    record(state="finished", returncode=returncode, duration=time.time() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
