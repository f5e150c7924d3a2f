"""The HTML report of a real run, read as text and opened in a real browser (Debian's Chromium).

One run over the fixture ecosystem serves every test here: two Pythons, a suite that fails on
cfx-user 1.0 and prints HTML while doing so, and cfx-base 2.0 held back by cfx-capped's upper bound.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from curator.cli import main
from tests.conftest import manifest_writer
from tests.integration.conftest import eco_manifest_factory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
PACKAGES = """\
  cfx-base: {versions: ["1.0", "2.0"], blessed: "1.0"}
  cfx-capped: ["1.0"]
  cfx-user: ["1.0", "1.1"]
"""
SUITES = {
    # Fails on cfx-user 1.0, printing HTML on the way: the report must show it as text.
    "hostile": (
        ["cfx-user"],
        "from importlib.metadata import version\n\n"
        "def test_prints_html():\n"
        f"    print({SCRIPT!r})\n"
        f"    print({IMG!r})\n"
        f"    assert version('cfx-user') == '1.1', {(SCRIPT + ' ' + IMG)!r}\n",
    ),
    "capped": (
        ["cfx-capped", "cfx-base"],
        "import cfx_capped\n\ndef test_value():\n    assert cfx_capped.VALUE == 3\n",
    ),
}


@pytest.fixture(scope="module")
def report_run(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path) -> tuple[Path, Path]:
    """The manifest and run folder of one `pairs` run on Python 3.11 and 3.12."""
    folder = tmp_path_factory.mktemp("report-run")
    path = eco_manifest_factory(manifest_writer(folder), wheelhouse, runner_wheels)(
        PACKAGES, suites=SUITES, python='["3.11", "3.12"]', extra="matrix:\n  strategy: pairs\n"
    )
    out = folder / "reports" / "the-run"
    assert main(["run", str(path), "--out", str(out), "--jobs", "2", "--plain"]) == 1  # cfx-user 1.0 fails
    return path, out


def _text(html: str) -> str:
    """The report's words, tags dropped (a link inline, as it reads) and entities left as they are."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"</?a\b[^>]*>", "", html)))


