"""The results store: SQLite in WAL mode, committed cell by cell.

Runs, cells, suite outcomes and test cases. Each finished cell is one transaction, so a run
killed at any moment loses no finished cell and `--resume` runs only the rest. Outcomes are
found again by their key, so an unchanged cell is never run twice. The schema is versioned
(`PRAGMA user_version`) and migrated forward step by step.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curator.errors import UsageError
from curator.outcome import CellOutcome, Counts, Status, SuiteOutcome, TestCase

SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'run',
        distribution TEXT NOT NULL,
        version TEXT NOT NULL,
        manifest_path TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL,
        strategy TEXT NOT NULL,
        pythons TEXT NOT NULL,
        out_dir TEXT NOT NULL,
        started REAL NOT NULL,
        finished REAL,
        status TEXT NOT NULL,
        verdict TEXT,
        plan TEXT NOT NULL,
        summary TEXT
    );
    CREATE TABLE cells (
        run_id TEXT NOT NULL REFERENCES runs(id),
        cell_id TEXT NOT NULL,
        python TEXT NOT NULL,
        interpreter TEXT NOT NULL,
        pins TEXT NOT NULL,
        changes TEXT NOT NULL,
        baseline INTEGER NOT NULL,
        plan_key TEXT NOT NULL,
        outcome_key TEXT NOT NULL,
        lock_key TEXT NOT NULL,
        duration REAL NOT NULL,
        reused_from TEXT,
        reproduce TEXT NOT NULL,
        log TEXT NOT NULL,
        recorded REAL NOT NULL,
        PRIMARY KEY (run_id, cell_id)
    );
    CREATE INDEX cells_by_outcome_key ON cells(outcome_key);
    CREATE TABLE suites (
        run_id TEXT NOT NULL,
        cell_id TEXT NOT NULL,
        suite TEXT NOT NULL,
        status TEXT NOT NULL,
        raw_status TEXT NOT NULL,
        reason TEXT NOT NULL,
        signature TEXT NOT NULL,
        passed INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        duration REAL NOT NULL,
        attempts INTEGER NOT NULL,
        log TEXT NOT NULL,
        rule TEXT NOT NULL,
        tail TEXT NOT NULL,
        PRIMARY KEY (run_id, cell_id, suite),
        FOREIGN KEY (run_id, cell_id) REFERENCES cells(run_id, cell_id)
    );
    CREATE TABLE testcases (
        run_id TEXT NOT NULL,
        cell_id TEXT NOT NULL,
        suite TEXT NOT NULL,
        classname TEXT NOT NULL,
        name TEXT NOT NULL,
        outcome TEXT NOT NULL,
        duration REAL NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (run_id, cell_id, suite, classname, name)
    );
    """,
}


@dataclass(frozen=True)
class RunRecord:
    """One run as the store knows it."""

    id: str
    distribution: str
    version: str
    manifest_path: str
    manifest_sha256: str
    strategy: str
    pythons: tuple[str, ...]
    out_dir: str
    started: float
    status: str  # running | finished | interrupted
    plan: str  # the plan's JSON, so a resumed run builds exactly the same cells
    finished: float | None = None
    verdict: str | None = None
    summary: str | None = None
    kind: str = "run"


@dataclass(frozen=True)
class CellRecord:
    """A recorded cell: what it was, and how it ended."""

    run_id: str
    cell_id: str
    python: str
    interpreter: str
    pins: str
    changes: str
    baseline: bool
    plan_key: str
    outcome: CellOutcome


