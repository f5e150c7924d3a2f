"""Run folders a person could edit, read by `curator report`, `diff` and `release`: a bad run.json,
cells.csv or lock is one line and exit 2 — never a traceback, a hang, or a read outside the folder."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from curator.cli import main
from curator.model import codec
from curator.model.ids import CellId, PyVersion, SuiteName
from curator.model.outcome import Counts, Status, SuiteOutcome
from curator.model.pins import Pins
from curator.release import contents
from curator.results import rows as results
from curator.results.rows import ResultRow
from curator.store.db import Store
from tests.conftest import WriteManifest

MANIFEST = 'distribution: demo\nversion: "1.0"\npython: ["3.11"]\npackages:\n  numpy: ["1.26.4"]\n'


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("curator: error: ") and len(captured.err) < 400
    return captured.err.strip()


@pytest.fixture
def opened_later() -> Iterator[Callable[[Path], None]]:
    """A FIFO's other end, opened after 10 s and again every 0.1 s after that: a read that blocks
    fails the test instead of hanging it."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def arm(fifo: Path) -> None:
        def release() -> None:
            if stop.wait(10):
                return
            while not stop.wait(0.1):
                with contextlib.suppress(OSError):  # no reader waiting
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

        thread = threading.Thread(target=release, daemon=True)
        thread.start()
        threads.append(thread)

    yield arm
    stop.set()
    for thread in threads:
        thread.join()


def _fifo(path: Path, arm: Callable[[Path], None]) -> None:
    os.mkfifo(path)
    arm(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("[1, 2]", "run.json: not a run.json curator wrote (not a JSON object)", id="a-list"),
        pytest.param('{"run_id": 5}', "(run_id int is not a run id)", id="run-id-a-number"),
        pytest.param('{"run_id": "a\\nb"}', "(run_id 'a\\nb' is not a run id)", id="run-id-a-newline"),
        pytest.param('{"run_id": ""}', "(run_id '' is not a run id)", id="run-id-empty"),
        pytest.param('{"run_id": "' + "r" * 5000 + '"}', "… (5,000 characters) is not a run id)", id="run-id-long"),
        pytest.param('{"run_id": "r1", "store": ["x"]}', "(store is not a path)", id="store-a-list"),
        pytest.param('{"run_id": "r1", "store": "a\\u0000b"}', "(store is not a path)", id="store-with-a-nul"),
        pytest.param("{" * 100_000, "run.json: not a run.json curator wrote (not JSON)", id="nested-100000-deep"),
        pytest.param("\udcff", "run.json: not a run.json curator wrote (not JSON)", id="not-utf-8"),
    ],
)
def test_a_bad_run_json_is_one_line(
    tmp_path: Path, write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    manifest = write_manifest(MANIFEST)
    store = tmp_path / "curator.sqlite"
    Store(store).close()
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    for argv in (["report", str(folder)], ["release", str(manifest), "--run", str(folder), "--unsigned"]):
        assert main([*argv, "--store", str(store)]) == 2
        assert message in _one_line_error(capsys)


def test_a_run_json_that_is_huge_or_a_fifo_is_not_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    opened_later: Callable[[Path], None],
) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    monkeypatch.setattr(results, "RUN_JSON_LIMIT", 1024)
    (folder / "run.json").write_text(json.dumps({"run_id": "r1", "pad": "x" * 2000}))
    assert main(["report", str(folder)]) == 2
    assert "run.json: larger than 1 KiB" in _one_line_error(capsys)
    (folder / "run.json").unlink()
    _fifo(folder / "run.json", opened_later)
    assert main(["report", str(folder)]) == 2
    assert "run.json: not a regular file (it is a FIFO)" in _one_line_error(capsys)


def _cells_csv(folder: Path, lock: str) -> None:
    outcome = SuiteOutcome(
        SuiteName("s"),
        Status.PASSED,
        Status.PASSED,
        counts=Counts(passed=1),
        duration=1.0,
        attempts=1,
        log="logs/x.log",
    )
    row = ResultRow(
        cell=CellId("py3.12-baseline"), python=PyVersion("3.12"), pins=Pins.parse("a==1"), outcome=outcome,
        baseline=True, changes=Pins(), reused_from="", reproduce="nox", lock=lock, outcome_key="k",
    )  # fmt: skip
    folder.mkdir(exist_ok=True)
    (folder / "cells.csv").write_text(codec.write_csv(ResultRow, [row]))


def test_diff_reads_no_lock_outside_the_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("a==1\n")
    good = tmp_path / "good"
    _cells_csv(good, "locks/py3.12-baseline.txt")
    (good / "locks").mkdir()
    (good / "locks" / "py3.12-baseline.txt").write_text("a==1 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    for lock in ("../secret.txt", str(secret)):
        _cells_csv(tmp_path / "edited", lock)
        assert main(["diff", str(good), str(tmp_path / "edited")]) == 2
        assert f"cells.csv: lock {lock!r} of py3.12-baseline lies outside the run folder" in _one_line_error(capsys)
    assert main(["diff", str(good), str(good)]) == 0


def test_diff_does_not_hang_on_a_fifo_or_read_a_huge_cells_csv(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    opened_later: Callable[[Path], None],
) -> None:
    fifo_lock = tmp_path / "fifo-lock"
    _cells_csv(fifo_lock, "locks/py3.12-baseline.txt")
    (fifo_lock / "locks").mkdir()
    _fifo(fifo_lock / "locks" / "py3.12-baseline.txt", opened_later)
    assert main(["diff", str(fifo_lock), str(fifo_lock)]) == 2
    assert "py3.12-baseline.txt: not a regular file (it is a FIFO)" in _one_line_error(capsys)
    fifo_csv = tmp_path / "fifo-csv"
    fifo_csv.mkdir()
    _fifo(fifo_csv / "cells.csv", opened_later)
    assert main(["diff", str(fifo_csv), str(fifo_csv)]) == 2
    assert "cells.csv: not a regular file (it is a FIFO)" in _one_line_error(capsys)
    huge = tmp_path / "huge"
    _cells_csv(huge, "")
    monkeypatch.setattr(contents, "MAX_READ_BYTES", 100)
    from curator.release import diff

    monkeypatch.setattr(diff, "MAX_READ_BYTES", 100)
    assert main(["diff", str(huge), str(huge)]) == 2
    assert "cells.csv: larger than 100 bytes" in _one_line_error(capsys)
