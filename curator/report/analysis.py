"""What a report says, computed from stored outcomes: findings grouped by failure signature,
the policy's exceptions and what they covered, and where the time went.

Pure functions over store records; no files, no processes, no HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from curator.model.distribution import ExpectedSkip, Policy
from curator.model.outcome import Status, unexpected, worst, written
from curator.resolve.lock import mentioned
from curator.store.db import CellRecord

# Statuses that make a finding: everything that did not simply work. An unexpected pass is not
# a failure; it is reported with the policy ("lift this exception"). A suite in which no test ran
# is a finding (a gap in the evidence) unless the policy expects the skip.
_NOT_FINDINGS = frozenset({Status.PASSED, Status.UNEXPECTED_PASS})


@dataclass(frozen=True)
class Hit:
    """One cell × suite outcome behind a finding."""

    cell: str
    python: str
    changes: str  # `name==version` of the pins that differ from blessed; '' for a baseline cell
    baseline: bool
    suite: str
    status: Status
    reason: str
    failing_tests: tuple[tuple[str, str], ...]  # (node id, first line of its message)
    tail: str
    log: str
    reproduce: str
    reused_from: str

    @property
    def unexpected(self) -> bool:
        """Whether this outcome makes the run fail."""
        return unexpected(self.status, baseline=self.baseline)


@dataclass(frozen=True)
class Finding:
    """One cause (a failure signature) and every cell × suite it hit."""

    signature: str
    hits: tuple[Hit, ...]
    cause: tuple[str, ...] = ()  # what every cell it hit holds (`flask==2.2.3`, `werkzeug>=3.0`); see `_cause`
    separates: bool = False  # no cell where these suites worked holds all of `cause`
    conflicts: tuple[str, ...] = ()  # a refusal: the manifest packages the resolver's explanation names

    @property
    def status(self) -> Status:
        """The worst status among its hits."""
        found = worst(h.status for h in self.hits)
        assert found is not None
        return found

    @property
    def statuses(self) -> list[Status]:
        """Distinct statuses, worst first."""
        return sorted({h.status for h in self.hits}, key=lambda s: -s.severity)

    @property
    def unexpected(self) -> bool:
        """Whether any hit makes the run fail (otherwise the finding is known: expected, flaky…)."""
        return any(h.unexpected for h in self.hits)

    @property
    def cells(self) -> list[str]:
        """Ids of the cells it hit, in first-seen order."""
        return list(dict.fromkeys(h.cell for h in self.hits))

    @property
    def pythons(self) -> list[str]:
        """The Pythons it was seen on."""
        return sorted({h.python for h in self.hits}, key=lambda v: tuple(int(p) for p in v.split(".")))

    @property
    def common_changes(self) -> list[str]:
        """The likely cause, as `cause` (kept under its first name)."""
        return list(self.cause)

    @property
    def failing_tests(self) -> list[tuple[str, str]]:
        """Failing tests across its hits, each once."""
        return list(dict.fromkeys(t for h in self.hits for t in h.failing_tests))

    @property
    def by_cell(self) -> list[tuple[str, list[Hit]]]:
        """Its hits grouped per cell (one reproduce command each)."""
        grouped: dict[str, list[Hit]] = {}
        for hit in self.hits:
            grouped.setdefault(hit.cell, []).append(hit)
        return list(grouped.items())

    @property
    def excerpt(self) -> Hit:
        """The hit whose log tail stands for the finding: an unexpected one if any."""
        with_tail = [h for h in self.hits if h.tail] or list(self.hits)
        return next((h for h in with_tail if h.unexpected), with_tail[0])


def group_failures(records: Sequence[CellRecord], names: Sequence[str] = ()) -> list[Finding]:
    """One finding per failure signature, unexpected ones first, then the worst and the widest.

    `names` (the manifest's packages) lets a refusal say which of them the resolver named.
    """
    groups: dict[str, list[Hit]] = {}
    for record in records:
        outcome = record.outcome
        for suite in outcome.suites:
            if suite.status in _NOT_FINDINGS or suite.expected_skip:
                continue
            failing = tuple(
                (case.nodeid, (case.message.strip().splitlines() or [""])[0][:300])
                for case in suite.cases
                if case.outcome in ("failed", "error")
            )
            hit = Hit(
                cell=record.cell_id,
                python=record.python,
                changes=" ".join(record.changes.requirements()),
                baseline=record.baseline,
                suite=suite.suite,
                status=suite.status,
                reason=suite.reason,
                failing_tests=failing,
                tail=suite.tail,
                log=suite.log,
                reproduce=outcome.reproduce,
                reused_from=outcome.reused_from or "",
            )
            key = suite.signature or f"{suite.status}: {suite.reason}"
            groups.setdefault(key, []).append(hit)
    findings = []
    for signature, hits in groups.items():
        cause, separates = _cause(hits, records)
        refused = [h.reason for h in hits if h.status is Status.UNRESOLVABLE]
        conflicts = tuple(mentioned(" ".join(refused), names)) if refused else ()
        findings.append(Finding(signature, tuple(hits), cause, separates, conflicts))
    return sorted(findings, key=lambda f: (not f.unexpected, -f.status.severity, -len(f.cells), f.signature))


_WORKED = frozenset({Status.PASSED, Status.FLAKY, Status.UNEXPECTED_PASS})


@dataclass(frozen=True)
class _Condition:
    text: str  # `flask==2.2.3`, `werkzeug>=3.0`
    excludes: frozenset[int]  # the passing cells (by index) that do not meet it
    changed: bool  # it names a version some failing cell changes from blessed


def _cause(hits: Sequence[Hit], records: Sequence[CellRecord]) -> tuple[tuple[str, ...], bool]:
    """What the cells of a finding hold that the cells where the same suites worked do not.

    For each package every failing cell holds: its version there (`flask==2.2.3`), or the range
    of versions seen from the lowest or up to the highest (`werkzeug>=3.0`). Of those, a few are
    chosen, greedily, until no passing cell (same suites, same Pythons) meets them all; then each
    failing cell holds every one of them and no passing cell holds them all (`separates`). When no
    such choice exists, or nothing passed to compare with, the cause is what every failing cell
    changes from blessed, as before.
    """
    cells = {h.cell for h in hits}
    suites = {h.suite for h in hits}
    pythons = {h.python for h in hits}
    failing = [r for r in records if r.cell_id in cells]
    passing = [
        r
        for r in records
        if r.cell_id not in cells
        and r.python in pythons
        and any(s.suite in suites and s.status in _WORKED for s in r.outcome.suites)
    ]
    common = sorted(set.intersection(*(set(r.changes.requirements()) for r in failing))) if failing else []
    if not failing or not passing:
        return tuple(common), False
    conditions: list[_Condition] = []
    for name in dict.fromkeys(n for r in failing for n in r.pins):
        held = {r.pins.get(name) for r in failing}
        if None in held:
            continue
        versions = {v for v in held if v is not None}
        seen = {v for r in (*failing, *passing) if (v := r.pins.get(name)) is not None}
        low, high = min(versions), max(versions)
        if len(versions) == 1:
            text = f"{name}=={low}"
        elif versions == {v for v in seen if v >= low}:
            text = f"{name}>={low}"
        elif versions == {v for v in seen if v <= high}:
            text = f"{name}<={high}"
        else:
            continue
        excludes = frozenset(i for i, r in enumerate(passing) if r.pins.get(name) not in versions)
        if excludes:
            changed = any(name in r.changes for r in failing)
            conditions.append(_Condition(text, excludes, changed))
    left = set(range(len(passing)))
    chosen: list[_Condition] = []
    while left and conditions:
        best = max(conditions, key=lambda c: (len(c.excludes & left), c.changed))
        if not best.excludes & left:
            break
        chosen.append(best)
        left -= best.excludes
        conditions.remove(best)
    if left:
        return tuple(common), False
    return tuple(sorted(c.text for c in chosen)), True


# --------------------------------------------------------------------- policy


@dataclass(frozen=True)
class RuleView:
    """A policy exception and what it did in this run."""

    condition: str
    reason: str
    owner: str | None
    expires: dt.date | None
    line: int
    expired: bool
    excused: tuple[tuple[str, str], ...]  # (cell, suite) it turned into expected-fail (or a skip it expects)
    lifted: tuple[tuple[str, str], ...]  # (cell, suite) that passed although it expects a failure
    kind: str = "expected failure"  # or "expected skip"


def policy_view(records: Sequence[CellRecord], policy: Policy, today: dt.date) -> list[RuleView]:
    """Every policy exception (expected failures, then expected skips), with the outcomes it excused
    and those that passed although it expects a failure."""
    views = []
    for rule in (*policy.expected_failures, *policy.expected_skips):
        skip = isinstance(rule, ExpectedSkip)
        excused: list[tuple[str, str]] = []
        lifted: list[tuple[str, str]] = []
        for record in records:
            for suite in record.outcome.suites:
                if suite.rule != written(rule):
                    continue
                if suite.status is (Status.SKIPPED if skip else Status.EXPECTED_FAIL):
                    excused.append((record.cell_id, suite.suite))
                elif suite.status is Status.UNEXPECTED_PASS:
                    lifted.append((record.cell_id, suite.suite))
        views.append(
            RuleView(
                condition=rule.describe(),
                reason=rule.reason,
                owner=rule.owner,
                expires=rule.expires,
                line=rule.line,
                expired=rule.expired(today),
                excused=tuple(excused),
                lifted=tuple(lifted),
                kind="expected skip" if skip else "expected failure",
            )
        )
    return views


# --------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    """Where a run's time went, and how much of it the cache saved."""

    wall_s: float  # start to finish of the run
    cell_s: float  # the cells run now, added up (more than wall time when cells ran in parallel)
    slowest: tuple[tuple[str, float, str], ...]  # (cell, seconds, reused_from) — slowest first
    ran: int
    reused: int
    reused_from: Mapping[str, int]  # earlier run id → how many cells came from it
    saved_s: float  # time the reused cells took when they ran


def timing(records: Sequence[CellRecord], wall_s: float, *, slowest: int = 8) -> Timing:
    """Slowest cells, total time, and the cells that came from the cache (`reused_from`)."""
    fresh = [r for r in records if not r.outcome.reused_from]
    reused = [r for r in records if r.outcome.reused_from]
    sources: dict[str, int] = {}
    for record in reused:
        origin = record.outcome.reused_from or ""
        sources[origin] = sources.get(origin, 0) + 1
    ranked = sorted(records, key=lambda r: (-r.outcome.duration, r.cell_id))[:slowest]
    return Timing(
        wall_s=wall_s,
        cell_s=sum(r.outcome.duration for r in fresh),
        slowest=tuple((r.cell_id, r.outcome.duration, r.outcome.reused_from or "") for r in ranked),
        ran=len(fresh),
        reused=len(reused),
        reused_from=sources,
        saved_s=sum(r.outcome.duration for r in reused),
    )
