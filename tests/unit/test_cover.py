"""The covering array of the `cover` strategy at scale: sizes, bounds, budget, determinism.

Coverage on small random shapes is a hypothesis test in test_plan.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from curator import manifest
from curator.cli import main
from curator.model.distribution import Strategy
from curator.model.errors import CoverTooLarge, PlanTooLarge
from curator.plan import cells as plan
from curator.plan.cover import BUDGET, covering_array
from tests.conftest import WriteManifest


def _shape(columns: int, values: int) -> tuple[list[list[int]], list[int]]:
    """`columns` columns of `values` values, the baseline at each one's last (the newest)."""
    return [list(range(values))] * columns, [values - 1] * columns


def _covers_every_pair(values: list[list[int]], rows: list[list[int]]) -> bool:
    """Vectorised: for each column i, which value pairs it meets in each later column."""
    array = np.array(rows, dtype=np.int64)
    sizes = np.array([len(v) for v in values])
    for i in range(len(sizes) - 1):
        later = sizes[i + 1 :]
        width = sizes[i] * later.max()
        seen = np.arange(width)[None, :] >= (sizes[i] * later)[:, None]  # pairs that do not exist
        seen[np.arange(len(later))[None, :], array[:, i : i + 1] * later + array[:, i + 1 :]] = True
        if not seen.all():
            return False
    return True


def test_the_check_of_coverage_can_fail() -> None:
    values, start = _shape(13, 3)
    rows = covering_array(values, start=start)
    assert _covers_every_pair(values, rows)
    assert not _covers_every_pair(values, rows[:-1])


def test_two_columns_give_their_product_baseline_first() -> None:
    rows = covering_array([list(range(60)), list(range(60))], start=[59, 59])
    assert len(rows) == 60 * 60
    assert rows[0] == [59, 59]
    assert len({tuple(row) for row in rows}) == 3600


def test_one_column_gives_each_value_once_baseline_first() -> None:
    assert covering_array([["a", "b", "c"]], start=["b"]) == [["b"], ["a"], ["c"]]
    assert covering_array([["a", "b"]]) == [["a"], ["b"]]


@pytest.mark.parametrize(
    ("columns", "values", "most"),
    [
        (10, 2, 6),  # optimal
        (5, 4, 16),  # optimal: an orthogonal array
        (13, 3, 15),  # optimal
        (30, 3, 20),
        (100, 3, 27),
    ],
)
def test_small_problems_are_shrunk_to_few_rows(columns: int, values: int, most: int) -> None:
    shape = _shape(columns, values)
    rows = covering_array(*shape)
    assert len(rows) <= most
    assert _covers_every_pair(shape[0], rows)


def test_thousand_packages_with_three_candidates_fit_a_small_work_budget() -> None:
    values, start = _shape(1000, 3)
    rows = covering_array(values, start=start, budget=BUDGET // 5)  # about 28 million steps are needed
    assert rows[0] == start
    assert 9 <= len(rows) <= 45  # 43 today; a row per candidate pair would be 4.5 million
    assert _covers_every_pair(values, rows)


def test_hundred_packages_with_ten_candidates_complete() -> None:
    values, start = _shape(100, 10)
    rows = covering_array(values, start=start)
    assert rows[0] == start
    assert 100 <= len(rows) <= 330  # 311 today
    assert _covers_every_pair(values, rows)


def test_same_columns_give_the_same_rows() -> None:
    """Cell keys are stable: a fresh computation (another budget is another cache entry) agrees."""
    for columns, values in ((13, 3), (40, 4), (7, 6)):
        values_, start = _shape(columns, values)
        assert covering_array(values_, start=start) == covering_array(values_, start=start, budget=BUDGET - 1)


def test_the_baseline_may_be_any_value_and_stays_first() -> None:
    values = [list(range(n)) for n in (2, 5, 3, 4, 2, 3)]
    start = [1, 2, 0, 3, 0, 1]
    rows = covering_array(values, start=start)
    assert rows[0] == start
    assert all(len({(r[i], r[j]) for r in rows}) == len(values[i]) * len(values[j]) for i in range(6) for j in range(i))


def test_too_large_to_build_is_a_typed_error() -> None:
    with pytest.raises(CoverTooLarge, match="more than 3,000,000 steps"):
        covering_array(*_shape(100, 10), budget=3_000_000)  # runs out while building
    with pytest.raises(CoverTooLarge):  # refused before building anything
        covering_array(*_shape(100, 10), budget=1_000_000)
    with pytest.raises(CoverTooLarge):
        covering_array(*_shape(300, 40))
    assert issubclass(CoverTooLarge, PlanTooLarge)


def test_a_cover_too_large_to_build_is_bad_input_that_names_the_manifest(
    write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = ", ".join(f"'{v}.0'" for v in range(1, 41))
    packages = "\n".join(f"  pkg{i:03d}: {{versions: [{versions}]}}" for i in range(100))
    path = write_manifest(
        f"distribution: huge\nversion: '1'\npython: ['3.12']\npackages:\n{packages}\nmatrix:\n  strategy: full\n"
    )
    dist = manifest.load(path)
    assert plan.counts(dist)[Strategy.COVER] is None  # `curator check` says so instead of failing
    with pytest.raises(PlanTooLarge) as caught:
        plan.build(dist)  # `full` is too large; the hint leaves out `cover` rather than failing on it
    assert "'cover'" not in str(caught.value)
    assert main(["plan", str(path), "--strategy", "cover"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:4:1: the pairwise covering array of 100 packages with up to 40 candidates" in err
