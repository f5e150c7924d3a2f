"""`curator diff OLD NEW`: two bundles or two runs (or one of each), compared.

Packages per Python come from a bundle's `locks/py<X.Y>.txt`, or from a run's baseline lock
without the test runner. Outcomes (cell × suite statuses) come from `cells.csv` — a run's, or
the gating run's copy in a bundle's `report/` — whenever both sides have one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.host.inputs import Unreadable, quoted, read_regular
from curator.host.layout import BundleLayout, RunLayout
from curator.model.codec import spec
from curator.model.errors import UsageError
from curator.model.ids import PyVersion
from curator.release.changes import OutcomeChange, PackageChanges, compare, compare_outcomes
from curator.release.contents import MAX_READ_BYTES, Contents, open_bundle
from curator.resolve.lock import parse_requirements
from curator.results.rows import ResultRow, read_cells_csv
from curator.store.db import Store

Outcomes = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Side:
    """One side of a diff: what it is, its packages per Python and (if known) its outcomes."""

    label: str
    kind: str  # bundle | run
    versions: dict[PyVersion, dict[NormalizedName, Version]] = field(metadata=spec(json=None))
    outcomes: Outcomes | None = field(metadata=spec(json=None))


@dataclass(frozen=True)
class Diff:
    """Package changes per Python, and outcome changes when both sides have outcomes (its JSON form
    is `curator diff --format json`'s, documented in docs/release.md)."""

    JSON_COMPUTED: ClassVar = {"pythons": "by_python"}

    old: Side
    new: Side
    packages: tuple[PackageChanges, ...] = field(metadata=spec(json=None))
    outcomes: tuple[OutcomeChange, ...] | None

    @property
    def by_python(self) -> dict[str, PackageChanges]:
        """Each Python's changes."""
        return {c.python: c for c in self.packages}


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
    return BundleLayout.lock_python(name) is not None or name == BundleLayout.CELLS_CSV


def _bundle(contents: Contents, label: str) -> Side:
    versions: dict[PyVersion, dict[NormalizedName, Version]] = {}
    for name in contents.files():
        python = BundleLayout.lock_python(name)
        if python is None:
            continue
        text = _text(contents, name, label)
        try:
            versions[python] = dict(parse_requirements(python, text).versions)
        except ValueError as exc:  # a version that is not PEP 440
            raise UsageError(f"{label}: {name} is not a lock curator wrote ({exc})") from None
    if not versions:
        raise UsageError(f"{label}: a bundle without locks/py<X.Y>.txt")
    cells = BundleLayout.CELLS_CSV
    outcomes = None
    if cells in contents.files():
        outcomes = _outcomes(read_cells_csv(_text(contents, cells, label), f"{label}: {cells}"))
    return Side(f"{contents.name} (bundle)", "bundle", versions, outcomes)


def _text(contents: Contents, name: str, label: str) -> str:
    try:
        return (contents.read(name) or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{label}: {name} is not UTF-8 text") from None


def _run(folder: Path, label: str) -> Side:
    layout = RunLayout(folder)
    rows = read_cells_csv(_read_text(layout.cells_csv, f"{folder}: not a run folder (no cells.csv in it)"),
                          str(layout.cells_csv))  # fmt: skip
    versions: dict[PyVersion, dict[NormalizedName, Version]] = {}
    for row in rows:
        if not row.baseline or row.python in versions or not row.lock:
            continue
        relative = PurePosixPath(row.lock)
        if relative.is_absolute() or ".." in relative.parts:  # a cells.csv someone edited: read nothing outside
            raise UsageError(f"{layout.cells_csv}: lock {quoted(row.lock)} of {row.cell} lies outside the run folder")
        lock_path = folder / relative
        missing = f"{lock_path}: the baseline lock of run folder {folder} is missing or unreadable"
        try:
            lock = parse_requirements(row.python, _read_text(lock_path, missing)).closure(row.pins)
        except ValueError as exc:  # a version that is not PEP 440
            raise UsageError(f"{lock_path}: not a lock curator wrote ({exc})") from None
        versions[row.python] = dict(lock.versions)
    return Side(label if label.startswith("run ") else f"{folder.name} (run)", "run", versions, _outcomes(rows))


def _read_text(path: Path, missing: str) -> str:
    """A run folder's file read whole: a regular file of at most `MAX_READ_BYTES`, UTF-8."""
    try:
        return read_regular(path, MAX_READ_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise UsageError(missing) from None
    except Unreadable as exc:
        raise UsageError(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None


def _outcomes(rows: list[ResultRow]) -> Outcomes:
    return {(row.cell, row.outcome.suite): str(row.outcome.status) for row in rows}
