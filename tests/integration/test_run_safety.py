"""Runs that meet each other, die at awkward moments, or find their store emptied: one clear line,
then the right thing — real processes, real SQLite, real kill -9."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curator.cli import main
from curator.host.locking import LOCK_NAME, FolderLock
from tests.integration.conftest import EcoManifest

HOLD = (
    "import os, pathlib, time\n\n"
    "def test_hold():\n"
    "    pathlib.Path({pids!r}, str(os.getpid())).write_text('')\n"
    "    while pathlib.Path({marker!r}).exists():\n"
    "        time.sleep(0.1)\n"
)


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.count("\n") == 1, captured.err
    return captured.err.strip()


def test_a_second_run_resume_or_report_is_refused_while_a_run_holds_its_folder_and_kill_9_frees_it(
    eco_manifest: EcoManifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker, pids = tmp_path / "hold", tmp_path / "pids"
    marker.write_text("")
    pids.mkdir()
    path = eco_manifest(
        '  cfx-base: ["1.0", "2.0"]\n',
        suites={"hold": (["cfx-base"], HOLD.format(pids=str(pids), marker=str(marker)))},
        extra="matrix:\n  strategy: upgrades\n",
    )
    out = path.parent / "out"
    store = path.parent / "reports" / "curator.sqlite"
    argv = [sys.executable, "-m", "curator", "run", str(path), "--out", str(out), "--jobs", "1", "--plain"]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(pids.iterdir()):
            time.sleep(0.2)
        assert any(pids.iterdir()), "the first run never reached its suite"
        (run_id,) = sqlite3.connect(store).execute("SELECT id FROM runs").fetchone()
        holder = f"is in use by curator run of run {run_id} (pid {child.pid} on "

        assert main(["run", str(path), "--out", str(out), "--plain"]) == 2
        assert f"--out {out} {holder}" in _one_line_error(capsys)
        assert main(["run", str(path), "--resume", run_id, "--plain"]) == 2  # no IntegrityError race
        assert f"run {run_id} (its folder {out}) {holder}" in _one_line_error(capsys)
        assert main(["report", str(out), "--store", str(store)]) == 2
        assert f"the folder {out} of run {run_id} {holder}" in _one_line_error(capsys)
        assert sqlite3.connect(store).execute("SELECT count(*) FROM runs").fetchone() == (1,)

        child.send_signal(signal.SIGKILL)  # its lock goes with it: nothing stale to take over
        child.wait()
    finally:
        marker.unlink()  # the killed run's suite ends too
        if child.poll() is None:
            child.kill()
            child.wait()
    assert main(["run", str(path), "--resume", run_id, "--plain"]) == 0
    db = sqlite3.connect(store)
    assert db.execute("SELECT status FROM runs").fetchone() == ("finished",)
    assert db.execute("SELECT count(*) FROM cells").fetchone() == (2,)
    assert not (out / LOCK_NAME).exists()


def test_a_nightly_refuses_a_folder_another_process_holds(
    eco_manifest: EcoManifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest('  cfx-base: ["1.0"]\n')
    out = tmp_path / "night"
    with FolderLock.take(out, command="report", run="20261123-201503-3fa2"):
        assert main(["nightly", str(path), "--out", str(out), "--plain"]) == 2
        assert f"--out {out.resolve()} is in use by curator report of run 20261123-201503-3fa2" in (
            _one_line_error(capsys)
        )
    assert [p.name for p in out.iterdir()] == []


def test_a_run_killed_between_its_last_cell_and_its_report_is_finished_by_resume(
    eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest('  cfx-base: ["1.0"]\n', extra="matrix:\n  strategy: baseline\n")
    out = path.parent / "out"
    store = path.parent / "reports" / "curator.sqlite"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 0
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    # what a kill between the last commit and publish leaves: every cell recorded, no outputs, not finished
    for name in ("index.html", "cells.csv", "run.json"):
        (out / name).unlink()
    db = sqlite3.connect(store)
    db.execute("UPDATE runs SET status = 'running', finished = NULL, verdict = NULL, summary = NULL")
    db.commit()
    release = ["release", str(path), "--run", run_id, "--unsigned", "--out", str(path.parent / "dist")]
    assert main(release) == 1  # an unfinished run gates nothing
    assert f"run {run_id} did not finish (finish it with `curator run --resume {run_id}`)" in capsys.readouterr().err
    assert main(["run", str(path), "--resume", run_id, "--plain"]) == 0
    for name in ("index.html", "cells.csv", "run.json"):
        assert (out / name).is_file(), name
    assert db.execute("SELECT status, verdict FROM runs").fetchone() == ("finished", "passed")
    (out / "run.json").unlink()  # and a release by folder finds the run in the store, and writes it again
    (out / "index.html").unlink()
    assert main([*release[:3], str(out), *release[4:]]) == 0
    assert (path.parent / "dist" / "eco-1.0" / "report" / "index.html").is_file()
    assert (out / "run.json").is_file()


def test_an_emptied_store_stops_the_next_run_until_told_to_go_on(
    eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest('  cfx-base: ["1.0"]\n', extra="matrix:\n  strategy: baseline\n")
    store = path.parent / "reports" / "curator.sqlite"
    assert main(["run", str(path), "--plain"]) == 0
    store.write_bytes(b"")  # a failed copy, a full disk, a `> curator.sqlite`
    for leftover in ("-wal", "-shm"):
        Path(f"{store}{leftover}").unlink(missing_ok=True)
    capsys.readouterr()
    assert main(["run", str(path), "--plain"]) == 2
    error = _one_line_error(capsys)
    assert f"{store}: the results store is empty (0 bytes), but curator.sqlite.runs beside it records 1 run(s)" in error
    assert store.read_bytes() == b""
    Path(f"{store}.runs").rename(f"{store}.runs.bak")  # without the marker, the run folder beside it tells
    assert main(["run", str(path), "--plain"]) == 2
    assert "1 run folder(s) beside it name it in their run.json" in _one_line_error(capsys)
    assert main(["run", str(path), "--plain", "--accept-lost-runs"]) == 0
    assert sqlite3.connect(store).execute("SELECT count(*) FROM runs").fetchone() == (1,)


OPEN_AT_ONCE = """
import pathlib, sys, time
from curator.model.ids import PyVersion
from curator.model.ids import RunId
from curator.model.outcome import RunStatus
from curator.store.db import RunRecord
from curator.store.db import Store

