"""Suites that attack the machine around them (issue 19, found under attack): a suite that deletes
its run folder, one that fills the temporary folder, one that prints without end. Real runs: real
uv, real nox, real pytest; each test failed against the code before."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from curator.cli import main
from curator.execute.cell import HARNESS_LOST, TMP_PREFIX
from curator.execute.harness import protocol
from curator.host.layout import RunLayout
from tests.integration.conftest import EcoManifest

DESTROY = """
import os, pathlib, shutil

import cfx_base


def test_clean_up():
    if cfx_base.VERSION != "2.0":
        return
    print("before the run folder goes", flush=True)
    shutil.rmtree(pathlib.Path(os.environ["CURATOR_CELL_OUT"]).parents[1])
    raise AssertionError("after the run folder went")  # a failure, to show what it printed
"""


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "cells.csv").open(newline="") as handle:
        return {row["cell"]: row for row in csv.DictReader(handle)}


def test_a_suite_that_deletes_its_run_folder_is_an_error_and_the_run_folder_is_written_again(
    eco_manifest: EcoManifest,
) -> None:
    """Before: `install-error` ("the environment could not be built"), its log gone, and a reproduce
    command naming a deleted noxfile. The suite destroyed its harness: an `error` saying so; what it
    printed is kept; every cell's reproduce command works; the cell after it runs as usual."""
    path = eco_manifest(
        '  cfx-base: ["1.0", "2.0"]\n',
        suites={"destroy": (["cfx-base"], DESTROY)},
        extra="matrix:\n  strategy: upgrades\n",
    )
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--jobs", "1", "--plain"]) == 1
    rows = _rows(out)
    destroyer, other = rows["py3.12-baseline"], rows["py3.12-cfx-base@1.0"]
    assert destroyer["status"] == "error", destroyer
    assert destroyer["signature"] == HARNESS_LOST
    assert f"the run folder {out} was removed while the cell ran" in destroyer["reason"]
    assert other["status"] == "passed", other  # it ran after the run folder was written again

    kept = (out / destroyer["log"]).read_text()
    assert "before the run folder goes" in kept and "after the run folder went" in kept
    assert (out / destroyer["log"]).name == "destroy.log"
    nox_said = (out / "logs" / "py3.12-baseline" / "cell.log").read_text()  # written again from curator's handle
    assert "nox > Running session py3.12-baseline" in nox_said

    layout = RunLayout(out)
    listed = json.loads(layout.nox_cells.read_text())["cells"]
    assert sorted(listed) == sorted(rows)
    for cell, row in rows.items():
        assert row["reproduce"] == f"nox -f {layout.noxfile} -s {cell}"
        assert (out / row["lock"]).read_text().startswith(f"# curator lock for cell {cell} of eco 1.0")
    sessions = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(layout.noxfile), "--list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert sessions.returncode == 0, sessions.stderr
    assert "py3.12-baseline" in sessions.stdout and "py3.12-cfx-base@1.0" in sessions.stdout


BIG_TEMPORARY_FILES = """
import json, os, pathlib, tempfile


def test_leave_big_files_behind():
    with tempfile.NamedTemporaryFile(prefix="curator-test-left-", delete=False) as handle:
        for _ in range(64):
            handle.write(os.urandom(1024 * 1024))
    folder = tempfile.mkdtemp(prefix="curator-test-left-")
    pathlib.Path(folder, "inner").mkdir()
    pathlib.Path(folder, "inner", "data").write_bytes(b"x" * 1024)
    os.chmod(pathlib.Path(folder, "inner"), 0o500)  # read-only: removed all the same
    seen = {{name: os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")}}
    seen["gettempdir"] = tempfile.gettempdir()
    seen["file"] = handle.name
    pathlib.Path({record!r}).write_text(json.dumps(seen))
"""


def test_a_suite_that_fills_the_temporary_folder_leaves_nothing_in_the_machines(
    eco_manifest: EcoManifest, tmp_path: Path
) -> None:
    """Before: cells shared the machine's temporary folder, and a suite left 1 GB there. Each cell
    has its own (TMPDIR, TEMP, TMP for nox, uv and the suites), removed with all in it after the cell."""
    machine = Path(tempfile.gettempdir())
    record = tmp_path / "seen.json"
    path = eco_manifest(
        '  cfx-base: ["1.0"]\n',
        suites={"fill": (["cfx-base"], BIG_TEMPORARY_FILES.format(record=str(record)))},
        extra="matrix:\n  strategy: baseline\n",
    )
    before = {p.name for p in machine.iterdir()}
    assert main(["run", str(path), "--out", str(path.parent / "out"), "--plain"]) == 0
    seen = json.loads(record.read_text())
    cell_tmp = Path(seen["gettempdir"])
    assert seen["TMPDIR"] == seen["TEMP"] == seen["TMP"] == str(cell_tmp)
    assert cell_tmp.parent == machine and cell_tmp.name.startswith(TMP_PREFIX)
    assert Path(seen["file"]).parent == cell_tmp
    assert not cell_tmp.exists()  # removed after the cell, with the 64 MB file in it
    left = {p.name for p in machine.iterdir()} - before  # other programs' files may come and go meanwhile
    assert not [name for name in left if name.startswith("curator-test-left-")], left


PRINT_LOTS = """
import sys

out = sys.stdout.buffer
out.write(b"HEAD-MARKER the first line\\n")
line = b"x" * 1023 + b"\\n"
for _ in range({lines}):
    out.write(line)
out.write(b"TAIL-MARKER the last line\\n")
sys.exit(1)
"""


def test_a_suite_printing_far_beyond_the_bound_leaves_logs_under_it_with_head_and_tail(
    eco_manifest: EcoManifest, tmp_path: Path
) -> None:
    """Before: a suite's output was stored twice (its log and the cell's log) and whole: 200 MB
    printed, 400 MB of logs. Now once, as its head and its tail, with the size said where it was cut."""
    lines = 6 * (protocol.LOG_HEAD + protocol.LOG_TAIL) // 1024  # 30 MiB
    script = tmp_path / "print_lots.py"
    script.write_text(PRINT_LOTS.format(lines=lines))
    path = eco_manifest(
        f'  cfx-base: {{versions: ["1.0"], tests: ["python {script}"]}}\n',
        extra="matrix:\n  strategy: baseline\npolicy:\n  retries: 0\n",
    )
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1
    (row,) = _rows(out).values()
    assert row["status"] == "failed" and row["log"].endswith("cfx-base-tests.log")
    log = out / row["log"]
    data = log.read_bytes()
    assert len(data) <= protocol.LOG_HEAD + protocol.LOG_TAIL + 1024, len(data)
    assert data.startswith(b"HEAD-MARKER the first line\n")
    assert data.endswith(b"TAIL-MARKER the last line\n")
    printed = len(b"HEAD-MARKER the first line\n") + lines * 1024 + len(b"TAIL-MARKER the last line\n")
    (notice,) = [line for line in data.decode().splitlines() if "cut here" in line]
    assert f"[curator: the output was {protocol.size(printed)};" in notice, notice
    cut = printed - (len(data) - len(f"\n{notice}\n".encode()))  # what of the suite's output is not in the log
    assert notice.startswith(f"… {protocol.size(cut)} cut here …"), notice
    cell_folder = log.parent
    every_log = sum(p.stat().st_size for p in cell_folder.iterdir())
    assert every_log <= len(data) + 64 * 1024, sorted((p.name, p.stat().st_size) for p in cell_folder.iterdir())
