"""`curator check` on hostile manifests, all the way to the terminal (it finds the real Python 3.11).

The printing tests show that user text reaches rich as text, never as markup, and that an ASCII
terminal gets escapes rather than a crash. The fuzz test mutates a valid manifest with the values
a hostile probe tried — YAML tags, huge numbers, NULs, surrogates, newlines, markup, very long
strings, deep nesting, wrong types — and asks that `check` always answer 0 or 2, in time, with
at most one line of error and never a traceback.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curator.cli import main
from tests.conftest import WriteManifest

MANIFEST = 'distribution: demo\nversion: "1.0"\npython: ["3.11"]\npackages:\n  numpy: ["1.26.4"]\n'


def test_markup_in_a_test_command_is_printed_as_written(
    write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(MANIFEST.replace('["1.26.4"]', '{versions: ["1.26.4"], tests: ["pytest -k [/] [bold]x"]}'))
    assert main(["check", str(path)]) == 0
    assert "pytest -k [/] [bold]x" in capsys.readouterr().out


def test_a_manifest_path_with_markup_is_printed_as_written(
    tmp_path: Path, write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "[bold]" / "[").mkdir(parents=True)
    path = write_manifest(MANIFEST, name="[bold]/[/]distribution.yaml")  # a folder '[' holding ']distribution.yaml'
    assert main(["check", str(path)]) == 0
    assert f"{path} is valid" in capsys.readouterr().out


def test_check_prints_on_an_ascii_terminal(write_manifest: WriteManifest, monkeypatch: pytest.MonkeyPatch) -> None:
    """PYTHONIOENCODING=ascii: "—" and "×" come out escaped instead of raising UnicodeEncodeError."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["check", str(write_manifest(MANIFEST))]) == 0
    out.flush()
    assert b"demo 1.0 \\u2014 " in raw.getvalue()


# --------------------------------------------------------------------------- fuzzing

FUZZ_EXAMPLES = 300
SECONDS_PER_CASE = 5.0

TEMPLATE = """\
distribution: {distribution}
version: {version}
python: ["3.11"]
index:
  find_links: [{find_links}]
  exclude_newer: {exclude_newer}
packages:
  numpy:
    versions: [{versions}]
    blessed: {blessed}
    tests: [{tests}]
    track: {track}
  {package}: ["1.0"]
suites:
  s:
    path: {path}
    requires: [{requires}]
matrix:
  strategy: {strategy}
  max_cells: {max_cells}
  scope: {scope}
  include:
    - {{python: [{include_python}], pins: {{numpy: {include_version}}}}}
  exclude:
    - {{numpy: {exclude}}}
policy:
  timeout: {timeout}
  retries: {retries}
  expected_failures:
    - when: {{numpy: {when}}}
      reason: {reason}
      owner: {owner}
      expires: {expires}
test_requires: [{test_requires}]
environment:
  seed: {seed}
  env: {{{env_name}: {env_value}}}
{extra}
"""

VALID = {
    "distribution": "demo",
    "version": '"1.0"',
    "find_links": "wheels",
    "exclude_newer": '"2026-11-01"',
    "versions": '"1.26.4", "2.1.3"',
    "blessed": '"2.1.3"',
    "tests": '"pytest -q"',
    "track": '">=1"',
    "package": "attrs",
    "path": "suites/s",
    "requires": "numpy",
    "strategy": "upgrades",
    "max_cells": "50",
    "scope": "full",
    "timeout": "60",
    "retries": "1",
    "when": '">=2"',
    "reason": "a reason",
    "owner": "someone",
    "expires": "2027-01-31",
    "test_requires": '"pytest"',
    "include_python": '"3.11"',
    "include_version": '"1.0.0"',
    "exclude": '"<2"',
    "seed": "true",
    "env_name": "MPLBACKEND",
    "env_value": "Agg",
    "extra": "",
}

