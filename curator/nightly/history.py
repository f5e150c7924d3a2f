"""Earlier nights, from the results store: the previous night, a window of recent ones, the last release.

The store keeps every night (its nightly.json in the `nightlies` table, its cells as any run's),
so a nightly can compare with the one before, count how often a suite flaked under one outcome key,
and tell a timeout that is new from one the suite is known for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from curator.host.layout import BundleLayout
from curator.model import codec
from curator.model.ids import PyVersion, RunId, SuiteName
from curator.model.outcome import Status
from curator.nightly.night import Night
from curator.store.db import Store

DEFAULT_WINDOW = 14
"""Nights of history a flake rate and a timeout's history look at."""


def recent(store: Store, distribution: str, *, before: float, limit: int = DEFAULT_WINDOW) -> list[Night]:
    """The last `limit` classified nightlies of `distribution` started before `before`, newest first."""
    return [
        codec.loads(Night, row.document, "nightly.json")
        for _, row in store.nightlies(distribution, before=before, limit=limit)
    ]


@dataclass(frozen=True)
class Release:
    """The last release of the distribution that curator can find: its bundle and gating run."""

    bundle: str  # the bundle's folder name, `pydata-core-2026.11`
    run: RunId
    statuses: dict[tuple[PyVersion, SuiteName], Status]  # its baseline outcomes, when the store holds the run


def last_release(store: Store, distribution: str, folder: Path) -> Release | None:
    """The newest bundle of `distribution` in `folder` (`dist/` beside the manifest), with the
    baseline outcomes of the run it was cut from."""
    best: tuple[float, Path, dict[str, object]] | None = None
    for candidate in sorted(folder.glob(f"{distribution}-*")) if folder.is_dir() else []:
        path = BundleLayout(candidate).release_json
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("distribution") == distribution:
            stamp = path.stat().st_mtime
            if best is None or stamp > best[0]:
                best = (stamp, candidate, record)
    if best is None:
        return None
    _, bundle, record = best
    run = record.get("run")
    run_id = RunId(str(run.get("id", ""))) if isinstance(run, dict) else RunId("")
    statuses: dict[tuple[PyVersion, SuiteName], Status] = {}
    if run_id and any(r.id == run_id for r in store.runs()):
        for cell in store.cells(run_id):
            if cell.baseline:
                statuses.update({(cell.python, s.suite): s.status for s in cell.outcome.suites})
    return Release(bundle.name, run_id, statuses)
