"""`curator nightly` and `curator propose` night after night, against a real loopback index.

Each story publishes fixture releases (tests/ecosystem.py `NIGHTLY`) to a PEP 691/503 index
served over HTTP (tests/simple_index.py), with upload times between "nights", and runs the
nightly with `--as-of` each night: real uv (resolving as of that time), nox, pytest and SQLite.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from curator.cli import main
from curator.execute.executors.local import LocalExecutor
from curator.manifest.reader import load
from curator.model.ids import PyVersion
from curator.model.outcome import CellOutcome
from curator.nightly import runner
from curator.plan.cells import Cell
from curator.resolve.interpreters import Finder
from curator.resolve.upstream import parse_as_of
from curator.store.db import Store
from tests.conftest import manifest_writer
from tests.ecosystem import NIGHTLY
from tests.simple_index import SimpleIndex

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
Document = dict[str, Any]  # a nightly.json
Night = tuple[int, Document, Path]  # exit status, nightly.json, run folder


def night(n: int) -> str:
    """The as-of time of night `n` (releases of night n are uploaded an hour before it)."""
    return (T0 + dt.timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def uploaded(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n, hours=-1)


class Story:
    """A manifest over the local index, and its nights."""

    def __init__(self, folder: Path, index: SimpleIndex, manifest: Path) -> None:
        self.folder, self.index, self.manifest = folder, index, manifest

    def run(self, n: int, *extra: str) -> tuple[int, Document, Path]:
        """Night `n`: exit status, nightly.json, run folder."""
        out = self.folder / f"night-{n}"
        code = main(
            ["nightly", str(self.manifest), "--as-of", night(n), "--out", str(out), "--jobs", "2", "--plain", *extra]
        )
        document = json.loads((out / "nightly.json").read_text()) if (out / "nightly.json").exists() else {}
        return code, document, out


def _story(
    tmp_path_factory: pytest.TempPathFactory,
    runner_wheels: Path,
    name: str,
    packages: str,
    suites: dict[str, tuple[list[str], str]],
    policy: str = "",
) -> Iterator[Story]:
    folder = tmp_path_factory.mktemp(name)
    index = SimpleIndex(folder / "index")
    with index.serve():
        suite_yaml = "".join(
            f"  {suite}:\n    path: suites/{suite}\n    requires: [{', '.join(requires)}]\n"
            for suite, (requires, _) in suites.items()
        )
        text = (
            f"# {name}: a nightly story\n"
            f"distribution: {name}\n"
            'version: "1.0"\n'
            'python: ["3.12"]\n'
            "index:\n"
            f"  url: {index.url}\n"
            f"  find_links: [{os.fspath(runner_wheels)}]\n"
            f"packages:\n{packages}"
            f"suites:\n{suite_yaml}"
            "policy:\n"
            "  timeout: 120\n"
            f"{policy}"
        )
        manifest = manifest_writer(folder)(text, suites={f"suites/{s}": source for s, (_, source) in suites.items()})
        yield Story(folder, index, manifest)


def _cells(out: Path) -> dict[str, dict[str, str]]:
    with (out / "cells.csv").open() as handle:
        return {f"{row['cell']} {row['suite']}": row for row in csv.DictReader(handle)}


# --------------------------------------------------------------------- a regression, its fix, a quiet night

APP_SUITE = "import cfx_app\n\ndef test_run():\n    assert cfx_app.run() == 2\n"


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory, runner_wheels: Path) -> Iterator[Story]:
    yield from _story(
        tmp_path_factory,
        runner_wheels,
        "lib-app",
        '  cfx-lib: ["1.0"]   # the library everyone uses\n'
        '  cfx-app:\n    versions: ["1.0"]\n    maintainers: ["@app-team"]\n',
        {"app": (["cfx-app", "cfx-lib"], APP_SUITE)},
    )


@pytest.fixture(scope="module")
def nights(regression: Story) -> dict[int, tuple[int, Document, Path]]:
    """Night 1 brings cfx-lib 1.1 (breaks cfx-app), night 2 brings 1.2 (the fix), night 3 nothing."""
    index = regression.index
    index.publish(NIGHTLY["lib-1.0"], uploaded(0))
    index.publish(NIGHTLY["app-1.0"], uploaded(0))
    index.publish(NIGHTLY["lib-1.1"], uploaded(1))
    first = regression.run(1)
    index.publish(NIGHTLY["lib-1.2"], uploaded(2))
    second = regression.run(2)
    third = regression.run(3)
    return {1: first, 2: second, 3: third}


def _result(document: Document, suite: str) -> Document:
    results = document["results"]
    assert isinstance(results, list)
    return next(r for r in results if r["suite"] == suite)


def test_a_release_that_breaks_a_dependent_regresses_with_its_culprit(
    nights: dict[int, tuple[int, Document, Path]],
) -> None:
    code, document, out = nights[1]
    assert code == 1
    assert document["newest"] == {"cfx-lib": "1.1", "cfx-app": "1.0"}
    assert document["as_of"] == night(1)
    assert document["compared_to"] == {"nightly": None, "release": None}
    app = _result(document, "app")
    assert app["category"] == "regressed"
    assert app["status"] == "failed" and app["previous"] == "passed"
    assert app["culprits"] == ["cfx-lib==1.1"]
    assert app["cell"] == "py3.12-cfx-lib@1.1"
    assert "nox -f" in str(app["reproduce"]) and str(app["reproduce"]).endswith("-s py3.12-cfx-lib@1.1 -- app")
    rows = _cells(out)
    assert rows["py3.12-cfx-lib@1.1 app"]["attempts"] == "2"  # confirmed: it failed again when run once more
    assert rows["py3.12-baseline app"]["status"] == "passed"
    report = (out / "index.html").read_text()
    assert report.index('id="nightly"') < report.index('id="broken"')  # the nightly leads
    assert "cfx-lib==1.1" in report


def test_a_regression_writes_a_notice_for_the_maintainers(nights: dict[int, tuple[int, Document, Path]]) -> None:
    _, document, out = nights[1]
    (notice,) = sorted((out / "notices").iterdir())
    text = notice.read_text()
    assert notice.name == "01-py3.12-app.md"
    assert text.startswith("# Nightly regression: app on Python 3.12 with cfx-lib==1.1\n")
    # cfx-lib names nobody, so the notice goes to the maintainers of what the failing suite tests
    assert "**For:** @app-team (maintainers of cfx-app, cfx-lib, which `app` tests)" in text
    app = _result(document, "app")
    assert f"`{app['signature']}`" in text and str(app["reproduce"]) in text
    assert "AttributeError" in text.split("The end of the log:")[1]  # the log's excerpt
    assert 'when: {cfx-lib: "==1.1"}' in text and "suites: [app]" in text and 'owner: "@app-team"' in text
    _, _, fixed = nights[2]
    assert not (fixed / "notices").exists()  # a night with nothing regressed addresses nobody


def test_the_fix_the_next_night_is_fixed_and_green(nights: dict[int, tuple[int, Document, Path]]) -> None:
    first_run = nights[1][1]["run"]
    code, document, _ = nights[2]
    assert code == 0
    assert document["compared_to"] == {"nightly": first_run, "release": None}
    app = _result(document, "app")
    assert (app["category"], app["status"], app["previous"]) == ("fixed", "passed", "failed")
    assert app["culprits"] == []


def test_a_quiet_night_reuses_every_cell(nights: dict[int, tuple[int, Document, Path]]) -> None:
    code, document, out = nights[3]
    assert code == 0
    assert document["newest"] == {"cfx-lib": "1.2", "cfx-app": "1.0"}
    assert _result(document, "app")["category"] == "still-passing"
    rows = _cells(out)
    assert rows and all(row["reused_from"] for row in rows.values())


def test_the_store_keeps_every_night_and_the_index_lists_their_categories(
    regression: Story, nights: dict[int, tuple[int, Document, Path]]
) -> None:
    store = regression.folder / "reports" / "curator.sqlite"
    with sqlite3.connect(store) as db:
        kinds = db.execute("SELECT kind, count(*) FROM runs GROUP BY kind").fetchall()
        as_of = [r[0] for r in db.execute("SELECT as_of FROM nightlies ORDER BY as_of")]
    assert kinds == [("nightly", 3)]
    assert as_of == [night(1), night(2), night(3)]
    index = (regression.folder / "reports" / "index.html").read_text()
    assert "cat-regressed" in index and "cat-fixed" in index


# --------------------------------------------------------------------- a wheel that will not install


def _publish_cut_in_half(index: SimpleIndex, key: str, when: dt.datetime) -> None:
    """Publish a fixture release whose wheel is cut in half (a broken upload; the index lists its hash)."""
    wheel = index.publish(NIGHTLY[key], when)
    data = wheel.read_bytes()
    wheel.write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def broken_release(tmp_path_factory: pytest.TempPathFactory, runner_wheels: Path) -> Iterator[list[Night]]:
    """Night 1 brings cfx-lib 1.1 as a wheel cut in half; night 2 brings nothing new."""
    for story in _story(
        tmp_path_factory,
        runner_wheels,
        "broken-wheel",
        '  cfx-lib: ["1.0"]\n  cfx-app: ["1.0"]\n',
        {"app": (["cfx-app", "cfx-lib"], APP_SUITE)},
    ):
        story.index.publish(NIGHTLY["lib-1.0"], uploaded(0))
        story.index.publish(NIGHTLY["app-1.0"], uploaded(0))
        _publish_cut_in_half(story.index, "lib-1.1", uploaded(1))
        yield [story.run(n) for n in (1, 2)]


def test_a_release_whose_wheel_will_not_install_turns_the_night_red_and_is_never_spurious(
    broken_release: list[Night],
) -> None:
    """The blessed baseline built; the cells with cfx-lib 1.1 cannot be built: the release, not the
    machine. Red the first night, with its culprit; still failing the next, never `spurious`."""
    (first_code, first, out), (second_code, second, second_out) = broken_release
    assert first_code == 1
    app = _result(first, "app")
    assert (app["status"], app["previous"], app["category"]) == ("install-error", "passed", "regressed")
    assert "though tonight's blessed baseline was" in app["reason"]
    assert app["culprits"] == ["cfx-lib==1.1"]
    assert _cells(out)["py3.12-baseline app"]["status"] == "passed"
    assert second_code == 0  # nothing new regressed: the same failure goes on
    again = _result(second, "app")
    assert (again["status"], again["category"]) == ("install-error", "still-failing")
    assert not _cells(second_out)["py3.12-cfx-lib@1.1 app"]["reused_from"]  # built again, not taken from night 1
    assert "spurious" not in {r["category"] for night in (first, second) for r in night["results"]}


@pytest.fixture(scope="module")
def unbuildable(tmp_path_factory: pytest.TempPathFactory, runner_wheels: Path) -> Iterator[list[Night]]:
    """The blessed cfx-lib's own wheel is broken: nothing can be built, night after night."""
    for story in _story(
        tmp_path_factory,
        runner_wheels,
        "unbuildable",
        '  cfx-lib: ["1.0"]\n  cfx-app: ["1.0"]\n',
        {"app": (["cfx-app", "cfx-lib"], APP_SUITE)},
    ):
        _publish_cut_in_half(story.index, "lib-1.0", uploaded(0))
        story.index.publish(NIGHTLY["app-1.0"], uploaded(0))
        yield [story.run(n) for n in (1, 2)]


