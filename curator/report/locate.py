"""Which run `curator report RUN_DIR_OR_ID` means: its store, its id, its folder and its manifest."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from curator.host.layout import STORE_NAME, default_store
from curator.model.distribution import DEFAULT_MANIFEST
from curator.model.errors import UsageError
from curator.results.rows import read_run_json
from curator.store.db import RunRecord, Store


@dataclass(frozen=True)
class RunLocation:
    """A run named on the command line, before the store is opened."""

    store: Path
    run_id: str | None  # an id or a unique prefix of one; None: the run the store says wrote `out_dir`
    out_dir: Path | None  # the run folder given, if one was

    def record(self, store: Store) -> RunRecord:
        """The run in the opened store."""
        if self.run_id is not None:
            return store.run(self.run_id)
        assert self.out_dir is not None
        found = folder_run(store, self.out_dir)
        if found is None:
            raise UsageError(
                f"{self.out_dir}: not a run folder (no run.json, and {store.path} knows no run written there); "
                "give a folder written by `curator run`, or a run id"
            )
        return found


def locate(target: str, *, store: Path | None, manifest: Path | None) -> RunLocation:
    """A run folder (a folder holding run.json) or a run id in the store.

    A folder's run.json names its run and store; a run id is looked up in `store`, by default
    `reports/curator.sqlite` beside the manifest (`./distribution.yaml` unless given).
    """
    path = Path(target)
    if path.name == "run.json" and path.is_file():
        path = path.parent
    if path.is_dir() and not os.path.lexists(path / "run.json"):  # a run killed before its report: ask the store
        beside = store or path.parent / STORE_NAME
        if store is None and not beside.is_file():
            raise UsageError(
                f"{path}: not a run folder (no run.json); give a folder written by `curator run`, or a run id"
            )
        return RunLocation(_existing(beside), None, path)
    if path.is_dir():
        data = read_run_json(path)  # run_id and store are checked to be text
        return RunLocation(
            _existing(store or _recorded_store(path, str(data.get("store", "")))), str(data["run_id"]), path
        )
    if "/" in target or target.startswith("."):
        raise UsageError(f"{target}: no such run folder; give a folder written by `curator run`, or a run id")
    default = default_store((manifest or Path(DEFAULT_MANIFEST)).resolve().parent)
    return RunLocation(_existing(store or default), target, None)


def folder_run(store: Store, folder: Path) -> RunRecord | None:
    """The run the store says wrote `folder`, when exactly one did (a folder that lost its run.json)."""
    root = folder.resolve()
    found = [r for r in store.runs() if Path(r.out_dir) == root]
    return found[0] if len(found) == 1 else None


def _recorded_store(folder: Path, recorded: str) -> Path:
    """The store a run.json names; a relative one (older runs) is tried where it can be."""
    candidates = [Path(recorded)] if recorded else []
    if recorded and not Path(recorded).is_absolute():
        candidates.append(folder.parent / Path(recorded).name)
    candidates.append(folder.parent / STORE_NAME)  # the default layout: reports/<run>/ beside reports/curator.sqlite
    return next((c for c in candidates if c.is_file()), candidates[0])


def _existing(store: Path) -> Path:
    if not store.is_file():
        raise UsageError(f"{store}: no results store there; give --store PATH (the curator.sqlite a run wrote)")
    return store


def manifest_for(record: RunRecord, given: Path | None) -> Path:
    """The manifest to read policy and packages from: the one given, else the one the run used,
    else `./distribution.yaml`."""
    if given is not None:
        return given
    recorded = Path(record.manifest_path)
    if recorded.is_file():
        return recorded
    fallback = Path(DEFAULT_MANIFEST)
    if fallback.is_file():
        return fallback
    raise UsageError(f"{recorded}: the manifest of run {record.id} is gone; give --manifest PATH")
