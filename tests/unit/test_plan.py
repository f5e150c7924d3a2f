"""Strategies, merging, keys, limits and the pairwise covering array."""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from curator import manifest
from curator.cli import main
from curator.model.distribution import Strategy
from curator.model.errors import PlanTooLarge
from curator.model.ids import PyVersion
from curator.plan import cells as plan
from curator.plan.cover import covering_array
from curator.resolve.graph import DependencyGraph
from curator.resolve.lock import parse_requirements
from tests.conftest import WriteManifest

MANIFEST = """
distribution: demo
version: "1"
python: ["3.11", "3.12"]
packages:
  numpy: {versions: ["1.26.4", "2.1.3"]}
  pandas: {versions: ["2.1.4", "2.2.3"]}
  attrs: {versions: ["24.2.0"]}
  click: {versions: ["8.0", "8.1", "8.2"], blessed: "8.1"}
suites:
  pn:
    path: suites/pn
    requires: [pandas, numpy]
  cl:
    path: suites/cl
    requires: [click]
"""


@pytest.fixture
def dist(write_manifest: WriteManifest) -> manifest.Distribution:
    return manifest.load(
        write_manifest(
            MANIFEST, suites={"suites/pn": "def test_a():\n    pass\n", "suites/cl": "def test_b():\n    pass\n"}
        )
    )


def _changes(p: plan.Plan, python: str = "3.11") -> list[dict[str, str]]:
    return [c.changes.to_json() for c in p.cells if c.python == python]


def test_baseline_is_one_cell_per_python_with_everything_blessed(dist: manifest.Distribution) -> None:
    result = plan.build(dist, Strategy.BASELINE)
    assert [c.id for c in result.cells] == ["py3.11-baseline", "py3.12-baseline"]
    cell = result.cells[0]
    assert cell.pins == {
        "numpy": Version("2.1.3"),
        "pandas": Version("2.2.3"),
        "attrs": Version("24.2.0"),
        "click": Version("8.1"),
    }
    assert cell.suites == ("pn", "cl")
    assert str(cell.pins) == "attrs==24.2.0 click==8.1 numpy==2.1.3 pandas==2.2.3"


def test_upgrades_change_one_thing_at_a_time(dist: manifest.Distribution) -> None:
    result = plan.build(dist, Strategy.UPGRADES)
    assert _changes(result) == [{}, {"numpy": "1.26.4"}, {"pandas": "2.1.4"}, {"click": "8.0"}, {"click": "8.2"}]
    assert result.cells[3].id == "py3.11-click@8.0"
    assert result.cells[3].reasons == ("downgrade click",)
    assert result.cells[4].reasons == ("upgrade click",)  # 8.2 > blessed 8.1
    assert len(result.cells) == 10


def test_full_is_the_cartesian_product(dist: manifest.Distribution) -> None:
    result = plan.build(dist, Strategy.FULL)
    assert len(result.cells) == 2 * 2 * 1 * 3 * 2
    assert len({c.id for c in result.cells}) == len(result.cells)
    assert result.cells[0].is_baseline


def test_pairs_follow_the_graph_edges(dist: manifest.Distribution) -> None:
    lock = parse_requirements(
        "3.11",
        "numpy==2.1.3\n    # via pandas\npandas==2.2.3\n    # via -r requirements.in\n"
        "attrs==24.2.0\n    # via -r requirements.in\nclick==8.1\n    # via -r requirements.in\n",
    )
    graph = DependencyGraph.build(dist, lock)
    graphs = {PyVersion("3.11"): graph, PyVersion("3.12"): graph}
    result = plan.build(dist, Strategy.PAIRS, graphs=graphs)
    # pandas → numpy is the only edge: its 2 × 2 matrix, the baseline merged into it.
    # click lies on no edge: each of its other candidates is still tried once.
    assert _changes(result) == [
        {},
        {"numpy": "1.26.4", "pandas": "2.1.4"},
        {"pandas": "2.1.4"},
        {"numpy": "1.26.4"},
        {"click": "8.0"},
        {"click": "8.2"},
    ]
    assert result.cells[0].reasons == ("baseline", "pair pandas × numpy")
    assert result.cells[1].id == "py3.11-numpy@1.26.4-pandas@2.1.4"
    assert result.cells[4].reasons == ("click (on no edge)",)
    assert len(result.cells) == 12