def test_an_environment_that_cannot_be_built_is_spurious_only_the_first_night(unbuildable: list[Night]) -> None:
    """Even the blessed baseline cannot be built: the first night that may be the network or the disk
    (spurious, green); the second night the same failure counts, and the night is red."""
    (first_code, first, _), (second_code, second, second_out) = unbuildable
    assert first_code == 0
    app = _result(first, "app")
    assert (app["status"], app["category"]) == ("install-error", "spurious")
    assert "the first time" in app["reason"]
    assert second_code == 1
    again = _result(second, "app")
    assert (again["status"], again["previous"], again["category"]) == ("install-error", "install-error", "regressed")
    assert not _cells(second_out)["py3.12-baseline app"]["reused_from"]  # a second attempt, not night 1's failure
    assert "could not be built on an earlier night too" in again["reason"]


# --------------------------------------------------------------------- two releases that break only together

PAIR_SUITE = "import cfx_pa, cfx_pb\n\ndef test_round_trip():\n    assert cfx_pb.parse(cfx_pa.emit([1, 2])) == [1, 2]\n"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, runner_wheels: Path) -> Iterator[tuple[int, Document, Path]]:
    packages = '  cfx-pa: ["1.0"]\n  cfx-pc: ["1.0"]\n  cfx-pb: ["1.0"]\n  cfx-pd: ["1.0"]\n'
    for story in _story(
        tmp_path_factory, runner_wheels, "pair", packages, {"pair": (["cfx-pa", "cfx-pb"], PAIR_SUITE)}
    ):
        for key in ("pa-1.0", "pb-1.0", "pc-1.0", "pd-1.0"):
            story.index.publish(NIGHTLY[key], uploaded(0))
        for key in ("pa-2.0", "pb-2.0", "pc-2.0", "pd-2.0"):
            story.index.publish(NIGHTLY[key], uploaded(1))
        yield story.run(1)


