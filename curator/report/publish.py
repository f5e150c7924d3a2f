"""Publish a run: compute its report data once, write every output, then mark it finished.

The order is the promise: cells.csv, matrices/, run.json and index.html are written before the
store calls the run finished, so a run killed while writing is still unfinished and
`curator run --resume` (or `curator report`) writes them again. The index of runs comes last.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from curator.model import codec
from curator.model.distribution import Distribution
from curator.model.ids import RunId
from curator.model.outcome import RunStatus
from curator.report import data as report_data
from curator.report import html
from curator.report import outputs as files
from curator.report.data import RunData
from curator.store.db import Store


def publish(store: Store, run_id: RunId, distribution: Distribution, *, today: dt.date, interrupted: bool) -> RunData:
    """Write a run's folder from the store and record how the run ended; returns what it found."""
    finished = time.time()
    data = report_data.build(store, run_id, distribution, today=today, interrupted=interrupted, finished=finished)
    _write_folder(data)
    summary = data.summary
    store.finish_run(
        run_id,
        status=RunStatus.INTERRUPTED if interrupted else RunStatus.FINISHED,
        verdict=summary.verdict,
        summary=codec.dumps(summary),
        finished=finished,
    )
    html.render_index(store)
    return data


def rerender(
    store: Store, run_id: RunId, distribution: Distribution, *, today: dt.date, folder: Path | None = None
) -> RunData:
    """`curator report`: the run folder (by default where the run wrote it) written again from the store."""
    data = report_data.build(store, run_id, distribution, today=today, folder=folder)
    _write_folder(data)
    html.render_index(store)
    return data


def _write_folder(data: RunData) -> None:
    """Every file of the run folder that renders the run's data."""
    files.write_cells_csv(data)
    files.write_matrices(data)
    files.write_run_json(data)
    files.write_nightly_json(data)
    files.write_notices(data)
    html.render_run(data)