store, ready, go, number = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]), sys.argv[4]
ready.joinpath(number).write_text("")
while not go.exists():
    time.sleep(0.001)
record = RunRecord(
    id=RunId("20261120-000000-" + number.zfill(4)), kind="run", distribution="demo", version="1.0",
    manifest_path="/m", manifest_sha256="0", strategy="baseline", pythons=(PyVersion("3.11"),), out_dir="/o",
    started=float(number), status=RunStatus.RUNNING, plan="{}",
)
with Store(store) as opened:
    opened.create_run(record)
"""


def test_processes_starting_at_once_on_a_new_store_all_open_it(tmp_path: Path) -> None:
    """Found under attack: two `curator run` starting together on a store that did not exist yet,
    and one exited 2 with "not a curator results store (table runs already exists)". Real
    processes, released together once each is ready, on a new store each round."""
    processes, rounds = 4, 6
    for attempt in range(rounds):
        folder = tmp_path / str(attempt)
        ready, go, store = folder / "ready", folder / "go", folder / "reports" / "curator.sqlite"
        ready.mkdir(parents=True)
        children = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT_ONCE, str(store), str(ready), str(go), str(n)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for n in range(processes)
        ]
        deadline = time.monotonic() + 120
        while len(list(ready.iterdir())) < processes and time.monotonic() < deadline:
            time.sleep(0.01)
        go.write_text("")
        outputs = [child.communicate(timeout=120)[0] for child in children]
        assert [child.returncode for child in children] == [0] * processes, (attempt, outputs)
        assert sqlite3.connect(store).execute("SELECT count(*) FROM runs").fetchone() == (processes,)