def test_test_output_is_escaped_in_the_html(report_run: tuple[Path, Path]) -> None:
    _, out = report_run
    html = (out / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the log excerpt and the failing test's message
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert SCRIPT not in html and IMG not in html
    assert html.count("<script") == 1  # the report's own filter script, and nothing else


def test_the_report_is_one_file_that_needs_no_network(report_run: tuple[Path, Path]) -> None:
    _, out = report_run
    html = (out / "index.html").read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    images = re.findall(r'<img src="([^"]*)"', html)
    assert images and all(src.startswith("data:image/svg+xml;base64,") for src in images)
    assert "default-src 'none'" in html.replace("&#39;", "'")  # and the browser is told so


def test_the_report_answers_the_readers_questions(report_run: tuple[Path, Path]) -> None:
    _, out = report_run
    text = _text((out / "index.html").read_text())
    assert "Failed — 2 unexpected outcomes" in text  # cfx-user 1.0 fails on both Pythons
    assert "Release gate (every baseline cell passed or failed as expected): holds" in text
    # one finding for the two failing cells, with the one command that reproduces each
    assert "2 cells, each with cfx-user==1.0" in text
    for python in ("3.11", "3.12"):
        assert re.search(rf"nox -f \S+/noxfile\.py -s py{python}-cfx-user@1\.0 -- hostile", text)
    assert "test_suite::test_prints_html" in text
    # why cfx-base ships 1.0: the resolver cites cfx-capped's upper bound
    assert "cfx-base stays at 1.0 because 2.0 is refused by the resolver" in text
    refused = "unresolvable in py3.11-cfx-base@2.0, py3.12-cfx-base@2.0: Because all versions of cfx-capped"
    assert f"{refused} depend on cfx-base&lt;2" in text
    blockers = re.search(r"Blockers, by how many packages each holds back(.*?)Each package", text)
    assert blockers and "1 cfx-capped constraint cfx-base (1)" in blockers[1]


def test_the_index_lists_the_run_with_its_verdict(report_run: tuple[Path, Path]) -> None:
    _, out = report_run
    index = (out.parent / "index.html").read_text()
    assert 'href="the-run/index.html"' in index
    row = re.search(r"<tr>\s*<td><a href=\"the-run/index.html\">.*?</tr>", index, flags=re.S)
    assert row and ">failed<" in row[0] and "holds" in row[0]
    assert "data:image/svg+xml;base64," in index  # the pass-rate trend


def test_report_renders_again_from_the_store(report_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    path, out = report_run
    (out / "index.html").unlink()
    (out / "cells.csv").unlink()
    assert main(["report", str(out)]) == 1  # the run's verdict: failed
    printed = capsys.readouterr().out
    assert "report: " in printed and "verdict: failed" in printed
    assert (out / "index.html").exists() and (out / "cells.csv").exists()
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    store = path.parent / "reports" / "curator.sqlite"
    assert main(["report", run_id, "--store", str(store), "--format", "json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["distribution"] == "eco" and summary["run_id"] == run_id
    assert summary["verdict"] == "failed" and summary["gate"]["holds"] is True
    assert summary["counts"]["unresolvable"] >= 1


def test_report_of_an_unknown_run_is_bad_input(
    report_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = report_run
    store = path.parent / "reports" / "curator.sqlite"
    assert main(["report", "no-such-run", "--store", str(store)]) == 2
    assert "run 'no-such-run' is not a run in" in capsys.readouterr().err
    assert main(["report", str(path.parent / "nowhere/")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_report_in_a_browser(report_run: tuple[Path, Path], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does")
    from playwright.sync_api import Dialog, FloatRect, sync_playwright

    _, out = report_run
    problems: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))

            def dismiss(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", dismiss)
            page.goto((out / "index.html").as_uri())
            page.wait_for_load_state("load")

            figures = page.locator("figure.matrix[data-python]")
            # cfx-capped × cfx-base and cfx-user × cfx-base, each the same on both Pythons: one figure each
            assert figures.count() == 2
            assert all(f.get_attribute("data-python") == "3.11 3.12" for f in figures.all())
            assert "— Python 3.11, 3.12" in figures.first.inner_text()
            assert figures.first.is_visible()
            assert page.locator("figure.matrix[data-python] img").first.evaluate("i => i.naturalWidth") > 0
            # what the test printed reads as text
            assert SCRIPT in page.locator("pre.log").first.inner_text()

            page.select_option("#filter-status", "failed")
            visible = [f for f in figures.all() if f.is_visible()]
            assert len(visible) == 1 and "cfx-user × cfx-base" in visible[0].inner_text()
            assert page.locator("#filter-result").inner_text() == "showing 1 of 2 matrices and 2 cells"
            page.select_option("#filter-python", "3.12")  # a figure of both Pythons stays
            assert [f.get_attribute("data-python") for f in figures.all() if f.is_visible()] == ["3.11 3.12"]
            assert page.locator("#filter-result").inner_text() == "showing 1 of 2 matrices and 1 cells"
            page.select_option("#filter-status", "")
            page.select_option("#filter-python", "")
            assert all(f.is_visible() for f in figures.all())

            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            top: FloatRect = {"x": 0, "y": 0, "width": 1280, "height": 1500}  # verdict, findings, what holds back
            page.screenshot(path=str(tmp_path / "report-top.png"), full_page=True, clip=top)
        finally:
            browser.close()
    assert dialogs == []
    assert problems == []
    if os.environ.get("CURATOR_SAVE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "report-top.png", Path(__file__).resolve().parents[2] / "docs" / "report-screenshot.png")


def test_package_pages_and_the_full_graph_in_a_browser(report_run: tuple[Path, Path], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does")
    from playwright.sync_api import sync_playwright

    _, out = report_run
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto((out / "index.html").as_uri())
            page.wait_for_load_state("load")
            figures = page.locator("figure.matrix[data-python]")
            # each package has a page, reached from its tile; the run's page comes back from its link
            page.locator('#tiles a[href="#pkg-cfx-user"]').click()
            user = page.locator("#pkg-cfx-user")
            assert user.is_visible() and "cfx-user 1.0" not in user.locator("h2").inner_text()
            # its cells: the baselines, those that change it, and those where its suite ran (or was refused)
            assert set(user.locator('table.took-part a[href^="#c-"] code').all_text_contents()) == {
                "py3.11-baseline", "py3.12-baseline", "py3.11-cfx-user@1.0", "py3.12-cfx-user@1.0",
                "py3.11-cfx-base@2.0-cfx-user@1.0", "py3.12-cfx-base@2.0-cfx-user@1.0",
                "py3.11-cfx-base@2.0", "py3.12-cfx-base@2.0",
            }  # fmt: skip
            user.screenshot(path=str(tmp_path / "package-page.png"))
            user.locator("a[href='#top']").click()
            assert not user.is_visible() and figures.first.is_visible()

            # the full resolved graph stays available: drawn, and as DOT to download (from the file itself)
            graph = page.locator("details.graph").first
            assert graph.get_attribute("open") is not None and graph.locator("img").evaluate("i => i.naturalWidth") > 0
            with page.expect_download() as download:
                graph.locator("a[download]").click()
            assert download.value.suggested_filename == "eco-py3.11-baseline.dot"
            assert Path(download.value.path()).read_text().startswith('digraph "eco ')
        finally:
            browser.close()
    assert problems == []
