"""Outcomes as data: statuses, per-suite results, failure signatures, and the policy's judgement.

Everything here is pure: no processes, no files. A suite's *raw* status says what happened
(it failed, it crashed); the policy then turns a matching failure into `expected-fail` and
a matching pass into `unexpected-pass`. Stored outcomes keep the raw status, so a policy
change re-judges old evidence without re-running it.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import signal as signals
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import assert_never

from curator.model.codec import spec
from curator.model.distribution import Policy, Rule
from curator.model.ids import CellId, SuiteName
from curator.model.pins import Pins


class Status(enum.StrEnum):
    """How a cell × suite ended (docs/running.md, "What happens to a cell")."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    CRASHED = "crashed"
    TIMEOUT = "timeout"
    UNRESOLVABLE = "unresolvable"
    INSTALL_ERROR = "install-error"
    EXPECTED_FAIL = "expected-fail"
    UNEXPECTED_PASS = "unexpected-pass"
    FLAKY = "flaky"
    SKIPPED = "skipped"

    @property
    def is_failure(self) -> bool:
        """The code under test did not work (what an expected-failure rule may excuse)."""
        return self in (Status.FAILED, Status.ERROR, Status.CRASHED)

    @property
    def retryable(self) -> bool:
        """Worth one more attempt (a timeout is not: it would cost the whole budget again)."""
        return self.is_failure

    @property
    def letter(self) -> str:
        """A one-letter mark, so matrices never rely on colour alone."""
        return _LETTERS[self]

    @property
    def severity(self) -> int:
        """Higher is worse; a matrix square shows the worst status behind it."""
        return _SEVERITY.index(self)


_LETTERS = {
    Status.PASSED: "P",
    Status.FAILED: "F",
    Status.ERROR: "E",
    Status.CRASHED: "C",
    Status.TIMEOUT: "T",
    Status.UNRESOLVABLE: "U",
    Status.INSTALL_ERROR: "I",
    Status.EXPECTED_FAIL: "X",
    Status.UNEXPECTED_PASS: "!",
    Status.FLAKY: "~",
    Status.SKIPPED: "S",
}
_SEVERITY = [
    Status.PASSED,
    Status.SKIPPED,
    Status.EXPECTED_FAIL,
    Status.FLAKY,
    Status.UNRESOLVABLE,
    Status.UNEXPECTED_PASS,
    Status.FAILED,
    Status.ERROR,
    Status.INSTALL_ERROR,
    Status.TIMEOUT,
    Status.CRASHED,
]


class RunKind(enum.StrEnum):
    """What started a run."""

    RUN = "run"  # `curator run`
    NIGHTLY = "nightly"  # `curator nightly`


class NightPlan(enum.StrEnum):
    """A plan no manifest strategy made: the nightly's own (its baseline, latest, upgrade and probe cells)."""

    NIGHTLY = "nightly"


class RunStatus(enum.StrEnum):
    """Where a run stands in the store."""

    RUNNING = "running"
    FINISHED = "finished"  # every cell recorded and the run folder written
    INTERRUPTED = "interrupted"  # stopped early; `curator run --resume` finishes it


class Verdict(enum.StrEnum):
    """What a run amounted to (its exit status: 0, 1, 130)."""

    PASSED = "passed"  # everything as expected
    FAILED = "failed"  # something unexpected
    INTERRUPTED = "interrupted"


NOT_TESTED = "locked, not tested"
"""What a cell is that no executor of its platform ran (`CellOutcome.tested` false): its suites are
`skipped` with this signature, and the report, the gate and run.json say it of its platform."""

GATE_STATUSES = frozenset({Status.PASSED, Status.EXPECTED_FAIL})
"""What a baseline suite must end in for the release gate to hold (`flaky` is not a pass; `skipped`
only when the policy expects the skip: see `gates`)."""


def worst(statuses: Iterable[Status]) -> Status | None:
    """The most severe status, or None for none."""
    return max(statuses, key=lambda s: s.severity, default=None)


def unexpected(status: Status, *, baseline: bool, expected_skip: bool = False) -> bool:
    """Whether an outcome makes the run fail (exit 1).

    Failures of any kind are unexpected unless the policy expected them; `unresolvable` is a
    finding about metadata in an exploratory cell, but a broken release in a baseline cell; so is
    `skipped` (no test ran): a gap in the evidence of an exploratory cell, but in a baseline cell a
    suite the release would ship untested — unless the policy expects the skip (`expected_skip`).
    """
    match status:
        case Status.PASSED | Status.EXPECTED_FAIL | Status.FLAKY:
            return False
        case Status.SKIPPED:
            return baseline and not expected_skip
        case Status.UNRESOLVABLE:
            return baseline
        case (
            Status.FAILED
            | Status.ERROR
            | Status.CRASHED
            | Status.TIMEOUT
            | Status.INSTALL_ERROR
            | Status.UNEXPECTED_PASS
        ):
            return True
        case _ as unreachable:
            assert_never(unreachable)


