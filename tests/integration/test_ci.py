"""curator where CI users look: one JUnit file, the job summary, annotations, JSON on stdout."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import junitparser
import pytest

from curator.cli import main
from curator.model.outcome import Status
from curator.results.rows import ResultRow, read_cells_csv
from tests.conftest import manifest_writer
from tests.integration.conftest import eco_manifest_factory

PACKAGES = '  cfx-base: ["1.0", "2.0"]\n  cfx-user: ["1.0", "1.1"]\n'
SUITES = {
    "user": (["cfx-user", "cfx-base"], "import cfx_user\n\ndef test_run():\n    assert cfx_user.run() == 2\n"),
    "legacy": (["cfx-base"], "import cfx_base\n\ndef test_old_api():\n    assert cfx_base.old_api() == 1\n"),
}
POLICY = """\
matrix:
  strategy: upgrades
policy:
  expected_failures:
    - when: {cfx-base: ">=1"}
      reason: the legacy suite calls old_api, which base 2 removed
      suites: [legacy]
"""


@dataclass(frozen=True)
class CiRun:
    manifest: Path
    out: Path
    code: int
    junit: Path
    summary: str
    stdout: str
    rows: list[ResultRow]


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path) -> CiRun:
    """An upgrades run of 3 cells (passed, failed, expected-fail, unexpected-pass) as GitHub Actions runs it."""
    folder = tmp_path_factory.mktemp("ci")
    path = eco_manifest_factory(manifest_writer(folder), wheelhouse, runner_wheels)(
        PACKAGES, suites=SUITES, extra=POLICY
    )
    out, junit, summary = folder / "run", folder / "junit.xml", folder / "summary.md"
    summary.write_text("earlier step\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GITHUB_ACTIONS", "true")
        env.setenv("GITHUB_STEP_SUMMARY", str(summary))
        env.setenv("GITHUB_WORKSPACE", str(folder))
        capture = folder / "stdout.txt"
        with capture.open("w") as handle:
            env.setattr("sys.stdout", handle)
            code = main(["run", str(path), "--out", str(out), "--plain", "--junit", str(junit), "--jobs", "2"])
    rows = read_cells_csv((out / "cells.csv").read_text(), "cells.csv")
    return CiRun(path, out, code, junit, summary.read_text(), capture.read_text(), rows)


def _expected_cases(row: ResultRow) -> int:
    """Test cases curator writes for a suite: its own, plus one named after it when they alone would
    not show its status."""
    own = row.outcome.counts.passed + row.outcome.counts.failed + row.outcome.counts.errors + row.outcome.counts.skipped
    shows = row.outcome.counts.failed + row.outcome.counts.errors > 0
    problem = row.outcome.status not in (Status.PASSED, Status.FLAKY, Status.SKIPPED)
    return own + (1 if own == 0 or (problem and not shows) else 0)


def test_junit_counts_match_cells_csv_and_failures_carry_the_signature(ci_run: CiRun) -> None:
    assert ci_run.code == 1
    xml = junitparser.JUnitXml.fromfile(str(ci_run.junit))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {row.cell for row in ci_run.rows}  # one <testsuite> per cell
    for row in ci_run.rows:
        cases = [case for case in suites[row.cell] if case.classname == f"{row.cell}.{row.outcome.suite}"]
        assert len(cases) == _expected_cases(row), (row.cell, row.outcome.suite)
        results = [type(r).__name__ for case in cases for r in case.result]
        match row.outcome.status:
            case Status.PASSED:
                assert results == []
            case Status.FAILED | Status.UNEXPECTED_PASS:
                assert "Failure" in results
            case Status.EXPECTED_FAIL:
                assert results and set(results) == {"Skipped"}
            case _:
                pytest.fail(f"the fixture run has no {row.outcome.status}")
    failed = next(r for r in ci_run.rows if r.outcome.status is Status.FAILED)
    (case,) = [c for c in suites[failed.cell] if c.classname == f"{failed.cell}.{failed.outcome.suite}" and c.result]
    failure = case.result[0]
    assert failure.message == failed.outcome.signature and "old_api" in failure.message
    assert f"reproduce: nox -f {ci_run.out}/noxfile.py -s {failed.cell} -- {failed.outcome.suite}" in failure.text
    assert xml.failures == sum(1 for r in ci_run.rows if r.outcome.status in (Status.FAILED, Status.UNEXPECTED_PASS))


def test_the_step_summary_is_appended_with_verdict_gate_unexpected_and_matrix(ci_run: CiRun) -> None:
    text = ci_run.summary
    assert text.startswith("earlier step\n")  # appended, not overwritten
    assert "### ❌ curator: eco 1.0 — failed" in text
    assert "**Release gate:** holds" in text
    assert "| `py3.12-cfx-user@1.0` | `user` | failed | `AttributeError: module 'cfx_base' has no attribute" in text
    assert "| cfx-user \\ cfx-base | 1.0 | 2.0 |" in text and "| 1.0 | · | F |" in text


def test_annotations_point_at_the_manifest_lines(ci_run: CiRun) -> None:
    lines = ci_run.manifest.read_text().splitlines()
    user_line = next(i for i, line in enumerate(lines, 1) if line.startswith("  cfx-user:"))
    base_line = next(i for i, line in enumerate(lines, 1) if line.startswith("  cfx-base:"))
    commands = [line for line in ci_run.stdout.splitlines() if line.startswith("::")]
    assert any(
        line.startswith(f"::error file=distribution.yaml,line={user_line},col=3,title=curator%3A failed in ")
        and "::user: AttributeError" in line
        for line in commands
    ), commands
    assert any(f"line={base_line}," in line and "unexpected-pass" in line for line in commands), commands


def test_a_manifest_mistake_is_an_annotation_on_its_line(
    write_manifest: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest('distribution: d\nversion: "1"\npython: ["3.12"]\npackages:\n  numpy:\n    version: ["2"]\n')
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(path.parent))
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert re.search(
        r"^::error file=distribution\.yaml,line=6,col=5,title=curator%3A bad manifest::unknown key", out, re.M
    )


def test_run_json_on_stdout(ci_run: CiRun, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ci_run.manifest), "--format", "json", "--out", str(ci_run.out.parent / "again")]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)  # nothing but the JSON document on stdout
    assert (data["schema_version"], data["command"], data["verdict"]) == (1, "run", "failed")
    assert data["reused_cells"] == 3 and "testing 3 cells" in captured.err
    assert {u["cell"] for u in data["unexpected"]} == {"py3.12-cfx-user@1.0", "py3.12-cfx-base@1.0"}


PAGE_SUITE = (
    "def test_page():\n"
    "    page = '<script>alert(1)</script><img src=x onerror=alert(1)> | `tick` **bold** [a](https://e.example/)'\n"
    "    raise AssertionError(page)\n"
)


def test_the_step_summary_shows_html_a_suite_printed_as_text(eco_manifest: Callable[..., Path]) -> None:
    from tests.rendered import kinds, raw_html, tables

    path = eco_manifest(
        '  cfx-base: ["2.0"]\n', suites={"page": (["cfx-base"], PAGE_SUITE)}, extra="matrix:\n  strategy: baseline\n"
    )
    out, summary = path.parent / "run", path.parent / "summary.md"
    assert main(["run", str(path), "--out", str(out), "--plain", "--summary", str(summary)]) == 1
    (row,) = read_cells_csv((out / "cells.csv").read_text(), "cells.csv")
    assert (
        row.outcome.status is Status.FAILED and "<script>alert(<n>)</script><img" in row.outcome.signature
    )  # as the suite printed it
    text = summary.read_text()
    assert set(raw_html(text)) <= {"<sub>", "</sub>"}  # a legend's own at most, nothing of the suite's
    assert not kinds(text) & {"image", "link_open", "em_open"}
    (unexpected,) = [t for t in tables(text) if t[0] == ["cell", "suite", "status", "signature"]]
    assert unexpected[1:] == [
        ["py3.12-baseline", "page", "failed", row.outcome.signature]
    ]  # 4 cells, the text as printed