def test_two_releases_that_break_only_together_are_both_named(pair: tuple[int, Document, Path]) -> None:
    code, document, out = pair
    assert code == 1
    result = _result(document, "pair")
    assert result["category"] == "regressed"
    assert result["culprits"] == ["cfx-pa==2.0", "cfx-pb==2.0"]
    bisections = document["bisections"]
    assert isinstance(bisections, list) and len(bisections) == 1
    search = bisections[0]
    assert search["method"] == "bisection" and not search["cut_short"]
    probes = [p for p in search["probes"] if p["role"] == "probe"]
    assert [(p["changes"], p["reproduces"]) for p in probes] == [
        (["cfx-pa==2.0", "cfx-pc==2.0"], False),  # the two halves: neither fails alone
        (["cfx-pb==2.0", "cfx-pd==2.0"], False),
        (["cfx-pa==2.0", "cfx-pb==2.0", "cfx-pd==2.0"], True),  # the first half, split, beside the second
        (["cfx-pc==2.0", "cfx-pb==2.0", "cfx-pd==2.0"], False),
        (["cfx-pa==2.0", "cfx-pb==2.0"], True),  # then the second half, split, beside cfx-pa
        (["cfx-pa==2.0", "cfx-pd==2.0"], False),
    ]
    assert search["probes_used"] == 6 <= search["probe_bound"] == 8
    singles = [p for p in search["probes"] if p["role"] == "upgrade"]
    assert len(singles) == 4 and not any(p["reproduces"] for p in singles)
    # each probe is an ordinary cell of the run, with its reason in the stored plan
    rows = _cells(out)
    assert rows["py3.12-cfx-pa@2.0-cfx-pb@2.0 pair"]["status"] == "failed"
    assert str(result["reproduce"]).endswith("-s py3.12-cfx-pa@2.0-cfx-pb@2.0 -- pair")
    report = (out / "index.html").read_text()
    assert "py3.12-cfx-pa@2.0-cfx-pc@2.0" in report  # the evidence: every probe and its outcome
    with sqlite3.connect(out.parent / "reports" / "curator.sqlite") as db:
        plan = json.loads(db.execute("SELECT plan FROM runs").fetchone()[0])
    reasons = [r for c in plan["cells"] for r in c["reasons"] if r.startswith("probe")]
    assert reasons == [
        "probe 1/8: cfx-pa@2.0 cfx-pc@2.0",
        "probe 2/8: cfx-pb@2.0 cfx-pd@2.0",
        "probe 3/8: cfx-pa@2.0 cfx-pb@2.0 cfx-pd@2.0",
        "probe 4/8: cfx-pc@2.0 cfx-pb@2.0 cfx-pd@2.0",
        "probe 5/8: cfx-pa@2.0 cfx-pb@2.0",
        "probe 6/8: cfx-pa@2.0 cfx-pd@2.0",
    ]


