"""Written by curator: the protocol between curator, a run's noxfile.py and suite_runner.py.

curator writes `nox-cells.json` (a `CellsFile`); the noxfile reads it, builds each cell's
environment and hands every suite to suite_runner.py as a `Job`; the runner writes a `Result`
per suite attempt; curator reads the results and the marker files back. Each side validates
what it reads against the shapes below, so a mismatch is an error naming the field, never a
wrong outcome. This file is the only description of that protocol: curator imports it as
`curator.execute.harness.protocol`, the noxfile and the runner load it from beside themselves.

Standard library only, and Python 3.8 syntax: the runner runs on the cell's interpreter.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

VERSION = 1
"""Bumped when a shape below changes incompatibly; both ends refuse another version."""

CELLS_FILE = "nox-cells.json"
ENV_OUT = "CURATOR_CELL_OUT"  # where a cell's logs, JUnit and result files go
ENV_ATTEMPT = "CURATOR_ATTEMPT"  # 1 for the first run of the suites, 2… for retries
INSTALLED = "installed"  # marker file: the environment was built (written by the noxfile)
CELL_LOG = "cell.log"  # the nox session's own output
ENV_PREPARED = "CURATOR_ENV"  # the environment curator built and verified for the session (nox must use it)
PYCACHE = ".pycache"  # inside a cell's environment: where the suites' bytecode goes (PYTHONPYCACHEPREFIX)

LOG_HEAD = 1_000_000
LOG_TAIL = 4_000_000
"""What a suite's log keeps of its output: the first `LOG_HEAD` bytes (how it started: collection,
the first failure) and the last `LOG_TAIL` (pytest's summary, the last traceback); what lies
between is cut, and a line in its place says how much (`cut_notice`). The output is written once,
to the suite's log; the cell's log only says where it went."""


class ProtocolError(ValueError):
    """A file of the protocol does not have the shape this side expects."""


# Shapes (documented as dicts: JSON in, JSON out) -------------------------------------------

SUITE_FIELDS = {"name": str, "argv": list, "cwd": str, "junit": bool, "env": dict}
"""A suite of a cell: what to run, where, with which environment variables."""

CELL_FIELDS = {"python": str, "lock": str, "install_args": list, "suites": list}
"""A cell: the interpreter (absolute path), its lock file, uv's index options, its suites."""

JOB_FIELDS = {"argv": list, "cwd": str, "env": dict, "log": str, "result": str, "echo": bool}
"""What the noxfile asks the runner to do for one suite attempt; `echo`: also print the suite's
output as it comes (a reproduction at a terminal), not only into its log."""

RESULT_STATES = ("started", "finished")
"""A result file says `started` when the suite began and `finished`, with its exit status, at the end."""


def _check(data: Any, fields: Mapping[str, type], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} must be an object, not {type(data).__name__}")
    for name, kind in fields.items():
        if name not in data:
            raise ProtocolError(f"{what} has no '{name}'")
        if not isinstance(data[name], kind):
            raise ProtocolError(f"{what}: '{name}' must be {kind.__name__}, not {type(data[name]).__name__}")
    return data


def cells_file(cells: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The content of nox-cells.json for these cells (each validated)."""
    for cell_id, cell in cells.items():
        validate_cell(cell_id, cell)
    return {"protocol": VERSION, "cells": dict(cells)}


def validate_cells_file(data: Any) -> dict[str, dict[str, Any]]:
    """The cells of a nox-cells.json, each checked; a `ProtocolError` names what is wrong."""
    _check(data, {"protocol": int, "cells": dict}, CELLS_FILE)
    if data["protocol"] != VERSION:
        raise ProtocolError(
            f"{CELLS_FILE} speaks protocol {data['protocol']}, this file speaks {VERSION}: "
            "the run folder was written by another curator"
        )
    for cell_id, cell in data["cells"].items():
        validate_cell(cell_id, cell)
    return data["cells"]  # type: ignore[no-any-return]


def validate_cell(cell_id: str, cell: Any) -> dict[str, Any]:
    """One cell's entry, with its suites."""
    _check(cell, CELL_FIELDS, f"cell {cell_id}")
    for suite in cell["suites"]:
        _check(suite, SUITE_FIELDS, f"a suite of cell {cell_id}")
    return cell  # type: ignore[no-any-return]


def validate_job(data: Any) -> dict[str, Any]:
    """A runner's job."""
    return _check(data, JOB_FIELDS, "suite job")


def validate_result(data: Any) -> dict[str, Any]:
    """A result file: `state` is started or finished; a finished one has an int `returncode`."""
    _check(data, {"state": str, "argv": list, "started": float}, "suite result")
    if data["state"] not in RESULT_STATES:
        raise ProtocolError(f"suite result: unknown state {data['state']!r}")
    if data["state"] == "finished":
        _check(data, {"returncode": int, "duration": float}, "finished suite result")
    return data  # type: ignore[no-any-return]


def file_stem(suite: str, attempt: int) -> str:
    """How a suite's log, JUnit and result files are named for one attempt: `networkx-tests`,
    `networkx-tests.attempt2`."""
    stem = re.sub(r"[^\w.-]", "-", suite)
    return stem if attempt == 1 else f"{stem}.attempt{attempt}"


def artefacts(folder: Path, suite: str, attempt: int) -> dict[str, Path]:
    """The files one suite attempt leaves in a cell's folder: log, JUnit XML, result."""
    stem = file_stem(suite, attempt)
    return {"log": folder / f"{stem}.log", "junit": folder / f"{stem}.xml", "result": folder / f"{stem}.json"}


def write_json(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename, so a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def read_result(path: Path) -> dict[str, Any]:
    """A result file, validated; an empty dict when there is none (the suite never started)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    return validate_result(json.loads(text))


def size(count: int) -> str:
    """A byte count as a person reads it: `812 bytes`, `45.1 kB`, `198.3 MB`, `2.1 GB`."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def cut_notice(cut: int, total: int, head: int, tail: int, why: str = "") -> bytes:
    """The line standing where a log was cut: how much is missing there, of how much, what is kept."""
    because = f"; {why}" if why else ""
    return (
        f"\n… {size(cut)} cut here … [curator: the output was {size(total)}; its first {size(head)} and last "
        f"{size(tail)} are kept{because}]\n"
    ).encode()


def job_argv(argv: list[str], executable: str) -> list[str]:
    """A suite's command with `python` standing for the cell's own interpreter."""
    return [executable if part == "python" else part for part in argv]
