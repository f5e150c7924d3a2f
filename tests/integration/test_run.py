"""`curator run` end to end on the fixture ecosystem: real uv, nox, pytest and SQLite."""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curator.cli import main
from tests.conftest import manifest_writer
from tests.integration.conftest import EcoManifest, eco_manifest_factory

PACKAGES = """\
  cfx-base: ["1.0", "2.0"]
  cfx-user: ["1.0", "1.1"]
  cfx-crash: {versions: ["0.9", "1.0"], blessed: "0.9"}
  cfx-hang: {versions: ["0.9", "1.0"], blessed: "0.9"}
  cfx-flaky: ["1.0"]
"""
SUITES = {
    "user": (["cfx-user", "cfx-base"], "import cfx_user\n\ndef test_run():\n    assert cfx_user.run() == 2\n"),
    "legacy": (["cfx-base"], "import cfx_base\n\ndef test_old_api():\n    assert cfx_base.old_api() == 1\n"),
    "crash": (["cfx-crash"], "import cfx_crash\n\ndef test_state():\n    assert cfx_crash.STATE == 'fine'\n"),
    "hang": (["cfx-hang"], "import cfx_hang\n\ndef test_wait():\n    assert cfx_hang.wait()\n"),
    "flaky": (["cfx-flaky"], "import cfx_flaky\n\ndef test_roll():\n    assert cfx_flaky.roll()\n"),
    # a test that ends the interpreter before pytest can write its report: exit status 1, no JUnit file
    "exits": (["cfx-base"], "import os\n\ndef test_leaves():\n    os._exit(1)\n"),
    # a module the cells lack: every test skipped, no test ran
    "skips": (
        ["cfx-base"],
        "import pytest\n\nnumpy = pytest.importorskip('numpy')\n\ndef test_dtype():\n    assert numpy\n",
    ),
}
TIMEOUT = 20  # the hang cell's limit; the other cells run eleven pytest sessions (retries included) well within it
POLICY = f"""\
matrix:
  strategy: upgrades
policy:
  timeout: {TIMEOUT}
  retries: 1
  expected_failures:
    - when: {{cfx-base: ">=1.0"}}
      reason: the legacy suite still calls old_api, which base 2 removed
      owner: fixtures
      suites: [legacy]
"""


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for a reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _rows(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (out / "cells.csv").open() as handle:
        return {(row["cell"], row["suite"]): row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def matrix_run(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path
) -> tuple[Path, Path, int]:
    """One upgrades run over the fixture ecosystem (5 cells), shared by the tests below."""
    folder = tmp_path_factory.mktemp("matrix-run")
    path = eco_manifest_factory(manifest_writer(folder), wheelhouse, runner_wheels)(
        PACKAGES, suites=SUITES, extra=POLICY
    )
    out = folder / "out"
    code = main(["run", str(path), "--out", str(out), "--jobs", "2", "--plain"])
    return path, out, code


def test_statuses_tell_what_happened(matrix_run: tuple[Path, Path, int]) -> None:
    _, out, code = matrix_run
    rows = _rows(out)
    status = {key: row["status"] for key, row in rows.items()}
    assert code == 1  # a failure, a crash and a timeout are unexpected
    # the removed function breaks cfx-user 1.0 on cfx-base 2.0 while its neighbours pass
    assert status["py3.12-cfx-user@1.0", "user"] == "failed"
    assert status["py3.12-baseline", "user"] == "passed"
    assert status["py3.12-cfx-base@1.0", "user"] == "passed"
    assert "old_api" in rows["py3.12-cfx-user@1.0", "user"]["signature"]
    # a crashing import is told apart from a failure
    assert status["py3.12-cfx-crash@1.0", "crash"] == "crashed"
    assert "SIGABRT" in rows["py3.12-cfx-crash@1.0", "crash"]["reason"]
    assert status["py3.12-baseline", "crash"] == "passed"
    # a hanging test is stopped by curator's own clock
    assert status["py3.12-cfx-hang@1.0", "hang"] == "timeout"
    assert status["py3.12-cfx-hang@1.0", "flaky"] == "timeout"  # never reached
    # fails, then passes on retry
    assert status["py3.12-baseline", "flaky"] == "flaky"
    assert rows["py3.12-baseline", "flaky"]["attempts"] == "2"
    # the policy: expected where it fails, "lift this exception" where it passes
    assert status["py3.12-baseline", "legacy"] == "expected-fail"
    assert rows["py3.12-baseline", "legacy"]["raw_status"] == "failed"
    assert status["py3.12-cfx-base@1.0", "legacy"] == "unexpected-pass"
    assert "lift this exception" in rows["py3.12-cfx-base@1.0", "legacy"]["reason"]
    # exit status 1 without a JUnit report is a failure, never a pass; and it was retried
    exits = rows["py3.12-baseline", "exits"]
    assert (exits["status"], exits["attempts"]) == ("failed", "2")
    assert "left no JUnit report" in exits["reason"]
    # a suite in which no test ran is skipped: no evidence, and in the baseline a reason to fail the run
    skips = rows["py3.12-baseline", "skips"]
    assert (skips["status"], skips["passed"], skips["skipped"], skips["attempts"]) == ("skipped", "0", "1", "1")
    assert "could not import 'numpy'" in skips["reason"]
    assert {status[cell, "skips"] for cell in ("py3.12-cfx-user@1.0", "py3.12-cfx-base@1.0")} == {"skipped"}


def test_report_rewrites_the_same_cells_csv_and_run_json_from_the_store(
    matrix_run: tuple[Path, Path, int], tmp_path: Path
) -> None:
    """What a run wrote, and what `curator report` writes again from the store alone, are the same."""
    path, out, code = matrix_run
    written = {name: (out / name).read_text() for name in ("cells.csv", "run.json")}
    matrices = {p.name: p.read_text() for p in (out / "matrices").iterdir()}
    run_id = json.loads(written["run.json"])["run_id"]
    for name in written:
        (out / name).unlink()
    shutil.rmtree(out / "matrices")
    assert main(["report", run_id, "--store", str(path.parent / "reports" / "curator.sqlite")]) == code
    assert {name: (out / name).read_text() for name in written} == written
    assert {p.name: p.read_text() for p in (out / "matrices").iterdir()} == matrices


def test_the_hang_is_stopped_within_the_limit(matrix_run: tuple[Path, Path, int]) -> None:
    path, _out, _ = matrix_run
    store = sqlite3.connect(path.parent / "reports" / "curator.sqlite")
    (duration,) = store.execute("SELECT duration FROM cells WHERE cell_id = 'py3.12-cfx-hang@1.0'").fetchone()
    assert TIMEOUT <= duration < TIMEOUT + 8


def test_run_folder_contract(matrix_run: tuple[Path, Path, int]) -> None:
    _path, out, _ = matrix_run
    with (out / "cells.csv").open() as handle:
        header = next(csv.reader(handle))
    for column in (
        "cell",
        "python",
        "pins",
        "suite",
        "status",
        "passed",
        "failed",
        "errors",
        "skipped",
        "duration_s",
        "log",
    ):
        assert column in header
    rows = _rows(out)
    assert len(rows) == 5 * 7  # every cell × suite
    baseline = rows["py3.12-baseline", "user"]
    assert baseline["pins"] == "cfx-base==2.0 cfx-crash==0.9 cfx-flaky==1.0 cfx-hang==0.9 cfx-user==1.1"
    assert (out / baseline["log"]).read_text()
    assert (out / "logs" / "py3.12-baseline" / "user.xml").exists()  # the JUnit file
    lock = (out / "locks" / "py3.12-baseline.txt").read_text()
    assert "cfx-base==2.0" in lock and "--hash=sha256:" in lock and "pytest==" in lock
    matrix = (out / "matrices" / "py3.12__cfx-user__cfx-base.csv").read_text().splitlines()
    assert matrix == ["cfx-user \\ cfx-base,1.0,2.0", "1.0,,failed", "1.1,passed,passed"]  # rows \\ columns
    run = json.loads((out / "run.json").read_text())
    assert run["verdict"] == "failed"
    assert run["gate"] == {  # flaky gates nothing, nor does a suite that ran no test
        "holds": False,
        "failing_baseline_cells": ["py3.12-baseline"],
        "missing_pythons": [],
        "problems": [
            "py3.12-baseline (flaky flaky, exits failed, skips skipped: no test ran, which is no evidence; "
            "if that is intended, add a policy.expected_skips rule for suite skips)"
        ],
        "platforms": [],  # the manifest names none
    }
    assert run["untested_cells"] == 0
    unexpected = {(u["cell"], u["suite"]): u["status"] for u in run["unexpected"]}
    assert unexpected["py3.12-baseline", "skips"] == "skipped"  # it would ship untested
    assert ("py3.12-cfx-base@1.0", "skips") not in unexpected  # elsewhere a gap, shown, not a failure
    assert run["counts"]["crashed"] == 1 and run["cells"] == 5
    assert run["manifest"]["sha256"] and run["tools"]["uv"]


def test_failing_cell_reproduces_with_the_printed_nox_command(matrix_run: tuple[Path, Path, int]) -> None:
    _, out, _ = matrix_run
    command = _rows(out)["py3.12-cfx-user@1.0", "user"]["reproduce"]
    assert command.startswith("nox -f ") and command.endswith(" -s py3.12-cfx-user@1.0")
    argv = [sys.executable, "-m", "nox", *command.split()[1:], "--", "user"]
    env = {k: v for k, v in os.environ.items() if k != "CURATOR_CELL_OUT"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=120)
    assert done.returncode == 1
    assert "AttributeError" in done.stdout + done.stderr and "old_api" in done.stdout + done.stderr


def test_unchanged_rerun_runs_nothing(matrix_run: tuple[Path, Path, int], capsys: pytest.CaptureFixture[str]) -> None:
    path, first_out, _ = matrix_run
    out = first_out.parent / "again"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1
    printed = capsys.readouterr().out
    assert "5 cells (5 reused from earlier runs)" in printed
    assert _rows(out).keys() == _rows(first_out).keys()
    assert {r["status"] for r in _rows(out).values()} == {r["status"] for r in _rows(first_out).values()}
    assert all(r["reused_from"] for r in _rows(out).values())
    assert (out / "logs" / "py3.12-baseline" / "cell.log").read_text() != ""  # evidence copied along


def test_upper_bound_is_unresolvable_with_the_reason(
    eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest(
        '  cfx-base: {versions: ["1.0", "2.0"], blessed: "1.0"}\n  cfx-capped: ["1.0"]\n',
        suites={
            "capped": (
                ["cfx-capped", "cfx-base"],
                "import cfx_capped\n\ndef test_v():\n    assert cfx_capped.VALUE == 3\n",
            )
        },
        extra="matrix:\n  strategy: pairs\n",
    )
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 0  # unresolvable off-baseline is a finding
    rows = _rows(out)
    row = rows["py3.12-cfx-base@2.0", "capped"]
    assert row["status"] == "unresolvable"
    assert "cfx-base<2" in row["reason"]
    assert rows["py3.12-baseline", "capped"]["status"] == "passed"
    assert (out / "matrices" / "py3.12__cfx-capped__cfx-base.csv").read_text().splitlines()[
        1
    ] == "1.0,passed,unresolvable"


def test_an_exception_of_curators_own_in_a_cell_is_error_with_its_text_never_install_error(
    eco_manifest: EcoManifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """curator fails inside the cell (its environments' folder is a file, so making the cell's
    environment folder raises in curator's own code): the cell is `error` with the exception's type and
    message, its traceback in the cell's log — not `install-error`, which would blame the environment
    and which a nightly would call the infrastructure's doing."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "envs").write_text("not a folder\n")
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(cache))
    path = eco_manifest('  cfx-base: ["1.0"]\n', suites={"legacy": (["cfx-base"], "def test_x():\n    pass\n")})
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1
    row = _rows(out)["py3.12-baseline", "legacy"]
    assert row["status"] == "error" and row["raw_status"] == "error"
    assert row["reason"].startswith("curator failed in this cell: NotADirectoryError: [Errno 20] Not a directory:")
    assert row["signature"].startswith("curator: NotADirectoryError: [Errno <n>] Not a directory:")
    log = (out / row["log"]).read_text()
    assert "Traceback (most recent call last)" in log and "NotADirectoryError" in log
    assert "NotADirectoryError" in (out / "index.html").read_text()  # and the report says it
    assert "NotADirectoryError" in capsys.readouterr().out


def test_a_packages_own_tests_run_against_the_installed_package(eco_manifest: EcoManifest) -> None:
    path = eco_manifest('  cfx-top:\n    versions: ["1.0"]\n    tests: ["pytest --pyargs cfx_top.tests -q"]\n')
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 0
    row = _rows(out)["py3.12-baseline", "cfx-top:tests"]
    assert (row["status"], row["passed"]) == ("passed", "1")
    junit = (out / "logs" / "py3.12-baseline" / "cfx-top-tests.xml").read_text()
    assert 'classname="test_top" name="test_sides"' in junit  # the test shipped in the wheel


def test_kill_9_then_resume_records_every_cell_exactly_once(eco_manifest: EcoManifest, tmp_path: Path) -> None:
    spans = tmp_path / "spans"
    spans.mkdir()
    # Each run of the suite notes when it ran, per environment: a cell must never run twice at once,
    # not even when a resumed run meets the leftovers of the one that was killed.
    slow = (
        "import os, pathlib, time\n\n"
        "def test_slow():\n"
        "    start = time.time()\n"
        "    time.sleep(2.5)\n"
        f"    with pathlib.Path({str(spans)!r}, os.environ['VIRTUAL_ENV'].replace('/', '_')).open('a') as f:\n"
        "        f.write(f'{start} {time.time()}\\n')\n"
    )
    path = eco_manifest(
        '  cfx-base: ["1.0", "2.0"]\n  cfx-left: ["1.0"]\n',
        suites={"slow": (["cfx-base"], slow)},
        python='["3.11", "3.12"]',
        extra="matrix:\n  strategy: upgrades\n",
    )
    out = path.parent / "out"
    store = path.parent / "reports" / "curator.sqlite"
    argv = [sys.executable, "-m", "curator", "run", str(path), "--out", str(out), "--jobs", "1", "--plain"]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    deadline = time.monotonic() + 120
    recorded = 0
    while time.monotonic() < deadline and recorded < 1:
        time.sleep(0.3)
        if store.exists():
            try:
                recorded = sqlite3.connect(store).execute("SELECT count(*) FROM cells").fetchone()[0]
            except sqlite3.OperationalError:
                recorded = 0
    assert recorded >= 1, "no cell was recorded in time"
    child.send_signal(signal.SIGKILL)
    child.wait()
    db = sqlite3.connect(store)
    run_id, status = db.execute("SELECT id, status FROM runs").fetchone()
    assert status == "running"  # killed: nobody marked it
    before = db.execute("SELECT count(*) FROM cells").fetchone()[0]
    assert 1 <= before < 4
    assert main(["run", str(path), "--resume", run_id, "--plain"]) == 0
    cells = [r[0] for r in db.execute("SELECT cell_id FROM cells WHERE run_id = ? ORDER BY cell_id", (run_id,))]
    assert cells == sorted({"py3.11-baseline", "py3.11-cfx-base@1.0", "py3.12-baseline", "py3.12-cfx-base@1.0"})
    assert db.execute("SELECT status, verdict FROM runs").fetchone() == ("finished", "passed")
    assert len(_rows(out)) == 4
    for record in spans.iterdir():
        runs = sorted(tuple(map(float, line.split())) for line in record.read_text().splitlines())
        for (_, end), (start, _) in itertools.pairwise(runs):
            assert start >= end, f"one cell ran twice at once in {record.name}"


def test_resume_of_an_unknown_run_is_bad_input(eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]) -> None:
    path = eco_manifest('  cfx-base: ["1.0"]\n')
    assert main(["run", str(path), "--resume", "nope"]) == 2
    assert "run 'nope' is not a run in" in capsys.readouterr().err


def test_ctrl_c_stops_cleanly_and_prints_the_resume_command(eco_manifest: EcoManifest, tmp_path: Path) -> None:
    marker = tmp_path / "hold"
    marker.write_text("")
    pids = tmp_path / "pids"
    pids.mkdir()
    hold = (
        "import os, pathlib, time\n\n"
        "def test_hold():\n"
        f"    pathlib.Path({str(pids)!r}, str(os.getpid())).write_text('')\n"
        f"    while pathlib.Path({str(marker)!r}).exists():\n"
        "        time.sleep(0.1)\n"
    )
    path = eco_manifest(
        '  cfx-base: ["1.0", "2.0"]\n', suites={"hold": (["cfx-base"], hold)}, extra="matrix:\n  strategy: upgrades\n"
    )
    out = path.parent / "out"
    argv = [sys.executable, "-m", "curator", "run", str(path), "--out", str(out), "--jobs", "1", "--plain"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(pids.iterdir()):
        time.sleep(0.2)
    (pid_file,) = pids.iterdir()
    child.send_signal(signal.SIGINT)
    output, _ = child.communicate(timeout=60)
    assert child.returncode == 130, output
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    assert f"--resume {run_id}" in output
    assert not _alive(int(pid_file.name))  # the suite's process group was killed with it
    db = sqlite3.connect(path.parent / "reports" / "curator.sqlite")
    assert db.execute("SELECT status FROM runs").fetchone() == ("interrupted",)
    assert db.execute("SELECT count(*) FROM cells").fetchone() == (0,)  # the interrupted cell is not recorded
    marker.unlink()
    assert main(["run", str(path), "--resume", run_id, "--plain"]) == 0
    assert db.execute("SELECT count(*) FROM cells").fetchone() == (2,)
