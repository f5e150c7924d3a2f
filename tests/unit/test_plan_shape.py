"""What a manifest can say about its cells: `scope: minimal`, `include`, `exclude`, and splitting a
refused cell into minimal ones."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import pytest
from packaging.version import Version

from curator import manifest
from curator.model import codec
from curator.model.distribution import Scope, Strategy
from curator.model.errors import PlanTooLarge, UsageError
from curator.model.ids import PyVersion
from curator.model.pins import Pins
from curator.plan import cells as plan
from curator.resolve.graph import DependencyGraph
from curator.resolve.lock import parse_requirements
from tests.conftest import WriteManifest

# Flask, Jinja2, MarkupSafe and Werkzeug as they broke in 2021–2024: a pair (jinja2 × markupsafe)
# whose full cell is refused only because the blessed flask needs jinja2 >= 3.1.2.
WEB = """
distribution: web
version: "1"
python: ["3.12"]
packages:
  flask: ["2.2.5", "3.0.3"]
  werkzeug: ["2.3.8", "3.0.1"]
  jinja2: ["2.11.3", "3.1.4"]
  markupsafe: ["2.0.1", "2.1.5"]
suites:
  flask-jinja2:
    path: suites/fj
    requires: [flask, jinja2]
  flask-werkzeug:
    path: suites/fw
    requires: [flask, werkzeug]
  jinja2-markupsafe:
    path: suites/jm
    requires: [jinja2, markupsafe]
