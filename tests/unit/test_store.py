"""The results store: round trips, reuse by key, resume bookkeeping, schema versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from curator.errors import UsageError
from curator.outcome import CellOutcome, Counts, Status, SuiteOutcome, TestCase
from curator.store import SCHEMA_VERSION, CellRecord, RunRecord, Store


def _run(run_id: str, started: float = 1.0) -> RunRecord:
    return RunRecord(
        id=run_id,
        distribution="d",
        version="1",
        manifest_path="/m/distribution.yaml",
        manifest_sha256="abc",
        strategy="pairs",
        pythons=("3.12",),
        out_dir="/tmp/out",
        started=started,
        status="running",
        plan='{"cells": []}',
    )


def _cell(run_id: str, cell_id: str = "py3.12-baseline", key: str = "k1") -> CellRecord:
    suite = SuiteOutcome(
        "pn",
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
        cell_id, (suite,), duration=3.0, lock_key="L", outcome_key=key, log="logs/c/cell.log", reproduce="nox -f x -s c"
    )
    return CellRecord(run_id, cell_id, "3.12", "3.12.1 /py", "a==1", "{}", True, "P", outcome)


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("r1"))
        store.record_cell("r1", _cell("r1"))
        (record,) = store.cells("r1")
    assert record.outcome == _cell("r1").outcome
    assert record.baseline is True
    assert store_mode(tmp_path / "s.sqlite") == "wal"


def store_mode(path: Path) -> str:
    return str(sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0])


def test_a_cell_is_recorded_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("r1"))
        store.record_cell("r1", _cell("r1"))
        with pytest.raises(sqlite3.IntegrityError):
            store.record_cell("r1", _cell("r1"))
        assert store.recorded_cell_ids("r1") == {"py3.12-baseline"}
        assert len(store.cells("r1")) == 1  # the failed second write left nothing half-done


def test_reuse_finds_the_newest_outcome_of_another_run(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("r1"))
        store.record_cell("r1", _cell("r1", key="same"))
        store.create_run(_run("r2", started=2.0))
        assert store.reusable("same", exclude_run="r2") is not None
        assert store.reusable("same", exclude_run="r1") is None
        assert store.reusable("other", exclude_run="r2") is None


def test_runs_by_prefix_and_finish(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(_run("20261123-1"))
        store.create_run(_run("20261124-1", started=5.0))
        assert [r.id for r in store.runs()] == ["20261124-1", "20261123-1"]
        assert store.run("20261123").id == "20261123-1"
        with pytest.raises(UsageError, match="matches several runs"):
            store.run("2026")
        store.finish_run("20261123-1", status="finished", verdict="passed", summary="{}")
        assert store.run("20261123-1").verdict == "passed"


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