CURATOR_FAILED = "curator failed in this cell: "
"""How the reason of an outcome curator itself caused begins (an exception of its own: `error`)."""


@dataclass(frozen=True)
class TestCase:
    """One test case from JUnit XML (after de-duplicating reruns: the last attempt wins)."""

    __test__ = False  # not a pytest test class, despite its name

    classname: str
    name: str
    outcome: str  # passed | failed | error | skipped
    duration: float = 0.0
    message: str = ""

    @property
    def nodeid(self) -> str:
        """`module.Class::test` — how people name a test."""
        return f"{self.classname}::{self.name}" if self.classname else self.name


@dataclass(frozen=True)
class Counts:
    """Test-case tallies of one suite run."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, cases: Iterable[TestCase]) -> Counts:
        """Tally test cases by outcome."""
        tally = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        for case in cases:
            tally[case.outcome] = tally.get(case.outcome, 0) + 1
        return cls(tally["passed"], tally["failed"], tally["error"], tally["skipped"])


@dataclass(frozen=True)
class Attempt:
    """One run of one suite's command."""

    returncode: int | None  # None: it never finished (the cell ran out of time, or never started)
    duration: float = 0.0
    uses_pytest: bool = True
    cases: tuple[TestCase, ...] = ()
    started: bool = True
    timed_out: bool = False  # the cell's wall clock ran out during (or before) it
    tail: str = ""  # the end of its output


@dataclass(frozen=True)
class SuiteOutcome:
    """How one suite ended in one cell."""

    suite: SuiteName
    status: Status
    raw_status: Status  # before the policy's judgement
    reason: str = ""
    signature: str = ""
    counts: Counts = Counts()
    duration: float = field(default=0.0, metadata=spec(csv="duration_s"))
    attempts: int = 0
    log: str = ""  # path relative to the run folder
    cases: tuple[TestCase, ...] = field(default=(), metadata=spec(sql=None, csv=None))  # a table of their own
    rule: str = ""  # the expected-failure rule that judged it, as written
    tail: str = field(default="", metadata=spec(csv=None))  # the end of its output (too long for a table)

    @property
    def failing_tests(self) -> list[str]:
        """Node ids of the test cases that failed or errored."""
        return [c.nodeid for c in self.cases if c.outcome in ("failed", "error")]

    @property
    def expected_skip(self) -> bool:
        """No test ran, and a `policy.expected_skips` rule says so (`rule` names it)."""
        return self.status is Status.SKIPPED and bool(self.rule)


def gates(suite: SuiteOutcome) -> bool:
    """Whether a baseline suite's outcome lets the release gate hold: it passed, failed as the policy
    expects, or ran no test where the policy expects that (a skip nobody expected is no evidence)."""
    return suite.status in GATE_STATUSES or suite.expected_skip


@dataclass(frozen=True)
class CellOutcome:
    """Everything that happened in one cell."""

    cell_id: CellId
    suites: tuple[SuiteOutcome, ...] = field(default=(), metadata=spec(sql=None, csv=None))  # rows of their own
    duration: float = 0.0
    lock_key: str = ""
    outcome_key: str = ""
    reused_from: str | None = None
    log: str = ""
    reproduce: str = ""
    worker: str = "local"  # where it ran: `local`, or a dask worker's address
    tested: bool = True  # False: locked, not tested — no executor serves its platform (docs/running.md)

    @property
    def status(self) -> Status:
        """The worst status of its suites."""
        return worst(s.status for s in self.suites) or Status.SKIPPED


# --------------------------------------------------------------------- classification

_PYTEST_INTERNAL = {2: "interrupted (collection errors)", 3: "pytest internal error", 4: "pytest usage error"}


def raw_status(attempt: Attempt, *, timeout: float) -> tuple[Status, str]:
    """What one attempt's exit says, before retries and policy."""
    if attempt.returncode is None:
        if not attempt.timed_out:
            return Status.ERROR, "the cell's session ended before this suite finished"
        if attempt.started:
            return Status.TIMEOUT, f"still running when the cell's {timeout:g}s limit was reached"
        return Status.TIMEOUT, f"not reached before the cell's {timeout:g}s limit"
    code = attempt.returncode
    if code < 0:
        return Status.CRASHED, f"the interpreter died by {signal_name(-code)}"
    if not attempt.uses_pytest:
        return (Status.PASSED, "") if code == 0 else (Status.FAILED, f"exit status {code}")
    return _pytest_status(code, attempt.cases)


