"""A run's results: the rows of cells.csv (one column spec), the pandas table, the summary
with its verdict and gate, and run.json.

Everything here is computed from store records, never from memory of the run, so
`curator report` can rebuild it for any past run.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import platform
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import ClassVar

import pandas as pd

from curator import __version__
from curator.host.inputs import Unreadable, quoted, read_regular
from curator.host.layout import RunLayout
from curator.model import codec
from curator.model.codec import spec
from curator.model.distribution import Distribution
from curator.model.errors import UsageError
from curator.model.ids import ANY_PLATFORM, CellId, Platform, PyVersion, RunId, SuiteName
from curator.model.outcome import Status, SuiteOutcome, Verdict, expired_rules, unexpected
from curator.model.pins import Pins
from curator.plan.cells import Plan
from curator.resolve.lock import Lock, parse_requirements
from curator.results.gate import PlatformState, evaluate
from curator.store.db import CellRecord, RunRecord, Store


@dataclass(frozen=True)
class ResultRow:
    """One row of cells.csv: a cell × suite (docs/running.md, "The run folder").

    The suite's outcome is flattened into its columns, so every field of `SuiteOutcome` is a column
    (`duration` as `duration_s`; `tail` and `cases` are left out). The contract's columns come
    first, in `CSV_ORDER`; a column added later follows them. `platform` is the uv target the cell
    was planned for (empty for a manifest that names none), `tested` false for a cell no executor
    of its platform ran ("locked, not tested": its suites `skipped`, its lock still made).
    """

    CSV_ORDER: ClassVar[tuple[str, ...]] = (
        "cell", "python", "pins", "suite", "status", "passed", "failed", "errors", "skipped", "duration_s", "log",
        "reason", "signature", "attempts", "baseline", "changes", "reused_from", "reproduce", "lock", "outcome_key",
        "raw_status", "rule", "worker", "platform", "tested",
    )  # fmt: skip

    cell: CellId
    python: PyVersion
    pins: Pins
    outcome: SuiteOutcome
    baseline: bool
    changes: Pins
    reused_from: str
    reproduce: str
    lock: str
    outcome_key: str
    worker: str = "local"  # where the cell ran: `local`, or a dask worker's address
    platform: Platform = ANY_PLATFORM
    tested: bool = True


def result_rows(records: Sequence[CellRecord], layout: RunLayout) -> list[ResultRow]:
    """The rows of cells.csv for recorded cells, in record order."""
    rows = []
    for record in records:
        outcome = record.outcome
        lock = layout.lock_ref(record.cell_id) if outcome.lock_key else ""
        for suite in outcome.suites:
            rows.append(
                ResultRow(
                    cell=record.cell_id,
                    python=record.python,
                    pins=record.pins,
                    outcome=replace(suite, duration=round(suite.duration, 3), cases=(), tail=""),
                    baseline=record.baseline,
                    changes=record.changes,
                    reused_from=outcome.reused_from or "",
                    reproduce=outcome.reproduce,
                    lock=lock,
                    outcome_key=outcome.outcome_key,
                    worker=outcome.worker,
                    platform=record.platform,
                    tested=outcome.tested,
                )
            )
    return rows


def table_of(rows: Sequence[ResultRow]) -> pd.DataFrame:
    """cells.csv as a pandas table: `pins` and `changes` hold `Pins`, `status` a `Status`."""
    return pd.DataFrame([codec.flat(row) for row in rows], columns=codec.names(ResultRow))


def read_cells_csv(text: str, where: str) -> list[ResultRow]:
    """A cells.csv read back; `UsageError` naming `where` when it is not one curator wrote."""
    try:
        return codec.read_csv(ResultRow, text)
    except (ValueError, csv.Error) as exc:
        raise UsageError(f"{where}: not a cells.csv curator wrote ({exc})") from None


@dataclass(frozen=True)
class Unexpected:
    """An outcome that makes the run fail (exit 1)."""

    cell: CellId
    suite: SuiteName
    status: Status
    reason: str
    signature: str


@dataclass(frozen=True)
class GateSummary:
    """The release gate as run.json says it (`platforms`: each platform the manifest names, tested or
    only locked, and what the run did there: "tested", "locked, not tested" or "not locked")."""

    holds: bool
    failing_baseline_cells: tuple[CellId, ...]
    missing_pythons: tuple[PyVersion, ...]
    problems: tuple[str, ...]
    platforms: tuple[PlatformState, ...] = ()


@dataclass(frozen=True)
class RunSummary:
    """What a run amounted to: counts, the verdict, and whether the release gate holds. Its JSON
    form is the summary part of run.json and of `curator run --format json`."""

    run_id: RunId
    verdict: Verdict
    counts: dict[str, int]
    cells: int
    planned_cells: int
    reused_cells: int
    unexpected: tuple[Unexpected, ...]  # every outcome that makes the run fail
    expired: tuple[str, ...] = field(metadata=spec(json="expired_exceptions"))  # `FILE:LINE: exception … expired`
    gate: GateSummary
    untested_cells: int = 0  # locked, not tested: no executor of their platform ran them (not in `counts`)

    @property
    def ok(self) -> bool:
        """Everything as expected (exit status 0)."""
        return self.verdict is Verdict.PASSED

    @property
    def interrupted(self) -> bool:
        """The run stopped before every cell was recorded."""
        return self.verdict is Verdict.INTERRUPTED


def summarize(
    records: Sequence[CellRecord],
    run: RunRecord,
    plan: Plan,
    distribution: Distribution,
    today: dt.date,
    *,
    interrupted: bool,
) -> RunSummary:
    """Counts, verdict and gate from a run's recorded cells.

    A cell no executor of its platform ran is in no count but `untested_cells`; it makes the run
    fail only on a platform the manifest tests (where every cell must run), never on one it only locks.
    """
    platforms = distribution.platforms
    counts = Counter(str(s.status) for r in records if r.outcome.tested for s in r.outcome.suites)
    unexpected_rows = [
        Unexpected(r.cell_id, s.suite, s.status, s.reason, s.signature)
        for r in records
        for s in r.outcome.suites
        if (
            unexpected(s.status, baseline=r.baseline, expected_skip=s.expected_skip)
            if r.outcome.tested
            else platforms is None or platforms.is_tested(r.platform)
        )
    ]
    expired = [
        f"{distribution.path}:{rule.line}: exception '{rule.describe()}' expired on {rule.expires}"
        for rule in expired_rules(distribution.policy, today)
    ]
    gate = evaluate(records, distribution.python, finished=not interrupted, platforms=platforms)
    missing_baseline = not interrupted and not gate.baseline
    if interrupted:
        verdict = Verdict.INTERRUPTED
    elif unexpected_rows or expired or missing_baseline:
        verdict = Verdict.FAILED
    else:
        verdict = Verdict.PASSED
    return RunSummary(
        run_id=run.id,
        counts={str(s): counts[str(s)] for s in Status if counts.get(str(s))},
        cells=len(records),
        reused_cells=sum(1 for r in records if r.outcome.reused_from),
        verdict=verdict,
        gate=GateSummary(gate.holds, gate.failing, gate.missing, tuple(gate.problems(run.id)), gate.platforms),
        untested_cells=sum(1 for r in records if not r.outcome.tested),
        unexpected=tuple(unexpected_rows),
        expired=tuple(expired),
        planned_cells=len(plan.cells),
    )


@dataclass(frozen=True)
class ManifestRef:
    """The manifest a run read, and its hash."""

    path: str
    sha256: str


@dataclass(frozen=True)
class RunDocument:
    """run.json (docs/running.md): what ran, and its summary."""

    summary: RunSummary = field(metadata=spec(inline=True))
    distribution: str
    version: str
    manifest: ManifestRef
    strategy: str
    pythons: tuple[PyVersion, ...]
    started: str  # ISO 8601, UTC
    finished: str
    duration_s: float
    tools: Mapping[str, str]
    executor: Mapping[str, object]
    store: str


def run_json(
    run: RunRecord, summary: RunSummary, distribution: Distribution, layout: RunLayout, store: Path
) -> RunDocument:
    """The content of run.json (docs/running.md)."""
    finished = run.finished or time.time()  # a re-render (`curator report`) keeps the recorded end
    return RunDocument(
        summary=summary,
        distribution=distribution.name,
        version=distribution.version,
        manifest=ManifestRef(run.manifest_path, run.manifest_sha256),
        strategy=run.strategy,
        pythons=run.pythons,
        started=_iso(run.started),
        finished=_iso(finished),
        duration_s=round(finished - run.started, 1),
        tools=_recorded_tools(layout.run_json, run.id) or tool_versions(),
        executor=json.loads(run.executor),
        store=str(store.resolve()),
    )


def vouched_lock(store: Store, layout: RunLayout, cell: CellRecord) -> Lock | None:
    """A cell's lock as the store vouches for it: the stored text, or else (a store written before
    locks were kept in it) the run folder's `locks/<cell>.txt` when its content key is the one
    recorded — an edited file is never used."""
    stored = store.lock(cell.outcome.lock_key)
    if stored is not None:
        return parse_requirements(cell.python, stored.text)
    try:
        lock = parse_requirements(cell.python, layout.lock(cell.cell_id).read_text())
    except OSError:
        return None
    return lock if lock.key == cell.outcome.lock_key else None


RUN_JSON_LIMIT = 64 * 1024 * 1024
"""The largest run.json read back (a run of 100,000 cells writes a few MiB)."""

_RUN_ID = re.compile(r"[\w.:+-]{1,200}", re.ASCII)


def read_run_json(folder: Path) -> dict[str, object]:
    """A run folder's run.json (it names the run and its store); `UsageError` when there is none,
    or it is not one curator wrote: not a regular file of at most 64 MiB, not a JSON object, a
    `run_id` that is not a run id, a `store` that is not a path."""
    path = RunLayout(folder).run_json
    try:
        data = json.loads(read_regular(path, RUN_JSON_LIMIT))
    except FileNotFoundError:
        raise UsageError(
            f"{folder}: not a run folder (no run.json); give a folder written by `curator run`, or a run id"
        ) from None
    except Unreadable as exc:
        raise UsageError(f"{path}: {exc}") from None
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested past the parser's depth
        raise UsageError(f"{path}: not a run.json curator wrote (not JSON)") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a run.json curator wrote (not a JSON object)")
    run_id, store = data.get("run_id"), data.get("store", "")
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        shown = quoted(run_id) if isinstance(run_id, str) else type(run_id).__name__
        raise UsageError(f"{path}: not a run.json curator wrote (run_id {shown} is not a run id)")
    if not isinstance(store, str) or "\0" in store:
        raise UsageError(f"{path}: not a run.json curator wrote (store is not a path)")
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
