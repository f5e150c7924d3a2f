"""The report of a 30-package distribution, read in a real browser (Debian's Chromium).

`examples/scientific` (30 packages, two candidates each, `upgrades` on Python 3.11 and 3.12: 62 cells)
is planned, recorded and published by curator's own code, twice (the second run reuses the first's
outcomes, so each package has a history); only the resolver and the executor are scripted
(`tests/scientific.py`), so no network is needed. The main page must lead with what needs a
decision, within four screens at 1,400 px wide, and each package's page must list every cell it
took part in. Screenshots land in the test's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from curator import manifest
from curator.model.ids import RunId
from curator.model.outcome import Status
from curator.report.analysis import group_failures
from curator.report.blockers import Kind, holds_back
from curator.store.db import CellRecord, Store
from tests import scientific
from tests.integration.test_report_browser import CHROMIUM, CHROMIUM_ARGS

WIDTH, SCREEN = 1400, 900

BEFORE_CELLS = """() => {
  const parts = [];
  for (const element of document.querySelector("main").children) {
    if (element.id === "cells") { break; }
    parts.push(element.textContent);
  }
  return parts.join(" ").replace(/\\s+/g, " ");
}"""


@pytest.fixture(scope="module")
def scientific_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunId, list[CellRecord]]:
    """Two runs of the scientific distribution; the second's folder, the first's id, the second's cells."""
    folder = tmp_path_factory.mktemp("scientific")
    out, run_id = scientific.run(folder, runs=2)
    with Store(folder / "reports" / "curator.sqlite") as store:
        records = store.cells(run_id)
        (first,) = [r.id for r in store.runs() if r.id != run_id]
    return out, first, records


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _open(browser: object, report: Path, problems: list[str]) -> object:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": WIDTH, "height": SCREEN})
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return page


def test_the_main_page_leads_with_every_failure_and_blocker_within_four_screens(
    scientific_run: tuple[Path, RunId, list[CellRecord]], browser: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page

    out, _, records = scientific_run
    distribution = manifest.load(scientific.MANIFEST)
    problems: list[str] = []
    page = _open(browser, out / "index.html", problems)
    assert isinstance(page, Page)
    cells_at = page.evaluate("document.getElementById('cells').getBoundingClientRect().top + window.scrollY")
    page.screenshot(path=str(tmp_path / "scientific.png"), full_page=True)
    page.screenshot(
        path=str(tmp_path / "scientific-top.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": WIDTH, "height": 4 * SCREEN},
    )
    assert cells_at <= 4 * SCREEN, f"the main page is {cells_at:.0f} px tall before its cells table"

    before_cells = page.evaluate(BEFORE_CELLS)
    failures = [(r, s) for r in records for s in r.outcome.suites if s.status is not Status.PASSED]
    assert {s.status for _, s in failures} == {
        Status.FAILED, Status.ERROR, Status.UNRESOLVABLE, Status.FLAKY
    }  # fmt: skip
    for record, suite in failures:  # every outcome that did not pass, named before the cells table
        assert record.cell_id in before_cells, record.cell_id
        assert suite.suite in before_cells, (record.cell_id, suite.suite)
    for finding in group_failures(records, distribution.package_names):
        assert finding.signature in before_cells, finding.signature
    held, blockers = holds_back(records, distribution)
    assert {b.kind for b in blockers} == {Kind.CONSTRAINT, Kind.FAILURE, Kind.CHOICE}
    for blocker in blockers:
        if blocker.kind is not Kind.CHOICE:
            assert blocker.name in before_cells, blocker.name
        for name in blocker.packages:
            assert name in before_cells
    for item in held:
        assert (
            f"{item.package} — ships {item.blessed}" in before_cells or f"{item.package} {item.newest}" in before_cells
        )
    # the drawn matrices are the ones that tell something; the rest are counted in one line
    figures = page.locator("figure.matrix[data-python]")
    assert figures.count() == 2  # scipy × numpy (3.11 and 3.12 alike), seaborn × matplotlib (3.11)
    assert "scipy × numpy — Python 3.11, 3.12" in figures.first.inner_text()
    assert "81 more matrices (41 pairs of manifest packages)" in before_cells  # of 84: 3 drawn in 2 figures
    assert problems == []


def _cells_of(name: str, records: list[CellRecord], distribution: manifest.Distribution) -> set[str]:
    """The cells a package took part in, computed here from the store's records: those that hold it
    and change it, gate the release, or ran a suite that requires it."""
    suites = {s.name for s in distribution.suites if name in s.requires}
    return {
        r.cell_id
        for r in records
        if name in r.pins and (name in r.changes or r.baseline or any(s.suite in suites for s in r.outcome.suites))
    }


def test_each_package_page_lists_every_cell_it_took_part_in(
    scientific_run: tuple[Path, RunId, list[CellRecord]], browser: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page

    out, first, records = scientific_run
    distribution = manifest.load(scientific.MANIFEST)
    problems: list[str] = []
    page = _open(browser, out / "index.html", problems)
    assert isinstance(page, Page)
    matrices = sorted(p.name for p in (out / "matrices").glob("*.csv"))
    for package in distribution.packages:
        name = package.name
        page.locator(f'#tiles a[href="#pkg-{name}"]').click()  # the main page links each package to its page
        section = page.locator(f"#pkg-{name}")
        assert section.is_visible()
        listed = section.locator('table.took-part a[href^="#c-"] code').all_text_contents()
        assert len(listed) == len(set(listed)), name  # each cell once
        expected = _cells_of(name, records, distribution)
        assert expected and set(listed) == expected, name
        for cell in expected:  # each names the package's version there
            assert page.locator(f'#pkg-{name} a[href="#c-{cell}"]').count() >= 1
        edges = [m for m in matrices if f"__{name}__" in m or m.endswith(f"__{name}.csv")]
        assert section.locator(".grid.small .matrix").count() == len(edges), name
        assert section.get_by_text(f"maintainers: {', '.join(package.maintainers)}").count() == 1
        if name == "numpy":
            section.screenshot(path=str(tmp_path / "numpy-page.png"))
            text = section.inner_text()
            assert "numpy stays at 1.26.4 because 2.1.3 is refused by the resolver" in text
            assert "this run" in text and first in text  # the history: this run and the one before
            assert section.locator("table").last.locator("tbody tr").count() == 2
        page.locator(f"#pkg-{name} a[href='#top']").click()
        assert not section.is_visible()
    scipy = page.locator("#pkg-scipy")
    page.goto(f"{(out / 'index.html').as_uri()}#pkg-scipy")
    assert "Holds back, by a requirement of its own the resolver cites: numpy." in scipy.inner_text()
    assert problems == []


def test_the_search_box_narrows_the_packages_and_opens_one(
    scientific_run: tuple[Path, RunId, list[CellRecord]], browser: object
) -> None:
    from playwright.sync_api import Page

    out, _, _ = scientific_run
    problems: list[str] = []
    page = _open(browser, out / "index.html", problems)
    assert isinstance(page, Page)
    search = page.locator("#package-search")
    assert search.is_visible()  # the script shows it; without one, the tiles and their links remain
    search.fill("scikit")
    tiles = [t.get_attribute("data-name") for t in page.locator("#tiles .tile").all() if t.is_visible()]
    assert tiles == ["scikit-learn", "scikit-image"]
    assert page.locator("#search-result").inner_text() == "2 of 30 packages"
    search.fill("scikit_LEARN")  # any spelling of a name
    search.press("Enter")
    assert page.evaluate("window.location.hash") == "#pkg-scikit-learn"
    assert page.locator("#pkg-scikit-learn").is_visible()
    assert problems == []
