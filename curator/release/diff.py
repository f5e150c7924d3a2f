"""`curator diff OLD NEW`: two bundles or two runs (or one of each), compared.

Packages per Python come from a bundle's `locks/py<X.Y>.txt`, or from a run's baseline lock
without the test runner. Outcomes (cell × suite statuses) come from `cells.csv` — a run's, or
the gating run's copy in a bundle's `report/` — whenever both sides have one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.errors import UsageError
from curator.plan import parse_pins
from curator.release.changes import OutcomeChange, PackageChanges, compare, compare_outcomes
from curator.release.contents import Contents, open_bundle
from curator.resolve import parse_requirements
from curator.store import Store

Outcomes = dict[tuple[str, str], str]
CELLS = "report/cells.csv"


@dataclass(frozen=True)
class Side:
    """One side of a diff: what it is, its packages per Python and (if known) its outcomes."""

    label: str
    kind: str  # bundle | run
    versions: dict[str, dict[NormalizedName, Version]]
    outcomes: Outcomes | None

    def to_json(self) -> dict[str, str]:
        """Stable machine output."""
        return {"label": self.label, "kind": self.kind}


@dataclass(frozen=True)
class Diff:
    """Package changes per Python, and outcome changes when both sides have outcomes."""

    old: Side
    new: Side
    packages: tuple[PackageChanges, ...]
    outcomes: tuple[OutcomeChange, ...] | None

    def to_json(self) -> dict[str, object]:
        """Stable machine output (documented in docs/release.md)."""
        return {
            "old": self.old.to_json(),
            "new": self.new.to_json(),
            "pythons": {c.python: c.to_json() for c in self.packages},
            "outcomes": None if self.outcomes is None else [o.to_json() for o in self.outcomes],
        }


def diff(old: str, new: str, store_path: Path | None) -> Diff:
    """Compare two bundles or runs, each named by a path or (runs) by an id in `store_path`."""
    with ExitStack() as stack:
        before = stack.enter_context(_side(old, store_path))
        after = stack.enter_context(_side(new, store_path))
        packages = tuple(compare(before.versions, after.versions))
        outcomes = None
        if before.outcomes is not None and after.outcomes is not None:
            outcomes = tuple(compare_outcomes(before.outcomes, after.outcomes))
    return Diff(before, after, packages, outcomes)


@contextmanager
def _side(ref: str, store_path: Path | None) -> Iterator[Side]:
    path = Path(ref)
    if path.is_file() or (path.is_dir() and ((path / "SHA256SUMS").exists() or (path / "release.json").exists())):
        yield _bundle(open_bundle(path, _reads), ref)
        return
    if path.is_dir():
        yield _run(path, ref)
        return
    if store_path is None or not store_path.is_file():
        raise UsageError(f"{ref}: no such bundle or run folder, and no results store to look it up in (pass --store)")
    with Store(store_path) as store:
        record = store.run(ref)
    yield _run(Path(record.out_dir), f"run {record.id}")


def _reads(name: str) -> bool:
    """The files diff reads from a bundle: its locks and its report's cells.csv."""
    return _is_lock(name) or name == CELLS


def _is_lock(name: str) -> bool:
    path = PurePosixPath(name)
    return str(path.parent) == "locks" and path.name.startswith("py") and path.suffix == ".txt"


def _bundle(contents: Contents, label: str) -> Side:
    versions: dict[str, dict[NormalizedName, Version]] = {}
    for name in contents.files():
        if not _is_lock(name):
            continue
        python = PurePosixPath(name).name.removeprefix("py").removesuffix(".txt")
        text = _text(contents, name, label)
        try:
            versions[python] = dict(parse_requirements(python, text).versions)
        except ValueError as exc:  # a version that is not PEP 440
            raise UsageError(f"{label}: {name} is not a lock curator wrote ({exc})") from None
    if not versions:
        raise UsageError(f"{label}: a bundle without locks/py<X.Y>.txt")
    outcomes = _outcomes(_text(contents, CELLS, label), f"{label}: {CELLS}") if CELLS in contents.files() else None
    return Side(f"{contents.name} (bundle)", "bundle", versions, outcomes)


def _text(contents: Contents, name: str, label: str) -> str:
    try:
        return (contents.read(name) or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{label}: {name} is not UTF-8 text") from None


def _run(folder: Path, label: str) -> Side:
    table = folder / "cells.csv"
    if not table.is_file():
        raise UsageError(f"{folder}: not a run folder (no cells.csv in it)")
    try:
        text = table.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{table}: cannot read it ({exc})") from None
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    versions: dict[str, dict[NormalizedName, Version]] = {}
    for row in rows:
        if row.get("baseline") != "True" or row["python"] in versions or not row.get("lock"):
            continue
        names = list(parse_pins(row["pins"]))
        lock_path = folder / row["lock"]
        if not lock_path.is_file():
            raise UsageError(f"{lock_path}: the baseline lock of run folder {folder} is missing")
        lock = parse_requirements(row["python"], lock_path.read_text()).closure(names)
        versions[row["python"]] = dict(lock.versions)
    return Side(
        label if label.startswith("run ") else f"{folder.name} (run)", "run", versions, _outcomes(text, str(table))
    )


def _outcomes(text: str, where: str) -> Outcomes:
    try:
        return {(row["cell"], row["suite"]): row["status"] for row in csv.DictReader(io.StringIO(text, newline=""))}
    except (KeyError, csv.Error) as exc:
        raise UsageError(f"{where}: not a cells.csv curator wrote ({exc})") from None
