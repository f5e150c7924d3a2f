"""The names things go by: run, cell and suite ids, and "3.12"-style Python versions.

`NewType`s cost nothing at run time and let the type checker tell a cell id from a suite
name. How a cell id is spelled is decided here and nowhere else.
"""

from __future__ import annotations

from typing import NewType

from packaging.version import Version

RunId = NewType("RunId", str)
"""A run: `20261123-201503-3fa2` (sortable by start time)."""

CellId = NewType("CellId", str)
"""A cell of a plan: `py3.12-baseline`, `py3.12-numpy@1.26.4-pandas@2.1.1`."""

SuiteName = NewType("SuiteName", str)
"""An integration suite (`pandas-numpy`), a package's own tests (`pandas:tests`), or `install`."""

PyVersion = NewType("PyVersion", str)
"""A Python of the manifest's axis, MAJOR.MINOR: `3.12`."""

BASELINE = "baseline"


def cell_id(python: str, changes: list[tuple[str, Version]] | tuple[tuple[str, Version], ...]) -> CellId:
    """A cell's id: its Python and the pins that differ from blessed, in manifest order, each as
    `name@version` (`py3.11-jinja2@2.11.3-markupsafe@2.1.2`).

    `@` cannot occur in a package name or a version, so an id reads back unambiguously (where
    `jinja22.11.3` would not), and it is valid in a nox session name, a file name and a shell word.
    """
    label = "-".join(f"{name}@{version}" for name, version in changes) or BASELINE
    return CellId(f"py{python}-{label}")


def baseline_id(python: str) -> CellId:
    """The id of the baseline cell of `python`."""
    return cell_id(python, ())


def python_key(python: str) -> Version:
    """Sort key for Python versions: "3.9" before "3.12"."""
    return Version(python)
