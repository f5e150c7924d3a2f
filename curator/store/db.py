"""The results store: SQLite in WAL mode, committed cell by cell.

Runs, cells, suite outcomes and test cases. Each finished cell is one transaction, so a run
killed at any moment loses no finished cell and `--resume` runs only the rest. Outcomes are
found again by their key, so an unchanged cell is never run twice. The schema is versioned
(`PRAGMA user_version`) and migrated forward step by step.

Every commit is checkpointed into the store file, so a `-wal` file lost after a kill loses at most
the commit being made; a history marker beside the store (`storefile`) makes a store that lost
runs anyway — emptied, replaced, its WAL deleted — refused rather than silently started over,
and SQLite's word that a file is damaged becomes one line pointing at `curator store check`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from curator.model import codec
from curator.model.distribution import Strategy
from curator.model.errors import StoreDamaged, StoreLost, UsageError
from curator.model.ids import ANY_PLATFORM, CellId, Platform, PyVersion, RunId, SuiteName
from curator.model.outcome import CellOutcome, NightPlan, RunKind, RunStatus, Status, SuiteOutcome, TestCase, Verdict
from curator.model.pins import Pins
from curator.store import file as storefile

SCHEMA_VERSION = 5
APPLICATION_ID = 0x63757261  # "cura": marks a SQLite file as a curator results store
LOCAL_EXECUTOR = '{"kind": "local"}'  # what runs recorded before executors were recorded ran on
_BUSY_TIMEOUT = 30.0  # seconds a store another process is writing is waited for
_SQLITE_BUSY = 5

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
    2: """
    UPDATE cells SET changes = coalesce(
        (SELECT group_concat(key || '==' || value, ' ')
         FROM (SELECT key, value FROM json_each(cells.changes) ORDER BY key)),
        '');
    CREATE TABLE locks (
        key TEXT PRIMARY KEY,
        python TEXT NOT NULL,
        text TEXT NOT NULL
    );
    """,
    3: """
    CREATE TABLE nightlies (
        run_id TEXT PRIMARY KEY REFERENCES runs(id),
        as_of TEXT NOT NULL,
        verdict TEXT NOT NULL,
        document TEXT NOT NULL
    );
    """,
    4: """
    ALTER TABLE cells ADD COLUMN worker TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE runs ADD COLUMN executor TEXT NOT NULL DEFAULT '{"kind": "local"}';
    """,
    5: """
    ALTER TABLE cells ADD COLUMN tested INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE cells ADD COLUMN platform TEXT NOT NULL DEFAULT '';
    """,
}


@dataclass(frozen=True)
class RunRecord:
    """One run as the store knows it (a row of `runs`)."""

    id: RunId
    kind: RunKind
    distribution: str
    version: str
    manifest_path: str
    manifest_sha256: str
    strategy: Strategy | NightPlan  # what planned its cells
    pythons: tuple[PyVersion, ...]
    out_dir: str
    started: float
    status: RunStatus
    plan: str  # the plan's JSON, so a resumed run builds exactly the same cells
    finished: float | None = None
    verdict: Verdict | None = None
    summary: str | None = None
    executor: str = LOCAL_EXECUTOR  # JSON: where the cells ran, `{"kind": "local", "jobs": 2}` (run.json)


@dataclass(frozen=True)
class CellRecord:
    """A recorded cell: what it was, and how it ended."""

    run_id: RunId
    cell_id: CellId
    python: PyVersion
    interpreter: str  # `3.12.1 /abs/path/python3.12`
    pins: Pins
    changes: Pins
    baseline: bool
    plan_key: str
    outcome: CellOutcome
    platform: Platform = ANY_PLATFORM  # the uv target it was planned for ("": the manifest names none)


@dataclass(frozen=True)
class PastOutcome:
    """One suite outcome of an earlier run: as much as a package's history in a report needs."""

    cell_id: CellId
    python: PyVersion
    baseline: bool
    changes: Pins
    pins: Pins  # a baseline cell's pins (the release it tested); empty for every other cell
    suite: SuiteName
    status: Status


# Row shapes of the tables (see `curator.model.codec`): one definition each, from which the INSERTs
# and readers follow; the outcomes are flattened into their columns, so a field added to an
# outcome is a column here (plus a migration). A test checks them against the migrated schema.


@dataclass(frozen=True)
class CellRow:
    """A row of `cells`: the cell record (its outcome flattened; suites are rows of their own)."""

    record: CellRecord
    recorded: float  # when it was committed


