"""A run's results as a table (pandas), and the files of the run folder built from the store.

`cells.csv` (one row per cell × suite), `matrices/` and `run.json` are always written from
the store, never from memory, so `curator report` can rebuild them for any past run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd

from curator import __version__
from curator.errors import UsageError
from curator.manifest import Distribution
from curator.outcome import GATE_STATUSES, Status, expired_rules, unexpected
from curator.store import CellRecord, RunRecord, Store

CSV_COLUMNS = [
    "cell",
    "python",
    "pins",
    "suite",
    "status",
    "passed",
    "failed",
    "errors",
    "skipped",
    "duration_s",
    "log",
    "reason",
    "signature",
    "attempts",
    "baseline",
    "changes",
    "reused_from",
    "reproduce",
    "lock",
    "outcome_key",
    "raw_status",
    "rule",
]


@dataclass(frozen=True)
class RunSummary:
    """What a run amounted to: counts, the verdict, and whether the release gate holds."""

    run_id: str
    out_dir: Path
    counts: dict[str, int]
    cells: int
    reused_cells: int
    verdict: str  # passed | failed | interrupted
    gate_holds: bool
    failing_baseline: list[str] = field(default_factory=list)
    unexpected: list[dict[str, str]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    planned_cells: int = 0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Everything as expected (exit status 0)."""
        return self.verdict == "passed"

    def to_json(self) -> dict[str, object]:
        """The summary part of run.json."""
        return {
            "run_id": self.run_id,
            "verdict": self.verdict,
            "counts": self.counts,
            "cells": self.cells,
            "planned_cells": self.planned_cells,
            "reused_cells": self.reused_cells,
            "gate": {"holds": self.gate_holds, "failing_baseline_cells": self.failing_baseline},
            "unexpected": self.unexpected,
            "expired_exceptions": self.expired,
        }


def frame(store: Store, run_id: str) -> pd.DataFrame:
    """One row per cell × suite of a run, with the columns of cells.csv."""
    return table_of(store.cells(run_id))


def table_of(records: Sequence[CellRecord]) -> pd.DataFrame:
    """`frame` of cells already read from the store."""
    rows = []
    for record in records:
        outcome = record.outcome
        lock = f"locks/{record.cell_id}.txt"
        for suite in outcome.suites:
            rows.append(
                {
                    "cell": record.cell_id,
                    "python": record.python,
                    "pins": record.pins,
                    "suite": suite.suite,
                    "status": str(suite.status),
                    "passed": suite.counts.passed,
                    "failed": suite.counts.failed,
                    "errors": suite.counts.errors,
                    "skipped": suite.counts.skipped,
                    "duration_s": round(suite.duration, 3),
                    "log": suite.log,
                    "reason": suite.reason,
                    "signature": suite.signature,
                    "attempts": suite.attempts,
                    "baseline": record.baseline,
                    "changes": " ".join(f"{n}=={v}" for n, v in json.loads(record.changes).items()),
                    "reused_from": outcome.reused_from or "",
                    "reproduce": outcome.reproduce,
                    "lock": lock if outcome.lock_key else "",
                    "outcome_key": outcome.outcome_key,
                    "raw_status": str(suite.raw_status),
                    "rule": suite.rule,
                }
            )
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def summarize(
    table: pd.DataFrame,
    run: RunRecord,
    out_dir: Path,
    distribution: Distribution,
    today: dt.date,
    *,
    interrupted: bool,
) -> RunSummary:
    """Counts, verdict and gate from a run's table."""
    counts = Counter(table["status"])
    unexpected_rows = [
        {"cell": str(r["cell"]), "suite": str(r["suite"]), "status": str(r["status"]), "reason": str(r["reason"])}
        for r in table.to_dict("records")
        if unexpected(Status(str(r["status"])), baseline=bool(r["baseline"]))
    ]
    baseline = table[table["baseline"].astype(bool)]
    failing = sorted(set(baseline.loc[~baseline["status"].isin({str(s) for s in GATE_STATUSES}), "cell"]))
    expired = [
        f"{distribution.path}:{rule.line}: exception '{rule.describe()}' expired on {rule.expires}"
        for rule in expired_rules(distribution.policy, today)
    ]
    cells = int(table["cell"].nunique())
    reused = int(table.loc[table["reused_from"] != "", "cell"].nunique())
    missing_baseline = not interrupted and baseline.empty
    if interrupted:
        verdict = "interrupted"
    elif unexpected_rows or expired or missing_baseline:
        verdict = "failed"
    else:
        verdict = "passed"
    return RunSummary(
        run_id=run.id,
        out_dir=out_dir,
        counts={str(s): int(counts.get(str(s), 0)) for s in Status if counts.get(str(s))},
        cells=cells,
        reused_cells=reused,
        verdict=verdict,
        gate_holds=not failing and not baseline.empty,
        failing_baseline=failing,
        unexpected=unexpected_rows,
        expired=expired,
        planned_cells=len(json.loads(run.plan)["cells"]),
        interrupted=interrupted,
    )


def write_outputs(
    store: Store,
    run_id: str,
    distribution: Distribution,
    out_dir: Path,
    today: dt.date,
    *,
    interrupted: bool = False,
) -> RunSummary:
    """cells.csv, matrices/ and run.json of a run, from the store."""
    from curator.matrix import write_matrices

    record = store.run(run_id)
    table = frame(store, run_id)
    finished = record.finished or time.time()  # a re-render (`curator report`) keeps the recorded end
    summary = summarize(table, record, out_dir, distribution, today, interrupted=interrupted)
    _atomic_write(out_dir / "cells.csv", table.to_csv(index=False))
    write_matrices(table, distribution, out_dir)
    run_json = {
        "run_id": run_id,
        "distribution": distribution.name,
        "version": distribution.version,
        "manifest": {"path": record.manifest_path, "sha256": record.manifest_sha256},
        "strategy": record.strategy,
        "pythons": list(record.pythons),
        "started": _iso(record.started),
        "finished": _iso(finished),
        "duration_s": round(finished - record.started, 1),
        "tools": _recorded_tools(out_dir / "run.json", run_id) or tool_versions(),
        "store": str(store.path.resolve()),
        **summary.to_json(),
    }
    _atomic_write(out_dir / "run.json", json.dumps(run_json, indent=2) + "\n")
    return summary


def read_run_json(folder: Path) -> dict[str, object]:
    """A run folder's run.json (it names the run and its store); `UsageError` when there is none."""
    try:
        data = json.loads((folder / "run.json").read_text())
        if not isinstance(data, dict) or not isinstance(data.get("run_id"), str):
            raise ValueError
    except (OSError, ValueError):
        raise UsageError(
            f"{folder}: not a run folder (no readable run.json); give a folder written by `curator run`, or a run id"
        ) from None
    return data


def tool_versions() -> dict[str, str]:
    """Versions of what ran the cells."""
    versions = {"curator": __version__, "python": platform.python_version()}
    for name in ("uv", "nox", "pandas"):  # the cells' own test runner is pinned in their locks
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _recorded_tools(path: Path, run_id: str) -> dict[str, str] | None:
    """The tool versions an earlier write of this run's run.json recorded (they ran the cells)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    tools = data.get("tools") if isinstance(data, dict) and data.get("run_id") == run_id else None
    return {str(k): str(v) for k, v in tools.items()} if isinstance(tools, dict) else None


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat(timespec="seconds")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
