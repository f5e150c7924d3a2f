"""A cell's key changes with every input that can change its outcome, and with nothing else.

A stored outcome is reused whenever the key is equal, so a key that misses an input reuses a
stale result (a `timeout` kept after the limit was raised), and a key that follows an input
that cannot matter re-runs cells for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from curator import manifest
from curator.execute.cell import outcome_key, suite_specs
from curator.host.layout import RunLayout
from curator.model import codec
from curator.model.distribution import Strategy
from curator.model.ids import PyVersion
from curator.plan import cells as plan
from curator.resolve.interpreters import Interpreter
from tests.conftest import WriteManifest

MANIFEST = """\
distribution: demo
version: "1.0"   # a comment
python: ["3.12"]
index:
  url: https://pypi.org/simple
packages:
  numpy: ["1.26.4", "2.1.3"]
  pandas:
    versions: ["2.2.3"]
    tests: ["pytest --pyargs pandas.tests.dtypes -q"]
  solo: ["1.0"]
suites:
  pandas-numpy:
    path: suites/pn
    requires: [pandas, numpy]
  solo-only:
    path: suites/solo
    requires: [solo]
matrix:
  scope: involved
policy:
  timeout: 900
  retries: 1
"""
INTERPRETER = Interpreter(PyVersion("3.12"), "3.12.1", Path("/usr/bin/python3.12"), "PATH", "3.12.1 (main) linux")
LOCK = "L" * 64


def _keys(path: Path) -> dict[str, tuple[str, str]]:
    """(plan key, outcome key) of each cell of the upgrades plan."""
    dist = manifest.load(path)
    layout = RunLayout(path.parent / "reports" / "run")
    found: dict[str, tuple[str, str]] = {}
    for cell in plan.build(dist, Strategy.UPGRADES).cells:
        specs = suite_specs(dist, cell, layout)
        found[cell.id] = (cell.key, outcome_key(cell, LOCK, INTERPRETER, specs, layout))
    return found


@pytest.fixture
def write(write_manifest: WriteManifest) -> Callable[[str], Path]:
    def make(text: str) -> Path:
        return write_manifest(
            text, suites={"suites/pn": "def test_pn():\n    pass\n", "suites/solo": "def test_solo():\n    pass\n"}
        )

    return make


UPGRADE = "py3.12-numpy@1.26.4"  # holds numpy and pandas (scope: involved), not solo


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda t: t.replace('["2.2.3"]', '["2.2.2"]'), id="a pin"),
        pytest.param(lambda t: t.replace("dtypes -q", "dtypes -x"), id="a package's test command"),
        pytest.param(lambda t: t + 'test_requires: ["pytest<9"]\n', id="the test runner"),
        pytest.param(lambda t: t.replace("timeout: 900", "timeout: 1200"), id="the timeout"),
        pytest.param(lambda t: t.replace("retries: 1", "retries: 2"), id="the retries"),
        pytest.param(lambda t: t.replace("pypi.org/simple", "example.org/simple"), id="the index url"),
        pytest.param(lambda t: t.replace("  url:", '  exclude_newer: "2026-11-01"\n  url:'), id="as of"),
        pytest.param(lambda t: t + "environment:\n  seed: true\n", id="seeding"),
        pytest.param(lambda t: t + "environment:\n  env: {MPLBACKEND: pdf}\n", id="a variable"),
    ],
)
def test_an_input_that_decides_outcomes_changes_the_key(
    write: Callable[[str], Path], edit: Callable[[str], str]
) -> None:
    before = _keys(write(MANIFEST))
    after = _keys(write(edit(MANIFEST)))
    shared = before.keys() & after.keys()
    assert shared, "the edit must keep some cells to compare"
    for cell in shared:
        assert before[cell][0] != after[cell][0], f"plan key of {cell}"
        assert before[cell][1] != after[cell][1], f"outcome key of {cell}"


def test_a_suites_content_changes_the_keys_of_the_cells_that_run_it(write: Callable[[str], Path]) -> None:
    path = write(MANIFEST)
    before = _keys(path)
    (path.parent / "suites" / "pn" / "test_suite.py").write_text("def test_pn():\n    assert True\n")
    after = _keys(path)
    assert before["py3.12-baseline"] != after["py3.12-baseline"]
    assert before[UPGRADE] != after[UPGRADE]


def test_the_interpreter_build_lock_and_run_commands_change_the_outcome_key(write: Callable[[str], Path]) -> None:
    path = write(MANIFEST)
    dist = manifest.load(path)
    layout = RunLayout(path.parent / "run")
    cell = plan.build(dist, Strategy.BASELINE).cells[0]
    specs = suite_specs(dist, cell, layout)
    key = outcome_key(cell, LOCK, INTERPRETER, specs, layout)
    assert outcome_key(cell, "M" * 64, INTERPRETER, specs, layout) != key
    assert outcome_key(cell, LOCK, replace(INTERPRETER, full_version="3.12.2"), specs, layout) != key
    rebuilt = replace(INTERPRETER, build="3.12.1 (main, other compiler) linux")
    assert outcome_key(cell, LOCK, rebuilt, specs, layout) != key
    quieter = (replace(specs[0], argv=(*specs[0].argv[:-1], "-qq")), *specs[1:])
    assert outcome_key(cell, LOCK, INTERPRETER, quieter, layout) != key
    variables = (replace(specs[0], env={**specs[0].env, "MPLBACKEND": "pdf"}), *specs[1:])
    assert outcome_key(cell, LOCK, INTERPRETER, variables, layout) != key


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda t: t.replace('version: "1.0"', 'version: "2.0"'), id="the distribution's version"),
        pytest.param(lambda t: t.replace("distribution: demo", "distribution: other"), id="its name"),
        pytest.param(lambda t: t.replace("# a comment", "# another comment"), id="a comment"),
        pytest.param(
            lambda t: t + "  expected_failures:\n    - {when: {numpy: '<2'}, reason: known}\n", id="an expected failure"
        ),
        pytest.param(lambda t: t + "environment:\n  seed: false\n  env: {}\n", id="the environment's defaults"),
    ],
)
def test_an_input_that_cannot_matter_keeps_the_key(write: Callable[[str], Path], edit: Callable[[str], str]) -> None:
    assert _keys(write(MANIFEST)) == _keys(write(edit(MANIFEST)))


def test_a_suite_a_cell_does_not_run_leaves_its_key(write: Callable[[str], Path]) -> None:
    path = write(MANIFEST)
    before = _keys(path)
    (path.parent / "suites" / "solo" / "test_suite.py").write_text("def test_solo():\n    assert 1\n")
    after = _keys(path)
    assert before[UPGRADE] == after[UPGRADE]  # numpy's upgrade cell does not hold solo
    assert before["py3.12-baseline"] != after["py3.12-baseline"]  # the baseline runs it


def test_the_run_folder_does_not_change_the_outcome_key(write: Callable[[str], Path]) -> None:
    path = write(MANIFEST)
    dist = manifest.load(path)
    cell = plan.build(dist, Strategy.BASELINE).cells[0]
    keys = set()
    for folder in ("one", "two"):
        layout = RunLayout(path.parent / "reports" / folder)
        keys.add(outcome_key(cell, LOCK, INTERPRETER, suite_specs(dist, cell, layout), layout))
    assert len(keys) == 1


def test_the_manifests_variables_reach_every_suite_over_curators_defaults(write: Callable[[str], Path]) -> None:
    path = write(MANIFEST + "environment:\n  env: {MPLBACKEND: pdf, TZ: UTC}\n")
    dist = manifest.load(path)
    cell = plan.build(dist, Strategy.BASELINE).cells[0]
    specs = suite_specs(dist, cell, RunLayout(path.parent / "run"))
    assert [s.name for s in specs] == ["pandas-numpy", "solo-only", "pandas:tests"]
    for spec in specs:
        assert spec.env == {"MPLBACKEND": "pdf", "PYTHONFAULTHANDLER": "1", "TZ": "UTC"}
        assert codec.to_json(spec)["env"] == spec.env  # what nox-cells.json hands the suite runner


def _runner_sources() -> dict[str, str]:
    folder = Path(plan.__file__).parents[1] / "execute" / "harness"
    return {name: (folder / name).read_text() for name in plan.RUNNER_FILES}


def _edited(edit: Callable[[str, str], str]) -> Callable[[], str]:
    return lambda: plan.digest_of({name: edit(name, text) for name, text in _runner_sources().items()})


def _reworded(name: str, text: str) -> str:
    """Every comment, docstring and blank line of a runner file rewritten; its code untouched."""
    lines = []
    for line in text.splitlines():
        comment = "#" in line and '"#' not in line and "'#" not in line
        lines += [line.split("#")[0] + "# reworded" if comment else line, ""]
    return "\n".join(lines).replace('"""', '"""Reworded. ', 1) + "\n# one more comment\n"


def test_a_comment_or_docstring_edit_of_the_runner_keeps_every_plan_key(
    write: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(MANIFEST)
    before = _keys(path)
    assert _edited(lambda _n, t: t)() == plan.runner_digest()
    monkeypatch.setattr(plan, "runner_digest", _edited(_reworded))
    assert _keys(path) == before
    monkeypatch.setattr(plan, "runner_digest", _edited(lambda n, t: t.replace("VERSION = 1", "VERSION = 2")))
    after = _keys(path)
    assert all(before[cell] != after[cell] for cell in before)  # the protocol's version is what it does
