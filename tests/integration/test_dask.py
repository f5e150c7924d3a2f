"""`--executor dask` on real clusters over loopback: a LocalCluster of worker processes, and
`dask scheduler` / `dask worker` started as commands, the way users run them."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from curator.cli import main
from tests.integration.conftest import EcoManifest

distributed = pytest.importorskip("distributed", reason="the dask executor needs `pip install 'curator[dask]'`")

MATRIX = """\
  cfx-base: ["1.0", "2.0"]
  cfx-user: ["1.0", "1.1"]
  cfx-crash: {versions: ["0.9", "1.0"], blessed: "0.9"}
  cfx-hang: {versions: ["0.9", "1.0"], blessed: "0.9"}
"""
MATRIX_SUITES = {
    "user": (["cfx-user", "cfx-base"], "import cfx_user\n\ndef test_run():\n    assert cfx_user.run() == 2\n"),
    "crash": (["cfx-crash"], "import cfx_crash\n\ndef test_state():\n    assert cfx_crash.STATE == 'fine'\n"),
    "hang": (["cfx-hang"], "import cfx_hang\n\ndef test_wait():\n    assert cfx_hang.wait()\n"),
}
TIMEOUT = 10
POLICY = f"matrix:\n  strategy: upgrades\npolicy:\n  timeout: {TIMEOUT}\n  retries: 1\n"


def _rows(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (out / "cells.csv").open() as handle:
        return {(row["cell"], row["suite"]): row for row in csv.DictReader(handle)}


def _slow_suite(marks: Path, seconds: float) -> str:
    """A suite that notes when it starts (its pid) and then takes `seconds`."""
    return (
        "import os, pathlib, time\n\n"
        "def test_slow():\n"
        f"    pathlib.Path({str(marks)!r}, str(os.getpid())).write_text('')\n"
        f"    time.sleep({seconds})\n"
    )


def _recorded(store: Path) -> int:
    try:
        return int(sqlite3.connect(store).execute("SELECT count(*) FROM cells").fetchone()[0])
    except sqlite3.Error:
        return 0


def _when(condition: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


@contextlib.contextmanager
def _local_cluster(workers: int = 2) -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    try:
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.close()


def _cells_once(store: Path, run_id: str) -> list[str]:
    db = sqlite3.connect(store)
    cells = [r[0] for r in db.execute("SELECT cell_id FROM cells WHERE run_id = ? ORDER BY cell_id", (run_id,))]
    assert len(cells) == len(set(cells))
    return cells


def test_the_matrix_gives_the_same_statuses_as_the_local_executor(eco_manifest: EcoManifest) -> None:
    path = eco_manifest(MATRIX, suites=MATRIX_SUITES, extra=POLICY)
    local, dask = path.parent / "local", path.parent / "dask"
    assert main(["run", str(path), "--out", str(local), "--jobs", "2", "--plain"]) == 1
    code = main(["run", str(path), "--out", str(dask), "--executor", "dask", "--jobs", "2", "--rerun", "--plain"])
    assert code == 1
    here, there = _rows(local), _rows(dask)
    assert {k: (r["status"], r["attempts"]) for k, r in there.items()} == {
        k: (r["status"], r["attempts"]) for k, r in here.items()
    }
    assert there["py3.12-cfx-hang@1.0", "hang"]["status"] == "timeout"  # the worker enforced the wall clock
    assert there["py3.12-cfx-user@1.0", "user"]["attempts"] == "2"  # and the policy's retries
    assert there["py3.12-cfx-crash@1.0", "crash"]["status"] == "crashed"
    assert {r["worker"] for r in here.values()} == {"local"}
    workers = {r["worker"] for r in there.values()}
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers) and len(workers) == 2
    for row in there.values():  # logs and JUnit files came back into this run folder
        assert (dask / row["log"]).is_file()
    assert (dask / "logs" / "py3.12-baseline" / "user.xml").is_file()
    run = json.loads((dask / "run.json").read_text())
    assert run["executor"]["kind"] == "dask" and run["executor"]["scheduler"].startswith("tcp://127.0.0.1:")
    assert json.loads((local / "run.json").read_text())["executor"] == {"kind": "local", "jobs": 2}
    # the printed reproduction names this machine's noxfile, and works here
    command = there["py3.12-cfx-user@1.0", "user"]["reproduce"]
    assert command == f"nox -f {dask / 'noxfile.py'} -s py3.12-cfx-user@1.0"
    argv = [sys.executable, "-m", "nox", *command.split()[1:], "--", "user"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 1 and "old_api" in done.stdout + done.stderr


def test_a_worker_killed_mid_cell_reruns_it_and_every_cell_is_recorded_once(
    eco_manifest: EcoManifest, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    path = eco_manifest(
        '  cfx-base: ["1.0", "2.0"]\n  cfx-user: ["1.0", "1.1"]\n',
        suites={"slow": (["cfx-base"], _slow_suite(marks, 3))},
        extra="matrix:\n  strategy: upgrades\n",
    )
    out, store = path.parent / "out", path.parent / "reports" / "curator.sqlite"
    killed: list[str] = []
    with _local_cluster() as cluster, distributed.Client(cluster, set_as_default=False) as client:
        pids = client.run(os.getpid)

        def kill_one() -> None:
            _when(lambda: any(marks.iterdir()))
            busy = {w: keys for w, keys in client.processing().items() if any("curator-cell" in k for k in keys)}
            victim = sorted(busy)[0]
            killed.append(victim)
            os.kill(pids[victim], signal.SIGKILL)

        killer = threading.Thread(target=kill_one)
        killer.start()
        address = cluster.scheduler_address
        code = main(["run", str(path), "--out", str(out), "--executor", "dask", "--scheduler", address, "--plain"])
        killer.join()
    assert killed, "no worker was killed"
    assert code == 0
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    assert _cells_once(store, run_id) == sorted(["py3.12-baseline", "py3.12-cfx-base@1.0", "py3.12-cfx-user@1.0"])
    assert {r["status"] for r in _rows(out).values()} == {"passed"}
    assert len(list(marks.iterdir())) >= 4  # the killed worker's cell ran again elsewhere


def test_the_scheduler_closing_mid_run_keeps_finished_cells_and_resume_completes(
    eco_manifest: EcoManifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    path = eco_manifest(
        '  cfx-base: ["1.0", "2.0"]\n  cfx-user: ["1.0", "1.1"]\n  cfx-left: ["1.0"]\n',
        suites={"slow": (["cfx-base"], _slow_suite(marks, 1))},
        extra="matrix:\n  strategy: upgrades\n",
    )
    out, store = path.parent / "out", path.parent / "reports" / "curator.sqlite"
    with _local_cluster(1) as cluster:
        address = cluster.scheduler_address

        def close_when_one_is_recorded() -> None:
            _when(lambda: _recorded(store) >= 1)
            cluster.close()

        closer = threading.Thread(target=close_when_one_is_recorded)
        closer.start()
        code = main(["run", str(path), "--out", str(out), "--executor", "dask", "--scheduler", address, "--plain"])
        closer.join()
    printed = capsys.readouterr().out
    assert code == 1, printed
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    assert f"the dask scheduler at {address} went away" in printed
    assert f"--resume {run_id} --executor dask --scheduler {address}" in printed
    kept = _cells_once(store, run_id)
    assert 1 <= len(kept) < 3
    assert main(["run", str(path), "--resume", run_id, "--executor", "dask", "--jobs", "2", "--plain"]) == 0
    assert _cells_once(store, run_id) == ["py3.12-baseline", "py3.12-cfx-base@1.0", "py3.12-cfx-user@1.0"]
    assert sqlite3.connect(store).execute("SELECT status FROM runs").fetchone() == ("finished",)


def _dask(*words: str, env: dict[str, str] | None = None, log: Path) -> subprocess.Popen[bytes]:
    """`dask …` as a user types it, in a session of its own (so it can be killed whole)."""
    command = [str(Path(sys.executable).with_name("dask")), *words]
    with log.open("ab") as sink:
        return subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env or dict(os.environ), start_new_session=True
        )


def _scheduler_address(scheduler_file: Path) -> str:
    _when(lambda: scheduler_file.exists() and bool(scheduler_file.read_text().strip()), timeout=60)
    return str(json.loads(scheduler_file.read_text())["address"])


@contextlib.contextmanager
def _processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_worker_without_the_cells_python_refuses_it_clearly(eco_manifest: EcoManifest, tmp_path: Path) -> None:
    path = eco_manifest('  cfx-base: ["1.0"]\n', suites={"legacy": (["cfx-base"], "def test_x():\n    pass\n")})
    out = path.parent / "out"
    empty = tmp_path / "empty"
    empty.mkdir()
    # a machine whose only Python is curator's own (3.11): no 3.12 on PATH, in pyenv or among uv's
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent),
        "PYENV_ROOT": str(empty),
        "UV_PYTHON_INSTALL_DIR": str(empty),
        "HOME": str(empty),
    }
    scheduler_file = tmp_path / "scheduler.json"
    with _processes() as processes:
        log = tmp_path / "dask.log"
        processes.append(_dask("scheduler", "--port", "0", "--scheduler-file", str(scheduler_file), log=log))
        address = _scheduler_address(scheduler_file)
        processes.append(_dask("worker", address, "--nthreads", "1", "--name", "bare", env=env, log=log))
        code = main(["run", str(path), "--out", str(out), "--executor", "dask", "--scheduler", address, "--plain"])
    assert code == 1
    (row,) = _rows(out).values()
    assert row["status"] == "error"
    assert row["reason"].startswith(f"worker {row['worker']} refused the cell: Python 3.12.")
    assert "looked in PATH" in row["reason"] and str(empty) in row["reason"]
    assert row["outcome_key"] == ""  # never reused: another worker may have it
    assert row["reason"] in (out / row["log"]).read_text()


def test_an_exception_of_curators_own_on_a_worker_is_error_with_its_text(
    eco_manifest: EcoManifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with the local executor: curator fails inside the cell on the worker (its environments'
    folder there is a file), and the cell is `error` with the exception, never `install-error`."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "envs").write_text("not a folder\n")
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(cache))  # the LocalCluster's workers inherit it
    path = eco_manifest('  cfx-base: ["1.0"]\n', suites={"legacy": (["cfx-base"], "def test_x():\n    pass\n")})
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--executor", "dask", "--jobs", "1", "--plain"]) == 1
    row = _rows(out)["py3.12-baseline", "legacy"]
    assert row["status"] == "error"
    assert row["reason"].startswith("curator failed in this cell: NotADirectoryError: [Errno 20] Not a directory:")
    assert row["signature"].startswith("curator: NotADirectoryError:")
    assert "NotADirectoryError" in (out / row["log"]).read_text()


def test_dask_scheduler_and_two_workers_as_commands_with_one_killed(eco_manifest: EcoManifest, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    path = eco_manifest(
        '  cfx-base: ["1.0", "2.0"]\n  cfx-user: ["1.0", "1.1"]\n',
        suites={"slow": (["cfx-base"], _slow_suite(marks, 2))},
        extra="matrix:\n  strategy: upgrades\n",
    )
    out, store = path.parent / "out", path.parent / "reports" / "curator.sqlite"
    scheduler_file = tmp_path / "scheduler.json"
    log = tmp_path / "dask.log"
    with _processes() as processes:
        processes.append(_dask("scheduler", "--port", "0", "--scheduler-file", str(scheduler_file), log=log))
        address = _scheduler_address(scheduler_file)
        for name in ("one", "two"):
            processes.append(_dask("worker", address, "--nthreads", "1", "--name", name, log=log))

        def kill_a_worker() -> None:
            _when(lambda: any(marks.iterdir()))
            os.killpg(processes[1].pid, signal.SIGKILL)  # worker "one": its nanny and its worker process

        killer = threading.Thread(target=kill_a_worker)
        killer.start()
        argv = ["run", str(path), "--out", str(out), "--executor", "dask", "--scheduler", address, "--plain"]
        code = main(argv)
        killer.join()
    assert code == 0, log.read_text()[-3000:]
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    assert _cells_once(store, run_id) == ["py3.12-baseline", "py3.12-cfx-base@1.0", "py3.12-cfx-user@1.0"]
    assert {r["status"] for r in _rows(out).values()} == {"passed"}
    assert json.loads((out / "run.json").read_text())["executor"] == {"kind": "dask", "scheduler": address}


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for a reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_ctrl_c_cancels_the_cells_on_their_workers(eco_manifest: EcoManifest, tmp_path: Path) -> None:
    marker, pids = tmp_path / "hold", tmp_path / "pids"
    marker.write_text("")
    pids.mkdir()
    hold = (
        "import os, pathlib, time\n\n"
        "def test_hold():\n"
        f"    pathlib.Path({str(pids)!r}, str(os.getpid())).write_text('')\n"
        f"    while pathlib.Path({str(marker)!r}).exists():\n"
        "        time.sleep(0.1)\n"
    )
    path = eco_manifest('  cfx-base: ["1.0", "2.0"]\n', suites={"hold": (["cfx-base"], hold)})
    out = path.parent / "out"
    argv = [sys.executable, "-m", "curator", "run", str(path), "--out", str(out), "--executor", "dask", "--plain"]
    # a session of its own, so the Ctrl-C reaches every process of it, as a terminal's does
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        _when(lambda: any(pids.iterdir()))
        os.killpg(child.pid, signal.SIGINT)
        output, _ = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130, output
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    assert f"--resume {run_id} --executor dask" in output
    for pid in pids.iterdir():
        assert not _alive(int(pid.name)), "the worker left the cell's suite running"
    db = sqlite3.connect(path.parent / "reports" / "curator.sqlite")
    assert db.execute("SELECT status FROM runs").fetchone() == ("interrupted",)
    assert db.execute("SELECT count(*) FROM cells").fetchone() == (0,)