TAGS = [
    "!!int abc",
    "!!bool maybe",
    "!!timestamp soon",
    "!!timestamp 2027-02-30",
    "!!float fast",
    "!!binary '%%'",
    "!!null x",
    "!!str 5",
    "!!int 0x",
    "!custom value",
    "!!python/name:os.system ''",
    "!!python/object/apply:os.system ['true']",
    "!!set {a: null}",
    "!!omap [a: 1]",
    "!!map {a: 1}",
    "!!seq [1]",
]
ODD_PIECES = ["\\0", "\\ud800", "\\udc80", "\\n", "\\r", "\\t", "\\x07", "\\u2014", "[/]", "[bold]", ":smile:"]
ODD_PIECES += ["%", "_", "/", "..", "a", "'", '\\"', "\\\\", " ", "#"]
WRONG_TYPES = ["[]", "{}", "null", "~", "true", "''", '""', "[1, [2]]", "{a: b}", "&a x", "*undefined", "- x", "-"]

values = st.one_of(
    st.sampled_from(TAGS),
    st.integers(300, 6000).map(lambda n: "9" * n),  # past the 4,300-digit limit, and past float
    st.integers(90, 6000).map(lambda n: '"1.' + "9" * n + '"'),  # versions whose numbers are too long
    st.sampled_from([".nan", ".inf", "-.inf", "1.0e+400", "-1", "0", "0.5", "1e9", "2027-02-30", "9999-12-31"]),
    st.lists(st.sampled_from(ODD_PIECES), min_size=1, max_size=8).map(lambda p: '"' + "".join(p) + '"'),
    st.integers(100, 300_000).map(lambda n: '"' + "x" * n + '"'),  # very long values (and file names)
    st.integers(2, 400).map(lambda n: '"' + "a/" * n + '"'),
    st.integers(1, 600).map(lambda d: "[" * d + "]" * d),  # deep nesting, past the stack
    st.integers(1, 600).map(lambda d: "{a: " * d + "1" + "}" * d),
    st.sampled_from(WRONG_TYPES),
    st.text(max_size=40).map(json.dumps),  # any text, as YAML double-quoted escapes
)
mutations = st.dictionaries(st.sampled_from(sorted(VALID)), values, min_size=1, max_size=3)


@pytest.fixture
def fuzz_folder(tmp_path: Path) -> Path:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "suites" / "s").mkdir(parents=True)
    (tmp_path / "suites" / "s" / "test_s.py").write_text("def test_s():\n    pass\n")
    return tmp_path


def test_the_valid_skeleton_checks(fuzz_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fuzz_folder / "distribution.yaml"
    path.write_text(TEMPLATE.format(**VALID))
    assert main(["check", str(path)]) == 0, capsys.readouterr().err


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,  # each case is timed below, generously
    derandomize=True,  # the same cases on every run, so CI is deterministic
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutation=mutations)
def test_fuzzed_manifests_give_exit_0_or_one_located_line(
    fuzz_folder: Path, capsys: pytest.CaptureFixture[str], mutation: dict[str, str]
) -> None:
    path = fuzz_folder / "distribution.yaml"
    path.write_text(TEMPLATE.format(**(VALID | mutation)), encoding="utf-8")
    capsys.readouterr()
    started = time.monotonic()
    code = main(["check", str(path)])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert code in (0, 2), captured.err[:500]
    if code == 2:
        assert captured.err.count("\n") == 1, captured.err[:500]
        assert captured.err.startswith(f"curator: error: {path}:"), captured.err[:500]
        assert len(captured.err) < 700, captured.err[:700]
    assert elapsed < SECONDS_PER_CASE, f"{elapsed:.1f}s for {sorted(mutation)}"


def test_a_product_past_pythons_digit_limit_is_said_as_its_order_of_magnitude(
    write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    """4,400 packages of ten candidates: `full` has 10^4400 cells, more digits than Python prints."""
    versions = ", ".join(f'"{v}.0"' for v in range(1, 11))
    packages = "".join(f"  p{i}: {{versions: [{versions}]}}\n" for i in range(4400))
    path = write_manifest(f'distribution: big\nversion: "1"\npython: ["3.11"]\npackages:\n{packages}')
    assert main(["plan", str(path), "--strategy", "full"]) == 2
    assert "the 'full' plan has about 10^4400 cells, more than max_cells" in capsys.readouterr().err
    assert main(["check", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["cells"]["full"] == "about 10^4400"