"""
SUITES = {f"suites/{s}": "def test_x():\n    pass\n" for s in ("fj", "fw", "jm")}
PY = PyVersion("3.12")


def _web(write_manifest: WriteManifest, extra: str = "") -> manifest.Distribution:
    return manifest.load(write_manifest(WEB + extra, suites=SUITES))


def _graph(dist: manifest.Distribution) -> dict[PyVersion, DependencyGraph]:
    lock = parse_requirements(
        "3.12",
        "flask==3.0.3\n    # via -r requirements.in\njinja2==3.1.4\n    # via flask\n"
        "markupsafe==2.1.5\n    # via jinja2\n    # via werkzeug\nwerkzeug==3.0.1\n    # via flask\n",
    )
    return {PY: DependencyGraph.build(dist, lock)}


def test_minimal_scope_runs_each_suite_in_the_smallest_environment(write_manifest: WriteManifest) -> None:
    dist = _web(write_manifest, "matrix:\n  scope: minimal\n")
    result = plan.build(dist, Strategy.PAIRS, graphs=_graph(dist))
    by_id: dict[str, plan.Cell] = {c.id: c for c in result.cells}
    baseline = result.cells[0]
    # the baseline is still the release as it ships: every package, every suite
    assert baseline.id == "py3.12-baseline" and len(baseline.pins) == 4 and not baseline.minimal
    assert baseline.suites == ("flask-jinja2", "flask-werkzeug", "jinja2-markupsafe")
    # the pair jinja2 2.11.3 × markupsafe 2.0.1 is judged without flask, which would refuse it
    pair = by_id["py3.12-only-jinja2@2.11.3-markupsafe@2.0.1"]
    assert pair.pins == Pins({"jinja2": "2.11.3", "markupsafe": "2.0.1"}) and pair.minimal
    assert pair.changes == pair.pins and pair.suites == ("jinja2-markupsafe",)
    # the suite that needs flask gets flask (blessed) beside the pair's changes
    with_flask = by_id["py3.12-only-flask@3.0.3-jinja2@2.11.3-markupsafe@2.0.1"]
    assert with_flask.changes == Pins({"jinja2": "2.11.3", "markupsafe": "2.0.1"})
    # jinja2-markupsafe would hold flask without using it: it runs where flask is not pinned
    assert with_flask.suites == ("flask-jinja2",)
    minimal = [c for c in result.cells if c is not baseline]
    assert all(c.minimal and c.changes and "-only-" in c.id and not c.is_baseline for c in minimal)
    assert len({c.id for c in result.cells}) == len(result.cells)
    assert all(set(c.changes) <= set(c.pins) for c in minimal)


def test_cells_per_scope_for_the_flask_example(write_manifest: WriteManifest) -> None:
    counts = {}
    for scope in ("full", "involved", "minimal"):
        dist = _web(write_manifest, f"matrix:\n  scope: {scope}\n")
        counts[scope] = len(plan.build(dist, Strategy.PAIRS, graphs=_graph(dist)).cells)
    # full and involved: one cell per combination; minimal: one per combination and suite group, with
    # nothing a group's suites do not pull in (flask beside jinja2-markupsafe was 2 more cells)
    assert counts == {"full": 10, "involved": 10, "minimal": 16}


def test_a_suite_that_names_no_requirement_needs_the_whole_distribution_under_minimal_scope(
    write_manifest: WriteManifest,
) -> None:
    text = WEB + "  smoke:\n    path: suites/smoke\n" + "matrix:\n  scope: minimal\n"
    dist = manifest.load(write_manifest(text, suites={**SUITES, "suites/smoke": "def test_s():\n    pass\n"}))
    cells = plan.build(dist, Strategy.UPGRADES, graphs=_graph(dist)).cells
    smoke = [c for c in cells if "smoke" in c.suites]
    assert [c.id for c in smoke] == [
        "py3.12-baseline",
        "py3.12-flask@2.2.5",
        "py3.12-werkzeug@2.3.8",
        "py3.12-jinja2@2.11.3",
        "py3.12-markupsafe@2.0.1",
    ]  # each holds every package, so it is an ordinary cell with an ordinary id
    assert all(len(c.pins) == 4 and not c.minimal for c in smoke)


def test_a_change_no_suite_needs_gets_an_install_check_of_its_own(write_manifest: WriteManifest) -> None:
    text = WEB.replace("suites:", "  itsdangerous: ['2.1.2', '2.2.0']\nsuites:") + "matrix:\n  scope: minimal\n"
    dist = manifest.load(write_manifest(text, suites=SUITES))
    cell = plan.build(dist, Strategy.UPGRADES, graphs=_graph(dist)).cell("py3.12-only-itsdangerous@2.1.2")
    assert cell.pins == Pins({"itsdangerous": "2.1.2"}) and cell.suites == (plan.INSTALL_SUITE,)


def test_include_adds_a_historic_stack_to_any_strategy(write_manifest: WriteManifest) -> None:
    extra = (
        "matrix:\n  include:\n"
        "    - {pins: {flask: '1.1.2', werkzeug: '1.0.1', jinja2: '2.11.3', markupsafe: '2.0.1'}}\n"
        "    - {python: ['3.12'], pins: {jinja2: '3.1.4', markupsafe: '2.0.1'}}\n"
    )
    dist = _web(write_manifest, extra)
    result = plan.build(dist, Strategy.BASELINE)
    assert [c.id for c in result.cells] == [
        "py3.12-baseline",
        "py3.12-flask@1.1.2-werkzeug@1.0.1-jinja2@2.11.3-markupsafe@2.0.1",
        "py3.12-markupsafe@2.0.1",  # jinja2 3.1.4 is blessed: the change is markupsafe
    ]
    historic = result.cells[1]
    assert historic.reasons == ("include (line 21)",)
    assert historic.suites == ("flask-jinja2", "flask-werkzeug", "jinja2-markupsafe")
    # an include that equals a strategy's cell is that cell, with both reasons
    upgrades = plan.build(dist, Strategy.UPGRADES)
    assert upgrades.cell("py3.12-markupsafe@2.0.1").reasons == ("downgrade markupsafe", "include (line 22)")


def test_exclude_removes_cells_from_every_strategy_but_never_an_include(write_manifest: WriteManifest) -> None:
    extra = (
        "matrix:\n  exclude:\n    - {flask: '2.2.5', werkzeug: '>=3'}\n    - {jinja2: '2.11.3'}\n"
        "  include:\n    - pins: {jinja2: '2.11.3', markupsafe: '2.0.1'}\n"
    )
    dist = _web(write_manifest, extra)
    for strategy in (Strategy.UPGRADES, Strategy.FULL, Strategy.COVER):
        result = plan.build(dist, strategy)
        for cell in result.cells:
            if "include (line 24)" in cell.reasons:
                continue
            assert not (cell.pins["flask"] == Version("2.2.5") and cell.pins["werkzeug"] >= Version("3")), cell.id
            assert cell.pins["jinja2"] != Version("2.11.3"), (strategy, cell.id)
    full = plan.build(dist, Strategy.FULL)
    assert full.excluded == 8 + 2  # jinja2 2.11.3: half of 16; flask 2.2.5 with werkzeug 3: 2 more
    assert len(full.cells) == 16 - 10 + 1  # and the include, which exclude never removes
    assert full.cell("py3.12-jinja2@2.11.3-markupsafe@2.0.1").reasons == ("include (line 24)",)
    assert plan.estimate(dist, Strategy.FULL, [PY]) == 7


def test_exclude_under_minimal_scope_matches_what_a_cell_holds(write_manifest: WriteManifest) -> None:
    dist = _web(write_manifest, "matrix:\n  scope: minimal\n  exclude:\n    - {flask: '2.2.5', werkzeug: '2.3.8'}\n")
    ids = {c.id for c in plan.build(dist, Strategy.FULL, graphs=_graph(dist)).cells}
    assert "py3.12-only-flask@2.2.5-werkzeug@2.3.8" not in ids  # holds both: excluded
    assert "py3.12-only-flask@2.2.5-jinja2@3.1.4" in ids  # the same change, without werkzeug: kept


def test_exclude_can_bring_a_large_product_under_max_cells(write_manifest: WriteManifest) -> None:
    packages = "\n".join(f"  p{i}: ['1', '2', '3']" for i in range(6))
    head = f"distribution: big\nversion: '1'\npython: ['3.12']\npackages:\n{packages}\nmatrix:\n  strategy: full\n"
    small = manifest.load(write_manifest(head + "  max_cells: 300\n  exclude:\n    - {p0: '<3'}\n"))
    assert len(plan.build(small).cells) == 3**5  # 729 combinations, those with p0 1 or 2 left out
    tight = manifest.load(write_manifest(head + "  max_cells: 100\n  exclude:\n    - {p0: '<3'}\n"))
    with pytest.raises(PlanTooLarge, match=r"the 'full' plan has more cells than max_cells 100"):
        plan.build(tight)


def test_a_refused_cell_splits_into_minimal_cells_for_its_suites(write_manifest: WriteManifest) -> None:
    dist = _web(write_manifest)
    result = plan.build(dist, Strategy.PAIRS, graphs=_graph(dist))
    refused = result.cell("py3.12-jinja2@2.11.3-markupsafe@2.0.1")
    split = plan.split(dist, refused, _graph(dist)[PY], ["flask", "jinja2"])
    assert [c.id for c in split] == [
        "py3.12-only-flask@3.0.3-jinja2@2.11.3-markupsafe@2.0.1",
        "py3.12-only-jinja2@2.11.3-markupsafe@2.0.1",
    ]
    assert all(
        c.reasons == ("split from py3.12-jinja2@2.11.3-markupsafe@2.0.1 (refused: flask, jinja2)",) for c in split
    )
    assert split[1].suites == ("jinja2-markupsafe",)
    # their keys are those the same cells have under scope: minimal
    minimal = _web(write_manifest, "matrix:\n  scope: minimal\n")
    planned = plan.build(minimal, Strategy.PAIRS, graphs=_graph(minimal))
    assert planned.cell(split[1].id).key == split[1].key
    # never the baseline, never a cell that is minimal already
    assert plan.split(dist, result.cells[0], _graph(dist)[PY]) == ()
    assert plan.split(dist, split[1], _graph(dist)[PY]) == ()


def test_a_minimal_cell_survives_the_stored_plan(write_manifest: WriteManifest) -> None:
    dist = _web(write_manifest, "matrix:\n  scope: minimal\n")
    original = plan.build(dist, Strategy.UPGRADES, graphs=_graph(dist))
    again = plan.Plan.stored("r", codec.dumps(original))
    assert again.cells == original.cells
    stored = json.loads(codec.dumps(original))["cells"]
    assert [c["minimal"] for c in stored] == [False] + [True] * (len(original.cells) - 1)


def test_the_environment_goes_into_every_key_and_an_unset_one_changes_none(write_manifest: WriteManifest) -> None:
    keys = {}
    for name, extra in {
        "none": "",
        "explicit-defaults": "environment:\n  seed: false\n  env: {}\n",
        "seeded": "environment:\n  seed: true\n",
        "variables": "environment:\n  env: {MPLBACKEND: pdf}\n",
    }.items():
        keys[name] = [c.key for c in plan.build(_web(write_manifest, extra), Strategy.UPGRADES).cells]
    assert keys["none"] == keys["explicit-defaults"]
    assert len({tuple(v) for v in keys.values()}) == 3
    assert not set(keys["none"]) & set(keys["seeded"]) and not set(keys["seeded"]) & set(keys["variables"])


# The Flask stack of tests/ecosystem.py (six packages, five suites), as its blessed set resolves.
FLASK_LOCK = (
    "cfx-click==8.1\n    # via cfx-flask\ncfx-flask==3.0\n    # via -r requirements.in\n"
    "cfx-itsdangerous==2.2\n    # via cfx-flask\ncfx-jinja==3.1\n    # via cfx-flask\n"
    "cfx-markupsafe==2.1\n    # via cfx-jinja\n    # via cfx-werkzeug\ncfx-werkzeug==3.0\n    # via cfx-flask\n"
)


def _flask_stack(write_manifest: WriteManifest, scope: str) -> tuple[manifest.Distribution, DependencyGraph]:
    from tests.ecosystem import FLASK_PACKAGES, FLASK_SUITES

    suites = "".join(
        f"  {name}:\n    path: suites/{name}\n    requires: [{', '.join(requires)}]\n"
        for name, (requires, _) in FLASK_SUITES.items()
    )
    text = (
        f'distribution: web\nversion: "1"\npython: ["3.12"]\npackages:\n{FLASK_PACKAGES}suites:\n{suites}'
        f"matrix:\n  strategy: pairs\n  scope: {scope}\n"
    )
    dist = manifest.load(write_manifest(text, suites={f"suites/{n}": s for n, (_, s) in FLASK_SUITES.items()}))
    return dist, DependencyGraph.build(dist, parse_requirements("3.12", FLASK_LOCK))


def test_a_minimal_cell_pins_only_what_its_suites_pull_in(write_manifest: WriteManifest) -> None:
    dist, graph = _flask_stack(write_manifest, "minimal")
    reach: dict[str, frozenset[str]] = {str(k): frozenset(map(str, v)) for k, v in plan.closure(dist, graph).items()}
    assert reach["cfx-jinja"] == {"cfx-jinja", "cfx-markupsafe"} and len(reach["cfx-flask"]) == 6
    requires = {s.name: s.requires for s in dist.suites}
    cells = plan.build(dist, Strategy.PAIRS, graphs={PY: graph}).cells
    for cell in cells[1:]:
        for suite in cell.suites:
            pulled = set().union(*(reach[n] for n in requires[suite]))
            assert set(cell.pins) <= pulled, (cell.id, suite)  # nothing the suite does not pull in
    # the suites of packages flask needs never run beside a pinned flask they do not use
    assert not [c.id for c in cells[1:] if "cfx-flask" in c.pins and {"itsdangerous", "click"} & set(c.suites)]
    assert not [c.id for c in cells[1:] if "cfx-flask" in c.pins and "jinja-markupsafe" in c.suites]
    # every suite still meets every change it is about: each pair's changes, in each suite that needs one
    seen = {(suite, c.changes) for c in cells for suite in c.suites}
    for a, b in (("cfx-jinja", "cfx-markupsafe"), ("cfx-flask", "cfx-werkzeug")):
        for va, vb in itertools.product(dist.package(a).versions, dist.package(b).versions):
            changes = Pins((n, v) for n, v in ((a, va), (b, vb)) if v != dist.package(n).blessed)
            for suite, needs in requires.items():
                if set(changes) & needs:
                    assert (suite, changes) in seen, (suite, str(changes))
    assert len(cells) == 30  # 35 when a cell held every changed package of its combination
    assert (
        len(
            plan.build(
                replace(dist, matrix=replace(dist.matrix, scope=Scope.FULL)), Strategy.PAIRS, graphs={PY: graph}
            ).cells
        )
        == 20
    )


def test_scope_minimal_plans_need_the_graph_and_check_says_so(write_manifest: WriteManifest) -> None:
    dist, _ = _flask_stack(write_manifest, "minimal")
    with pytest.raises(UsageError, match=r"scope: minimal needs the dependency graph for Python 3\.12"):
        plan.build(dist, Strategy.UPGRADES)
    counts = plan.counts(dist)
    assert counts[Strategy.BASELINE] == 1 and counts[Strategy.UPGRADES] is None and counts[Strategy.FULL] is None
