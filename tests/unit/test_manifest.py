"""distribution.yaml parsing: the models, and every mistake reported at its line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from packaging.version import Version

from curator import manifest
from curator.cli import main
from curator.errors import ManifestError
from curator.manifest import Scope, Strategy
from curator.pins import Pins
from tests.conftest import WriteManifest

GOOD = """
distribution: demo
version: "2026.11"
python: ["3.11", "3.12"]
index:
  find_links: [wheels]
  no_index: true
  exclude_newer: "2026-11-01"
packages:
  NumPy:
    versions: ["1.26.4", "2.1.3"]
  pandas:
    versions: [2.1.4, 2.2.3, "2.0"]
    blessed: "2.2.3"
    tests: ["pytest --pyargs pandas.tests.dtypes -q"]
suites:
  pandas-numpy:
    path: suites/pandas_numpy
    requires: [pandas, numpy]
matrix:
  strategy: cover
  max_cells: 50
  scope: involved
policy:
  timeout: 120
  retries: 2
  expected_failures:
    - when: {pandas: "<2.2.2", numpy: ">=2"}
      reason: built against the NumPy 1.x ABI
      owner: alice
      expires: 2027-01-31
"""


@pytest.fixture
def good(write_manifest: WriteManifest, tmp_path: Path) -> Path:
    (tmp_path / "wheels").mkdir()
    return write_manifest(GOOD, suites={"suites/pandas_numpy": "def test_x():\n    pass\n"})


def test_a_valid_manifest_becomes_typed_models(good: Path) -> None:
    dist = manifest.load(good)
    assert (dist.name, dist.version, dist.python) == ("demo", "2026.11", ("3.11", "3.12"))
    numpy, pandas = dist.packages
    assert numpy.name == "numpy"  # canonicalized
    assert numpy.blessed == Version("2.1.3")  # newest when not said
    assert pandas.versions == (Version("2.0"), Version("2.1.4"), Version("2.2.3"))  # "2.0" not 2.0 float
    assert pandas.blessed == Version("2.2.3")
    assert pandas.tests == ("pytest --pyargs pandas.tests.dtypes -q",)
    assert dist.index.no_index and dist.index.exclude_newer == "2026-11-01"
    assert dist.index.find_links == (good.parent / "wheels",)
    assert dist.suites[0].requires == {"pandas", "numpy"}
    assert dist.suites[0].path == good.parent / "suites" / "pandas_numpy"
    assert dist.matrix.strategy is Strategy.COVER and dist.matrix.max_cells == 50
    assert dist.matrix.scope is Scope.INVOLVED
    assert dist.policy.timeout == 120 and dist.policy.retries == 2
    rule = dist.policy.expected_failures[0]
    assert rule.expires == dt.date(2027, 1, 31) and rule.owner == "alice"
    assert rule.matches("3.12", Pins({"pandas": "2.1.4", "numpy": "2.1.3"}))
    assert not rule.matches("3.12", Pins({"pandas": "2.2.3", "numpy": "2.1.3"}))
    assert len(dist.sha256) == 64
    assert dist.where("matrix.max_cells") == f"{good}:21:3"


def test_defaults_when_optional_sections_are_missing(write_manifest: WriteManifest) -> None:
    path = write_manifest(
        """
        distribution: tiny
        version: "1"
        python: "3.12"
        packages:
          attrs: ["23.2.0", "24.2.0"]
        """
    )
    dist = manifest.load(path)
    assert dist.python == ("3.12",)
    assert dist.packages[0].versions == (Version("23.2.0"), Version("24.2.0"))
    assert dist.matrix.strategy is Strategy.PAIRS and dist.matrix.max_cells == 500
    assert dist.policy.timeout == 900 and dist.policy.retries == 1
    assert dist.index.url is None and dist.test_requires == ("pytest",)


def _error(write_manifest: WriteManifest, text: str, **kwargs: dict[str, str]) -> ManifestError:
    path = write_manifest(text, **kwargs)
    with pytest.raises(ManifestError) as caught:
        manifest.load(path)
    return caught.value


BASE = """
distribution: demo
version: "1"
python: ["3.12"]
packages:
  numpy:
    versions: ["1.26.4", "2.1.3"]