def test_the_bound_cuts_a_search_short_and_the_night_says_so(
    pair: tuple[int, Document, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Allowed four probes, the search has seen {cfx-pa, cfx-pb, cfx-pd} fail when the bound stops it,
    before it can split cfx-pb from the bystander cfx-pd: it names that set (the smallest failing set it
    saw, holding both culprits), not every upgrade. Its probes are the pair night's cells, reused."""
    _, _, first_out = pair
    out = first_out.parent / "bounded"
    manifest = str(first_out.parent / "distribution.yaml")
    capsys.readouterr()
    main(["nightly", manifest, "--as-of", night(1), "--out", str(out), "--max-probes", "4", "--plain"])
    assert "(cut short by the bound)" in capsys.readouterr().out
    search = json.loads((out / "nightly.json").read_text())["bisections"][0]
    assert search["cut_short"] and search["probe_bound"] == 4 and search["probes_used"] == 4
    assert search["culprits"] == ["cfx-pa==2.0", "cfx-pb==2.0", "cfx-pd==2.0"]  # not cfx-pc: seen to fail without it
    assert len(search["upgrades"]) == 4
    assert "the bound cut the search short" in (out / "index.html").read_text()


# --------------------------------------------------------------------- a flaky package over several nights

COIN_SUITE = "import cfx_coin\n\ndef test_toss():\n    assert cfx_coin.toss()\n"


@pytest.fixture(scope="module")
def coin(tmp_path_factory: pytest.TempPathFactory, runner_wheels: Path) -> Iterator[list[tuple[int, Document, Path]]]:
    for story in _story(
        tmp_path_factory, runner_wheels, "coin", '  cfx-coin: ["1.0"]\n', {"coin": (["cfx-coin"], COIN_SUITE)}
    ):
        story.index.publish(NIGHTLY["coin-1.0"], uploaded(0))
        yield [story.run(n) for n in (1, 2, 3)]


def test_a_flaky_package_is_reported_with_its_rate_and_the_nights_stay_green(
    coin: list[tuple[int, Document, Path]],
) -> None:
    assert [code for code, _, _ in coin] == [0, 0, 0]
    categories = [_result(document, "coin")["category"] for _, document, _ in coin]
    statuses = [_result(document, "coin")["status"] for _, document, _ in coin]
    assert statuses == ["flaky", "passed", "flaky"]  # the coin fails every third toss
    assert categories == ["spurious", "still-passing", "spurious"]
    flaky = [document["flaky"] for _, document, _ in coin]
    assert [(f[0]["nights"], f[0]["failing_nights"], f[0]["rate"]) for f in flaky] == [
        (1, 1, 1.0),
        (2, 1, 0.5),
        (3, 2, 0.667),
    ]
    # a key known to be flaky is run again each night (to measure it), not reused
    assert all(not row["reused_from"] for _, _, out in coin for row in _cells(out).values())


# --------------------------------------------------------------------- proposing the manifest update


def test_propose_blesses_a_clean_night_and_holds_back_a_culprit(
    regression: Story,
    nights: dict[int, tuple[int, Document, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    original = regression.manifest.read_text()
    updated, summary = tmp_path / "updated.yaml", tmp_path / "pr.md"
    run_2 = str(nights[2][1]["run"])
    assert (
        main(["propose", str(regression.manifest), "--from", run_2, "--out", str(updated), "--summary", str(summary)])
        == 0
    )
    changed = [(a, b) for a, b in zip(original.splitlines(), updated.read_text().splitlines(), strict=True) if a != b]
    assert changed == [
        ('  cfx-lib: ["1.0"]   # the library everyone uses', '  cfx-lib: ["1.0", "1.2"] # the library everyone uses')
    ]
    text = summary.read_text()
    assert "| cfx-lib | 1.0 | **1.2** |" in text and run_2 in text
    # night 1's newest release is the culprit of a regression: nothing moves, and the summary says why
    capsys.readouterr()
    assert main(["propose", str(regression.manifest), "--from", str(nights[1][2]), "--out", str(updated)]) == 0
    printed = capsys.readouterr().out
    assert updated.read_text() == original
    assert "| cfx-lib | 1.1 | culprit of app on Python 3.12 |" in printed
    assert regression.manifest.read_text() == original


def test_propose_refuses_a_run_that_is_not_a_nightly(
    regression: Story, nights: dict[int, tuple[int, Document, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "propose",
                str(regression.manifest),
                "--from",
                "no-such-run",
                "--store",
                str(regression.folder / "reports" / "curator.sqlite"),
            ]
        )
        == 2
    )
    assert "no-such-run" in capsys.readouterr().err


# --------------------------------------------------------------------- bad input and a broken index


def test_an_unreachable_index_is_an_error_naming_it(
    regression: Story, nights: dict[int, tuple[int, Document, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    regression.index.fail = True
    try:
        code, _, _ = regression.run(9)
    finally:
        regression.index.fail = False
    error = capsys.readouterr().err
    assert code == 2
    assert regression.index.url in error and "cfx-lib" in error
    assert main(["nightly", str(regression.manifest), "--as-of", "yesterday"]) == 2
    assert "--as-of 'yesterday'" in capsys.readouterr().err


# --------------------------------------------------------------------- interrupted while probing, resumed


class _StopAtProbes:
    """An observer (the real protocol) that asks the run to stop when the first probe batch begins."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.batches = 0

    def phase(self, name: str, total: int) -> None:
        if name == "resolving":
            self.batches += 1
            if self.batches == 2:
                self.cancel.set()

    def step(self, name: str, detail: str) -> None:
        pass

    def cell_started(self, cell: Cell) -> None:
        pass

    def cell_note(self, cell: Cell, text: str) -> None:
        pass

    def cell_finished(self, cell: Cell, outcome: CellOutcome, *, reused: bool) -> None:
        pass


def test_a_nightly_interrupted_while_probing_resumes_with_its_probes(
    pair: tuple[int, Document, Path], tmp_path: Path
) -> None:
    """The stored plan knows the probes asked for before the interrupt; --resume finishes the search."""
    _, finished, first_out = pair
    manifest = first_out.parent / "distribution.yaml"
    distribution = load(manifest)
    store_path = first_out.parent / "reports" / "curator.sqlite"
    cancel = threading.Event()
    request = runner.NightlyRequest(
        distribution=distribution,
        interpreters=Finder({}).find_all([PyVersion("3.12")]),
        today=dt.date.today(),
        as_of=parse_as_of(night(1)),
        out_dir=tmp_path / "interrupted",
    )
    with Store(store_path) as store:
        stopped = runner.run(request, store, LocalExecutor(2), _StopAtProbes(cancel), cancel)
        assert stopped.interrupted
        plan = json.loads(store.run(stopped.run_id).plan)
    assert [r for c in plan["cells"] for r in c["reasons"] if r.startswith("probe")] == [
        "probe 1/8: cfx-pa@2.0 cfx-pc@2.0",
        "probe 2/8: cfx-pb@2.0 cfx-pd@2.0",
    ]
    assert main(["nightly", str(manifest), "--resume", stopped.run_id, "--plain"]) == 0
    resumed = json.loads((tmp_path / "interrupted" / "nightly.json").read_text())
    # the second night of this distribution: the pair fails as it did the night before
    assert [(r["category"], r["culprits"]) for r in resumed["results"]] == [
        ("still-failing", finished["results"][0]["culprits"])
    ]
    assert resumed["bisections"][0]["probes"] == finished["bisections"][0]["probes"]
    assert resumed["bisections"][0]["probes_used"] == 6
    with Store(store_path) as store:
        reasons = [r for c in json.loads(store.run(stopped.run_id).plan)["cells"] for r in c["reasons"]]
    assert [r for r in reasons if r.startswith("probe")] == [
        "probe 1/8: cfx-pa@2.0 cfx-pc@2.0",
        "probe 2/8: cfx-pb@2.0 cfx-pd@2.0",
        "probe 3/8: cfx-pa@2.0 cfx-pb@2.0 cfx-pd@2.0",
        "probe 4/8: cfx-pc@2.0 cfx-pb@2.0 cfx-pd@2.0",
        "probe 5/8: cfx-pa@2.0 cfx-pb@2.0",
        "probe 6/8: cfx-pa@2.0 cfx-pd@2.0",
    ]
