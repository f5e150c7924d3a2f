"""Measure rendered reports in Chromium: bytes, page height, and the height before the cells table.

    python bench/measure_report.py reports/scientific/run-2/index.html [more.html …]

Opens each file in Debian's Chromium (/usr/bin/chromium, through Playwright) at 1,400 × 900 and
prints its size, the height of the whole page, the height of the main page before its cells table
(`#cells`), and how long the browser took to load it. docs/report.md quotes these numbers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1400, 900


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--screenshot", type=Path, help="save the first report's first four screens here (PNG)")
    args = parser.parse_args()
    from playwright.sync_api import FloatRect, sync_playwright

    print(f"{'report':<48} {'KB':>8} {'height px':>10} {'before cells':>13} {'screens':>8} {'load s':>7}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            for report in args.reports:
                page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
                started = time.perf_counter()
                page.goto(report.resolve().as_uri())
                page.wait_for_load_state("load")
                loaded = time.perf_counter() - started
                height = int(page.evaluate("document.documentElement.scrollHeight"))
                before = page.evaluate(
                    "(() => { const c = document.getElementById('cells');"
                    " return c ? c.getBoundingClientRect().top + window.scrollY : null; })()"
                )
                size = report.stat().st_size / 1024
                shown = f"{before:>13.0f} {before / HEIGHT:>8.1f}" if before is not None else f"{'—':>13} {'—':>8}"
                print(f"{str(report)[-48:]:<48} {size:>8.0f} {height:>10} {shown} {loaded:>7.2f}")
                if args.screenshot and report == args.reports[0]:
                    clip: FloatRect = {"x": 0, "y": 0, "width": WIDTH, "height": min(height, 4 * HEIGHT)}
                    page.screenshot(path=str(args.screenshot), full_page=True, clip=clip)
                page.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
