"""The machine-readable files of a run folder: cells.csv, matrices/ and run.json.

They render a `RunData` (report/data.py); their columns and fields are the contract in
docs/running.md.
"""

from __future__ import annotations

from pathlib import Path

from curator.host.layout import atomic_write
from curator.model import codec
from curator.report.data import RunData, matrix_items
from curator.results.matrix import matrix_csv
from curator.results.rows import ResultRow, run_json


def write_cells_csv(data: RunData) -> Path:
    """`cells.csv`: one row per cell × suite."""
    atomic_write(data.layout.cells_csv, codec.write_csv(ResultRow, data.rows))
    return data.layout.cells_csv


def write_matrices(data: RunData) -> list[Path]:
    """`matrices/py<X.Y>__<dependent>__<dependency>.csv` for every matrix of the run."""
    data.layout.matrices.mkdir(parents=True, exist_ok=True)
    written = []
    for (python, row, column), result in matrix_items(data).items():
        path = data.layout.matrix(python, row, column)
        atomic_write(path, matrix_csv(result))
        written.append(path)
    return written


def write_run_json(data: RunData) -> Path:
    """`run.json`: what ran, with the summary, the verdict and the gate."""
    content = run_json(data.record, data.summary, data.distribution, data.layout, data.store_path)
    atomic_write(data.layout.run_json, codec.dumps(content, indent=2) + "\n")
    return data.layout.run_json


def write_nightly_json(data: RunData) -> Path | None:
    """`nightly.json` of a nightly (docs/nightly.md): its categories, culprits, flaky suites."""
    if data.nightly is None:
        return None
    atomic_write(data.layout.nightly_json, codec.dumps(data.nightly.night, indent=2) + "\n")
    return data.layout.nightly_json


def write_notices(data: RunData) -> list[Path]:
    """`notices/NN-py<X.Y>-<suite>.md`: one per regression of a nightly, for its maintainers."""
    from curator.nightly.notices import notices

    if data.nightly is None:
        return []
    tails = {(r.cell_id, s.suite): s.tail for r in data.records for s in r.outcome.suites}
    written = []
    for notice in notices(data.nightly.night, data.distribution, tails):
        path = data.layout.notices / notice.name
        atomic_write(path, notice.text)
        written.append(path)
    return written
