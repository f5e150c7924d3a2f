"""The order cells run in: the longest first, from the store's history."""

from __future__ import annotations

from curator.execute.schedule import expected, longest_first
from curator.model.ids import CellId, PyVersion, SuiteName
from curator.model.pins import Pins
from curator.plan.cells import Cell


def _cell(name: str, suites: int) -> Cell:
    return Cell(
        CellId(name), PyVersion("3.12"), Pins(), Pins(), tuple(SuiteName(f"s{i}") for i in range(suites)), key=name
    )


def _ids(cells: list[Cell]) -> list[str]:
    return [c.id for c in cells]


def test_the_longest_cell_of_the_last_run_goes_first() -> None:
    cells = [_cell("baseline", 2), _cell("a", 2), _cell("b", 2)]
    history = {CellId("baseline"): 10.0, CellId("a"): 30.0, CellId("b"): 20.0}
    assert _ids(longest_first(cells, history)) == ["a", "b", "baseline"]


def test_a_new_cell_is_estimated_from_the_others_by_its_suites() -> None:
    """3 s a suite from history: a new cell of 6 suites (18 s) runs before a known one of 12 s."""
    cells = [_cell("known", 4), _cell("new", 6), _cell("short", 1)]
    history = {CellId("known"): 12.0, CellId("short"): 3.0}
    assert expected(cells, history)[CellId("new")] == 15.0 / 5 * 6
    assert _ids(longest_first(cells, history)) == ["new", "known", "short"]


def test_without_history_more_suites_first_and_ties_keep_the_plan_order() -> None:
    """The plan puts each Python's baseline first: the environment the others are copied from."""
    cells = [_cell("py3.11-baseline", 6), _cell("py3.11-x", 6), _cell("py3.11-y", 2), _cell("py3.12-baseline", 6)]
    assert _ids(longest_first(cells, {})) == ["py3.11-baseline", "py3.11-x", "py3.12-baseline", "py3.11-y"]
