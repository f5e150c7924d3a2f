"""Cell environments with real uv, nox and pytest: a cell that differs from a built environment in
one package is copied from it and only that package moves; every environment holds exactly its
lock; bytecode is written once, into the environment, never into the suites' folder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from curator.cli import main
from curator.execute import envs
from curator.execute.harness.protocol import PYCACHE
from curator.host.layout import cache_dir
from curator.resolve.lock import uv_binary
from tests.integration.conftest import EcoManifest

PACKAGES = """\
  cfx-base: ["1.0", "2.0"]
  cfx-user: ["1.0", "1.1"]
  cfx-left: ["1.0"]
"""
SUITES = {
    "user": (["cfx-user", "cfx-base"], "import cfx_user\n\ndef test_run():\n    assert cfx_user.run() == 2\n"),
    "left": (["cfx-left"], "import cfx_left\n\ndef test_side():\n    assert cfx_left.SIDE == 'left'\n"),
}


def _environment(out: Path, cell: str) -> dict[str, object]:
    facts = json.loads((out / "logs" / cell / "environment.json").read_text())
    assert isinstance(facts, dict)
    return facts


def _location(out: Path, cell: str) -> Path:
    """The environment nox ran the cell in (the run's nox-cells.json names its lock; curator's log its folder)."""
    log = (out / "logs" / cell / "cell.log").read_text()
    line = next(line for line in log.splitlines() if "Reusing existing virtual environment at" in line)
    return Path(line.split(" at ", 1)[1].rstrip("."))


def _frozen(env: Path) -> set[str]:
    """What is installed, as uv itself lists it (not curator's own check)."""
    done = subprocess.run(
        [uv_binary(), "pip", "freeze", "--python", env / "bin" / "python"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
    )
    return {line.strip().lower() for line in done.stdout.splitlines() if "==" in line}


def _locked(out: Path, cell: str) -> set[str]:
    text = (out / "locks" / f"{cell}.txt").read_text()
    return {
        line.split()[0].rstrip("\\").lower() for line in text.splitlines() if "==" in line and not line.startswith("#")
    }


@pytest.fixture(scope="module")
def upgrades(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path) -> Path:
    from tests.conftest import manifest_writer
    from tests.integration.conftest import eco_manifest_factory

    folder = tmp_path_factory.mktemp("environments")
    manifest = eco_manifest_factory(manifest_writer(folder), wheelhouse, runner_wheels)(
        PACKAGES, suites=SUITES, extra="matrix:\n  strategy: upgrades\npolicy:\n  retries: 0\n"
    )
    out = folder / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as on many CI machines: bytecode is still cached, in the env
        patch.setenv("CURATOR_CACHE_DIR", str(folder / "cache"))  # no environment built by another test to start from
        assert main(["run", str(manifest), "--out", str(out), "--jobs", "1", "--plain"]) == 1  # user 1.0 × base 2.0
    return out


def test_a_cell_one_package_away_is_copied_and_only_that_package_moves(upgrades: Path) -> None:
    assert _environment(upgrades, "py3.12-baseline")["how"] == "created"
    copied = _environment(upgrades, "py3.12-cfx-base@1.0")
    assert copied["ok"] is True
    assert str(copied["how"]).startswith("copied from ") and str(copied["how"]).endswith("(packages to change: 1)")
    log = (upgrades / "logs" / "py3.12-cfx-base@1.0" / "cell.log").read_text()
    assert "Uninstalled 1 package" in log and "Installed 1 package" in log  # uv's own words
    assert " - cfx-base==2.0" in log and " + cfx-base==1.0" in log


def test_every_environment_holds_exactly_its_lock_and_the_copied_one_is_untouched(upgrades: Path) -> None:
    for cell in ("py3.12-baseline", "py3.12-cfx-base@1.0", "py3.12-cfx-user@1.0"):
        assert _frozen(_location(upgrades, cell)) == _locked(upgrades, cell), cell
    baseline = _location(upgrades, "py3.12-baseline")
    assert "cfx-base==2.0" in _frozen(baseline)  # what a copy of it changed stayed in the copy


def test_bytecode_goes_into_the_environment_once_and_never_into_the_suites(upgrades: Path) -> None:
    env = _location(upgrades, "py3.12-baseline")
    site = next(env.glob("lib/python*/site-packages"))
    compiled = env / PYCACHE / site.relative_to(site.anchor)
    assert list(compiled.glob("cfx_user/__init__.*.pyc"))  # what the suites imported, compiled once, kept
    assert not list(site.rglob("__pycache__"))  # nothing beside the installed sources
    suites = upgrades.parent / "suites"
    assert not list(suites.rglob("__pycache__")) and not list(suites.rglob("*.pyc"))


def test_the_next_cells_environment_is_built_while_a_cell_runs_its_suites(upgrades: Path) -> None:
    # --jobs 1: one cell's suites at a time, and the next cells' environments built meanwhile
    ran = [json.loads(p.read_text()) for p in (upgrades / "logs" / "py3.12-baseline").glob("*.json")]
    suites_ended = max(r["started"] + r["duration"] for r in ran if "duration" in r)
    built = (upgrades / "logs" / "py3.12-cfx-base@1.0" / "environment.json").stat().st_mtime
    assert built < suites_ended


def test_a_copy_built_ahead_takes_the_bytecode_its_origin_compiled_meanwhile(upgrades: Path) -> None:
    # the copy was made before the baseline's suites compiled pytest; it links their bytecode
    # (the same files) instead of compiling pytest again
    def compiled(cell: str) -> Path:
        env = _location(upgrades, cell)
        site = next(env.glob("lib/python*/site-packages"))
        return next((env / PYCACHE / site.relative_to(site.anchor) / "_pytest").glob("main.*.pyc"))

    assert compiled("py3.12-baseline").samefile(compiled("py3.12-cfx-base@1.0"))


def test_a_new_environment_takes_its_interpreters_compiled_standard_library(upgrades: Path) -> None:
    # the suites run with the pycache prefix inside the environment, where Python looks for the
    # standard library's bytecode too: it is the interpreter's own files, linked, not compiled again
    env = _location(upgrades, "py3.12-baseline")
    probe = "import importlib.util, json; print(json.__file__); print(importlib.util.cache_from_source(json.__file__))"
    done = subprocess.run([env / "bin" / "python", "-I", "-c", probe], capture_output=True, text=True, check=True)
    source, installed = (Path(line) for line in done.stdout.split())
    seeded = env / PYCACHE / source.parent.relative_to(source.anchor) / installed.name
    assert seeded.samefile(installed)


def test_a_rerun_reuses_the_environment_and_an_altered_one_is_built_again(
    eco_manifest: EcoManifest, tmp_path: Path
) -> None:
    manifest = eco_manifest('  cfx-left: ["1.0"]\n', suites={"left": SUITES["left"]})
    assert main(["run", str(manifest), "--out", str(tmp_path / "one"), "--plain"]) == 0
    assert main(["run", str(manifest), "--out", str(tmp_path / "two"), "--plain", "--rerun"]) == 0
    assert _environment(tmp_path / "two", "py3.12-baseline")["how"] == "reused"
    env = _location(tmp_path / "two", "py3.12-baseline")
    (next(env.glob("lib/python*/site-packages")) / "stray.py").write_text("")  # someone installed by hand
    assert main(["run", str(manifest), "--out", str(tmp_path / "three"), "--plain", "--rerun"]) == 0
    log = (tmp_path / "three" / "logs" / "py3.12-baseline" / "cell.log").read_text()
    assert "site-packages/stray.py belongs to no installed distribution" in log
    assert _environment(tmp_path / "three", "py3.12-baseline")["how"] != "reused"
    assert (
        envs.verify(env, envs.lock_packages((tmp_path / "three" / "locks" / "py3.12-baseline.txt").read_text())) == []
    )
    assert (cache_dir() / "envs").is_dir()


def test_a_package_rebuilt_at_the_same_version_is_installed_again_in_a_copy(
    runner_wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two wheel folders hold cfx-same 1.0 built differently (a rebuilt local wheel, another index):
    the second run's environment is copied from the first's, and must hold the second's files."""
    from tests.conftest import manifest_writer
    from tests.ecosystem import FakeDist, build_wheel
    from tests.integration.conftest import eco_manifest_factory

    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path / "cache"))
    left = {"cfx_left/__init__.py": "SIDE = 'left'\n"}
    suite = {"same": (["cfx-same"], "import cfx_same\n\ndef test_value():\n    assert cfx_same.VALUE == 2\n")}
    outcomes = []
    for value in (1, 2):
        house = tmp_path / f"house-{value}"
        build_wheel(FakeDist("cfx-left", "1.0", left), house)
        build_wheel(FakeDist("cfx-same", "1.0", {"cfx_same/__init__.py": f"VALUE = {value}\n"}), house)
        write = manifest_writer(tmp_path / f"manifest-{value}")
        manifest = eco_manifest_factory(write, house, runner_wheels)(
            '  cfx-same: ["1.0"]\n  cfx-left: ["1.0"]\n', suites=suite, extra="policy:\n  retries: 0\n"
        )
        outcomes.append(main(["run", str(manifest), "--out", str(tmp_path / f"out-{value}"), "--plain", "--jobs", "1"]))
    assert outcomes == [1, 0]  # VALUE is 1, then 2: the second environment does not keep the first's cfx-same
    copied = _environment(tmp_path / "out-2", "py3.12-baseline")
    assert str(copied["how"]).startswith("copied from ")  # it was a copy: cfx-left and the runner came along
    log = (tmp_path / "out-2" / "logs" / "py3.12-baseline" / "cell.log").read_text()
    assert " ~ cfx-same==1.0" in log or (" - cfx-same==1.0" in log and " + cfx-same==1.0" in log)
