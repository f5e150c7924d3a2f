"""A results store as a file on disk, beneath its SQL: damage, history, and `curator store check`.

SQLite keeps a store consistent through crashes, but not through what happens to its files: a
store emptied to 0 bytes, replaced by an older copy, or whose `-wal` file was deleted after a
kill opens as a valid database with fewer runs, and curator would carry on as if they had never
been. So a store keeps a **history marker** beside it, `curator.sqlite.runs`: how many runs it
held and the newest one, rewritten atomically whenever a run is added. A store holding fewer
runs than its marker (or none, while run folders beside it name it) has lost its history, and
is refused until a person restores it or says to go on (`--accept-lost-runs`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curator.host.inputs import Unreadable, quoted, read_regular
from curator.model.errors import UsageError

log = logging.getLogger(__name__)

MARK_SUFFIX = ".runs"
_MARK_LIMIT = 64 * 1024
_RUN_JSON_LIMIT = 64 * 1024 * 1024
_SHOWN = 20  # problems printed by `store check`; the rest are counted

SQLITE_CORRUPT = 11
SQLITE_NOTADB = 26

RECOVERY = (
    "stop every curator using the store, and copy it aside with its -wal and -shm files (cp STORE*)",
    "restore it from a copy taken while it was healthy, if you have one (then check that copy)",
    "or salvage what SQLite can still read into a new store: curator store recover --store STORE --to "
    "RECOVERED.sqlite (runs that lost cells come back interrupted, for --resume), check it, and move it and "
    "RECOVERED.sqlite.runs in place of STORE",
    "or start a new store: move STORE* aside and pass --accept-lost-runs to the next `curator run`; "
    "run folders keep their cells.csv, logs and reports",
)
"""What to do about a damaged store, in order (`curator store check` prints it, docs/running.md explains it)."""


def damaged(error: sqlite3.Error) -> bool:
    """Whether SQLite's error says the file is damaged (a malformed page, a header that is not
    SQLite's), rather than busy, locked or misused."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB)


def damage_message(store: Path, error: sqlite3.Error) -> str:
    """The one line for a store SQLite calls damaged."""
    return (
        f"{store}: the results store is damaged ({error}); run `curator store check --store {store}` "
        "to see what is wrong and how to recover"
    )


# ----------------------------------------------------------------------- history


@dataclass(frozen=True)
class History:
    """What a store held when its marker was last written: how many runs, and the newest."""

    runs: int
    last: str | None


def mark_path(store: Path) -> Path:
    """`curator.sqlite.runs`, beside the store."""
    return store.with_name(store.name + MARK_SUFFIX)