@dataclass(frozen=True)
class SuiteRow:
    """A row of `suites`: one suite outcome (its test cases are rows of their own)."""

    run_id: RunId
    cell_id: CellId
    outcome: SuiteOutcome


@dataclass(frozen=True)
class CaseRow:
    """A row of `testcases`."""

    run_id: RunId
    cell_id: CellId
    suite: SuiteName
    case: TestCase


@dataclass(frozen=True)
class LockRow:
    """A row of `locks`: a cell's lock, as resolved, under its content key."""

    key: str
    python: PyVersion
    text: str


@dataclass(frozen=True)
class NightlyRow:
    """A row of `nightlies`: a nightly's classification (its nightly.json) as of its upstream time."""

    run_id: RunId
    as_of: str  # RFC 3339, UTC
    verdict: Verdict
    document: str  # nightly.json (docs/nightly.md)


def statements(script: str) -> list[str]:
    """The SQL statements of a migration script, one by one (`executescript` would commit the
    transaction they must run in)."""
    found: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"an incomplete statement in a migration: {pending.strip()[:60]!r}")
    return found


TABLES: dict[str, type] = {
    "runs": RunRecord,
    "cells": CellRow,
    "suites": SuiteRow,
    "testcases": CaseRow,
    "locks": LockRow,
    "nightlies": NightlyRow,
}
"""Each table and the row shape that specifies its codec."""


