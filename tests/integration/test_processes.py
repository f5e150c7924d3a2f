"""Nothing of a cell outlives it, and a cell never waits forever for another one's environment."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from curator.cli import main
from curator.execute.cell import TMP_PREFIX
from curator.host import proc
from tests.integration.conftest import EcoManifest


def _pids(folder: Path) -> dict[str, int]:
    return {p.name: int(p.read_text()) for p in folder.iterdir() if p.read_text().strip()}


def _wait_for(condition: object, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise AssertionError("it did not happen in time")


def test_a_daemon_a_suite_leaves_neither_hangs_the_cell_nor_outlives_it(
    eco_manifest: EcoManifest, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    # Two children that hold the suite's output open after it ends: one in its process group, one a
    # daemon in a session of its own (double fork and setsid), out of reach of a group kill.
    suite = (
        "import pathlib, subprocess, sys\n\n"
        "DAEMON = '''import os, sys, time\n"
        "if os.fork(): sys.exit(0)\n"
        "os.setsid()\n"
        "if os.fork(): sys.exit(0)\n"
        "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
        "time.sleep(600)\n'''\n\n"
        "def test_leaves_children_behind():\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"    pathlib.Path({str(pids)!r}, 'child').write_text(str(child.pid))\n"
        f"    subprocess.run([sys.executable, '-c', DAEMON, {str(pids / 'daemon')!r}], check=True)\n"
    )
    path = eco_manifest(
        '  cfx-base: ["1.0"]\n', suites={"spawns": (["cfx-base"], suite)}, extra="policy:\n  timeout: 90\n"
    )
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 0  # passed: not a timeout at 90 s
    left = _pids(pids)
    assert set(left) == {"child", "daemon"}
    for name, pid in left.items():
        assert not proc.alive(pid), f"the suite's {name} (pid {pid}) outlived its cell"


def test_resume_after_kill_9_ends_the_orphans_of_a_hanging_cell_and_runs_it(
    eco_manifest: EcoManifest, tmp_path: Path, capsys: object
) -> None:
    marker = tmp_path / "hung-once"
    pids = tmp_path / "pids"
    pids.mkdir()
    # Hangs the first time it runs (the orphans of a killed curator keep the environment locked),
    # passes the second time.
    suite = (
        "import os, pathlib, tempfile, time\n\n"
        "def test_hangs_once():\n"
        f"    marker = pathlib.Path({str(marker)!r})\n"
        "    if not marker.exists():\n"
        "        marker.write_text('')\n"
        f"        pathlib.Path({str(tmp_path)!r}, 'cell-tmp').write_text(tempfile.mkdtemp())\n"
        f"        pathlib.Path({str(pids)!r}, 'pytest').write_text(str(os.getpid()))\n"
        "        time.sleep(600)\n"
    )
    path = eco_manifest(
        '  cfx-base: ["1.0"]\n', suites={"hang": (["cfx-base"], suite)}, extra="policy:\n  timeout: 300\n"
    )
    out = path.parent / "out"
    store = path.parent / "reports" / "curator.sqlite"
    argv = [sys.executable, "-m", "curator", "run", str(path), "--out", str(out), "--plain"]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for((pids / "pytest").exists)
    child.send_signal(signal.SIGKILL)  # curator dies; its cell's nox, runner and pytest go on
    child.wait()
    orphan = _pids(pids)["pytest"]
    assert proc.alive(orphan)
    (run_id,) = sqlite3.connect(store).execute("SELECT id FROM runs").fetchone()
    assert main(["run", str(path), "--resume", run_id, "--plain"]) == 0
    said = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "left running after it was killed" in said and "process(es) ended" in said
    assert not proc.alive(orphan)
    cell_tmp = Path((tmp_path / "cell-tmp").read_text()).parent  # the killed cell's own temporary folder
    assert cell_tmp.name.startswith(TMP_PREFIX) and not cell_tmp.exists()  # removed with its orphans


def test_a_cell_waiting_for_a_busy_environment_says_for_whom_and_sigterm_ends_the_wait(
    eco_manifest: EcoManifest, tmp_path: Path
) -> None:
    hold = tmp_path / "hold"
    hold.write_text("")
    started = tmp_path / "started"
    suite = (
        "import pathlib, time\n\n"
        "def test_holds():\n"
        f"    pathlib.Path({str(started)!r}).write_text('')\n"
        f"    while pathlib.Path({str(hold)!r}).exists():\n"
        "        time.sleep(0.1)\n"
    )
    path = eco_manifest(
        '  cfx-base: ["1.0"]\n', suites={"hold": (["cfx-base"], suite)}, extra="policy:\n  timeout: 300\n"
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "curator", "run", str(path), "--out", str(tmp_path / "a"), "--plain"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(started.exists)
        second = subprocess.Popen(  # the same cell, so the same environment, in another run
            [sys.executable, "-m", "curator", "run", str(path), "--out", str(tmp_path / "b"), "--plain", "--rerun"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert second.stdout is not None
        lines: list[str] = []
        while not any("waiting for cell py3.12-baseline of run" in line for line in lines):
            line = second.stdout.readline()
            assert line, "the waiting cell said nothing:\n" + "".join(lines)
            lines.append(line)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 130
        with second.stdout:
            assert "--resume" in second.stdout.read()
    finally:
        hold.unlink()
        assert first.wait(timeout=120) == 0  # the holder went on undisturbed
