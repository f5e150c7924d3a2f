"""A report that reads at the size of a real distribution: which matrices are drawn, the manifest
packages by layer (alike ones folded), and each package's page — its cells, neighbours, blockers and
history — computed from stored outcomes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from curator import manifest
from curator.model.ids import PyVersion, RunId
from curator.model.outcome import NightPlan, RunKind, RunStatus, Status, Verdict
from curator.model.pins import Pins
from curator.report import overview
from curator.report.data import build
from curator.results.matrix import telling
from curator.store.db import LockRow, RunRecord, Store
from tests.conftest import WriteManifest
from tests.unit.test_report import MANIFEST, _record, _records, _store, _suite

P, F, U, X = "passed", "failed", "unresolvable", "expected-fail"


def _matrix(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, index=[f"1.{i}" for i in range(len(rows))], columns=[f"2.{j}" for j in range(len(rows[0]))]
    )


@pytest.mark.parametrize(
    ("rows", "blamed", "drawn"),
    [
        ([[P, P], [P, ""]], True, False),  # an L, as `upgrades` tests: each candidate beside the other's blessed
        ([[P, P, P]], True, False),  # one version of one package: nothing crosses
        ([[P, P], [P, P]], True, True),  # two versions of each, tested against each other
        ([[P, "", P], ["", P, ""], [P, "", P]], True, True),  # a 2 × 2 hidden in a larger one
        ([[P, F], [P, ""]], True, True),  # a failure
        ([[P, X], [P, ""]], True, True),  # an expected one: still not a pass
        ([[P, "flaky"], [P, ""]], True, True),
        ([[P, "skipped"], [P, ""]], True, True),  # no evidence is not a pass
        ([[P, U], [P, ""]], False, False),  # a refusal the resolver blames on a third package
        ([[P, U], [P, ""]], True, True),  # one it blames on this pair
        ([[P, U], [P, P]], False, False),  # a refused square does not make a 2 × 2
    ],
)
def test_a_matrix_is_drawn_when_it_tells_more_than_the_candidates(
    rows: list[list[str]], blamed: bool, drawn: bool
) -> None:
    assert telling(_matrix(rows), blamed=blamed) is drawn


def test_the_graph_of_who_needs_whom_keeps_only_edges_with_nothing_between() -> None:
    # seaborn needs pandas and numpy (numpy directly and through pandas); a and b need each other
    pairs = [("seaborn", "pandas"), ("seaborn", "numpy"), ("pandas", "numpy"), ("a", "b"), ("b", "a"), ("a", "numpy")]
    graph = overview.needs_graph(["seaborn", "pandas", "numpy", "a", "b", "solo"], pairs)
    assert sorted(graph.edges) == [("a", "b"), ("a", "numpy"), ("b", "a"), ("pandas", "numpy"), ("seaborn", "pandas")]
    assert "solo" in graph and graph.degree("solo") == 0


def test_alike_packages_are_folded_and_those_needing_attention_kept() -> None:
    leaves = [f"leaf{i}" for i in range(5)]
    pairs = [(leaf, "numpy") for leaf in leaves] + [("pandas", "numpy"), ("seaborn", "pandas")]
    graph = overview.needs_graph(["numpy", "pandas", "seaborn", *leaves], pairs)
    status = dict.fromkeys(graph, P) | {"leaf4": F}
    built = overview.build_map(graph, status, attention={"leaf4"}, pairs={("leaf4", "numpy"): F})
    top, middle, bottom = built.layers
    assert ([n.id for n in middle], [n.id for n in bottom]) == (["pandas"], ["numpy"])
    (folded,) = built.folded
    assert folded.members == ("leaf0", "leaf1", "leaf2", "leaf3") and folded.status == P
    assert folded.label.startswith("4 packages\nleaf0, leaf1, leaf2, …")
    assert {n.id for n in top} == {folded.id, "leaf4", "seaborn"}  # seaborn sits otherwise (it needs pandas)
    edges = {(e.source, e.target): e.status for e in built.edges}
    assert edges == {
        (folded.id, "numpy"): "",
        ("leaf4", "numpy"): F,
        ("pandas", "numpy"): "",
        ("seaborn", "pandas"): "",
    }
    assert built.drawable and built.nodes == 5 and built.packages == 8


def test_a_map_too_large_to_draw_folds_harder_then_gives_up() -> None:
    # 200 packages, each needing a hub of its own group: no two alike by what they need and what needs them
    names = [f"p{i}" for i in range(200)] + [f"hub{j}" for j in range(50)]
    pairs = [(f"p{i}", f"hub{i % 50}") for i in range(200)]
    graph = overview.needs_graph(names, pairs)
    built = overview.build_map(graph, dict.fromkeys(names, P), attention=set(), pairs={})
    assert built.nodes <= overview.MAP_NODES and built.drawable  # folded by layer alone
    assert sum(len(n.members) for layer in built.layers for n in layer) == 250
    noisy = overview.build_map(graph, dict.fromkeys(names, F), attention=set(names), pairs={})
    assert noisy.nodes == 250 and not noisy.drawable  # every package needs attention: nothing is folded


def _earlier_run(store: Store, folder: Path) -> None:
    """A nightly before run-1, in which user 1.0 passed and the baseline failed `caps`."""
    night = RunRecord(
        id=RunId("night-0"),
        kind=RunKind.NIGHTLY,
        distribution="demo",
        version="1.0",
        manifest_path=str(folder / "distribution.yaml"),
        manifest_sha256="0" * 64,
        strategy=NightPlan.NIGHTLY,
        pythons=(PyVersion("3.12"),),
        out_dir=str(folder / "night-0"),
        started=1_690_000_000.0,
        status=RunStatus.RUNNING,
        plan=json.dumps({"strategy": "nightly", "cells": []}),
    )
    store.create_run(night)
    for record in (
        _record("py3.12-baseline", {}, [_suite("use", Status.PASSED), _suite("caps", Status.FAILED, signature="x")]),
        _record("py3.12-user@1.0", {"user": "1.0"}, [_suite("use", Status.PASSED)]),
    ):
        store.record_cell(replace(record, run_id=RunId("night-0")))
    store.finish_run(
        RunId("night-0"), status=RunStatus.FINISHED, verdict=Verdict.FAILED, summary="{}", finished=1_690_000_100.0
    )


def test_a_package_page_holds_its_cells_neighbours_blockers_and_history(
    demo: manifest.Distribution, tmp_path: Path
) -> None:
    with _store(tmp_path / "reports", _records()) as store:
        _earlier_run(store, tmp_path / "reports")
        data = build(store, "run-1", demo, today=dt.date(2026, 1, 1))
    pages = {page.name: page for page in data.packages}
    assert list(pages) == ["base", "capped", "user", "lib", "solo"]  # manifest order
    user = pages["user"]
    # the baseline, its own cell, and every cell that ran `use` (which requires it): all five hold it
    assert [p.cell for p in user.cells] == [
        "py3.12-baseline", "py3.12-base@2.0", "py3.12-lib@3.1", "py3.12-solo@0.2", "py3.12-user@1.0"
    ]  # fmt: skip
    own = next(p for p in user.cells if p.cell == "py3.12-user@1.0")
    assert (own.version, own.changed, own.status) == ("1.0", True, F)
    assert [s for s, _, _ in own.suites] == ["use"]  # its suites only: caps and libs do not speak to it
    assert user.suites == ("use",) and user.held is None
    assert [(c.version, c.blessed, c.statuses) for c in user.candidates] == [("1.0", False, (F,)), ("1.1", True, (P,))]
    # the ABI break in its own cell; not the refusal of base 2.0 (whose `use` never ran)
    assert [data.findings[i].signature for i in user.findings] == [data.findings[0].signature]
    assert [data.findings[i].signature for i in pages["capped"].findings] == ["capped"]  # the resolver names it
    base = pages["base"]
    assert base.held is not None and base.held.explanation.startswith("base stays at 1.0")
    assert pages["capped"].holds == ("base",)  # the resolver cites capped's bound on base
    assert base.attention and pages["capped"].attention and not pages["solo"].attention
    assert pages["solo"].choice_only  # its newest passed: nothing but the manifest holds it back
    # history: this run first, then the nightly before it
    assert [(h.run, h.kind, h.current) for h in user.history] == [("run-1", "run", True), ("night-0", "nightly", False)]
    assert user.history[0].versions == (("1.0", F), ("1.1", P))
    assert user.history[1].versions == (("1.0", P), ("1.1", P))
    assert pages["capped"].history[1].versions == (("1.0", F),)  # caps failed on the nightly's baseline
    assert user.history[1].link is None  # that run's folder has no report


def test_a_package_no_suite_speaks_to_counts_each_cells_suites(write_manifest: WriteManifest, tmp_path: Path) -> None:
    only_use = MANIFEST[: MANIFEST.index("  caps:")].replace("suites:\n  use:", "suites:\n  use:")
    demo = manifest.load(write_manifest(only_use, suites={"suites/use": ""}))
    with _store(tmp_path / "reports", _records()) as store:
        data = build(store, "run-1", demo, today=dt.date(2026, 1, 1))
    (solo,) = [page for page in data.packages if page.name == "solo"]
    assert solo.suites == ()
    assert {p.cell for p in solo.cells} == {r.cell_id for r in _records()}  # every cell holds it
    baseline = solo.cells[0]
    assert baseline.cell == "py3.12-baseline" and baseline.suites == ()
    assert dict(baseline.tally) == {P: 3} and baseline.status == P


def test_earlier_outcomes_are_read_lean_newest_first(tmp_path: Path) -> None:
    with _store(tmp_path, _records()) as store:
        _earlier_run(store, tmp_path)
        assert store.outcomes_before("demo", before=1_650_000_000.0, limit=5) == []
        runs = store.outcomes_before("demo", before=2_000_000_000.0, limit=5)
        assert [run.id for run, _ in runs] == ["run-1", "night-0"]
        assert [run.id for run, _ in store.outcomes_before("demo", before=2_000_000_000.0, limit=1)] == ["run-1"]
        _, outcomes = runs[1]
        assert [(o.cell_id, o.suite, o.status) for o in outcomes] == [
            ("py3.12-baseline", "use", Status.PASSED),
            ("py3.12-baseline", "caps", Status.FAILED),
            ("py3.12-user@1.0", "use", Status.PASSED),
        ]
        assert outcomes[0].pins == Pins({"base": "1.0", "capped": "1.0", "user": "1.1", "lib": "3.0", "solo": "0.1"})
        assert outcomes[2].pins == Pins() and outcomes[2].changes == Pins({"user": "1.0"})  # only a baseline's pins


@pytest.fixture
def demo(write_manifest: WriteManifest) -> manifest.Distribution:
    return manifest.load(write_manifest(MANIFEST, suites={"suites/use": "", "suites/caps": "", "suites/libs": ""}))


BASELINE_LOCK = """\
base==1.0
    # via
    #   capped
    #   user
