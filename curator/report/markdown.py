"""A run as Markdown, for a CI job's summary page (`$GITHUB_STEP_SUMMARY`, `--summary FILE`).

Short on purpose: the verdict and the gate first, then whatever needs a person (unexpected
outcomes with their signature and reproduce command), then the compact compatibility matrices,
and a link to the full HTML report when one is published. What suites print (signatures,
reasons, commands) goes through `curator.model.markup`: it shows as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from curator.model.markup import code, text
from curator.model.outcome import Status
from curator.report.data import RunData, matrix_items

if TYPE_CHECKING:
    from curator.nightly.night import Night

MAX_UNEXPECTED = 25
MAX_MATRICES = 12


def render(data: RunData, *, report_url: str | None = None, sections: Sequence[str] = ()) -> str:
    """The summary; `sections` (already Markdown) go right after the verdict, e.g. a nightly's categories."""
    out = _head(data)
    for section in sections:
        out += [section.rstrip(), ""]
    out += _unexpected(data)
    out += _matrices(data)
    if report_url:
        out += [f"[Full report]({report_url})", ""]
    return "\n".join(out)


def _head(data: RunData) -> list[str]:
    summary = data.summary
    mark = {"passed": "✅", "failed": "❌", "interrupted": "⏸️"}[str(summary.verdict)]
    out = [
        f"### {mark} curator: {text(data.record.distribution)} {text(data.record.version)} — {summary.verdict}",
        "",
        f"Run {code(data.record.id)}, strategy {code(data.record.strategy)}, {summary.cells} cells "
        f"({summary.reused_cells} reused), Python {text(', '.join(data.record.pythons))}.",
        "",
    ]
    if summary.gate.holds:
        out.append("**Release gate:** holds — every baseline cell passed or failed as expected.")
    else:
        out.append(f"**Release gate:** does not hold — {text('; '.join(summary.gate.problems))}.")
    out.append("")
    out += ["| status | suites |", "|---|---:|"]
    out += [f"| {status} | {count} |" for status, count in summary.counts.items()]
    out.append("")
    return out


def _unexpected(data: RunData) -> list[str]:
    summary = data.summary
    out: list[str] = []
    if summary.unexpected:
        out += [f"#### Unexpected ({len(summary.unexpected)})", "", "| cell | suite | status | signature |"]
        out.append("|---|---|---|---|")
        for item in summary.unexpected[:MAX_UNEXPECTED]:
            cause = code((item.signature or item.reason).strip(), table=True)
            out.append(f"| {code(item.cell, table=True)} | {code(item.suite, table=True)} | {item.status} | {cause} |")
        if len(summary.unexpected) > MAX_UNEXPECTED:
            out.append(f"| … | {len(summary.unexpected) - MAX_UNEXPECTED} more | | |")
        reproduce = {r.cell_id: r.outcome.reproduce for r in data.records if r.outcome.reproduce}
        first = next((reproduce[u.cell] for u in summary.unexpected if u.cell in reproduce), None)
        if first:
            out += ["", f"Reproduce one: {code(first)}"]
        out.append("")
    for problem in summary.expired:
        out.append(f"- ⚠️ expired policy exception: {text(problem)}")
    if summary.expired:
        out.append("")
    return out


def _matrices(data: RunData) -> list[str]:
    out: list[str] = []
    matrices = list(matrix_items(data).items())
    if matrices:
        out += ["#### Compatibility", ""]
        legend = ", ".join(f"{s.letter} {s}" for s in sorted(Status, key=lambda s: s.severity))
        for (python, row, column), result in matrices[:MAX_MATRICES]:
            out += [f"**{text(row)} × {text(column)}**, Python {python}", "", *_table(result, row, column), ""]
        if len(matrices) > MAX_MATRICES:
            out += [f"… and {len(matrices) - MAX_MATRICES} more matrices in the report.", ""]
        out += [f"<sub>{legend}; · not tested</sub>", ""]
    return out


def _table(result: pd.DataFrame, row: str, column: str) -> list[str]:
    header = f"| {text(row)} \\ {text(column)} | " + " | ".join(text(c) for c in result.columns) + " |"
    lines = [header, "|---|" + "---|" * len(result.columns)]
    for version in result.index:
        marks = [Status(s).letter if s else "·" for s in (str(result.loc[version, c]) for c in result.columns)]
        lines.append(f"| {text(version)} | " + " | ".join(marks) + " |")
    return lines


def night_markdown(night: Night) -> str:
    """A nightly's section of the summary: what is new, the categories, regressions and culprits first."""
    from curator.nightly.night import Category

    moved = ", ".join(f"{name} {version}" for name, version in night.newest.items() if version is not None)
    compared = f"nightly {code(night.compared_to.nightly)}" if night.compared_to.nightly else "the blessed baseline"
    out = [f"**Newest as of {text(night.as_of)}:** {text(moved) or 'nothing'}; compared with {compared}.", ""]
    out += ["| category | results |", "|---|---:|"]
    out += [f"| {category} | {count} |" for category, count in night.counts.items()]
    out.append("")
    order = (Category.REGRESSED, Category.STILL_FAILING, Category.FIXED, Category.SPURIOUS)
    rows = sorted((r for r in night.results if r.category in order), key=lambda r: order.index(r.category))
    if rows:
        out += ["| category | Python | suite | culprit | reproduce |", "|---|---|---|---|---|"]
        for result in rows[:MAX_UNEXPECTED]:
            culprits = " + ".join(code(c, table=True) for c in result.culprits.requirements()) or "—"
            reproduce = code(result.reproduce, table=True) if result.reproduce else ""
            suite = code(result.suite, table=True)
            out.append(f"| **{result.category}** | {text(result.python)} | {suite} | {culprits} | {reproduce} |")
    for flaky in night.flaky:
        failed = f"failed {flaky.failing_nights} of {flaky.nights} nights"
        out.append(f"- flaky: {code(flaky.suite)} on {text(flaky.python)}, {failed}")
    for stale in night.stale_exceptions:
        out.append(f"- stale exception (line {stale.line}) {code(stale.rule)}: {text(stale.why)}")
    return "\n".join(out)