def read_mark(store: Path) -> History | None:
    """The store's history marker; None when there is none (or it is not one curator wrote)."""
    try:
        data = json.loads(read_regular(mark_path(store), _MARK_LIMIT))
    except (OSError, Unreadable, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    runs, last = data.get("runs"), data.get("last_run")
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 0:
        return None
    return History(runs, last if isinstance(last, str) else None)


_write_lock = threading.Lock()


def write_mark(store: Path, history: History) -> None:
    """Rewrite the marker atomically; a marker that cannot be written is logged, never fatal."""
    target = mark_path(store)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    data = {"store": store.name, "runs": history.runs, "last_run": history.last}
    try:
        with _write_lock:
            tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
            tmp.replace(target)
    except OSError as exc:
        log.warning("%s: cannot write the history marker (%s)", target, exc.strerror)


def folders_naming(store: Path) -> list[Path]:
    """Run folders beside the store (`reports/<run>/`) whose run.json names this store."""
    try:
        wanted = str(store.resolve())
        children = sorted(store.parent.iterdir())
    except (OSError, RuntimeError):
        return []
    found = []
    for child in children:
        try:
            data = json.loads(read_regular(child / "run.json", _RUN_JSON_LIMIT))
        except (OSError, Unreadable, ValueError):
            continue
        if isinstance(data, dict) and data.get("store") == wanted:
            found.append(child)
    return found


def lost_history(
    store: Path, runs: int, known: Callable[[str], bool], *, size: int | None, mark: History | None = None
) -> str | None:
    """Why a store holding `runs` runs (`known(id)`: does it hold that run?) has lost its history,
    or None when nothing says it held more. `size`: the file's size, None when it is missing.
    `mark`: the marker as read before `runs` was counted (read here when not given) — a marker is
    written after its run is committed, so read first it never counts a run the count has not
    seen, whatever another process commits meanwhile."""
    if mark is None:
        mark = read_mark(store)
    if mark is not None:
        if runs >= mark.runs and (mark.last is None or known(mark.last)):
            return None
        latest = f", the latest {quoted(mark.last)}" if mark.last else ""
        evidence = f"{mark_path(store).name} beside it records {mark.runs} run(s){latest}"
    elif runs == 0:
        folders = folders_naming(store)
        if not folders:
            return None
        evidence = f"{len(folders)} run folder(s) beside it name it in their run.json (such as {folders[0].name})"
    else:
        return None
    if size is None:
        state = "is missing"
    elif size == 0:
        state = "is empty (0 bytes)"
    else:
        state = f"holds {runs} run(s)"
    return (
        f"{store}: the results store {state}, but {evidence}: it lost its history (emptied, replaced by an "
        "older copy, or its -wal file deleted); restore it from a copy (with its -wal file), or pass "
        "--accept-lost-runs to `curator run` or `curator nightly` to go on with what it holds"
    )


# ----------------------------------------------------------------------- store check


@dataclass(frozen=True)
class Health:
    """What `curator store check` found: healthy when `problems` is empty."""

    path: Path
    problems: tuple[str, ...]
    more: int  # problems found beyond those listed
    schema: int | None
    runs: int | None
    cells: int | None
    check: str  # integrity_check | quick_check

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def check(path: Path, *, quick: bool = False, application_id: int, schema_version: int) -> Health:
    """Check a store without changing it (read-only): SQLite's integrity (or quick) check and
    foreign-key check, and its history against its marker. `UsageError` when `path` is not a
    store at all."""
    size = _regular_size(path)
    pragma = "quick_check" if quick else "integrity_check"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise UsageError(f"{path}: cannot open it ({exc})") from None
    try:
        try:
            found_id = int(db.execute("PRAGMA application_id").fetchone()[0])
            schema = int(db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            if not (damaged(exc) and read_mark(path) is not None):
                raise UsageError(f"{path}: not a curator results store ({exc})") from None
            return Health(path, (f"SQLite cannot read it as a database any more ({exc})",), 0, None, None, None, pragma)
        if found_id not in (application_id, 0) or (found_id == 0 and size > 0 and not _legacy(db)):
            raise UsageError(f"{path}: a SQLite database of something else, not a curator results store")
        problems: list[str] = []
        if schema > schema_version:
            problems.append(f"written by a newer curator (schema {schema} > {schema_version}); check it with that one")
        problems += _sqlite_checks(db, pragma)
        runs, cells, history = _counts(db, path, size)
        problems += history
    finally:
        db.close()
    return Health(path, tuple(problems[:_SHOWN]), max(0, len(problems) - _SHOWN), schema, runs, cells, pragma)


def _regular_size(path: Path) -> int:
    try:
        if not os.path.lexists(path):
            raise UsageError(f"{path}: no results store there; give --store PATH (the curator.sqlite a run wrote)")
        if not path.is_file():
            raise UsageError(f"{path}: not a results store (not a regular file)")
        return path.stat().st_size
    except (OSError, ValueError):
        raise UsageError(f"{path}: not a usable file name") from None


def _sqlite_checks(db: sqlite3.Connection, pragma: str) -> list[str]:
    """What SQLite's own checks report, one problem a line."""
    problems: list[str] = []
    try:
        rows = db.execute(f"PRAGMA {pragma}(100)").fetchall()
        reported = [line for r in rows for line in str(r[0]).splitlines() if not line.startswith("*** in database")]
    except sqlite3.DatabaseError as exc:
        reported = [str(exc)]
    if reported != ["ok"]:
        problems += [f"{pragma}: {line}" for line in reported]
    try:
        for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check").fetchmany(100):
            problems.append(f"foreign_key_check: {table} row {rowid} refers to a {parent} row that is missing")
    except sqlite3.DatabaseError as exc:
        problems.append(f"foreign_key_check: {exc}")
    return problems


def _counts(db: sqlite3.Connection, path: Path, size: int) -> tuple[int | None, int | None, list[str]]:
    """(runs, cells, problems): how much the store holds, and whether that is less than it held."""
    if not size:
        runs, cells, ids = 0, 0, set[str]()
    else:
        try:
            runs = int(db.execute("SELECT count(*) FROM runs").fetchone()[0])
            cells = int(db.execute("SELECT count(*) FROM cells").fetchone()[0])
            ids = {str(r[0]) for r in db.execute("SELECT id FROM runs")}
        except sqlite3.DatabaseError as exc:
            return None, None, [f"cannot count its runs and cells ({exc})"]
    lost = lost_history(path, runs, ids.__contains__, size=size)
    return runs, cells, [] if lost is None else [lost.removeprefix(f"{path}: ")]


def _legacy(db: sqlite3.Connection) -> bool:
    """A store of a curator from before application ids: it has the runs and cells tables."""
    try:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        return True  # damaged beyond telling; the checks below say so
    return {"runs", "cells"} <= names
