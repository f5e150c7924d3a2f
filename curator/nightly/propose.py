"""`curator propose`: the manifest change a nightly's evidence supports, and its pull-request text.

Every newest release whose evidence is clean is added to its package's `versions` and blessed.
Clean means, on every Python of the nightly: its upgrade cell (that release alone on the blessed
set) ended every suite working (passed, expected-fail, unexpected-pass, skipped where the policy
expects it — or flaky where the night already knows the suite for flaky) and ran at least one test,
and it is no culprit of a failure of the latest cell. A regression no search could explain holds
everything back. When the manifest resolves as of a date (`index.exclude_newer`), that date moves
to the nightly's as-of time, or `curator run` would not see the releases it now blesses.

The manifest is edited through ruamel.yaml's round trip, never as text: comments, key order,
quoting and layout stay as they were (the indentation is found by reproducing the file). The
pull-request text shows what suites and resolvers said as text (`curator.model.markup`), never as markup.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from curator.model.distribution import Distribution
from curator.model.errors import UsageError
from curator.model.ids import PyVersion
from curator.model.markup import code, text
from curator.model.outcome import Status
from curator.nightly.night import GOOD, Category, Night
from curator.resolve.upstream import parse_as_of
from curator.store.db import CellRecord

_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (2, 3, 1), (4, 4, 0), (3, 3, 0))


@dataclass(frozen=True)
class Move:
    """A package that moves to its newest release, with the evidence for it."""

    package: NormalizedName
    old: Version
    new: Version
    evidence: tuple[str, ...]  # one line per Python


@dataclass(frozen=True)
class Held:
    """A newer release that stays out, and why."""

    package: NormalizedName
    newest: str
    why: str


@dataclass(frozen=True)
class Proposal:
    """The updated manifest and the Markdown that explains it."""

    text: str  # the manifest, updated (equal to the original when nothing moves)
    moves: tuple[Move, ...]
    held: tuple[Held, ...]
    exclude_newer: tuple[str, str] | None  # (old, new) when the resolution date moves
    summary: str


def propose(distribution: Distribution, original: str, night: Night, records: Sequence[CellRecord]) -> Proposal:
    """What the night supports, applied to `original` (the manifest's text)."""
    pythons = sorted(night.newest_by_python)
    moves, held = _judge(distribution, night, records, pythons)
    exclude = None
    old_date = distribution.index.exclude_newer
    if moves and old_date is not None and parse_as_of(old_date) < parse_as_of(night.as_of):
        exclude = (old_date, night.as_of)
    text = _edit(original, moves, exclude[1] if exclude else None) if moves else original
    return Proposal(text, tuple(moves), tuple(held), exclude, _summary(distribution, night, moves, held, exclude))


def _judge(
    distribution: Distribution, night: Night, records: Sequence[CellRecord], pythons: Sequence[PyVersion]
) -> tuple[list[Move], list[Held]]:
    flaky: set[tuple[str, str]] = {(f.python, f.suite) for f in night.flaky}
    unexplained = [r for r in night.regressions if not r.culprits]
    blamed: dict[NormalizedName, list[str]] = {}
    for result in night.results:
        if result.category in (Category.REGRESSED, Category.STILL_FAILING):
            for name in result.culprits:
                blamed.setdefault(name, []).append(f"{result.suite} on Python {result.python}")
    moves: list[Move] = []
    held: list[Held] = []
    for package in distribution.packages:
        newest = {py: night.newest_by_python[py].get(package.name) for py in pythons}
        versions = {_version(v) for v in newest.values()}
        newer = {v for v in versions if v is not None and v > package.blessed}
        if not newer:
            continue
        shown = ", ".join(f"{py}: {v or 'none'}" for py, v in newest.items())
        if len(versions) > 1:
            held.append(Held(package.name, shown, "the newest release differs by Python"))
            continue
        new = next(iter(newer))
        if unexplained:
            first = unexplained[0]
            why = f"{first.suite} regressed on Python {first.python} and no culprit was named: nothing moves"
            held.append(Held(package.name, str(new), why))
            continue
        if package.name in blamed:
            held.append(Held(package.name, str(new), "culprit of " + "; ".join(sorted(set(blamed[package.name])))))
            continue
        evidence, problem = _evidence(package.name, new, records, pythons, flaky)
        if problem:
            held.append(Held(package.name, str(new), problem))
        else:
            moves.append(Move(package.name, package.blessed, new, tuple(evidence)))
    return moves, held


def _version(text: str | None) -> Version | None:
    try:
        return None if text is None else Version(text)
    except InvalidVersion:
        return None


def _evidence(
    name: NormalizedName,
    version: Version,
    records: Sequence[CellRecord],
    pythons: Sequence[PyVersion],
    flaky: set[tuple[str, str]],
) -> tuple[list[str], str]:
    """One line of evidence per Python from the release's upgrade cell, or what is wrong with it."""
    lines = []
    for python in pythons:
        cell = next(
            (r for r in records if r.python == python and dict(r.changes) == {name: version}),
            None,
        )
        if cell is None:
            return [], f"no cell of the nightly tested {name} {version} alone on Python {python}"
        bad = [
            f"{s.suite} {s.status}"
            for s in cell.outcome.suites
            if s.status not in GOOD
            and not s.expected_skip
            and not (s.status is Status.FLAKY and (python, s.suite) in flaky)
        ]
        if bad:
            return [], f"alone on the blessed set, Python {python} ({cell.cell_id}): {', '.join(bad)}"
        suites = cell.outcome.suites
        if all(s.status is Status.SKIPPED for s in suites):
            return [], f"alone on the blessed set, Python {python} ({cell.cell_id}): no test ran, which is no evidence"
        reused = f", reused from run {cell.outcome.reused_from}" if cell.outcome.reused_from else ""
        lines.append(f"Python {python}: {len(suites)} suite(s) work in {cell.cell_id}{reused}")
    return lines, ""


# --------------------------------------------------------------------- the YAML edit


def _yaml(original: str) -> tuple[YAML, Any]:
    """A round-trip loader whose indentation reproduces `original` exactly (when one does)."""
    best: tuple[YAML, Any] | None = None
    for mapping, sequence, offset in _INDENTS:
        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        try:
            data = yaml.load(original)
        except YAMLError as exc:
            raise UsageError(f"the manifest cannot be read back for editing: {exc}") from None
        buffer = io.StringIO()
        yaml.dump(data, buffer)
        if buffer.getvalue() == original:
            return yaml, data
        best = best or (yaml, data)
    assert best is not None
    return best


def _like(example: object, text: str) -> object:
    """`text` quoted the way `example` is."""
    if isinstance(example, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(text)
    if isinstance(example, SingleQuotedScalarString):
        return SingleQuotedScalarString(text)
    return text


def _edit(original: str, moves: Sequence[Move], exclude_newer: str | None) -> str:
    yaml, data = _yaml(original)
    packages: CommentedMap = data["packages"]
    keys: Mapping[NormalizedName, str] = {canonicalize_name(str(k)): str(k) for k in packages}
    for move in moves:
        key = keys[move.package]
        entry = packages[key]
        if isinstance(entry, CommentedSeq | list):
            entry.append(_like(entry[-1] if entry else "", str(move.new)))
            continue
        versions = entry["versions"]
        if isinstance(versions, CommentedSeq | list):
            versions.append(_like(versions[-1] if versions else "", str(move.new)))
        else:
            seq = CommentedSeq([versions, _like(versions, str(move.new))])
            seq.fa.set_flow_style()
            entry["versions"] = seq
        if "blessed" in entry:  # without one, the newest candidate is blessed: the one just added
            entry["blessed"] = _like(entry["blessed"], str(move.new))
    if exclude_newer is not None:
        data["index"]["exclude_newer"] = _like(data["index"]["exclude_newer"], exclude_newer)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------- the pull request


def _summary(
    distribution: Distribution,
    night: Night,
    moves: Sequence[Move],
    held: Sequence[Held],
    exclude: tuple[str, str] | None,
) -> str:
    title = f"{distribution.name} {distribution.version}: newest releases as of {night.as_of}"
    lines = [f"## {text(title)}", ""]
    lines.append(
        f"Evidence: nightly {code(night.run)} (as of {code(night.as_of)}) tested each newest release alone on the "
        "blessed set and all of them together (its latest cell); "
        + (
            f"compared with nightly {code(night.compared_to.nightly)}."
            if night.compared_to.nightly
            else "its first night."
        )
    )
    lines.append("")
    if moves:
        lines += ["### What moves", "", "| package | from | to | evidence |", "|---|---|---|---|"]
        lines += [
            f"| {text(m.package)} | {text(m.old)} | **{text(m.new)}** | {'<br>'.join(map(text, m.evidence))} |"
            for m in moves
        ]
        lines.append("")
        if held:
            lines.append(
                "Each release that moves was tested alone on the blessed set; with some held back, they were not "
                "tested together in exactly this combination: run `curator run` on this manifest before merging."
            )
        else:
            together = [r for r in night.results if r.status is not None]
            fine = sum(1 for r in together if r.working or r.category is Category.SPURIOUS)
            lines.append(f"Together, in the latest cell: {fine} of {len(together)} suite results work.")
        lines.append("")
    else:
        lines += ["Nothing moves: no newer release has clean evidence.", ""]
    if exclude is not None:
        moved = f"moves from {code(exclude[0])} to {code(exclude[1])}"
        lines += [f"`index.exclude_newer` {moved}, so runs see these releases.", ""]
    if held:
        lines += ["### Held back", "", "| package | newest | why |", "|---|---|---|"]
        lines += [f"| {text(h.package)} | {text(h.newest)} | {text(h.why)} |" for h in held]
        lines.append("")
    notes = [
        f"- {r.category}: {code(r.suite)} on Python {text(r.python)} — {text(r.reason)}"
        for r in night.results
        if r.category in (Category.SPURIOUS, Category.FIXED)
    ]
    notes += [
        f"- flaky: {code(f.suite)} on Python {text(f.python)} failed on {f.failing_nights} of {f.nights} nights"
        for f in night.flaky
    ]
    notes += [f"- stale exception {code(s.rule)} (line {s.line}): {text(s.why)}" for s in night.stale_exceptions]
    if notes:
        lines += ["### Also seen tonight", "", *notes, ""]
    lines.append(f"Replay the evidence: {code(f'curator nightly --as-of {night.as_of}')}.")
    return "\n".join(lines) + "\n"