def _pytest_status(code: int, cases: Sequence[TestCase]) -> tuple[Status, str]:
    """What pytest's exit status and JUnit report say: a pass needs a test that ran."""
    counts = Counts.of(cases)
    if code == 0:
        if not cases:  # pytest writes its report at the end of every session that exits 0
            return Status.ERROR, f"pytest exited 0 but left no JUnit report ({_NO_REPORT}): no evidence a test passed"
        if counts.skipped == len(cases):
            return Status.SKIPPED, f"no test ran: {_skips(cases)}"
        return Status.PASSED, ""
    if code == 1:
        if counts.failed:
            return Status.FAILED, f"{counts.failed} test(s) failed"
        if counts.errors:
            return Status.ERROR, f"{counts.errors} test(s) errored in setup or teardown"
        if not cases:
            return Status.FAILED, f"pytest exited 1 and left no JUnit report ({_NO_REPORT})"
        return Status.FAILED, "pytest reported failures"
    if code == 5:  # nothing collected; a module skipped whole (`pytest.importorskip` at its top) is reported
        return Status.SKIPPED, f"no test ran: {_skips(cases) if cases else 'pytest collected none'} (exit status 5)"
    if code in _PYTEST_INTERNAL:
        return Status.ERROR, _PYTEST_INTERNAL[code]
    return Status.ERROR, f"exit status {code}"


_NO_REPORT = "a test may have ended the interpreter, with os._exit say"


def _skips(cases: Sequence[TestCase]) -> str:
    """`every test was skipped (3): could not import 'numpy': No module named 'numpy'`."""
    first = next((c.message.strip().splitlines()[0] for c in cases if c.message.strip()), "")
    return f"every test was skipped ({len(cases)})" + (f": {first[:200]}" if first else "")


def settle(attempts: Sequence[Attempt], *, timeout: float) -> tuple[Status, str]:
    """Status after retries: a failure that passed on a later attempt is `flaky`; one after which no
    test ran stays the failure it was (a retry that tests nothing is no evidence either way)."""
    if not attempts:
        return Status.SKIPPED, "not run"
    statuses = [raw_status(a, timeout=timeout) for a in attempts]
    last, reason = statuses[-1]
    failures = [(s, r) for s, r in statuses[:-1] if s.is_failure]
    if last is Status.PASSED and failures:
        first_status, first_reason = failures[0]
        return Status.FLAKY, f"{first_status} on attempt 1 ({first_reason}), passed on attempt {len(attempts)}"
    if last is Status.SKIPPED and failures:
        first_status, first_reason = failures[-1]
        return first_status, f"{first_reason}; then on attempt {len(attempts)}, {reason}"
    return last, reason


def failure_signature(attempt: Attempt) -> str:
    """The signature of a failed attempt: its output's last error line, else its failing tests'.

    When that last line is a bare exception type (`ImportError:`, the end of a chained traceback a
    test printed), the message pytest recorded for a failing test (JUnit `message`) names the
    failure better: `ImportError: numpy.core.multiarray failed to import`. Of those, one of the
    same exception type is preferred.
    """
    found = signature(attempt.tail)
    if found and not _BARE.fullmatch(found):
        return found
    recorded = [s for c in attempt.cases if c.outcome in ("failed", "error") and (s := signature(c.message))]
    told = [s for s in recorded if not _BARE.fullmatch(s)]
    same = [s for s in told if s.split(":", 1)[0] == found.rstrip(":")]
    if same or told:
        return (same or told)[-1]
    return found or (recorded[-1] if recorded else "")


def deterministic(last: Mapping[str, Attempt], *, timeout: float) -> dict[str, str]:
    """The suites of one cell whose failure a retry would only repeat, each with why.

    An `error` (a suite stopped at import or collection, before its tests ran) whose signature
    another suite of the same cell shares is the environment failing to import, not a test
    being unlucky: the same exception stops every suite that imports the package. Test failures,
    crashes and errors of their own are still retried.
    """
    errors = {}
    for name, attempt in last.items():
        status, _ = raw_status(attempt, timeout=timeout)
        if status is Status.ERROR and attempt.returncode is not None and (sig := failure_signature(attempt)):
            errors[name] = sig
    shared = Counter(errors.values())
    return {
        name: f"not retried: the same error stops {shared[sig]} suites of this cell before their tests run"
        for name, sig in errors.items()
        if shared[sig] > 1
    }


def to_retry(last: Mapping[str, Attempt], *, timeout: float, held: Collection[str] = ()) -> list[str]:
    """The suites worth another attempt, in order: a failure (`Status.retryable`) not `held` back."""
    return [
        name for name, attempt in last.items() if name not in held and raw_status(attempt, timeout=timeout)[0].retryable
    ]


