"""What the terminal shows while a run works: counts, running cells, reproduce commands."""

from __future__ import annotations

import io

from rich.console import Console

from curator.cli.terminal import LiveObserver, PlainObserver
from curator.model.ids import CellId, PyVersion, SuiteName
from curator.model.outcome import CellOutcome, Status, SuiteOutcome
from curator.model.pins import Pins
from curator.plan.cells import Cell

CELL = Cell(
    CellId("py3.12-numpy@2.0.0"),
    PyVersion("3.12"),
    Pins({"numpy": "2.0.0"}),
    Pins({"numpy": "2.0.0"}),
    (SuiteName("pn"),),
    "k",
)
FAILED = CellOutcome(
    CELL.id,
    (SuiteOutcome(SuiteName("pn"), Status.FAILED, Status.FAILED, "1 test(s) failed"),),
    duration=3.2,
    reproduce="nox -f reports/r/noxfile.py -s py3.12-numpy@2.0.0",
)


def _console() -> Console:
    return Console(file=io.StringIO(), width=120, force_terminal=True, record=True, color_system=None)


def test_plain_lines_name_the_cell_status_and_reproduce_command() -> None:
    console = _console()
    observer = PlainObserver(console)
    observer.phase("testing", 2)
    observer.cell_finished(CELL, FAILED, reused=False)
    text = console.export_text()
    assert "testing 2 cells" in text
    assert "[1/2] failed" in text and "py3.12-numpy@2.0.0 in 3.2s: pn failed" in text
    assert "reproduce: nox -f reports/r/noxfile.py -s py3.12-numpy@2.0.0" in text


def test_live_display_shows_progress_counts_and_running_cells() -> None:
    console = _console()
    with LiveObserver(console) as observer:
        observer.phase("testing", 2)
        observer.cell_started(CELL)
        snapshot = _console()
        snapshot.print(observer.view())
        running = snapshot.export_text()
        observer.cell_finished(CELL, FAILED, reused=False)
    text = console.export_text()
    assert "running py3.12-numpy@2.0.0" in running
    assert "testing" in text and "1/2" in text
    assert "failed: 1" in text


def test_a_refused_cell_names_the_packages_the_resolver_cites_and_a_split_is_one_line_each() -> None:
    cell = Cell(
        CellId("py3.12-jinja2@2.11.3"),
        PyVersion("3.12"),
        Pins({"flask": "3.0.3", "jinja2": "2.11.3", "markupsafe": "2.1.5"}),
        Pins({"jinja2": "2.11.3"}),
        (SuiteName("fj"),),
        "k",
    )
    reason = "Because flask==3.0.3 depends on jinja2>=3.1.2 and you require jinja2==2.11.3, … unsatisfiable."
    refused = CellOutcome(cell.id, (SuiteOutcome(SuiteName("fj"), Status.UNRESOLVABLE, Status.UNRESOLVABLE, reason),))
    console = _console()
    observer = PlainObserver(console)
    observer.phase("splitting", 1)
    observer.step("splitting", "py3.12-jinja2@2.11.3 refused (flask, jinja2): its suites also run in 1 minimal cell")
    observer.phase("resolving", 1)
    observer.step("resolving", "py3.12-only-jinja2@2.11.3-markupsafe@2.1.5")  # says nothing: resolving is quick
    observer.cell_finished(cell, refused, reused=False)
    lines = console.export_text().splitlines()
    assert lines[:3] == [
        "splitting 1 cell",
        "  py3.12-jinja2@2.11.3 refused (flask, jinja2): its suites also run in 1 minimal cell",
        "resolving 1 cell",
    ]
    assert lines[3].endswith("py3.12-jinja2@2.11.3 in 0.0s: fj unresolvable (the resolver names flask, jinja2)")
