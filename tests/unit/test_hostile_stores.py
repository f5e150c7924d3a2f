"""Results stores that are damaged, emptied, replaced or foreign: one line and exit 2, never a
traceback, never history silently dropped, never curator's schema added to somebody else's file.
`curator store check` tells a healthy store (0) from a damaged one (1) and from no store (2)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from curator.cli import main
from curator.model.distribution import Strategy
from curator.model.errors import StoreDamaged, StoreLost, UsageError
from curator.model.ids import CellId, PyVersion, RunId, SuiteName
from curator.model.outcome import CellOutcome, Counts, RunKind, RunStatus, Status, SuiteOutcome, TestCase
from curator.model.pins import Pins
from curator.store import file as storefile
from curator.store.db import APPLICATION_ID, SCHEMA_VERSION, CellRecord, RunRecord, Store
from tests.conftest import WriteManifest

MANIFEST = 'distribution: demo\nversion: "1.0"\npython: ["3.11"]\npackages:\n  numpy: ["1.26.4"]\n'


def _record(run_id: str, started: float = 1.0, out_dir: str = "/nowhere/run") -> RunRecord:
    return RunRecord(
        id=RunId(run_id),
        kind=RunKind.RUN,
        distribution="demo",
        version="1.0",
        manifest_path="/nowhere/distribution.yaml",
        manifest_sha256="0",
        strategy=Strategy.BASELINE,
        pythons=(PyVersion("3.11"),),
        out_dir=out_dir,
        started=started,
        status=RunStatus.FINISHED,
        plan='{"strategy": "baseline", "cells": []}',
    )


def _store(path: Path, runs: int = 3) -> Path:
    with Store(path) as store:
        for number in range(runs):
            store.create_run(_record(f"2026112{number}-000000-0000", started=float(number)))
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("curator: error: ")
    return captured.err.strip()


def _corrupt_table(path: Path, table: str) -> None:
    """Overwrite the root page of `table` with bytes that are no b-tree page."""
    db = sqlite3.connect(path)
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\x13" * page_size)


# ----------------------------------------------------------------------- damaged


def test_a_malformed_store_is_one_line_naming_store_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _store(tmp_path / "curator.sqlite")
    _corrupt_table(path, "runs")
    assert main(["report", "20261121", "--store", str(path)]) == 2
    error = _one_line_error(capsys)
    assert f"{path}: the results store is damaged (database disk image is malformed)" in error
    assert f"curator store check --store {path}" in error
    with pytest.raises(StoreDamaged), Store(path) as store:
        store.runs()


def test_store_check_tells_healthy_from_damaged_from_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _store(tmp_path / "curator.sqlite")
    assert main(["store", "check", "--store", str(path)]) == 0
    assert "healthy" in (out := capsys.readouterr().out) and f"schema {SCHEMA_VERSION}, 3 runs, 0 cells" in out
    before = path.read_bytes()
    _corrupt_table(path, "runs")
    damaged = path.read_bytes()
    assert main(["store", "check", "--store", str(path)]) == 1
    out = capsys.readouterr().out
    assert "DAMAGED" in out and "integrity_check:" in out
    assert "to recover:" in out and "--accept-lost-runs" in out
    assert path.read_bytes() == damaged != before  # checked read-only: nothing written
    assert main(["store", "check", "--store", str(path), "--quick", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["healthy"], report["check"]) == (False, "quick_check") and report["problems"]
    assert main(["store", "check", "--store", str(tmp_path / "missing.sqlite")]) == 2
    assert "no results store there" in _one_line_error(capsys)
    assert main(["store", "check", "--store", str(tmp_path)]) == 2
    assert "not a regular file" in _one_line_error(capsys)
    (tmp_path / "text.sqlite").write_text("not a database at all " * 100)
    assert main(["store", "check", "--store", str(tmp_path / "text.sqlite")]) == 2
    assert "not a curator results store" in _one_line_error(capsys)


def test_store_check_finds_a_broken_foreign_key_and_lost_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _store(tmp_path / "curator.sqlite")
    db = sqlite3.connect(path)  # a cell of a run that is not there: written with foreign keys off
    db.execute(
        "INSERT INTO cells VALUES ('ghost', 'py3.11-baseline', '3.11', 'i', '', '', 1, 'P', 'K', 'L', 1.0, NULL,"
        " 'nox', 'log', 1.0, 'local', 1, '')"
    )
    db.execute("DELETE FROM runs WHERE id = '20261122-000000-0000'")
    db.commit()
    db.close()
    assert main(["store", "check", "--store", str(path)]) == 1
    out = capsys.readouterr().out
    assert "foreign_key_check: cells row 1 refers to a runs row that is missing" in out
    assert "records 3 run(s), the latest '20261122-000000-0000'" in out


def test_a_store_whose_header_is_garbage_is_damaged_when_its_marker_says_it_was_one(tmp_path: Path) -> None:
    path = _store(tmp_path / "curator.sqlite")
    with path.open("r+b") as handle:
        handle.write(b"garbage" * 20)
    with pytest.raises(StoreDamaged, match="file is not a database"):
        Store(path)
    storefile.mark_path(path).unlink()  # no marker: nothing says this was ever a store
    with pytest.raises(UsageError, match="not a curator results store"):
        Store(path)


# ----------------------------------------------------------------------- lost history


def test_an_emptied_store_is_refused_not_started_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _store(tmp_path / "curator.sqlite")
    assert json.loads(storefile.mark_path(path).read_text()) == {
        "store": "curator.sqlite",
        "runs": 3,
        "last_run": "20261122-000000-0000",
    }
    path.write_bytes(b"")
    assert main(["report", "20261122", "--store", str(path)]) == 2
    error = _one_line_error(capsys)
    assert "the results store is empty (0 bytes), but curator.sqlite.runs beside it records 3 run(s)" in error
    assert "restore it from a copy" in error and "--accept-lost-runs" in error
    assert path.read_bytes() == b""  # refused before anything was written
    with Store(path, accept_lost_runs=True) as store:  # said on purpose: a new history begins
        assert store.runs() == []
    assert json.loads(storefile.mark_path(path).read_text())["runs"] == 0
    Store(path).close()  # and it is not refused again


def test_a_deleted_store_with_run_folders_beside_it_is_refused(tmp_path: Path) -> None:
    path = _store(tmp_path / "curator.sqlite")
    for number in range(2):
        folder = tmp_path / f"run-{number}"
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({"run_id": f"r{number}", "store": str(path.resolve())}))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "run.json").write_text(json.dumps({"run_id": "x", "store": "/elsewhere/curator.sqlite"}))
    for leftover in tmp_path.glob("curator.sqlite*"):
        leftover.unlink()
    with pytest.raises(StoreLost, match=r"is missing, but 2 run folder\(s\) beside it name it .*\(such as run-0\)"):
        Store(path)
    assert not path.exists()
    Store(tmp_path / "another.sqlite").close()  # folders that name another store are no evidence


def test_a_lost_wal_loses_at_most_the_commit_being_made_and_is_then_noticed(tmp_path: Path) -> None:
    """Every commit is checkpointed: a copy of the store file alone (its -wal lost after a kill)
    holds every run. When a reader kept the last commit in the WAL, the marker tells."""
    path = tmp_path / "curator.sqlite"
    store = Store(path)
    store.create_run(_record("20261120-000000-0000"))
    store.create_run(_record("20261121-000000-0000", started=2.0))
    alone = tmp_path / "alone" / "curator.sqlite"
    alone.parent.mkdir()
    shutil.copyfile(path, alone)  # the store file without its -wal, as a kill -9 and a cleanup leave it
    shutil.copyfile(storefile.mark_path(path), storefile.mark_path(alone))
    with Store(alone) as copy:
        assert [r.id for r in copy.runs()] == ["20261121-000000-0000", "20261120-000000-0000"]

    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM runs").fetchone()  # holds a snapshot: the next commit stays in the WAL
    store.create_run(_record("20261122-000000-0000", started=3.0))
    shutil.copyfile(path, alone)
    shutil.copyfile(storefile.mark_path(path), storefile.mark_path(alone))
    reader.close()
    store.close()
    with pytest.raises(StoreLost, match=r"holds 2 run\(s\), but .* records 3 run\(s\), the latest '20261122"):
        Store(alone)


def test_a_store_replaced_by_an_older_copy_is_noticed(tmp_path: Path) -> None:
    path = _store(tmp_path / "curator.sqlite", runs=1)
    older = tmp_path / "older.sqlite"
    shutil.copyfile(path, older)
    with Store(path) as store:
        store.create_run(_record("20261125-000000-0000", started=5.0))
    shutil.copyfile(older, path)
    with pytest.raises(StoreLost, match="holds 1 run"):
        Store(path)


def test_a_garbage_marker_is_no_evidence(tmp_path: Path) -> None:
    path = tmp_path / "curator.sqlite"
    storefile.mark_path(path).write_text('{"runs": "many"}')
    Store(path).close()
    storefile.mark_path(path).write_bytes(b"\x00" * 100_000)
    with Store(path) as store:
        store.create_run(_record("20261120-000000-0000"))
    assert json.loads(storefile.mark_path(path).read_text())["runs"] == 1  # rewritten when a run is added


# ----------------------------------------------------------------------- foreign files


def _foreign(path: Path, *statements: str, wal: bool = False) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA wal_autocheckpoint=0")
    for statement in statements:
        db.execute(statement)
    return db


@pytest.mark.parametrize(
    ("statements", "wal"),
    [
        pytest.param(("PRAGMA application_id = 1234",), False, id="empty-with-a-foreign-application-id"),
        pytest.param(("CREATE VIEW answers AS SELECT 42 AS answer",), False, id="only-a-view"),
        pytest.param(("PRAGMA user_version = 7",), False, id="empty-with-a-user-version"),
        pytest.param(("CREATE TABLE invoices (id INTEGER)", "INSERT INTO invoices VALUES (1)"), True, id="wal-mode"),
    ],
)
def test_a_foreign_sqlite_file_is_refused_and_left_as_it_was(
    tmp_path: Path, statements: tuple[str, ...], wal: bool
) -> None:
    path = tmp_path / "other.sqlite"
    db = _foreign(path, *statements, wal=wal)  # held open in WAL mode: its table lives in the -wal file only
    if not wal:
        db.close()
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith("-shm")}  # a readers' index
    with pytest.raises(UsageError, match="a SQLite database of something else"):
        Store(path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith("-shm")} == files
    db.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID
    assert "runs" not in {r[0] for r in check.execute("SELECT name FROM sqlite_master")}


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    """What curator itself creates: an empty file (or a SQLite file with nothing in it) is claimed."""
    path = tmp_path / "curator.sqlite"
    path.touch()
    with Store(path) as store:
        store.create_run(_record("20261120-000000-0000"))
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


# ----------------------------------------------------------------------- opened at once


def _open_at_once(path: Path, openers: int, round_: int) -> list[BaseException]:
    """`openers` threads released together, each opening the store at `path` and recording a run."""
    start = threading.Barrier(openers)
    failures: list[BaseException] = []

    def open_and_record(number: int) -> None:
        start.wait()
        try:
            with Store(path) as store:
                store.create_run(_record(f"20261120-00000{number}-{round_:04d}", started=float(number)))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_and_record, args=(n,)) for n in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_curators_opening_a_new_store_at_once_all_get_it_whole(tmp_path: Path) -> None:
    """Found under attack: two `curator run` starting at once on a store that did not exist yet
    raced on its schema, and one stopped with "not a curator results store (table runs already
    exists)". Six at once, many times over: every one opens it and records its run."""
    openers = 6
    for round_ in range(40):
        path = tmp_path / str(round_) / "curator.sqlite"
        assert _open_at_once(path, openers, round_) == [], f"round {round_}"
        with Store(path) as store:  # healthy: every run there, nothing called lost
            assert len(store.runs()) == openers
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_run_another_curator_records_while_this_one_opens_the_store_is_not_taken_for_lost_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other curator commits its run, then rewrites the history marker. Read after the runs
    were counted, that marker would claim one run more than the store was seen to hold."""
    path = _store(tmp_path / "curator.sqlite", runs=1)
    read_mark = storefile.read_mark
    meanwhile: list[str] = []

    def the_other_curator_commits_first(store: Path) -> storefile.History | None:
        if not meanwhile:
            meanwhile.append("20261129-000000-0000")
            with Store(path) as other:
                other.create_run(_record(meanwhile[0], started=9.0))
        return read_mark(store)

    monkeypatch.setattr(storefile, "read_mark", the_other_curator_commits_first)
    with Store(path) as store:
        assert store.runs()[0].id == meanwhile[0]


# ----------------------------------------------------------------------- recover


def _cell_of(run_id: str, number: int) -> CellRecord:
    suite = SuiteOutcome(SuiteName("s"), Status.PASSED, Status.PASSED, "", "", Counts(1, 0, 0, 0), 1.0, 1, "log",
                         (TestCase("t", f"case{number}", "passed"),))  # fmt: skip
    outcome = CellOutcome(CellId(f"py3.11-c@{number}"), (suite,), duration=1.0, lock_key="L", outcome_key=f"k{number}")
    return CellRecord(RunId(run_id), outcome.cell_id, PyVersion("3.11"), "3.11.7 /py", Pins(), Pins(), False, "P",
                      outcome)  # fmt: skip


def test_store_recover_copies_what_can_be_read_and_reopens_runs_that_lost_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "curator.sqlite"
    plan = json.dumps({"strategy": "upgrades", "cells": [
        {"id": f"py3.11-c@{n}", "suites": ["s"]} for n in range(40)
    ]})  # fmt: skip
    with Store(path) as store:
        for run in range(5):
            run_id = f"2026112{run}-000000-0000"
            store.create_run(replace(_record(run_id, started=float(run)), plan=plan))
            for number in range(40):
                store.record_cell(_cell_of(run_id, number))
    db = sqlite3.connect(path)
    try:
        pages = db.execute("SELECT pageno FROM dbstat WHERE name = 'suites' AND pagetype = 'leaf'").fetchall()
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find a page of suites")
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with path.open("r+b") as handle:  # one leaf of suites: the cells whose suites were there lose them
        handle.seek((pages[len(pages) // 2][0] - 1) * page_size)
        handle.write(b"\x13" * page_size)
    assert main(["store", "check", "--store", str(path)]) == 1
    capsys.readouterr()

    new = tmp_path / "recovered.sqlite"
    assert main(["store", "recover", "--store", str(path), "--to", str(new)]) == 0
    out = capsys.readouterr().out
    assert "could not read: suites (rowids in unreadable ranges: " in out
    assert "marked interrupted; `curator run --resume" in out
    assert main(["store", "check", "--store", str(new)]) == 0
    with Store(new) as store:
        runs = store.runs()
        assert len(runs) == 5
        kept = [len(store.cells(r.id)) for r in runs]
        assert 100 < sum(kept) < 200
        for record in runs:  # a cell comes back whole, or not at all; a run that lost cells is unfinished
            assert all(c.outcome.suites and c.outcome.suites[0].cases for c in store.cells(record.id))
            assert (record.status is RunStatus.FINISHED) == (len(store.cells(record.id)) == 40)
    assert main(["store", "recover", "--store", str(path), "--to", str(new)]) == 2
    assert "exists; give the name of a new file" in _one_line_error(capsys)


def test_a_stored_plan_curator_did_not_write_is_one_line(
    tmp_path: Path, write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_manifest(MANIFEST)
    path = tmp_path / "curator.sqlite"
    with Store(path) as store:
        store.create_run(replace(_record("20261125-000000-0000", out_dir=str(tmp_path / "run")), plan='{"cells": []}'))
    assert main(["report", "20261125", "--store", str(path), "--manifest", str(manifest), "--format", "json"]) == 2
    error = _one_line_error(capsys)
    assert "run 20261125-000000-0000: its stored plan is not one curator wrote (plan: no 'strategy')" in error
