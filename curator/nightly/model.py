"""A night, as data: the document behind nightly.json (docs/nightly.md, a contract CI relies on).

Every part of a nightly — the runner that makes it, the store that keeps it, the report and
`curator propose` that read it — uses these types, and `Night.to_json` / `Night.from_json` are the
one place its JSON shape is written and read.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from curator.ids import CellId, PyVersion, RunId, SuiteName
from curator.outcome import Status, Verdict


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
    culprits: tuple[str, ...] = ()  # `name==version` of the upgrades that reproduce a failure
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

    def to_json(self) -> dict[str, object]:
        """The entry of `results` (the first seven fields are the contract)."""
        return {
            "python": self.python,
            "suite": self.suite,
            "cell": self.cell,
            "status": None if self.status is None else str(self.status),
            "previous": None if self.previous is None else str(self.previous),
            "category": str(self.category),
            "culprits": list(self.culprits),
            "reason": self.reason,
            "signature": self.signature,
            "outcome_key": self.outcome_key,
            "release": None if self.release is None else str(self.release),
            "reproduce": self.reproduce,
            "rule": self.rule,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Result:
        """The inverse of `to_json`."""
        return cls(
            python=PyVersion(str(data["python"])),
            suite=SuiteName(str(data["suite"])),
            cell=None if data.get("cell") is None else CellId(str(data["cell"])),
            status=_status(data.get("status")),
            previous=_status(data.get("previous")),
            category=Category(str(data["category"])),
            culprits=tuple(str(c) for c in data.get("culprits", [])),
            reason=str(data.get("reason", "")),
            signature=str(data.get("signature", "")),
            outcome_key=str(data.get("outcome_key", "")),
            release=_status(data.get("release")),
            reproduce=str(data.get("reproduce", "")),
            rule=str(data.get("rule", "")),
        )


@dataclass(frozen=True)
class Probe:
    """One cell the culprit search looked at, and what it said about the failing suite."""

    cell: CellId
    changes: tuple[str, ...]  # the upgrades it applies, `name==version`
    role: str  # latest | upgrade | probe
    status: Status | None  # the suite's status there (None: the cell does not run it)
    reproduces: bool | None  # fails the same way (None: unknown — unresolvable, or another failure)

    def to_json(self) -> dict[str, object]:
        """An entry of a bisection's `probes`."""
        return {
            "cell": self.cell,
            "changes": list(self.changes),
            "role": self.role,
            "status": None if self.status is None else str(self.status),
            "reproduces": self.reproduces,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Probe:
        """The inverse of `to_json`."""
        return cls(
            CellId(str(data["cell"])),
            tuple(str(c) for c in data.get("changes", [])),
            str(data.get("role", "probe")),
            _status(data.get("status")),
            data.get("reproduces"),
        )


@dataclass(frozen=True)
class Bisection:
    """The culprit search for one failing suite on one Python: what it tried, what it found."""

    python: PyVersion
    suite: SuiteName
    upgrades: tuple[str, ...]  # every upgrade of the night on this Python, `name==version`
    culprits: tuple[str, ...]
    probes: tuple[Probe, ...]  # the latest and upgrade cells consulted, then each probe in order
    used: int  # probe cells the search asked for (cached ones included)
    bound: int  # how many it was allowed
    cut_short: bool  # the bound stopped it: `culprits` is the smallest failing set seen, maybe not minimal
    method: str  # "single upgrade" or "bisection"
    reproduced: bool | None = True  # the culprits were seen to fail on their own

    def to_json(self) -> dict[str, object]:
        """An entry of `bisections`."""
        return {
            "python": self.python,
            "suite": self.suite,
            "method": self.method,
            "upgrades": list(self.upgrades),
            "culprits": list(self.culprits),
            "reproduced": self.reproduced,
            "probes_used": self.used,
            "probe_bound": self.bound,
            "cut_short": self.cut_short,
            "probes": [p.to_json() for p in self.probes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bisection:
        """The inverse of `to_json`."""
        return cls(
            python=PyVersion(str(data["python"])),
            suite=SuiteName(str(data["suite"])),
            upgrades=tuple(str(u) for u in data.get("upgrades", [])),
            culprits=tuple(str(c) for c in data.get("culprits", [])),
            probes=tuple(Probe.from_json(p) for p in data.get("probes", [])),
            used=int(data.get("probes_used", 0)),
            bound=int(data.get("probe_bound", 0)),
            cut_short=bool(data.get("cut_short", False)),
            method=str(data.get("method", "bisection")),
            reproduced=data.get("reproduced"),
        )


@dataclass(frozen=True)
class Flaky:
    """A suite whose outcome key (same lock, interpreter and suite content) has seen both a pass and a failure."""

    python: PyVersion
    suite: SuiteName
    cell: CellId
    outcome_key: str
    nights: int  # nights (tonight included, at most the history window) that ran it under this key
    failing_nights: int  # of those, nights on which it failed at least once

    @property
    def rate(self) -> float:
        """The flake rate: the share of those nights on which it failed at least once."""
        return self.failing_nights / self.nights if self.nights else 0.0

    def to_json(self) -> dict[str, object]:
        """An entry of `flaky`."""
        return {
            "python": self.python,
            "suite": self.suite,
            "cell": self.cell,
            "outcome_key": self.outcome_key,
            "nights": self.nights,
            "failing_nights": self.failing_nights,
            "rate": round(self.rate, 3),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Flaky:
        """The inverse of `to_json`."""
        return cls(
            PyVersion(str(data["python"])),
            SuiteName(str(data["suite"])),
            CellId(str(data["cell"])),
            str(data["outcome_key"]),
            int(data["nights"]),
            int(data["failing_nights"]),
        )


@dataclass(frozen=True)
class StaleException:
    """An `expected_failures` rule that no longer earns its place."""

    rule: str  # `pandas<2.2.2, numpy>=2`
    line: int  # in the manifest
    reason: str  # the rule's own reason
    why: str  # matched nothing tonight | passes now … | expired …
    cells: tuple[str, ...] = ()  # `cell suite` where it passes now

    def to_json(self) -> dict[str, object]:
        """An entry of `stale_exceptions`."""
        return {"rule": self.rule, "line": self.line, "reason": self.reason, "why": self.why, "cells": list(self.cells)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StaleException:
        """The inverse of `to_json`."""
        return cls(
            str(data["rule"]),
            int(data["line"]),
            str(data["reason"]),
            str(data["why"]),
            tuple(str(c) for c in data.get("cells", [])),
        )


@dataclass(frozen=True)
class Night:
    """Everything a nightly concluded: nightly.json."""

    run: RunId
    distribution: str
    version: str
    as_of: str  # RFC 3339, UTC: the upstream snapshot (uv's --exclude-newer)
    compared_to_nightly: RunId | None
    compared_to_release: str | None  # the last release's bundle, when one is found
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
        """The share of the latest cell's suites whose outcome is as expected (the trend's point)."""
        present = [r for r in self.results if r.status is not None]
        good = [r for r in present if r.working]
        return len(good) / len(present) if present else None

    def bisection(self, python: str, suite: str) -> Bisection | None:
        """The culprit search for a suite, if one ran."""
        return next((b for b in self.bisections if b.python == python and b.suite == suite), None)

    def to_json(self) -> dict[str, object]:
        """nightly.json (docs/nightly.md)."""
        return {
            "run": self.run,
            "distribution": self.distribution,
            "version": self.version,
            "as_of": self.as_of,
            "compared_to": {"nightly": self.compared_to_nightly, "release": self.compared_to_release},
            "newest": dict(self.newest),
            "newest_by_python": {p: dict(v) for p, v in self.newest_by_python.items()},
            "passed_over": {p: {n: list(r) for n, r in v.items()} for p, v in self.passed_over.items()},
            "verdict": str(self.verdict),
            "counts": {str(c): n for c, n in self.counts.items()},
            "pass_rate": None if self.pass_rate is None else round(self.pass_rate, 4),
            "results": [r.to_json() for r in self.results],
            "bisections": [b.to_json() for b in self.bisections],
            "flaky": [f.to_json() for f in self.flaky],
            "stale_exceptions": [s.to_json() for s in self.stale_exceptions],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Night:
        """The inverse of `to_json`."""
        compared = data.get("compared_to", {})
        return cls(
            run=RunId(str(data["run"])),
            distribution=str(data["distribution"]),
            version=str(data["version"]),
            as_of=str(data["as_of"]),
            compared_to_nightly=None if compared.get("nightly") is None else RunId(str(compared["nightly"])),
            compared_to_release=None if compared.get("release") is None else str(compared["release"]),
            newest={str(k): None if v is None else str(v) for k, v in data.get("newest", {}).items()},
            newest_by_python={
                PyVersion(str(p)): {str(k): None if v is None else str(v) for k, v in per.items()}
                for p, per in data.get("newest_by_python", {}).items()
            },
            passed_over={
                PyVersion(str(p)): {str(k): tuple(str(x) for x in v) for k, v in per.items()}
                for p, per in data.get("passed_over", {}).items()
            },
            verdict=Verdict(str(data["verdict"])),
            results=tuple(Result.from_json(r) for r in data.get("results", [])),
            bisections=tuple(Bisection.from_json(b) for b in data.get("bisections", [])),
            flaky=tuple(Flaky.from_json(f) for f in data.get("flaky", [])),
            stale_exceptions=tuple(StaleException.from_json(s) for s in data.get("stale_exceptions", [])),
        )


GOOD = frozenset({Status.PASSED, Status.EXPECTED_FAIL, Status.UNEXPECTED_PASS})
"""Statuses that are clean evidence: the code ran as the policy expects (or better), first time. Not
`skipped`: no test ran (a skip the policy expects is judged by its rule, `Result.working`)."""


def working(status: Status) -> bool:
    """Whether an outcome counts as working code for a nightly: `GOOD`, or `flaky` (it passed in the end).
    A skip the policy expects works too, but that takes its rule: `Result.working`, `classify.works`."""
    return status in GOOD or status is Status.FLAKY


def _status(value: object) -> Status | None:
    return None if value is None else Status(str(value))