class Store:
    """A results store file; use as a context manager or call `close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{path}: not a curator results store ({exc})") from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def _migrate(self) -> None:
        current = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if current > SCHEMA_VERSION:
            raise UsageError(
                f"{self.path}: written by a newer curator (schema {current} > {SCHEMA_VERSION}); upgrade curator"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            # executescript commits whatever is pending first, so each step carries its own transaction
            self.db.executescript(
                f"BEGIN IMMEDIATE;\n{_MIGRATIONS[version]}\nPRAGMA user_version = {version};\nCOMMIT;"
            )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ runs

    def create_run(self, run: RunRecord) -> None:
        """Record that a run started."""
        with self._transaction():
            self.db.execute(
                "INSERT INTO runs (id, kind, distribution, version, manifest_path, manifest_sha256, strategy,"
                " pythons, out_dir, started, status, plan) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run.id,
                    run.kind,
                    run.distribution,
                    run.version,
                    run.manifest_path,
                    run.manifest_sha256,
                    run.strategy,
                    json.dumps(list(run.pythons)),
                    run.out_dir,
                    run.started,
                    run.status,
                    run.plan,
                ),
            )

    def finish_run(self, run_id: str, *, status: str, verdict: str | None, summary: str) -> None:
        """Record how a run ended (finished or interrupted)."""
        with self._transaction():
            self.db.execute(
                "UPDATE runs SET status=?, verdict=?, summary=?, finished=? WHERE id=?",
                (status, verdict, summary, time.time(), run_id),
            )

    def reopen_run(self, run_id: str) -> None:
        """Mark an interrupted run as running again (`--resume`)."""
        with self._transaction():
            self.db.execute("UPDATE runs SET status='running', finished=NULL WHERE id=?", (run_id,))

    def run(self, run_id: str) -> RunRecord:
        """A run by id (or unique id prefix); a `UsageError` if there is none."""
        # a prefix compared as text, not a LIKE pattern: `%` and `_` are characters, not wildcards
        rows = self.db.execute(
            "SELECT * FROM runs WHERE ? != '' AND substr(id, 1, length(?)) = ?", (run_id, run_id, run_id)
        ).fetchall()
        exact = [r for r in rows if r["id"] == run_id]
        if exact:
            rows = exact
        if len(rows) != 1:
            known = ", ".join(r.id for r in self.runs()[:5]) or "none yet"
            problem = "matches several runs" if rows else "is not a run in"
            raise UsageError(f"run {run_id!r} {problem} {self.path} (latest: {known})")
        return _run_record(rows[0])

    def runs(self, kind: str | None = None) -> list[RunRecord]:
        """Every run, newest first."""
        rows = self.db.execute("SELECT * FROM runs WHERE ? IS NULL OR kind = ? ORDER BY started DESC", (kind, kind))
        return [_run_record(r) for r in rows]

    # ------------------------------------------------------------------ cells

    def record_cell(self, run_id: str, record: CellRecord) -> None:
        """Commit one finished cell with its suites and test cases, all or nothing."""
        outcome = record.outcome
        with self._transaction():
            self.db.execute(
                "INSERT INTO cells (run_id, cell_id, python, interpreter, pins, changes, baseline, plan_key,"
                " outcome_key, lock_key, duration, reused_from, reproduce, log, recorded)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    record.cell_id,
                    record.python,
                    record.interpreter,
                    record.pins,
                    record.changes,
                    int(record.baseline),
                    record.plan_key,
                    outcome.outcome_key,
                    outcome.lock_key,
                    outcome.duration,
                    outcome.reused_from,
                    outcome.reproduce,
                    outcome.log,
                    time.time(),
                ),
            )
            for suite in outcome.suites:
                self.db.execute(
                    "INSERT INTO suites VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        record.cell_id,
                        suite.suite,
                        str(suite.status),
                        str(suite.raw_status),
                        suite.reason,
                        suite.signature,
                        suite.counts.passed,
                        suite.counts.failed,
                        suite.counts.errors,
                        suite.counts.skipped,
                        suite.duration,
                        suite.attempts,
                        suite.log,
                        suite.rule,
                        suite.tail,
                    ),
                )
                self.db.executemany(
                    "INSERT OR REPLACE INTO testcases VALUES (?,?,?,?,?,?,?,?)",
                    [
                        (run_id, record.cell_id, suite.suite, c.classname, c.name, c.outcome, c.duration, c.message)
                        for c in suite.cases
                    ],
                )

    def recorded_cell_ids(self, run_id: str) -> set[str]:
        """Cells of a run already committed."""
        return {r[0] for r in self.db.execute("SELECT cell_id FROM cells WHERE run_id = ?", (run_id,))}

    def reusable(self, outcome_key: str, *, exclude_run: str) -> CellRecord | None:
        """The newest recorded cell (of another run) with this outcome key, if any."""
        row = self.db.execute(
            "SELECT * FROM cells WHERE outcome_key = ? AND run_id != ? AND outcome_key != ''"
            " ORDER BY recorded DESC LIMIT 1",
            (outcome_key, exclude_run),
        ).fetchone()
        return self._cell_record(row) if row is not None else None

    def cells(self, run_id: str) -> list[CellRecord]:
        """Every recorded cell of a run, in the order they were recorded."""
        rows = self.db.execute("SELECT * FROM cells WHERE run_id = ? ORDER BY recorded, cell_id", (run_id,))
        return [self._cell_record(row) for row in rows.fetchall()]

    def first_seen(self, signatures: Sequence[str], *, distribution: str, before: float) -> dict[str, tuple[str, int]]:
        """For each failure signature: the earliest earlier run of `distribution` (started before
        `before`) in which an outcome that did not pass carried it, and in how many runs it did."""
        found: dict[str, tuple[str, int]] = {}
        rows = self.db.execute(
            "SELECT s.signature, s.run_id, min(r.started) AS first, count(DISTINCT s.run_id) AS runs"
            " FROM suites s JOIN runs r ON r.id = s.run_id"
            " WHERE s.signature IN (SELECT value FROM json_each(?)) AND r.distribution = ? AND r.started < ?"
            " AND s.status NOT IN ('passed', 'skipped') GROUP BY s.signature",
            (json.dumps([s for s in signatures if s]), distribution, before),
        )
        for row in rows:
            found[row["signature"]] = (row["run_id"], int(row["runs"]))  # run_id: that of min(started)
        return found

    def _cell_record(self, row: sqlite3.Row) -> CellRecord:
        suites = self.db.execute(
            "SELECT * FROM suites WHERE run_id = ? AND cell_id = ? ORDER BY rowid", (row["run_id"], row["cell_id"])
        ).fetchall()
        cases: dict[str, list[TestCase]] = {}
        for case in self.db.execute(
            "SELECT * FROM testcases WHERE run_id = ? AND cell_id = ? ORDER BY rowid", (row["run_id"], row["cell_id"])
        ):
            cases.setdefault(case["suite"], []).append(
                TestCase(case["classname"], case["name"], case["outcome"], case["duration"], case["message"])
            )
        outcome = CellOutcome(
            row["cell_id"],
            tuple(_suite_outcome(s, cases.get(s["suite"], [])) for s in suites),
            duration=row["duration"],
            lock_key=row["lock_key"],
            outcome_key=row["outcome_key"],
            reused_from=row["reused_from"],
            log=row["log"],
            reproduce=row["reproduce"],
        )
        return CellRecord(
            row["run_id"],
            row["cell_id"],
            row["python"],
            row["interpreter"],
            row["pins"],
            row["changes"],
            bool(row["baseline"]),
            row["plan_key"],
            outcome,
        )


def _suite_outcome(row: sqlite3.Row, cases: Sequence[TestCase]) -> SuiteOutcome:
    return SuiteOutcome(
        suite=row["suite"],
        status=Status(row["status"]),
        raw_status=Status(row["raw_status"]),
        reason=row["reason"],
        signature=row["signature"],
        counts=Counts(row["passed"], row["failed"], row["errors"], row["skipped"]),
        duration=row["duration"],
        attempts=row["attempts"],
        log=row["log"],
        cases=tuple(cases),
        rule=row["rule"],
        tail=row["tail"],
    )


def _run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        distribution=row["distribution"],
        version=row["version"],
        manifest_path=row["manifest_path"],
        manifest_sha256=row["manifest_sha256"],
        strategy=row["strategy"],
        pythons=tuple(json.loads(row["pythons"])),
        out_dir=row["out_dir"],
        started=row["started"],
        status=row["status"],
        plan=row["plan"],
        finished=row["finished"],
        verdict=row["verdict"],
        summary=row["summary"],
        kind=row["kind"],
    )
