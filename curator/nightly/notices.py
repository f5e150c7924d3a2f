"""Notices for maintainers: one Markdown file per regression of a night, ready for
`gh issue create --body-file` (or an e-mail). curator sends nothing itself, so nothing leaves
an air-gapped site unless a person or a CI step posts it.

A notice says who it is for (the `maintainers:` of the culprit packages in the manifest; else
those of the packages the failing suite tests), the culprit and the failing suite, the failure's
signature and the end of its log, the one command that reproduces it, and the manifest change
that marks it expected if that is the decision. What suites print goes in as data
(`curator.model.markup`): a notice is posted as an issue, where markup would be rendered.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from curator.model.distribution import Distribution, Package
from curator.model.ids import CellId, SuiteName
from curator.model.markup import code, fence, text
from curator.nightly.night import Night, Result

EXCERPT_LINES = 30
EXPIRY_DAYS = 30


@dataclass(frozen=True)
class Notice:
    """One regression, addressed: a file name under `notices/` and its Markdown."""

    name: str
    title: str
    addressed: tuple[str, ...]
    text: str


def notices(night: Night, distribution: Distribution, tails: Mapping[tuple[CellId, SuiteName], str]) -> list[Notice]:
    """A notice per regression; `tails` maps (cell, suite) to the end of that suite's log."""
    found = []
    for number, result in enumerate(night.regressions, 1):
        tail = tails.get((result.cell, result.suite), "") if result.cell else ""
        found.append(_notice(number, result, night, distribution, tail))
    return found


def _addressed(result: Result, distribution: Distribution) -> tuple[tuple[str, ...], str]:
    """Who the notice is for, and why them (Markdown)."""
    by_name: dict[str, Package] = {p.name: p for p in distribution.packages}
    culprits = [name for name in result.culprits if name in by_name]
    people = list(dict.fromkeys(m for name in culprits for m in by_name[name].maintainers))
    if people:
        return tuple(people), f"maintainers of {text(', '.join(culprits))} in {code(distribution.path.name)}"
    suites = {s.name: s for s in distribution.suites}
    tested = sorted(suites[result.suite].requires) if result.suite in suites else []
    if result.suite.endswith(":tests"):
        tested = [canonicalize_name(result.suite.removesuffix(":tests"))]
    people = list(dict.fromkeys(m for name in tested if name in by_name for m in by_name[name].maintainers))
    if people:
        return tuple(people), f"maintainers of {text(', '.join(tested))}, which {code(result.suite)} tests"
    return (), f"nobody: add `maintainers:` to the culprit's entry in {code(distribution.path.name)}"


def _notice(number: int, result: Result, night: Night, distribution: Distribution, tail: str) -> Notice:
    culprits = " + ".join(result.culprits.requirements()) or "no single upgrade (see the report's culprit search)"
    title = f"Nightly regression: {result.suite} on Python {result.python} with {culprits}"
    people, why = _addressed(result, distribution)
    lines = [f"# {text(title)}", ""]
    lines.append(f"**For:** {text(' '.join(people)) if people else '—'} ({why})")
    lines += [
        "",
        f"The nightly {code(night.run)} of {text(night.distribution)} {text(night.version)} (upstream as of "
        f"{text(night.as_of)}) found that the suite {code(result.suite)} on Python {text(result.python)} now ends "
        f"{code(result.status)} (it was {code(result.previous)}).",
        "",
        f"- **Culprit:** {' + '.join(code(c) for c in result.culprits.requirements()) or text(culprits)}",
        f"- **Cell:** {code(result.cell)}",
        f"- **Signature:** {code(result.signature or result.reason)}",
        f"- **Reason:** {text(result.reason)}",
        "",
    ]
    if result.reproduce:
        lines += ["Reproduce it (on the machine that ran the nightly, or any with the run folder):", ""]
        lines += [*fence(result.reproduce, "sh"), ""]
    if tail:
        excerpt = "\n".join(tail.splitlines()[-EXCERPT_LINES:])
        lines += ["The end of the log:", "", *fence(excerpt), ""]
    lines += _mark_expected(result, night, distribution)
    name = f"{number:02d}-py{result.python}-{re.sub(r'[^A-Za-z0-9._-]', '-', result.suite)}.md"
    return Notice(name, title, people, "\n".join(lines).rstrip() + "\n")


def _mark_expected(result: Result, night: Night, distribution: Distribution) -> list[str]:
    """The manifest change that accepts the failure for a while, if that is the decision."""
    when = ", ".join(f'{name}: "=={version}"' for name, version in result.culprits.items())
    if not when:
        return []
    today = dt.date.fromisoformat(night.as_of[:10])
    owner = next(iter(_addressed(result, distribution)[0]), "release-team")
    track = f'track: "<{next(iter(result.culprits.values()))}"'
    return [
        f"If the break is known and accepted for now, mark it expected in {code(distribution.path.name)} "
        "(it then reads `expected-fail`, and `unexpected-pass` once fixed):",
        "",
        *fence(
            "\n".join(
                [
                    "policy:",
                    "  expected_failures:",
                    f"    - when: {{{when}}}",
                    f"      suites: [{result.suite}]",
                    f"      reason: {json.dumps(result.signature or result.reason)}",  # a JSON string is YAML's too
                    f"      owner: {json.dumps(owner)}",
                    f'      expires: "{today + dt.timedelta(days=EXPIRY_DAYS)}"',
                ]
            ),
            "yaml",
        ),
        "",
        f"Or hold it back: {code(track)} on the package keeps the nightly on the releases before it.",
    ]