"""


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        pytest.param(
            BASE.replace("    versions:", "    version:"),
            6,
            5,
            "unknown key 'version' in packages.numpy; did you mean 'versions'?",
            id="unknown-key-hint",
        ),
        pytest.param(
            BASE + "matrx:\n  strategy: full\n",
            7,
            1,
            "unknown key 'matrx' in the manifest; did you mean 'matrix'?",
            id="unknown-top-key",
        ),
        pytest.param(
            BASE.replace('"2.1.3"', '"2.x"'),
            6,
            26,
            "version '2.x' is not a PEP 440 version",
            id="bad-version",
        ),
        pytest.param(
            BASE + '    blessed: "2.2.0"\n',
            7,
            14,
            "blessed version '2.2.0' of numpy is not among its versions (1.26.4, 2.1.3)",
            id="blessed-not-listed",
        ),
        pytest.param(
            BASE + "suites:\n  s:\n    path: suites/missing\n",
            9,
            11,
            "suite path 'suites/missing' is not a folder",
            id="suite-path-missing",
        ),
        pytest.param(
            BASE + "matrix:\n  strategy: pairz\n",
            8,
            13,
            "matrix.strategy 'pairz' is not one of baseline, upgrades, pairs, full, cover; did you mean 'pairs'?",
            id="bad-strategy",
        ),
        pytest.param(
            BASE + "policy:\n  expected_failures:\n    - when: {numpyy: '>=2'}\n      reason: r\n",
            9,
            14,
            "expected failure names package 'numpyy' is not in packages; did you mean 'numpy'?",
            id="expected-unknown-package",
        ),
        pytest.param(
            BASE + "policy:\n  expected_failures:\n    - when: {numpy: '>=2'}\n",
            9,
            7,
            "an expected failure is missing the required key 'reason'",
            id="expected-without-reason",
        ),
        pytest.param(
            BASE + "policy:\n  timeout: soon\n",
            8,
            12,
            "policy.timeout must be a number of at least 1, not 'soon'",
            id="bad-timeout",
        ),
        pytest.param(
            BASE.replace('python: ["3.12"]', "python: [3.1.2]"),
            3,
            10,
            "python version '3.1.2' must be MAJOR.MINOR",
            id="bad-python",
        ),
        pytest.param(
            BASE + "  numpy:\n    versions: ['1.0']\n",
            7,
            3,
            "'numpy' appears twice in packages (first on line 5)",
            id="duplicate-key",
        ),
        pytest.param(
            BASE + "  NumPy:\n    versions: ['1.0']\n",
            7,
            3,
            "package 'NumPy' is the same package as 'numpy'",
            id="same-name-two-spellings",
        ),
        pytest.param(
            BASE.replace("distribution: demo\n", ""),
            1,
            1,
            "the manifest is missing the required key 'distribution'",
            id="missing-required",
        ),
        pytest.param(
            BASE + "index:\n  find_links: [nowhere]\n",
            8,
            16,
            "find_links folder 'nowhere' does not exist",
            id="find-links-missing",
        ),
        pytest.param(
            BASE + "index:\n  no_index: true\n",
            8,
            13,
            "index.no_index: true needs index.find_links",
            id="no-index-without-links",
        ),
        pytest.param(
            BASE + "  pandas:\n    versions: ['2.2.3']\n    tests: ['pytest \"unclosed']\n",
            9,
            13,
            "test command of pandas cannot be split into words",
            id="bad-test-command",
        ),
    ],
)
def test_each_mistake_is_located_and_explained(
    write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str], text: str, line: int, column: int, message: str
) -> None:
    error = _error(write_manifest, text)
    assert (error.line, error.column) == (line, column), str(error)
    assert message in error.message
    assert str(error).startswith(f"{error.path}:{line}:{column}: ")
    # and as a user meets it: exit status 2, one line on stderr, no traceback
    assert main(["plan", str(error.path), "--strategy", "baseline"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [f"curator: error: {error}"]
    assert "Traceback" not in captured.out + captured.err


def test_suite_requiring_an_unknown_package_names_it(write_manifest: WriteManifest) -> None:
    error = _error(
        write_manifest,
        BASE + "suites:\n  s:\n    path: suites/s\n    requires: [numpy, pandsa]\n",
        suites={"suites/s": "def test_x():\n    pass\n"},
    )
    assert (error.line, error.column) == (10, 23)
    assert "suite 's' requires 'pandsa', which" not in error.message
    assert "suite 's' requires 'pandsa' is not in packages" in error.message


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        pytest.param("distribution: demo\n  version: 1\n", 2, 10, id="bad-indent"),
        pytest.param("distribution: [demo\n", 2, 1, id="unclosed-list"),
        pytest.param('distribution: "demo\n', 2, 1, id="unclosed-quote"),
        pytest.param("a: b\n\tc: d\n", 2, 1, id="tab"),
    ],
)
def test_yaml_syntax_errors_are_located(write_manifest: WriteManifest, text: str, line: int, column: int) -> None:
    error = _error(write_manifest, text)
    assert error.message.startswith("YAML syntax error: ")
    assert (error.line, error.column) == (line, column), str(error)


def test_empty_manifest_and_missing_file(write_manifest: WriteManifest, tmp_path: Path) -> None:
    assert "the manifest is empty" in _error(write_manifest, "").message
    with pytest.raises(ManifestError, match="no such manifest file"):
        manifest.load(tmp_path / "absent.yaml")


def test_cli_reports_a_bad_manifest_in_one_line_with_exit_2(
    write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(BASE.replace("    versions:", "    version:"))
    assert main(["plan", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines == [
        f"curator: error: {path}:6:5: unknown key 'version' in packages.numpy; did you mean 'versions'? "
        "(allowed: versions, blessed, tests, track)"
    ]
    assert "Traceback" not in captured.err + captured.out


def test_cli_bad_arguments_exit_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--strategy", "pairz"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "curator: error: curator plan: argument --strategy: 'pairz' is not a strategy; did you mean 'pairs'? "
        "choose baseline, upgrades, pairs, full, cover (see `curator plan --help`)"
    )
    assert "Traceback" not in err
