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
"""A cell of a plan: `py3.12-baseline`, `py3.12-numpy@1.26.4-pandas@2.1.1`, `py3.12-only-numpy@1.26.4-pandas@2.2.3`."""

SuiteName = NewType("SuiteName", str)
"""An integration suite (`pandas-numpy`), a package's own tests (`pandas:tests`), or `install`."""

PyVersion = NewType("PyVersion", str)
"""A Python of the manifest's axis, MAJOR.MINOR: `3.12`."""

Platform = NewType("Platform", str)
"""A platform of the manifest (`platforms`): one of uv's `--python-platform` targets,
`x86_64-pc-windows-msvc`; "" for a cell of a manifest that names none (it runs wherever it is sent)."""

ANY_PLATFORM = Platform("")
"""The platform of a cell of a manifest without `platforms`."""

BASELINE = "baseline"


def cell_id(
    python: str, changes: list[tuple[str, Version]] | tuple[tuple[str, Version], ...], platform: str = ""
) -> CellId:
    """A cell's id: its Python, its platform when the manifest names platforms, and the pins that
    differ from blessed, in manifest order, each as `name@version`
    (`py3.11-jinja2@2.11.3-markupsafe@2.1.2`, `py3.12-x86_64-pc-windows-msvc-baseline`).

    `@` cannot occur in a package name or a version, so an id reads back unambiguously (where
    `jinja22.11.3` would not), and it is valid in a nox session name, a file name and a shell word.
    A platform is one of uv's targets, which hold no `@` either.
    """
    label = "-".join(f"{name}@{version}" for name, version in changes) or BASELINE
    return CellId(f"py{python}-{_on(platform)}{label}")


def _on(platform: str) -> str:
    return f"{platform}-" if platform else ""


ONLY = "only"


def minimal_cell_id(
    python: str, pins: list[tuple[str, Version]] | tuple[tuple[str, Version], ...], platform: str = ""
) -> CellId:
    """The id of a cell that holds only some manifest packages (`matrix.scope: minimal`, or a
    split): `only`, then every pin it holds, changed or blessed, in manifest order —
    `py3.12-only-jinja2@2.11.3-markupsafe@2.1.2`.

    `only` has no `@`, so it is never read as a pin; it tells this cell from the full-scope cell
    with the same changes (which holds every other package as well).
    """
    return CellId(f"py{python}-{_on(platform)}{ONLY}-" + "-".join(f"{name}@{version}" for name, version in pins))


def baseline_id(python: str, platform: str = "") -> CellId:
    """The id of the baseline cell of `python` (on `platform`)."""
    return cell_id(python, (), platform)


def python_key(python: str) -> Version:
    """Sort key for Python versions: "3.9" before "3.12"."""
    return Version(python)
