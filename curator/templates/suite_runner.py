"""Written by curator: runs one suite's command inside a cell's environment.

Standard library only (it runs on the cell's Python, 3.8 and later). It tees the command's
output to its own stdout and to a log file, and records the exit status — negative when the
interpreter died by a signal — in a small JSON file, so a crash is told apart from a failure.
It always exits 0 itself: the nox session decides whether the cell failed.
"""

import json
import os
import pathlib
import subprocess
import sys
import time


def main() -> int:
    job = json.loads(sys.argv[1])
    argv = [sys.executable if part == "python" else part for part in job["argv"]]
    env = dict(os.environ)
    env.update(job.get("env") or {})
    started = time.time()

    def record(**fields: object) -> None:
        data = {"argv": argv, "started": started}
        data.update(fields)
        tmp = pathlib.Path(job["result"] + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(job["result"])

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
