"""distribution.yaml parsing: the models, and every mistake reported at its line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from packaging.version import Version

from curator import manifest
from curator.cli import main
from curator.model.distribution import Scope, Strategy
from curator.model.errors import ManifestError
from curator.model.pins import Pins
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


def test_expected_skips_become_rules(write_manifest: WriteManifest) -> None:
    text = BASE + (
        "suites:\n  gpu:\n    path: suites/gpu\n    requires: [numpy]\n"
        "policy:\n  expected_skips:\n"
        "    - suites: [gpu]\n      reason: no GPU on the CI machines\n      owner: ops\n"
        "    - when: {python: '>=3.13', numpy: '<2'}\n      reason: no wheels yet\n      expires: 2027-01-31\n"
    )
    dist = manifest.load(write_manifest(text, suites={"suites/gpu": "def test_x():\n    pass\n"}))
    gpu, wheels = dist.policy.expected_skips
    assert (gpu.suites, gpu.when, gpu.owner, gpu.line) == (frozenset({"gpu"}), (), "ops", 13)
    assert gpu.describe() == "suites gpu"
    assert gpu.matches("3.12", Pins({"numpy": "2.1.3"}))  # no `when`: every cell
    assert wheels.describe() == "python>=3.13, numpy<2" and wheels.expires == dt.date(2027, 1, 31)
    assert wheels.matches("3.13", Pins({"numpy": "1.26.4"})) and not wheels.matches("3.12", Pins({"numpy": "1.26.4"}))
    assert dist.policy.expected_failures == ()


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
        pytest.param(
            BASE + "matrix:\n  exlude: []\n",
            8,
            3,
            "unknown key 'exlude' in matrix; did you mean 'exclude'? (allowed: strategy, max_cells, scope,",
            id="matrix-unknown-key",
        ),
        pytest.param(
            BASE + "matrix:\n  scope: minimum\n",
            8,
            10,
            "matrix.scope 'minimum' is not one of full, involved, minimal; did you mean 'minimal'?",
            id="scope-typo",
        ),
        pytest.param(
            BASE + "matrix:\n  include: {pins: {numpy: '1.26.4'}}\n",
            8,
            12,
            "matrix.include must be a list of {python, pins}",
            id="include-not-list",
        ),
        pytest.param(
            BASE + "matrix:\n  include:\n    - {pin: {numpy: '1.26.4'}}\n",
            9,
            8,
            "unknown key 'pin' in an include of matrix.include; did you mean 'pins'? (allowed: python, pins)",
            id="include-unknown-key",
        ),
        pytest.param(
            BASE + "matrix:\n  include:\n    - {python: ['3.12']}\n",
            9,
            7,
            "an include of matrix.include is missing the required key 'pins'",
            id="include-without-pins",
        ),
        pytest.param(
            BASE + "matrix:\n  include:\n    - {pins: {}}\n",
            9,
            14,
            "include pins must name at least one package and its version",
            id="include-empty-pins",
        ),
        pytest.param(
            BASE + "matrix:\n  include:\n    - {pins: {numpyy: '1.0'}}\n",
            9,
            15,
            "include pins package 'numpyy' is not in packages; did you mean 'numpy'?",
            id="include-unknown-package",
        ),
        pytest.param(
            BASE + "matrix:\n  include:\n    - {pins: {numpy: '1.x'}}\n",
            9,
            22,
            "include pins.numpy '1.x' is not a PEP 440 version (write it like '2.2.3')",
            id="include-bad-version",
        ),
        pytest.param(
            BASE + "matrix:\n  include:\n    - {python: ['3.13'], pins: {numpy: '1.26.4'}}\n",
            9,
            17,
            "include python '3.13' is not on the python axis (3.12); did you mean '3.12'?",
            id="include-python-off-axis",
        ),
        pytest.param(
            BASE + "matrix:\n  include:\n    - pins: {numpy: '2.1.3'}\n",
            9,
            13,
            "every pin of this include is blessed: that cell is the baseline, which every plan holds; pin at",
            id="include-all-blessed",
        ),
        pytest.param(
            BASE + "matrix:\n  exclude: {numpy: '1.26.4'}\n",
            8,
            12,
            "matrix.exclude must be a list of patterns like {pandas: '2.1.4', numpy: '>=2'}",
            id="exclude-not-list",
        ),
        pytest.param(
            BASE + "matrix:\n  exclude:\n    - {}\n",
            9,
            7,
            "an exclude pattern must name at least one package (and may name python)",
            id="exclude-empty",
        ),
        pytest.param(
            BASE + "matrix:\n  exclude:\n    - {numpyy: '1.26.4'}\n",
            9,
            8,
            "exclude names package 'numpyy' is not in packages; did you mean 'numpy'?",
            id="exclude-unknown-package",
        ),
        pytest.param(
            BASE + "matrix:\n  exclude:\n    - {numpy: '1.0'}\n",
            9,
            15,
            "exclude numpy '1.0' is not a candidate of numpy (1.26.4, 2.1.3): the pattern could never exclude a",
            id="exclude-not-a-candidate",
        ),
        pytest.param(
            BASE + "matrix:\n  exclude:\n    - {numpy: '<1'}\n",
            9,
            15,
            "exclude numpy '<1' matches no candidate of numpy (1.26.4, 2.1.3): the pattern could never exclude a",
            id="exclude-matches-nothing",
        ),
        pytest.param(
            BASE + "matrix:\n  exclude:\n    - {numpy: '>=2'}\n",
            9,
            7,
            "this exclude pattern (numpy>=2) matches the baseline on Python 3.12 (every package blessed), which",
            id="exclude-the-baseline",
        ),
        pytest.param(
            BASE + "matrix:\n  exclude:\n    - {numpy: '1.26.4', python: '3.9'}\n",
            9,
            33,
            "exclude python '3.9' matches no Python of the axis (3.12)",
            id="exclude-python-off-axis",
        ),
        pytest.param(
            BASE + "matrix:\n  exclude:\n    - {python: '3.12'}\n",
            9,
            7,
            "an exclude pattern must name at least one package, not only python",
            id="exclude-only-python",
        ),
        pytest.param(
            BASE + "matrix:\n  split_unresolvable: maybe\n",
            8,
            23,
            "matrix.split_unresolvable must be true or false, not 'maybe'",
            id="split-not-bool",
        ),
        pytest.param(
            BASE + "environment:\n  seeds: true\n",
            8,
            3,
            "unknown key 'seeds' in environment; did you mean 'seed'? (allowed: seed, env)",
            id="environment-unknown-key",
        ),
        pytest.param(
            BASE + "environment:\n  seed: sometimes\n",
            8,
            9,
            "environment.seed must be true or false, not 'sometimes'",
            id="seed-not-bool",
        ),
        pytest.param(
            BASE + "environment:\n  env: [MPLBACKEND]\n",
            8,
            8,
            "environment.env must be a mapping of keys to values",
            id="env-not-mapping",
        ),
        pytest.param(
            BASE + "environment:\n  env:\n    1X: a\n",
            9,
            5,
            "environment variable '1X' may only hold letters, digits and '_', and may not start with a digit",
            id="env-bad-name",
        ),
        pytest.param(
            BASE + "environment:\n  env:\n    PATH: /opt/bin\n",
            9,
            5,
            "environment variable PATH is set by curator and nox for every cell",
            id="env-reserved",
        ),
        pytest.param(
            BASE + "environment:\n  env:\n    CURATOR_ATTEMPT: '3'\n",
            9,
            5,
            "environment variable CURATOR_ATTEMPT is set by curator and nox for every cell",
            id="env-curator",
        ),
        pytest.param(
            BASE + "environment:\n  env:\n    MPLBACKEND:\n",
            9,
            16,
            'environment.env.MPLBACKEND has no value; write "" for an empty one',
            id="env-no-value",
        ),
        pytest.param(
            BASE + "environment:\n  env:\n    MPLBACKEND: [Agg]\n",
            9,
            17,
            "environment.env.MPLBACKEND must be a single value, not a list or mapping",
            id="env-list-value",
        ),
        pytest.param(
            BASE + "policy:\n  expected_skip:\n    - suites: [numpy:tests]\n      reason: r\n",
            8,
            3,
            "unknown key 'expected_skip' in policy; did you mean 'expected_skips'?",
            id="expected-skips-misspelt",
        ),
        pytest.param(
            BASE + "policy:\n  expected_skips:\n    - suite: [numpy:tests]\n      reason: r\n",
            9,
            7,
            "unknown key 'suite' in an expected skip; did you mean 'suites'?",
            id="expected-skip-unknown-key",
        ),
        pytest.param(
            BASE + "policy:\n  expected_skips:\n    - suites: [numpy:test]\n      reason: r\n",
            9,
            16,
            "suite 'numpy:test' is not a suite of this manifest; did you mean 'numpy:tests'?",
            id="expected-skip-unknown-suite",
        ),
        pytest.param(
            BASE + "policy:\n  expected_skips:\n    - reason: no GPU here\n",
            9,
            7,
            "an expected skip must say where it applies: `suites: [NAME, …]`, `when: {PACKAGE: SPEC}`, or both",
            id="expected-skip-nowhere",
        ),
        pytest.param(
            BASE + "policy:\n  expected_skips:\n    - suites: []\n      reason: r\n",
            9,
            15,
            "suites must name at least one suite (or leave `suites` out)",
            id="expected-skip-no-suites",
        ),
        pytest.param(
            BASE + "policy:\n  expected_skips:\n    - suites: [numpy:tests]\n",
            9,
            7,
            "an expected skip is missing the required key 'reason'",
            id="expected-skip-without-reason",
        ),
        pytest.param(
            BASE + "policy:\n  expected_skips:\n    suites: [numpy:tests]\n",
            9,
            5,
            "policy.expected_skips must be a list of {suites and/or when, reason}",
            id="expected-skips-not-a-list",
        ),
        pytest.param(
            BASE + "policy:\n  expected_skips:\n    - when: {numpyy: '>=2'}\n      reason: r\n",
            9,
            14,
            "expected skip names package 'numpyy' is not in packages; did you mean 'numpy'?",
            id="expected-skip-unknown-package",
        ),
        pytest.param(
            BASE + "test_requires: ['pytest', 'numpy>=2']\n",
            7,
            27,
            "test requirement 'numpy>=2' rules out numpy 1.26.4, a candidate: every cell holding it would be",
            id="test-requires-rules-out-a-candidate",
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
        "(allowed: versions, blessed, tests, track, maintainers)"
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


SHAPED = """
distribution: web
version: "1"
python: ["3.11", "3.12"]
packages:
  flask: ["2.2.5", "3.0.0"]
  werkzeug: ["2.3.8", "3.0.1"]
  jinja2: ["2.11.3", "3.1.4"]