def applies(rule: Rule, suite: str, suite_requires: frozenset[str]) -> bool:
    """Whether a rule's scope covers a suite.

    With `suites:` the rule names them; otherwise it covers every suite that requires all the
    packages of its `when`, and those packages' own tests.
    """
    if rule.suites:
        return suite in rule.suites
    packages = {name for name, _ in rule.when if name != "python"}
    if suite.endswith(":tests"):
        return suite.removesuffix(":tests") in packages
    return packages <= suite_requires


def judge(
    outcome: SuiteOutcome,
    *,
    python: str,
    pins: Pins,
    suite_requires: frozenset[str],
    policy: Policy,
    today: dt.date,
) -> SuiteOutcome:
    """Apply the policy's exceptions to a raw outcome: the expected failures, and the expected skips
    to a suite in which no test ran; expired rules no longer excuse."""
    raw = outcome.raw_status
    if raw is Status.SKIPPED:
        return _judge_skip(outcome, python=python, pins=pins, suite_requires=suite_requires, policy=policy, today=today)
    for rule in policy.expected_failures:
        if not applies(rule, outcome.suite, suite_requires) or not rule.matches(python, pins):
            continue
        if rule.expired(today):
            continue
        if raw.is_failure:
            reason = f"expected: {rule.reason}" + (f" (owner {rule.owner})" if rule.owner else "")
            return replace(outcome, status=Status.EXPECTED_FAIL, reason=reason, rule=written(rule))
        if raw is Status.PASSED:
            reason = f"passed although the policy expects a failure ({rule.describe()}): lift this exception"
            return replace(outcome, status=Status.UNEXPECTED_PASS, reason=reason, rule=written(rule))
    return replace(outcome, status=raw, rule="")


def _judge_skip(
    outcome: SuiteOutcome,
    *,
    python: str,
    pins: Pins,
    suite_requires: frozenset[str],
    policy: Policy,
    today: dt.date,
) -> SuiteOutcome:
    """A suite in which no test ran stays `skipped`; a rule of `policy.expected_skips` that covers it
    is recorded (`rule`), which makes the skip no gap in the evidence (`SuiteOutcome.expected_skip`)."""
    for rule in policy.expected_skips:
        if applies(rule, outcome.suite, suite_requires) and rule.matches(python, pins) and not rule.expired(today):
            reason = f"expected skip: {rule.reason}" + (f" (owner {rule.owner})" if rule.owner else "")
            return replace(outcome, status=Status.SKIPPED, reason=f"{outcome.reason} — {reason}", rule=written(rule))
    return replace(outcome, status=Status.SKIPPED, rule="")


def written(rule: Rule) -> str:
    """A rule as outcomes record it (`SuiteOutcome.rule`): its condition and its reason."""
    return f"{rule.describe()}: {rule.reason}"


def expired_rules(policy: Policy, today: dt.date) -> list[Rule]:
    """Policy exceptions past their expiry date (each one is an error of the run)."""
    return [rule for rule in (*policy.expected_failures, *policy.expected_skips) if rule.expired(today)]


def signal_name(number: int) -> str:
    """`SIGABRT` for 6."""
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


# --------------------------------------------------------------------- signatures

_ERROR_LINE = re.compile(
    r"^(?:E\s+)?(?P<line>(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Warning|Failed|Interrupt)\b.*)$"
)
_MASKS = (
    (re.compile(r"0x[0-9a-fA-F]+"), "0x…"),
    (re.compile(r"(?:[A-Za-z]:)?(?:/[\w.@+-]+){2,}/?"), "<path>"),
    (re.compile(r"\b\d+(?:\.\d+)+(?:[a-z]+\d*)?(?:\.post\d+|\.dev\d+)?\b"), "<version>"),
    (re.compile(r"\b\d+\b"), "<n>"),
    (re.compile(r"'[^']{40,}'"), "'…'"),
)


_BARE = re.compile(r"[\w.]+:?")
"""A signature that is an exception type alone, with no message."""


def signature(text: str) -> str:
    """The normalised last error line of a log: exception type and message, with versions,
    paths, addresses and numbers masked, so one cause hit in forty cells reads as one finding."""
    line = ""
    for candidate in reversed(text.splitlines()):
        match = _ERROR_LINE.match(candidate.strip())
        if match:
            line = match["line"]
            break
    return masked(line)


def masked(line: str) -> str:
    """One line with versions, paths, addresses and numbers masked (what makes a signature)."""
    for pattern, mask in _MASKS:
        line = pattern.sub(mask, line)
    return line.strip()[:300]
