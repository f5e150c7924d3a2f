"""What a manifest can say, run for real on the fixture ecosystem: `scope: minimal`,
`--split-unresolvable`, `include`/`exclude`, `environment` (seed, variables), `check --resolve`
with `test_requires`, and refusals cached like locks."""

from __future__ import annotations

import importlib.metadata
import json
import re
import sqlite3
import stat
from pathlib import Path

import pytest

from curator.cli import main
from curator.host.layout import cache_dir
from curator.resolve import lock as resolve
from tests.ecosystem import FLASK_PACKAGES, FLASK_STACK, FLASK_SUITES, build_ecosystem
from tests.integration.conftest import EcoManifest
from tests.integration.test_run import _rows

# MarkupSafe, Jinja2 and Flask in small: cfx-tmpl 2.0 works with either cfx-esc, but the blessed
# cfx-web needs cfx-tmpl >= 3.0, so under full scope every cell with cfx-tmpl 2.0 is refused.
WEB = """\
  cfx-web: ["2.0"]
  cfx-tmpl: ["2.0", "3.0"]
  cfx-esc: ["1.0", "2.0"]
"""
WEB_SUITES = {
    "tmpl-esc": (
        ["cfx-tmpl", "cfx-esc"],
        "import cfx_tmpl\n\ndef test_render():\n    assert cfx_tmpl.render('<b>') == '&lt;b>'\n",
    ),
    "web": (["cfx-web", "cfx-tmpl"], "import cfx_web\n\ndef test_page():\n    assert cfx_web.page('<') == '&lt;'\n"),
}
PAIR_MATRIX = "py3.12__cfx-tmpl__cfx-esc.csv"


def _matrix(out: Path, name: str = PAIR_MATRIX) -> list[str]:
    return (out / "matrices" / name).read_text().splitlines()


def test_a_pair_refused_only_because_of_a_bystander_gets_its_own_verdict_under_minimal_scope(
    eco_manifest: EcoManifest,
) -> None:
    path = eco_manifest(WEB, suites=WEB_SUITES, extra="matrix:\n  strategy: pairs\n  scope: minimal\n")
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 0
    rows = _rows(out)
    # cfx-tmpl 2.0 with cfx-esc, and nothing else of the manifest: its own verdict
    pair = rows["py3.12-only-cfx-tmpl@2.0-cfx-esc@1.0", "tmpl-esc"]
    assert (pair["status"], pair["pins"]) == ("passed", "cfx-esc==1.0 cfx-tmpl==2.0")
    assert rows["py3.12-only-cfx-tmpl@2.0-cfx-esc@2.0", "tmpl-esc"]["status"] == "passed"
    # the suite that needs cfx-web is refused, rightly: cfx-web 2.0 needs cfx-tmpl >= 3.0
    assert rows["py3.12-only-cfx-web@2.0-cfx-tmpl@2.0", "web"]["status"] == "unresolvable"
    # a genuine conflict of the pair stays a refusal
    assert rows["py3.12-only-cfx-tmpl@3.0-cfx-esc@1.0", "tmpl-esc"]["status"] == "unresolvable"
    assert rows["py3.12-baseline", "web"]["status"] == "passed"
    assert _matrix(out) == ["cfx-tmpl \\ cfx-esc,1.0,2.0", "2.0,passed,passed", "3.0,unresolvable,passed"]


@pytest.fixture
def uv_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every uv command curator runs, one line each (uv itself still does the work)."""
    log = tmp_path / "uv-calls.log"
    wrapper = tmp_path / "uv"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {resolve.uv_binary()} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(resolve, "uv_binary", lambda: wrapper)
    return log


def _resolutions(log: Path) -> list[str]:
    """The `uv pip compile --generate-hashes` calls: one per cell whose lock was asked of uv."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if "pip compile" in line and "--generate-hashes" in line]