matrix:
  scope: minimal
  split_unresolvable: true
  include:
    - {python: ["3.11"], pins: {Flask: "1.1.2", werkzeug: "1.0.1"}}
    - pins: {jinja2: "2.11.3", werkzeug: "3.0.1"}
  exclude:
    - {flask: "2.2.5", werkzeug: ">=3"}
    - {jinja2: "2.11.3", python: "3.12"}
environment:
  seed: true
  env: {MPLBACKEND: Agg, RETRIES: 3, EMPTY: "", FLAG: yes}
"""


def test_include_exclude_scope_and_environment_become_models(write_manifest: WriteManifest) -> None:
    dist = manifest.load(write_manifest(SHAPED))
    matrix = dist.matrix
    assert matrix.scope is Scope.MINIMAL and matrix.split_unresolvable
    historic, pair = matrix.include
    # a hand-picked cell may use versions that are not candidates (flask 1.1.2, werkzeug 1.0.1)
    assert historic.pins == Pins({"flask": "1.1.2", "werkzeug": "1.0.1"}) and historic.python == ("3.11",)
    assert historic.applies_to("3.11") and not historic.applies_to("3.12")
    assert pair.python == () and pair.applies_to("3.12")  # every Python when not said
    assert historic.line == 12
    old_flask, old_jinja = matrix.exclude
    # a partial match on the keys a pattern names
    assert old_flask.matches("3.12", Pins({"flask": "2.2.5", "werkzeug": "3.0.1", "jinja2": "3.1.4"}))
    assert not old_flask.matches("3.12", Pins({"flask": "2.2.5", "werkzeug": "2.3.8", "jinja2": "3.1.4"}))
    assert not old_flask.matches("3.12", Pins({"werkzeug": "3.0.1"}))  # a cell without flask does not match
    assert old_jinja.matches("3.12", Pins({"jinja2": "2.11.3"})) and not old_jinja.matches(
        "3.11", Pins({"jinja2": "2.11.3"})
    )
    assert (
        old_flask.describe() == "flask==2.2.5, werkzeug>=3" and old_jinja.describe() == "jinja2==2.11.3, python==3.12"
    )
    # values as written: 3 stays "3", yes stays "yes", "" is allowed
    assert dict(dist.environment.env) == {"MPLBACKEND": "Agg", "RETRIES": "3", "EMPTY": "", "FLAG": "yes"}
    assert dist.environment.seed_packages == ("pip", "setuptools", "wheel")
    assert dist.runner_requires == ("pytest", "pip", "setuptools", "wheel")


def test_an_unseeded_manifest_resolves_only_the_test_runner(write_manifest: WriteManifest) -> None:
    dist = manifest.load(write_manifest(BASE))
    assert not dist.environment.seed and dist.environment.env == {}
    assert dist.runner_requires == ("pytest",)
    assert dist.matrix.include == () and dist.matrix.exclude == () and not dist.matrix.split_unresolvable


def test_a_test_requirement_with_a_marker_or_for_another_package_rules_nothing_out(
    write_manifest: WriteManifest,
) -> None:
    text = BASE + "test_requires: ['pytest>=8', 'numpy>=2; python_version >= \"3.13\"']\n"
    assert manifest.load(write_manifest(text)).test_requires == ("pytest>=8", 'numpy>=2; python_version >= "3.13"')
