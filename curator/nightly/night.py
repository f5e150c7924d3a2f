"""A night, as data: the document behind nightly.json (docs/nightly.md, a contract CI relies on).

Every part of a nightly — the runner that makes it, the store that keeps it, the report and
`curator propose` that read it — uses these types; their JSON form (`curator.model.codec`) is
nightly.json, so a field declared here is a field of the document.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from curator.model.codec import spec
from curator.model.ids import CellId, PyVersion, RunId, SuiteName
from curator.model.outcome import Status, Verdict
from curator.model.pins import PinList


class Category(enum.StrEnum):
    """What a suite's result tonight means next to the previous night (docs/nightly.md, "Categories")."""

    REGRESSED = "regressed"
    FIXED = "fixed"
    STILL_FAILING = "still-failing"
    STILL_PASSING = "still-passing"
    NEW = "new"
    REMOVED = "removed"
    SPURIOUS = "spurious"


CATEGORY_ORDER = tuple(Category)
"""How categories are listed: what needs a person first."""


@dataclass(frozen=True)
class Result:
    """One (Python, suite) of the latest cell, classified."""

    python: PyVersion
    suite: SuiteName
    cell: CellId | None  # None: the suite is gone (removed)
    status: Status | None
    previous: Status | None  # last night's status, or tonight's baseline on the first night
    category: Category
    culprits: PinList = field(default_factory=PinList)  # the upgrades that reproduce a failure
    reason: str = ""  # why this category, in a phrase
    signature: str = ""
    outcome_key: str = ""
    release: Status | None = None  # the status in the last release's gating run, when the store has it
    reproduce: str = ""  # the one command that reproduces a failure (its smallest failing cell, that suite)
    rule: str = ""  # the policy exception that judged the outcome, as written (an expected failure or skip)

    @property
    def expected_skip(self) -> bool:
        """No test ran, and the policy expects that (`SuiteOutcome.expected_skip`)."""
        return self.status is Status.SKIPPED and bool(self.rule)

    @property
    def working(self) -> bool:
        """Whether the result counts as working code: `working(status)`, or a skip the policy expects."""
        return self.status is not None and (working(self.status) or self.expected_skip)


@dataclass(frozen=True)
class Probe:
    """One cell the culprit search looked at, and what it said about the failing suite."""

    cell: CellId
    changes: PinList  # the upgrades it applies
    role: str  # latest | upgrade | probe
    status: Status | None  # the suite's status there (None: the cell does not run it)
    reproduces: bool | None  # fails the same way (None: unknown — unresolvable, or another failure)


@dataclass(frozen=True)
class Bisection:
    """The culprit search for one failing suite on one Python: what it tried, what it found."""

    python: PyVersion
    suite: SuiteName
    upgrades: PinList  # every upgrade of the night on this Python
    culprits: PinList
    probes: tuple[Probe, ...]  # the latest and upgrade cells consulted, then each probe in order
    used: int = field(metadata=spec(json="probes_used"))  # probe cells the search asked for (cached ones included)
    bound: int = field(metadata=spec(json="probe_bound"))  # how many it was allowed
    cut_short: bool  # the bound stopped it: `culprits` is the smallest failing set seen, maybe not minimal
    method: str  # "single upgrade" or "bisection"
    reproduced: bool | None = True  # the culprits were seen to fail on their own


@dataclass(frozen=True)
class Flaky:
    """A suite whose outcome key (same lock, interpreter and suite content) has seen both a pass and a failure."""

    python: PyVersion
    suite: SuiteName
    cell: CellId
    outcome_key: str
    nights: int  # nights (tonight included, at most the history window) that ran it under this key
    failing_nights: int  # of those, nights on which it failed at least once

    JSON_COMPUTED: ClassVar = {"rate": "rate"}

    @property
    def rate(self) -> float:
        """The flake rate: the share of those nights on which it failed at least once (to 3 places)."""
        return round(self.failing_nights / self.nights, 3) if self.nights else 0.0


@dataclass(frozen=True)
class StaleException:
    """An `expected_failures` rule that no longer earns its place."""

    rule: str  # `pandas<2.2.2, numpy>=2`
    line: int  # in the manifest
    reason: str  # the rule's own reason
    why: str  # matched nothing tonight | passes now … | expired …
    cells: tuple[str, ...] = ()  # `cell suite` where it passes now


@dataclass(frozen=True)
class ComparedTo:
    """What a night is compared with."""

    nightly: RunId | None  # the previous nightly
    release: str | None  # the last release's bundle, when one is found


@dataclass(frozen=True)
class Night:
    """Everything a nightly concluded: nightly.json."""

    JSON_COMPUTED: ClassVar = {"counts": "counts", "pass_rate": "pass_rate"}

    run: RunId
    distribution: str
    version: str
    as_of: str  # RFC 3339, UTC: the upstream snapshot (uv's --exclude-newer)
    compared_to: ComparedTo
    newest: Mapping[str, str | None]  # package → its newest release (the newest over the Pythons)
    newest_by_python: Mapping[PyVersion, Mapping[str, str | None]]
    passed_over: Mapping[PyVersion, Mapping[str, tuple[str, ...]]]  # newer releases not taken, and why
    verdict: Verdict
    results: tuple[Result, ...]
    bisections: tuple[Bisection, ...] = ()
    flaky: tuple[Flaky, ...] = ()
    stale_exceptions: tuple[StaleException, ...] = ()

    @property
    def counts(self) -> dict[Category, int]:
        """Results per category, in `CATEGORY_ORDER`, zeros left out."""
        found = Counter(r.category for r in self.results)
        return {c: found[c] for c in CATEGORY_ORDER if found[c]}

    @property
    def regressions(self) -> tuple[Result, ...]:
        """The results that make the night red (exit status 1)."""
        return tuple(r for r in self.results if r.category is Category.REGRESSED)

    @property
    def pass_rate(self) -> float | None:
        """The share of the latest cell's suites whose outcome is as expected (the trend's point, to 4 places)."""
        present = [r for r in self.results if r.status is not None]
        good = [r for r in present if r.working]
        return round(len(good) / len(present), 4) if present else None

    def bisection(self, python: str, suite: str) -> Bisection | None:
        """The culprit search for a suite, if one ran."""
        return next((b for b in self.bisections if b.python == python and b.suite == suite), None)


GOOD = frozenset({Status.PASSED, Status.EXPECTED_FAIL, Status.UNEXPECTED_PASS})
"""Statuses that are clean evidence: the code ran as the policy expects (or better), first time. Not
`skipped`: no test ran (a skip the policy expects is judged by its rule, `Result.working`)."""


def working(status: Status) -> bool:
    """Whether an outcome counts as working code for a nightly: `GOOD`, or `flaky` (it passed in the end).
    A skip the policy expects works too, but that takes its rule: `Result.working`, `classify.works`."""
    return status in GOOD or status is Status.FLAKY
