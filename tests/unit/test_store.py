"""The results store: round trips, reuse by key, resume bookkeeping, schema versions."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from curator.model import codec
from curator.model.distribution import Strategy
from curator.model.errors import UsageError
from curator.model.ids import CellId, PyVersion, RunId, SuiteName
from curator.model.outcome import CellOutcome, Counts, RunKind, RunStatus, Status, SuiteOutcome, TestCase, Verdict
from curator.model.pins import Pins
from curator.store.db import _MIGRATIONS, SCHEMA_VERSION, TABLES, CellRecord, LockRow, RunRecord, Store


def _run(run_id: str, started: float = 1.0) -> RunRecord:
    return RunRecord(
        id=RunId(run_id),
        kind=RunKind.RUN,
        distribution="d",
        version="1",
        manifest_path="/m/distribution.yaml",
        manifest_sha256="abc",
        strategy=Strategy.PAIRS,
        pythons=(PyVersion("3.12"),),
        out_dir="/tmp/out",
        started=started,
        status=RunStatus.RUNNING,
        plan='{"strategy": "baseline", "cells": []}',
    )


def _cell(run_id: str, cell_id: str = "py3.12-baseline", key: str = "k1") -> CellRecord:
    suite = SuiteOutcome(
        SuiteName("pn"),
        Status.EXPECTED_FAIL,
        Status.FAILED,
        "expected: r",
        "ValueError: x",
        Counts(1, 1, 0, 0),
        1.5,
        2,
        "logs/c/pn.log",
        (TestCase("t", "a", "passed"), TestCase("t", "b", "failed", 0.1, "boom")),
        "pandas<2: r",
        "tail",
    )
    outcome = CellOutcome(
        CellId(cell_id),
        (suite,),
        duration=3.0,
        lock_key="L",
        outcome_key=key,
        log="logs/c/cell.log",
        reproduce="nox -f x -s c",
    )
    return CellRecord(
        RunId(run_id),
        CellId(cell_id),
        PyVersion("3.12"),
        "3.12.1 /py",
        Pins.parse("a==1 b-c==2.0rc1"),
        Pins(),
        True,
        "P",
        outcome,
    )


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("r1"))
        store.record_cell(_cell("r1"), lock=LockRow("L", PyVersion("3.12"), "a==1 \\\n    --hash=sha256:00\n"))
        (record,) = store.cells(RunId("r1"))
        assert store.run("r1") == _run("r1")
        stored = store.lock("L")
        assert stored is not None and stored.text.startswith("a==1")
    assert record == _cell("r1")
    assert str(record.pins) == "a==1 b-c==2.0rc1"
    assert store_mode(tmp_path / "s.sqlite") == "wal"


def test_every_table_matches_its_column_spec(tmp_path: Path) -> None:
    """The migrations and the row shapes agree: adding a field to a shape needs a migration."""
    with Store(tmp_path / "s.sqlite") as store:
        for table, shape in TABLES.items():
            assert codec.schema_problems(store.declared(table), shape) == [], table


def test_a_store_of_the_first_schema_is_migrated_with_its_pins(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    from curator.store.db import _MIGRATIONS

    db.executescript(_MIGRATIONS[1] + "\nPRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO runs (id, distribution, version, manifest_path, manifest_sha256, strategy, pythons, out_dir,"
        " started, status, plan)"
        " VALUES ('r0', 'd', '1', '/m', 'abc', 'pairs', '[\"3.12\"]', '/o', 1.0, 'finished', '{}')"
    )
    db.execute(
        "INSERT INTO cells VALUES ('r0', 'py3.12-b@2.0', '3.12', '3.12.1 /py', 'a==1 b==2.0',"
        " '{\"b\": \"2.0\", \"a\": \"1\"}', 0, 'P', 'K', 'L', 1.0, NULL, 'nox', 'log', 1.0)"
    )
    db.commit()
    db.close()
    with Store(path) as store:
        (record,) = store.cells(RunId("r0"))
    assert record.changes == Pins({"a": "1", "b": "2.0"}) and str(record.changes) == "a==1 b==2.0"


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(UsageError, match="not a curator results store"):
        Store(path)
    assert sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]


def store_mode(path: Path) -> str:
    return str(sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0])


def test_a_cell_is_recorded_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("r1"))
        assert store.record_cell(_cell("r1"))
        # the same outcome again (a dask task run twice after a worker died): ignored
        assert not store.record_cell(_cell("r1"))
        # another outcome for a recorded cell: refused, never an overwrite
        with pytest.raises(sqlite3.IntegrityError):
            store.record_cell(_cell("r1", key="other"))
        assert store.recorded_cell_ids(RunId("r1")) == {"py3.12-baseline"}
        (cell,) = store.cells(RunId("r1"))  # the failed write left nothing half-done
        assert cell.outcome.outcome_key == "k1"


def test_where_a_cell_ran_and_on_which_executor_are_kept(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("r1"))
        record = _cell("r1")
        store.record_cell(replace(record, outcome=replace(record.outcome, worker="tcp://10.0.0.7:40211")))
        assert store.cells(RunId("r1"))[0].outcome.worker == "tcp://10.0.0.7:40211"
        assert store.run("r1").executor == '{"kind": "local"}'
        store.reopen_run(RunId("r1"), executor='{"kind": "dask", "scheduler": "tcp://h:8786"}')
        assert store.run("r1").executor == '{"kind": "dask", "scheduler": "tcp://h:8786"}'


def test_a_store_of_schema_2_gains_the_worker_and_executor_columns(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    db = sqlite3.connect(path)
    for version in (1, 2):
        db.executescript(_MIGRATIONS[version])
    db.execute("PRAGMA user_version = 2")
    db.execute(
        "INSERT INTO cells VALUES ('r', 'c', '3.12', 'i', '', '', 1, 'p', 'o', 'l', 1.0, NULL, 'nox', 'log', 1.0)"
    )
    db.commit()
    db.close()
    with Store(path) as store:
        row = store.db.execute("SELECT worker FROM cells").fetchone()
        assert row[0] == "local"  # cells recorded before executors were recorded ran here


def test_reuse_finds_the_newest_outcome_of_another_run(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("r1"))
        store.record_cell(_cell("r1", key="same"))
        store.create_run(_run("r2", started=2.0))
        assert store.reusable("same", exclude_run=RunId("r2")) is not None
        assert store.reusable("same", exclude_run=RunId("r1")) is None
        assert store.reusable("other", exclude_run=RunId("r2")) is None


def test_runs_by_prefix_and_finish(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("20261123-1"))
        store.create_run(_run("20261124-1", started=5.0))
        assert [r.id for r in store.runs()] == ["20261124-1", "20261123-1"]
        assert store.run("20261123").id == "20261123-1"
        with pytest.raises(UsageError, match="matches several runs"):
            store.run("2026")
        store.finish_run(
            RunId("20261123-1"), status=RunStatus.FINISHED, verdict=Verdict.PASSED, summary="{}", finished=9
        )
        record = store.run("20261123-1")
        assert (record.status, record.verdict, record.finished) == (RunStatus.FINISHED, Verdict.PASSED, 9)


def test_schema_is_versioned_and_a_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(UsageError, match="written by a newer curator"):
        Store(path)


def test_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_text("hello, I am not a database" * 100)
    with pytest.raises(UsageError, match="not a curator results store"):
        Store(path)