capped==1.0
    # via -r requirements.in
lib==3.0
    # via -r requirements.in
solo==0.1
    # via -r requirements.in
user==1.1
    # via -r requirements.in
"""


def test_a_page_draws_the_neighbours_the_baseline_resolves(demo: manifest.Distribution, tmp_path: Path) -> None:
    records = _records()
    baseline = records[0]
    records[0] = replace(baseline, outcome=replace(baseline.outcome, lock_key="baseline-lock"))
    with _store(tmp_path / "reports", records[1:]) as store:
        store.record_cell(records[0], lock=LockRow("baseline-lock", PyVersion("3.12"), BASELINE_LOCK))
        data = build(store, "run-1", demo, today=dt.date(2026, 1, 1))
    pages = {page.name: page for page in data.packages}
    assert [(n.name, n.status) for n in pages["base"].needed_by] == [("capped", U), ("user", F)]  # refused: blamed
    assert [n.name for n in pages["user"].needs] == ["base"] and not pages["user"].needed_by
    assert not pages["solo"].needs and not pages["solo"].needed_by
    assert [{n.id for n in layer} for layer in data.overview.layers] == [{"capped", "lib", "solo", "user"}, {"base"}]


def test_the_main_page_links_each_package_name_to_its_page(demo: manifest.Distribution, tmp_path: Path) -> None:
    from curator.report.html import render_run

    records = [r for r in _records() if r.cell_id != "py3.12-solo@0.2"]  # solo 0.2: no cell tests it
    with _store(tmp_path / "reports", records) as store:
        page = render_run(build(store, "run-1", demo, today=dt.date(2026, 1, 1))).read_text()
    link = '<a class="pkg" href="#pkg-{}">{}</a>'.format
    assert f"No cell of this run tested {link('solo', 'solo')} 0.2" in page
    assert f"each with {link('base', 'base')}==2.0" in page  # a finding's cause
    assert f"<td>{link('base', 'base')}==2.0</td>" in page  # a cell's changes
    assert f"<code>{link('capped', 'capped')}</code>" in page  # a blocker the resolver cites
    for name in demo.package_names:  # a tile and a page each
        assert f'<a class="name" href="#pkg-{name}">{name}</a>' in page
        assert f'<section class="pkg-page" id="pkg-{name}"' in page