class Store:
    """A results store file; use as a context manager or call `close()`."""

    def __init__(self, path: Path, *, accept_lost_runs: bool = False) -> None:
        """Open (or create) the store at `path`. A store that lost runs its history marker (or the
        run folders beside it) remember is refused (`StoreLost`) unless `accept_lost_runs`."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        size = path.stat().st_size if path.is_file() else None
        if not size and not accept_lost_runs:  # missing or empty: decide before anything is written
            self._refuse_lost(0, lambda _: False, size)
        try:
            self.db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise UsageError(f"{path}: cannot open the results store ({exc})") from None
        try:
            self.db.row_factory = sqlite3.Row
            with self._transaction(checkpoint=False):
                self._claim()
            self._wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            with self._transaction(checkpoint=False):
                self._migrate()
            if size and not accept_lost_runs:
                mark = storefile.read_mark(path)  # before counting: a marker is written after its run's commit
                self._refuse_lost(self._history().runs, self._holds, size, mark=mark)
            if accept_lost_runs:
                self._mark()
        except BaseException as exc:
            self.db.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise self._translate(exc, size) from None
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        self.close()
        if isinstance(exc, sqlite3.DatabaseError) and storefile.damaged(exc):
            raise StoreDamaged(storefile.damage_message(self.path, exc)) from None

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def _translate(self, exc: sqlite3.DatabaseError, size: int | None) -> UsageError:
        """A SQLite error met while opening: damage (a malformed page; or a header that is not
        SQLite's where a marker says a store was), else not a results store."""
        corrupt = storefile.damaged(exc) and exc.sqlite_errorcode & 0xFF == storefile.SQLITE_CORRUPT
        if corrupt or (storefile.damaged(exc) and size and storefile.read_mark(self.path) is not None):
            return StoreDamaged(storefile.damage_message(self.path, exc))
        return UsageError(f"{self.path}: not a curator results store ({exc})")

    def _claim(self) -> None:
        """Refuse a SQLite file that belongs to something else; mark a new (or older) store as ours.
        Called inside a write transaction, so a process creating the same store at once is seen
        either not yet started or done, never halfway."""
        application = int(self.db.execute("PRAGMA application_id").fetchone()[0])
        if application == APPLICATION_ID:
            return
        entries = self.db.execute("SELECT type, name FROM sqlite_master").fetchall()
        tables = {name for kind, name in entries if kind == "table"}
        ours = "runs" in tables and "cells" in tables  # a store of a curator before application ids
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        # anything in the schema (a view counts, not only a table) or a version is somebody's
        if application != 0 or (entries and not ours) or (not entries and version != 0):
            raise UsageError(
                f"{self.path}: a SQLite database of something else, not a curator results store; "
                "give --store a new file or an existing curator.sqlite"
            )
        self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _wal(self) -> None:
        """Put the store in WAL mode (once: the mode is kept in the file). Changing the mode needs
        the file to itself and SQLite does not wait for that, so a store another process is opening
        at the same moment is tried again for as long as a busy store is waited for."""
        deadline = time.monotonic() + _BUSY_TIMEOUT
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL").fetchall()
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF != _SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    # ------------------------------------------------------------------ history

    def _history(self) -> storefile.History:
        row = self.db.execute("SELECT count(*), (SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT 1) FROM runs")
        runs, last = row.fetchone()
        return storefile.History(int(runs), last)

    def _holds(self, run_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    def _refuse_lost(
        self, runs: int, holds: Callable[[str], bool], size: int | None, *, mark: storefile.History | None = None
    ) -> None:
        problem = storefile.lost_history(self.path, runs, holds, size=size, mark=mark)
        if problem is not None:
            raise StoreLost(problem)

    def _mark(self) -> None:
        """Rewrite the history marker: how many runs the store holds now, and the newest."""
        storefile.write_mark(self.path, self._history())

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the store file, without waiting for readers: a `-wal` file
        lost later (deleted after a kill) then loses at most what was committed since."""
        with contextlib.suppress(sqlite3.OperationalError):
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _migrate(self) -> None:
        """Bring the schema to `SCHEMA_VERSION`. Called inside a write transaction: the version is
        read and the steps applied while no other process can write, so two curators creating
        (or migrating) the same store at once do it once, and a step interrupted leaves none."""
        current = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if current > SCHEMA_VERSION:
            raise UsageError(
                f"{self.path}: written by a newer curator (schema {current} > {SCHEMA_VERSION}); upgrade curator"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in statements(_MIGRATIONS[version]):
                self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {version}")

    def declared(self, table: str) -> list[tuple[str, str, bool]]:
        """(name, type, not null) of each column the schema declares for `table` (a primary key
        counts as not null: curator never writes a null one)."""
        rows = self.db.execute('SELECT name, type, "notnull", pk FROM pragma_table_info(?)', (table,))
        return [(r[0], r[1], bool(r[2]) or bool(r[3])) for r in rows]

    @contextmanager
    def _transaction(self, *, checkpoint: bool = True) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        if checkpoint:
            self.checkpoint()

    # ------------------------------------------------------------------ runs

    def create_run(self, run: RunRecord) -> None:
        """Record that a run started."""
        with self._transaction():
            self.db.execute(codec.insert_sql("runs", RunRecord), codec.to_sql(run))
        self._mark()

    def finish_run(
        self, run_id: RunId, *, status: RunStatus, verdict: Verdict | None, summary: str, finished: float
    ) -> None:
        """Record how a run ended (finished or interrupted) and when."""
        with self._transaction():
            self.db.execute(
                "UPDATE runs SET status=?, verdict=?, summary=?, finished=? WHERE id=?",
                (str(status), None if verdict is None else str(verdict), summary, finished, run_id),
            )

    def update_plan(self, run_id: RunId, plan: str) -> None:
        """Record a run's grown plan (a nightly's probes, the cells `--split-unresolvable` adds),
        so `--resume` knows them."""
        with self._transaction():
            self.db.execute("UPDATE runs SET plan=? WHERE id=?", (plan, run_id))

    def reopen_run(self, run_id: RunId, *, executor: str | None = None) -> None:
        """Mark an interrupted run as running again (`--resume`), on `executor` when given."""
        with self._transaction():
            self.db.execute(
                "UPDATE runs SET status='running', finished=NULL, executor=coalesce(?, executor) WHERE id=?",
                (executor, run_id),
            )

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
        return codec.from_sql(RunRecord, rows[0])

    def runs(self, kind: RunKind | None = None) -> list[RunRecord]:
        """Every run, newest first."""
        rows = self.db.execute("SELECT * FROM runs WHERE ? IS NULL OR kind = ? ORDER BY started DESC", (kind, kind))
        return [codec.from_sql(RunRecord, r) for r in rows]

    # ------------------------------------------------------------------ cells

    def record_cell(self, record: CellRecord, *, lock: LockRow | None = None) -> bool:
        """Commit one finished cell with its suites, test cases and lock, all or nothing.

        A cell is recorded once: the same outcome (run, cell and outcome key) reported again — a
        dask task run twice after a worker died — is ignored and False returned; a different
        outcome for a recorded cell is an `sqlite3.IntegrityError`, never an overwrite.
        """
        outcome = record.outcome
        row = CellRow(record, recorded=time.time())
        with self._transaction():
            known = self.db.execute(
                "SELECT outcome_key FROM cells WHERE run_id = ? AND cell_id = ?", (record.run_id, record.cell_id)
            ).fetchone()
            if known is not None and known[0] == outcome.outcome_key:
                return False
            if lock is not None:
                self.db.execute(codec.insert_sql("locks", LockRow, verb="INSERT OR IGNORE"), codec.to_sql(lock))
            self.db.execute(codec.insert_sql("cells", CellRow), codec.to_sql(row))
            for suite in outcome.suites:
                self.db.execute(
                    codec.insert_sql("suites", SuiteRow), codec.to_sql(SuiteRow(record.run_id, record.cell_id, suite))
                )
                self.db.executemany(
                    codec.insert_sql("testcases", CaseRow, verb="INSERT OR REPLACE"),
                    [codec.to_sql(CaseRow(record.run_id, record.cell_id, suite.suite, case)) for case in suite.cases],
                )
        return True

    def lock(self, key: str) -> LockRow | None:
        """The lock stored under `key` (a cell's `lock_key`), if the store has it."""
        row = self.db.execute("SELECT * FROM locks WHERE key = ?", (key,)).fetchone()
        return codec.from_sql(LockRow, row) if row is not None else None

    def recorded_cell_ids(self, run_id: RunId) -> set[CellId]:
        """Cells of a run already committed."""
        return {CellId(r[0]) for r in self.db.execute("SELECT cell_id FROM cells WHERE run_id = ?", (run_id,))}

    def reusable(self, outcome_key: str, *, exclude_run: RunId) -> CellRecord | None:
        """The newest recorded cell (of another run) with this outcome key, if any."""
        row = self.db.execute(
            "SELECT * FROM cells WHERE outcome_key = ? AND run_id != ? AND outcome_key != ''"
            " ORDER BY recorded DESC LIMIT 1",
            (outcome_key, exclude_run),
        ).fetchone()
        return self._cell_record(row) if row is not None else None

    def durations(self, distribution: str) -> dict[CellId, float]:
        """How long each cell of a distribution took the last time it ran (reused cells did not run)."""
        rows = self.db.execute(
            "SELECT c.cell_id, c.duration FROM cells c JOIN runs r ON r.id = c.run_id"
            " WHERE r.distribution = ? AND c.reused_from IS NULL AND c.duration > 0 ORDER BY c.recorded",
            (distribution,),
        )
        return {CellId(cell_id): float(duration) for cell_id, duration in rows}

    def cells(self, run_id: RunId) -> list[CellRecord]:
        """Every recorded cell of a run, in the order they were recorded."""
        rows = self.db.execute("SELECT * FROM cells WHERE run_id = ? ORDER BY recorded, cell_id", (run_id,))
        return [self._cell_record(row) for row in rows.fetchall()]

    def flaky(self, outcome_key: str) -> bool:
        """Whether the outcome key's own runs (not reuses) disagree: a suite that was `flaky`, or that
        passed once and failed another time, under exactly the same lock, interpreter and suites."""
        rows = self.db.execute(
            "SELECT s.suite, s.raw_status FROM suites s JOIN cells c ON c.run_id = s.run_id AND c.cell_id = s.cell_id"
            " WHERE c.outcome_key = ? AND c.outcome_key != '' AND c.reused_from IS NULL",
            (outcome_key,),
        )
        seen: dict[str, set[Status]] = {}
        for row in rows:
            seen.setdefault(row["suite"], set()).add(Status(row["raw_status"]))
        return any(
            Status.FLAKY in found or (Status.PASSED in found and any(s.is_failure for s in found))
            for found in seen.values()
        )

    # ------------------------------------------------------------------ nightlies

    def record_nightly(self, row: NightlyRow) -> None:
        """Store (or replace) a nightly's classification."""
        with self._transaction():
            self.db.execute(codec.insert_sql("nightlies", NightlyRow, verb="INSERT OR REPLACE"), codec.to_sql(row))

    def nightly(self, run_id: RunId) -> NightlyRow | None:
        """A nightly's classification, if the run is a finished nightly."""
        row = self.db.execute("SELECT * FROM nightlies WHERE run_id = ?", (run_id,)).fetchone()
        return codec.from_sql(NightlyRow, row) if row is not None else None

    def nightlies(self, distribution: str, *, before: float, limit: int) -> list[tuple[RunRecord, NightlyRow]]:
        """The last `limit` classified nightlies of `distribution` started before `before`, newest first."""
        rows = self.db.execute(
            "SELECT r.*, n.as_of AS n_as_of, n.verdict AS n_verdict, n.document AS n_document"
            " FROM runs r JOIN nightlies n ON n.run_id = r.id"
            " WHERE r.distribution = ? AND r.started < ? ORDER BY r.started DESC LIMIT ?",
            (distribution, before, limit),
        )
        return [
            (
                codec.from_sql(RunRecord, row),
                NightlyRow(RunId(row["id"]), row["n_as_of"], Verdict(row["n_verdict"]), row["n_document"]),
            )
            for row in rows
        ]

    def first_seen(
        self, signatures: Sequence[str], *, distribution: str, before: float
    ) -> dict[str, tuple[RunId, int]]:
        """For each failure signature: the earliest earlier run of `distribution` (started before
        `before`) in which an outcome that did not pass carried it, and in how many runs it did."""
        found: dict[str, tuple[RunId, int]] = {}
        rows = self.db.execute(
            "SELECT s.signature, s.run_id, min(r.started) AS first, count(DISTINCT s.run_id) AS runs"
            " FROM suites s JOIN runs r ON r.id = s.run_id"
            " WHERE s.signature IN (SELECT value FROM json_each(?)) AND r.distribution = ? AND r.started < ?"
            " AND s.status NOT IN ('passed', 'skipped') GROUP BY s.signature",
            (json.dumps([s for s in signatures if s]), distribution, before),
        )
        for row in rows:
            found[row["signature"]] = (RunId(row["run_id"]), int(row["runs"]))  # run_id: that of min(started)
        return found

    def outcomes_before(
        self, distribution: str, *, before: float, limit: int
    ) -> list[tuple[RunRecord, list[PastOutcome]]]:
        """The suite outcomes of the last `limit` runs of `distribution` started before `before`,
        newest first, in one query and without test cases or logs (a report's per-package history;
        a thousand-package run has thousands of cells, so only a baseline cell's pins are read)."""
        runs = [
            codec.from_sql(RunRecord, r)
            for r in self.db.execute(
                "SELECT * FROM runs WHERE distribution = ? AND started < ? ORDER BY started DESC LIMIT ?",
                (distribution, before, limit),
            )
        ]
        found: dict[str, list[PastOutcome]] = {run.id: [] for run in runs}
        cells: dict[tuple[str, str], tuple[Pins, Pins]] = {}
        rows = self.db.execute(
            "SELECT c.run_id, c.cell_id, c.python, c.baseline, c.changes,"
            " CASE WHEN c.baseline THEN c.pins ELSE '' END AS pins, s.suite, s.status"
            " FROM cells c JOIN suites s ON s.run_id = c.run_id AND s.cell_id = c.cell_id"
            " WHERE c.run_id IN (SELECT value FROM json_each(?)) ORDER BY c.run_id, c.recorded, s.rowid",
            (json.dumps(list(found)),),
        )
        for row in rows:
            key = (row["run_id"], row["cell_id"])
            if key not in cells:
                cells[key] = (Pins.parse(row["changes"]), Pins.parse(row["pins"]))
            changes, pins = cells[key]
            outcome = PastOutcome(
                CellId(row["cell_id"]), PyVersion(row["python"]), bool(row["baseline"]), changes, pins,
                SuiteName(row["suite"]), Status(row["status"]),
            )  # fmt: skip
            found[row["run_id"]].append(outcome)
        return [(run, found[run.id]) for run in runs]

    def _cell_record(self, row: sqlite3.Row) -> CellRecord:
        record = codec.from_sql(CellRow, row).record
        key = (record.run_id, record.cell_id)
        cases: dict[str, list[TestCase]] = {}
        for case_row in self.db.execute("SELECT * FROM testcases WHERE run_id = ? AND cell_id = ? ORDER BY rowid", key):
            case = codec.from_sql(CaseRow, case_row)
            cases.setdefault(case.suite, []).append(case.case)
        suites = tuple(
            replace(suite.outcome, cases=tuple(cases.get(suite.outcome.suite, ())))
            for suite in (
                codec.from_sql(SuiteRow, r)
                for r in self.db.execute("SELECT * FROM suites WHERE run_id = ? AND cell_id = ? ORDER BY rowid", key)
            )
        )
        return replace(record, outcome=replace(record.outcome, suites=suites))