def test_keys_are_stable_and_follow_the_suites_content(dist: manifest.Distribution) -> None:
    first = plan.build(dist, Strategy.UPGRADES)
    again = plan.build(dist, Strategy.UPGRADES)
    assert [c.key for c in first.cells] == [c.key for c in again.cells]
    assert len({c.key for c in first.cells}) == len(first.cells)
    (dist.suites[0].path / "test_suite.py").write_text("def test_a():\n    assert 1\n")
    changed = plan.build(dist, Strategy.UPGRADES)
    assert changed.cells[0].key != first.cells[0].key


def test_max_cells_refuses_a_large_plan_and_names_what_fits(
    write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    packages = "\n".join(f"  p{i}: {{versions: ['1', '2', '3']}}" for i in range(12))
    path = write_manifest(
        f"distribution: big\nversion: '1'\npython: ['3.12']\npackages:\n{packages}\n"
        "matrix:\n  strategy: full\n  max_cells: 30\n"
    )
    dist = manifest.load(path)
    with pytest.raises(PlanTooLarge) as caught:
        plan.build(dist)
    message = str(caught.value)
    assert message.startswith(f"{path}:19:3: the 'full' plan has 531441 cells, more than max_cells 30")
    assert "'cover'" in message and "'upgrades' (25 cells)" in message
    assert main(["plan", str(path)]) == 2
    assert "531441 cells" in capsys.readouterr().err


def test_involved_scope_narrows_cells_to_what_their_suites_need(write_manifest: WriteManifest) -> None:
    path = write_manifest(
        MANIFEST + "matrix:\n  scope: involved\n",
        suites={"suites/pn": "def test_a():\n    pass\n", "suites/cl": "def test_b():\n    pass\n"},
    )
    result = plan.build(manifest.load(path), Strategy.UPGRADES, pythons=[PyVersion("3.12")])
    by_id: dict[str, plan.Cell] = {c.id: c for c in result.cells}
    assert set(by_id["py3.12-baseline"].pins) == {"numpy", "pandas", "attrs", "click"}
    assert set(by_id["py3.12-numpy@1.26.4"].pins) == {"numpy", "pandas"}
    assert by_id["py3.12-numpy@1.26.4"].suites == ("pn",)
    assert by_id["py3.12-click@8.0"].suites == ("cl",)


def _covers_all_pairs(values: list[list[int]], rows: list[list[int]]) -> bool:
    for i, j in itertools.combinations(range(len(values)), 2):
        if {(r[i], r[j]) for r in rows} != set(itertools.product(values[i], values[j])):
            return False
    return True


@st.composite
def _columns_and_start(draw: st.DrawFn) -> tuple[list[list[int]], list[int] | None]:
    sizes = draw(st.lists(st.integers(min_value=1, max_value=5), min_size=0, max_size=10))
    values = [list(range(n)) for n in sizes]
    start = [draw(st.sampled_from(v)) for v in values] if draw(st.booleans()) else None
    return values, start


@settings(max_examples=60, deadline=None)
@given(_columns_and_start())
def test_cover_covers_every_pair(columns: tuple[list[list[int]], list[int] | None]) -> None:
    values, start = columns
    rows = covering_array(values, start=start)
    assert _covers_all_pairs(values, rows)
    assert all(
        len(row) == len(values) and all(0 <= v < len(c) for v, c in zip(row, values, strict=True)) for row in rows
    )
    if start is not None:
        assert rows[0] == start  # the baseline comes first, unchanged
    assert len({tuple(row) for row in rows}) == len(rows)  # no row twice
    sizes = [len(v) for v in values]
    pairs = sum(a * b for a, b in itertools.combinations(sizes, 2))
    assert all({row[c] for row in rows} == set(v) for c, v in enumerate(values))  # every value, even alone
    assert len(rows) <= min(math.prod(sizes), max(1 + pairs, *sizes, 1))  # each row covers something new
    if len(values) >= 2:
        a, b = sorted(sizes)[-2:]
        assert len(rows) >= a * b  # sanity: no array can be smaller


def test_cover_is_small_for_30_packages_with_3_candidates(
    write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    packages = "\n".join(f"  pkg{i:02d}: {{versions: ['1.0', '2.0', '3.0']}}" for i in range(30))
    path = write_manifest(
        f"distribution: wide\nversion: '1'\npython: ['3.12']\npackages:\n{packages}\nmatrix:\n  strategy: cover\n"
    )
    assert main(["plan", str(path), "--strategy", "cover", "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)["cells"]
    assert len(cells) <= 22  # 20 today; the full product would be 3**30
    rows = [[int(Version(c["pins"][f"pkg{i:02d}"]).major) for i in range(30)] for c in cells]
    assert _covers_all_pairs([[1, 2, 3]] * 30, rows)
    assert cells[0]["id"] == "py3.12-baseline" and cells[0]["baseline"] is True
    assert set(cells[0]) >= {"id", "python", "pins", "key", "suites"}


def test_plan_json_shape(dist: manifest.Distribution, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(dist.path), "--strategy", "upgrades", "--python", "3.12", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["strategy"] == "upgrades"
    assert [c["python"] for c in data["cells"]] == ["3.12"] * 5
    assert data["cells"][1]["pins"] == {"numpy": "1.26.4", "pandas": "2.2.3", "attrs": "24.2.0", "click": "8.1"}


def test_python_outside_the_axis_is_bad_input(dist: manifest.Distribution, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(dist.path), "--python", "3.9", "--strategy", "baseline"]) == 2
    assert "--python 3.9: not in the python axis" in capsys.readouterr().err


def test_unused_path_is_fine(tmp_path: Path) -> None:
    assert covering_array([]) == [[]]


def test_plan_prints_each_cell_id_whole_on_a_narrow_terminal(
    write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_manifest(
        "distribution: d\nversion: '1'\npython: ['3.12']\npackages:\n"
        "  a-rather-long-package-name: ['1.0.0', '2.0.0']\n  another-long-name-indeed: ['1.0.0', '2.0.0']\n"
        "matrix:\n  strategy: full\n"
    )
    monkeypatch.setenv("COLUMNS", "60")
    assert main(["plan", str(path)]) == 0
    printed = capsys.readouterr().out
    for cell in plan.build(manifest.load(path)).cells:
        assert any(cell.id in line for line in printed.splitlines()), cell.id  # copied whole into `nox -s`
    assert "py3.12-a-rather-long-package-name@1.0.0-another-long-name-indeed@1.0.0" in printed  # longer than 60
    assert "…" not in printed


def test_involved_scope_runs_only_the_suites_a_cells_changes_can_affect(tmp_path: Path) -> None:
    """The default distribution under `scope: involved`: a pandas cell runs the suites that name pandas,
    not matplotlib × numpy beside them; a networkx cell its own tests and networkx × scipy, not scipy ×
    numpy; the baseline everything. Upgrades on one Python: 24 suite runs under full scope, 16 here."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "distribution.yaml").read_text().replace("strategy: pairs", "strategy: pairs\n  scope: involved")
    (tmp_path / "distribution.yaml").write_text(text)
    shutil.copytree(root / "suites", tmp_path / "suites")
    dist = manifest.load(tmp_path / "distribution.yaml")
    cells: dict[str, plan.Cell] = {
        c.id: c for c in plan.build(dist, Strategy.UPGRADES, pythons=[PyVersion("3.12")]).cells
    }
    assert cells["py3.12-pandas@2.1.1"].suites == ("pandas-numpy", "pandas-matplotlib")
    assert cells["py3.12-networkx@3.3"].suites == ("networkx-scipy", "networkx:tests")
    assert len(cells["py3.12-baseline"].suites) == 6
    assert len(cells["py3.12-numpy@1.26.4"].suites) == 6  # every suite names numpy; networkx is held beside it
    full = plan.build(manifest.load(root / "distribution.yaml"), Strategy.UPGRADES, pythons=[PyVersion("3.12")]).cells
    assert sum(len(c.suites) for c in full) == 24 and sum(len(c.suites) for c in cells.values()) == 16


def test_every_count_check_prints_is_the_number_of_cells_a_run_would_plan(dist: manifest.Distribution) -> None:
    """`curator check` counts `cover` from the covering array without making cells of it; the
    count must still be what building the plan gives (the baseline row counted once)."""
    pythons = [PyVersion("3.11"), PyVersion("3.12")]
    for strategy in (Strategy.BASELINE, Strategy.UPGRADES, Strategy.FULL, Strategy.COVER):
        built = plan.build(dist, strategy, pythons=pythons, enforce_limit=False)
        assert plan.estimate(dist, strategy, pythons) == len(built.cells), strategy


def test_every_strategy_has_one_entry_and_the_docs_list_them_all() -> None:
    from pathlib import Path

    from curator.plan.strategies import STRATEGIES

    assert list(STRATEGIES) == list(Strategy)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "manifest.md").read_text()
    listed = re.findall(r"^\| `(\w+)` \| (.+) \|$", docs.split("## `matrix.strategy`")[1].split("\n## ")[0], re.M)
    assert listed == [(str(s), spec.summary) for s, spec in STRATEGIES.items()]
