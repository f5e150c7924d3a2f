"""`curator store recover`: what SQLite can still read of a damaged store, copied into a new one.

Each table is read by ranges of rowids; a range that fails is halved until the rows that cannot
be read are found, and only those are lost (within a budget of failed reads, so a table whose root
is gone does not take forever). Rowids are kept, so rows come back in the order they were
recorded. The copy is then made consistent, never trusting half of a cell: rows whose run or cell
was lost go, a cell missing any suite its run's plan gave it goes with its suites and test
cases, and a finished run that lost cells is marked interrupted, so `--resume` runs them again.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from curator.model import codec
from curator.model.errors import UsageError
from curator.store.db import APPLICATION_ID, SCHEMA_VERSION, TABLES, Store

# Table and column names in the SQL below come from curator's own row shapes (`store.TABLES`), never input.

CHUNK = 4096  # rowids read at a time
FAILURE_BUDGET = 20_000  # failed reads per table before the rest of it is given up


@dataclass(frozen=True)
class Salvage:
    """What a recovery copied, what it could not read, and what it dropped to stay consistent."""

    source: Path
    target: Path
    copied: dict[str, int]  # table → rows copied
    unreadable: dict[str, int]  # table → rowids in ranges that could not be read (at most that many rows lost)
    dropped: dict[str, int]  # table → rows dropped for consistency
    reopened: tuple[str, ...]  # runs marked interrupted: they lost cells, which `--resume` runs again


def recover(source: Path, target: Path) -> Salvage:
    """Copy every readable row of the store `source` into a new store `target`."""
    if os.path.lexists(target):
        raise UsageError(f"--to {target}: exists; give the name of a new file")
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        found = int(src.execute("PRAGMA application_id").fetchone()[0])
        schema = int(src.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise UsageError(f"{source}: SQLite cannot read it at all ({exc}); restore it from a copy") from None
    try:
        if found not in (APPLICATION_ID, 0):
            raise UsageError(f"{source}: a SQLite database of something else, not a curator results store")
        if schema != SCHEMA_VERSION:
            raise UsageError(
                f"{source}: a store of schema {schema}; this curator recovers schema {SCHEMA_VERSION} only"
            )
        copied: dict[str, int] = {}
        unreadable: dict[str, int] = {}
        with Store(target, accept_lost_runs=True) as store:
            db = store.db
            db.execute("PRAGMA foreign_keys=OFF")
            db.execute("BEGIN IMMEDIATE")
            for table, shape in TABLES.items():
                names = codec.names(shape, "sql")
                marks = ", ".join("?" * (len(names) + 1))
                insert = f"INSERT OR IGNORE INTO {table} (rowid, {', '.join(names)}) VALUES ({marks})"  # noqa: S608
                copied[table] = unreadable[table] = 0
                before = db.total_changes
                for rows, lost in _ranges(src, table, names):
                    db.executemany(insert, rows)
                    unreadable[table] += lost
                copied[table] = db.total_changes - before
            dropped, reopened = _consistent(db)
            db.execute("COMMIT")
            db.execute("PRAGMA foreign_keys=ON")
            store.checkpoint()
        Store(target, accept_lost_runs=True).close()  # its history marker: what it holds now
    finally:
        src.close()
    return Salvage(source, target, copied, unreadable, dropped, reopened)


def _ranges(src: sqlite3.Connection, table: str, names: list[str]) -> Iterator[tuple[list[tuple[object, ...]], int]]:
    """(rows, rowids lost) of `table`: a plain scan as far as it goes, then range by range, halving a
    range that cannot be read (a damaged page can make either miss rows the other finds; the copy
    keeps the first of each rowid)."""
    columns_read = f"rowid, {', '.join(names)}"
    scanned: list[tuple[object, ...]] = []
    try:
        for row in src.execute(f"SELECT {columns_read} FROM {table}"):  # noqa: S608
            scanned.append(tuple(row))
    except sqlite3.Error:
        pass
    yield scanned, 0
    try:
        top = int(src.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0)  # noqa: S608
    except sqlite3.Error:
        top = 1 << 31  # its largest rowid cannot be read either: search the whole range, within the budget
    top = max(top, max((int(str(r[0])) for r in scanned), default=0))
    pending = [(lo, min(lo + CHUNK - 1, top)) for lo in range(1, top + 1, CHUNK)][::-1]
    query = f"SELECT {columns_read} FROM {table} WHERE rowid BETWEEN ? AND ?"  # noqa: S608
    failures = 0
    while pending:
        lo, hi = pending.pop()
        try:
            rows = [tuple(r) for r in src.execute(query, (lo, hi))]
        except sqlite3.Error:
            failures += 1
            if lo == hi or failures > FAILURE_BUDGET:
                yield [], hi - lo + 1
            else:
                middle = (lo + hi) // 2
                pending += [(middle + 1, hi), (lo, middle)]
            continue
        yield rows, 0


def _consistent(db: sqlite3.Connection) -> tuple[dict[str, int], tuple[str, ...]]:
    """Drop what lost what it belongs to, and cells missing any of their suites; reopen runs that
    lost cells. Returns (rows dropped per table, runs reopened)."""
    dropped = dict.fromkeys(TABLES, 0)
    incomplete: list[tuple[str, str]] = []
    planned: dict[str, dict[str, set[str]]] = {}
    for run_id, plan in db.execute("SELECT id, plan FROM runs").fetchall():
        planned[run_id] = _plan_suites(plan)
    for run_id, cell_id in db.execute("SELECT run_id, cell_id FROM cells").fetchall():
        expected = planned.get(run_id, {}).get(cell_id)
        have = {
            s for (s,) in db.execute("SELECT suite FROM suites WHERE run_id = ? AND cell_id = ?", (run_id, cell_id))
        }
        if not have or (expected is not None and not expected <= have):
            incomplete.append((run_id, cell_id))
    for run_id, cell_id in incomplete:
        for table in ("testcases", "suites", "cells"):
            dropped[table] += db.execute(
                f"DELETE FROM {table} WHERE run_id = ? AND cell_id = ?",  # noqa: S608
                (run_id, cell_id),
            ).rowcount
    orphans = {
        "cells": "DELETE FROM cells WHERE run_id NOT IN (SELECT id FROM runs)",
        "suites": "DELETE FROM suites WHERE NOT EXISTS (SELECT 1 FROM cells c"
        " WHERE c.run_id = suites.run_id AND c.cell_id = suites.cell_id)",
        "testcases": "DELETE FROM testcases WHERE NOT EXISTS (SELECT 1 FROM cells c"
        " WHERE c.run_id = testcases.run_id AND c.cell_id = testcases.cell_id)",
        "nightlies": "DELETE FROM nightlies WHERE run_id NOT IN (SELECT id FROM runs)",
    }
    for table, statement in orphans.items():
        dropped[table] += db.execute(statement).rowcount
    reopened = []
    for run_id, cells in planned.items():
        recorded = {c for (c,) in db.execute("SELECT cell_id FROM cells WHERE run_id = ?", (run_id,))}
        lost = any(run_id == r for r, _ in incomplete) or not set(cells) <= recorded
        status = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        if lost and status == "finished":
            db.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (run_id,))
            reopened.append(run_id)
    return {t: n for t, n in dropped.items() if n}, tuple(reopened)


def _plan_suites(plan: str) -> dict[str, set[str]]:
    """Each planned cell's suites, from a run's stored plan (empty when it cannot be read)."""
    try:
        cells = json.loads(plan)["cells"]
        return {str(c["id"]): {str(s) for s in c["suites"]} for c in cells}
    except (ValueError, KeyError, TypeError):
        return {}