def test_split_unresolvable_retries_refused_cells_in_minimal_cells_and_a_rerun_reuses_the_refusals(
    eco_manifest: EcoManifest, uv_calls: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest(WEB, suites=WEB_SUITES, extra="matrix:\n  strategy: pairs\n", exclude_newer="2026-01-01")
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain", "--split-unresolvable"]) == 0
    printed = capsys.readouterr().out
    assert "py3.12-cfx-tmpl@2.0 refused (cfx-web, cfx-tmpl): its suites also run in 2 minimal cells" in printed
    rows = _rows(out)
    assert rows["py3.12-cfx-tmpl@2.0", "tmpl-esc"]["status"] == "unresolvable"  # the full cell, as planned
    assert rows["py3.12-only-cfx-tmpl@2.0-cfx-esc@2.0", "tmpl-esc"]["status"] == "passed"  # split from it
    assert rows["py3.12-only-cfx-tmpl@2.0-cfx-esc@1.0", "tmpl-esc"]["status"] == "passed"
    # the pair's own verdict is what its square shows; a real conflict of the pair stays refused
    assert _matrix(out) == ["cfx-tmpl \\ cfx-esc,1.0,2.0", "2.0,passed,passed", "3.0,unresolvable,passed"]
    # the split cells are ordinary cells of the run, with the reason they were added
    store = path.parent / "reports" / "curator.sqlite"
    (plan_json,) = sqlite3.connect(store).execute("SELECT plan FROM runs").fetchone()
    reasons = {c["id"]: c["reasons"] for c in json.loads(plan_json)["cells"]}
    assert reasons["py3.12-only-cfx-tmpl@2.0-cfx-esc@2.0"] == [
        "split from py3.12-cfx-tmpl@2.0 (refused: cfx-web, cfx-tmpl)"
    ]
    assert json.loads((out / "run.json").read_text())["planned_cells"] == len(reasons) == 8
    report = re.sub(r"</?a\b[^>]*>", "", (out / "index.html").read_text())  # package names link to their pages
    assert "the resolver names cfx-web, cfx-tmpl" in report and "Retried in smaller environments" in report

    # as of a fixed date, a refusal is as reproducible as a lock: cached, and not asked again
    assert len(_resolutions(uv_calls)) >= 4
    refusals = sorted((cache_dir() / "locks").glob("*.refused"))
    assert len(refusals) >= 4 and "cfx-tmpl" in refusals[0].read_text()
    uv_calls.unlink()
    again = path.parent / "again"
    assert main(["run", str(path), "--out", str(again), "--plain", "--split-unresolvable"]) == 0
    assert _resolutions(uv_calls) == []  # no cell, refused or not, asked uv for its lock
    assert {k: r["status"] for k, r in _rows(again).items()} == {k: r["status"] for k, r in rows.items()}
    assert _rows(again)["py3.12-cfx-tmpl@2.0", "web"]["reason"] == rows["py3.12-cfx-tmpl@2.0", "web"]["reason"]


def test_an_include_cell_runs_and_an_excluded_cell_does_not(eco_manifest: EcoManifest) -> None:
    path = eco_manifest(
        '  cfx-base: ["1.0", "2.0"]\n  cfx-user: ["1.0", "1.1"]\n',
        suites={
            "user": (["cfx-user", "cfx-base"], "import cfx_user\n\ndef test_run():\n    assert cfx_user.run() == 2\n")
        },
        extra=(
            "matrix:\n  strategy: upgrades\n"
            "  include:\n    - {pins: {cfx-user: '1.0', cfx-base: '1.0'}}\n"  # the historic stack: both old
            "  exclude:\n    - {cfx-base: '1.0'}\n"  # never cfx-base 1.0 … except where an include asks
        ),
    )
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1  # cfx-user 1.0 on cfx-base 2.0 fails
    rows = _rows(out)
    assert set(rows) == {
        ("py3.12-baseline", "user"),
        ("py3.12-cfx-user@1.0", "user"),
        ("py3.12-cfx-base@1.0-cfx-user@1.0", "user"),
    }
    assert rows["py3.12-cfx-base@1.0-cfx-user@1.0", "user"]["status"] == "passed"
    assert rows["py3.12-cfx-user@1.0", "user"]["status"] == "failed"
    assert ("py3.12-cfx-base@1.0", "user") not in rows  # the upgrades strategy's cell, excluded


LEGACY_SUITES = {
    "legacy": (["cfx-legacy"], "def test_import():\n    import cfx_legacy  # noqa: F401\n"),
    "variables": (
        [],
        "import os\n\ndef test_env():\n"
        "    assert os.environ['CFX_MODE'] == 'strict'\n"
        "    assert os.environ['MPLBACKEND'] == 'pdf'  # the manifest's value over curator's Agg\n"
        "    assert os.environ['PYTHONFAULTHANDLER'] == '1'\n",
    ),
}


@pytest.mark.parametrize("seed", [True, False])
def test_a_package_that_needs_pkg_resources_passes_seeded_and_fails_unseeded(
    eco_manifest: EcoManifest, seed_wheels: Path, seed: bool
) -> None:
    environment = f"environment:\n  seed: {'true' if seed else 'false'}\n  env: {{CFX_MODE: strict, MPLBACKEND: pdf}}\n"
    path = eco_manifest('  cfx-legacy: ["1.0"]\n', suites=LEGACY_SUITES, extra=environment, links=(seed_wheels,))
    out = path.parent / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == (0 if seed else 1)
    rows = _rows(out)
    assert rows["py3.12-baseline", "variables"]["status"] == "passed"
    lock = (out / "locks" / "py3.12-baseline.txt").read_text()
    legacy = rows["py3.12-baseline", "legacy"]
    if seed:
        assert legacy["status"] == "passed"
        seeded = [f"{name}=={importlib.metadata.version(name)}" for name in ("pip", "setuptools", "wheel")]
        assert all(pin in lock for pin in seeded), seeded  # the seed folder's wheels, as the test extra installed
    else:
        assert legacy["status"] == "failed"
        assert "No module named 'pkg_resources'" in legacy["signature"]
        assert "setuptools" not in lock and "\npip==" not in lock


def test_check_resolve_catches_a_test_requires_that_conflicts_with_the_blessed_set(
    eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    # cfx-capped needs cfx-base < 2; the blessed cfx-base is 2.0: every cell would be refused
    path = eco_manifest('  cfx-base: ["1.0", "2.0"]\n', extra='test_requires: ["pytest", "cfx-capped"]\n')
    assert main(["check", str(path)]) == 0  # nothing to see without resolving
    capsys.readouterr()
    assert main(["check", str(path), "--resolve"]) == 2
    err = capsys.readouterr().err
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("test_requires"))
    assert err.startswith(f"curator: error: {path}:{line}:1: test_requires cannot be installed beside the blessed ")
    assert "on Python 3.12: " in err and "cfx-capped" in err and err.count("\n") == 1


def test_check_says_what_the_matrix_and_environment_mean(
    eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest(
        WEB,
        suites=WEB_SUITES,
        extra=(
            "matrix:\n  scope: minimal\n  split_unresolvable: true\n"
            "  include:\n    - {pins: {cfx-tmpl: '2.0', cfx-esc: '1.0'}}\n"
            "  exclude:\n    - {cfx-tmpl: '3.0', cfx-esc: '1.0'}\n"
            "environment:\n  seed: true\n  env: {MPLBACKEND: pdf}\n"
        ),
    )
    assert main(["check", str(path)]) == 0  # no network: nothing is resolved
    printed = capsys.readouterr().out
    assert (
        "Matrix: scope minimal; include cfx-tmpl==2.0 cfx-esc==1.0; exclude cfx-tmpl==3.0, cfx-esc==1.0; "
        "refused cells split into minimal cells" in printed
    )
    assert "Environment: seeded (pip, setuptools, wheel); test runner pytest; variables MPLBACKEND=pdf" in printed


def _squares(out: Path) -> dict[tuple[str, str, str], str]:
    """Every square of every matrix of a run: (matrix, row version, column version) → status."""
    found: dict[tuple[str, str, str], str] = {}
    for path in sorted((out / "matrices").glob("*.csv")):
        head, *rows = [line.split(",") for line in path.read_text().splitlines()]
        found |= {
            (path.name, row[0], column): value for row in rows for column, value in zip(head[1:], row[1:], strict=True)
        }
    return {key: value for key, value in found.items() if value}


def test_minimal_cells_of_a_flask_stack_pin_only_what_their_suites_pull_in(
    eco_manifest: EcoManifest, tmp_path: Path
) -> None:
    links = (build_ecosystem(tmp_path / "flask-wheels", FLASK_STACK)[0].parent,)
    runs = {}
    for scope in ("minimal", "full"):
        extra = f"matrix:\n  strategy: pairs\n  scope: {scope}\npolicy:\n  retries: 0\n"
        path = eco_manifest(FLASK_PACKAGES, suites=FLASK_SUITES, extra=extra, links=links)
        runs[scope] = path.parent / f"out-{scope}"
        assert main(["run", str(path), "--out", str(runs[scope]), "--plain", "--jobs", "2"]) == 1
    rows = list(_rows(runs["minimal"]).values())
    # what each suite pulls in of the stack (cfx-flask needs all five others; jinja and werkzeug, markupsafe)
    pulled = {
        "flask-app": {p.split(":")[0].strip() for p in FLASK_PACKAGES.splitlines()},
        "flask-werkzeug": {p.split(":")[0].strip() for p in FLASK_PACKAGES.splitlines()},
        "jinja-markupsafe": {"cfx-jinja", "cfx-markupsafe"},
        "itsdangerous": {"cfx-itsdangerous"},
        "click": {"cfx-click"},
    }
    assert len({r["cell"] for r in rows}) == 30  # 35 when a cell held every package its combination changed
    for row in rows:
        held = {pin.split("==")[0] for pin in row["pins"].split()}
        assert held <= pulled[row["suite"]] or row["cell"] == "py3.12-baseline", (row["cell"], row["suite"])
    refused = {(r["suite"], r["pins"]) for r in rows if r["status"] == "unresolvable"}
    assert len(refused) == 19  # 30 before, 11 of them only because a partner the suite never uses was pinned
    assert {s for s, _ in refused} == {"flask-app", "flask-werkzeug", "jinja-markupsafe"}
    # the real breaks, each in its pair's own square
    minimal, full = _squares(runs["minimal"]), _squares(runs["full"])
    jinja = "py3.12__cfx-jinja__cfx-markupsafe.csv"
    assert {k[1:]: v for k, v in minimal.items() if k[0] == jinja} == {
        ("2.11", "1.1"): "passed",
        ("2.11", "2.1"): "error",  # soft_unicode is gone
        ("3.1", "1.1"): "unresolvable",  # jinja 3.1 needs markupsafe 2
        ("3.1", "2.1"): "passed",
    }
    werkzeug = "py3.12__cfx-flask__cfx-werkzeug.csv"
    assert minimal[werkzeug, "1.1", "3.0"] == "error" and minimal[werkzeug, "2.2", "3.0"] == "passed"
    # where both scopes could install a square, they agree: leaving packages out changed no verdict
    both = {k for k in minimal.keys() & full.keys() if "unresolvable" not in (minimal[k], full[k])}
    assert len(both) >= 10 and all(minimal[k] == full[k] for k in both), {k: (minimal[k], full[k]) for k in both}
