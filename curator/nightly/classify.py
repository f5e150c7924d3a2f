"""Categories: what each result of the latest cell means next to the night before (pure).

The rules (docs/nightly.md, "Categories"), in the order they are tried:

1. `removed`: the suite ran last night and not tonight; `new`: the other way round.
2. `spurious`: a failure that did not reproduce (`flaky`: failed, then passed on the retry), or one
   the infrastructure caused the first time it happens — an `install-error` when tonight's blessed
   baseline could not be built either and the suite's environment was built on every night of the
   history, a `timeout` when the suite never timed out in the nights of the history, a crash by
   SIGKILL (what the out-of-memory killer sends) — or a failure of a suite whose outcome key is
   known to be flaky. An environment that cannot be built while the blessed baseline can is the new
   releases' doing, not the machine's: a failure like any other.
3. Otherwise the night's outcome is compared with the previous one, each read as working
   (passed, expected-fail, unexpected-pass, a skip the policy expects — or a previous failure that
   was itself spurious) or failing, a suite in which no test ran (`skipped`, unexpected) included:
   `regressed` (worked, fails), `fixed` (failed, works), `still-failing`, `still-passing`.

A regression is confirmed before it is reported: a nightly runs each suite once more when it fails
(at least one retry, whatever the policy says), so `failed` here means it failed twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from curator.model.distribution import Policy
from curator.model.ids import PyVersion, SuiteName
from curator.model.outcome import CellOutcome, Status, SuiteOutcome
from curator.nightly.night import Category, Flaky, StaleException, working
from curator.store.db import CellRecord

_SIGKILL = "SIGKILL"


@dataclass(frozen=True)
class Evidence:
    """What is known about one (Python, suite) tonight, and before."""

    python: PyVersion
    suite: SuiteName
    outcome: SuiteOutcome | None  # in tonight's latest cell (None: the suite is not there any more)
    previous: Status | None  # last night's status, or tonight's baseline on the first night
    previous_category: Category | None = None  # last night's category (None on the first night)
    timed_out_before: bool = False  # the suite timed out on some night of the history
    known_flaky: Flaky | None = None  # its outcome key has seen both a pass and a failure
    before: str = "last night"  # what `previous` is, in words ("on the blessed baseline" on the first night)
    previous_expected_skip: bool = False  # `previous` is a skip the policy expected (working)
    baseline_built: bool = False  # tonight's blessed baseline of this Python had its environment built
    install_failed_before: bool = False  # the suite ended `install-error` on some night of the history


def works(outcome: SuiteOutcome) -> bool:
    """Whether tonight's outcome counts as working code (`model.working`, or a skip the policy expects)."""
    return working(outcome.status) or outcome.expected_skip


def built(outcome: CellOutcome) -> bool:
    """Whether a cell's environment was built: one of its suites ran (or, with no suite, it installed)."""
    return any(s.attempts > 0 or s.raw_status is Status.PASSED for s in outcome.suites)


def infrastructure(
    outcome: SuiteOutcome, *, timed_out_before: bool, baseline_built: bool = False, install_failed_before: bool = False
) -> str | None:
    """Why a failure looks like the infrastructure's doing rather than the code's (None: it does not).

    An environment that cannot be built is the machine's or the network's fault only the first time,
    and only when the blessed baseline (which built before) cannot be built either; otherwise the
    releases it installs are to blame, as for any failure (docs/nightly.md, "Categories")."""
    match outcome.raw_status:
        case Status.INSTALL_ERROR if not (baseline_built or install_failed_before):
            return (
                "the environment could not be built, nor could tonight's blessed baseline "
                "(an install or network error, the first time)"
            )
        case Status.TIMEOUT if not timed_out_before:
            return "timed out, which this suite never did in the nights before"
        case Status.CRASHED if _SIGKILL in outcome.reason or _SIGKILL in outcome.signature:
            return "killed by SIGKILL, as the out-of-memory killer does"
    return None


def classify(evidence: Evidence) -> tuple[Category, str]:
    """The category of one result, and why in a phrase."""
    outcome, previous = evidence.outcome, evidence.previous
    when = evidence.before
    if outcome is None:
        return Category.REMOVED, f"ran {when}, not tonight"
    if previous is None:
        return Category.NEW, f"did not run {when}"
    status = outcome.status
    before = working(previous) or evidence.previous_expected_skip or evidence.previous_category is Category.SPURIOUS
    if status is Status.FLAKY:
        return Category.SPURIOUS, "failed, then passed when it ran again"
    if not works(outcome):
        cause = infrastructure(
            outcome,
            timed_out_before=evidence.timed_out_before,
            baseline_built=evidence.baseline_built,
            install_failed_before=evidence.install_failed_before,
        )
        if cause is not None:
            return Category.SPURIOUS, cause
        if evidence.known_flaky is not None:
            flaky = evidence.known_flaky
            return (
                Category.SPURIOUS,
                f"known flaky: failed on {flaky.failing_nights} of its last {flaky.nights} nights under this key",
            )
        if before:
            was = (
                f"worked {when} ({previous})"
                if working(previous) or evidence.previous_expected_skip
                else f"failed {when} too ({previous}), which was taken for spurious"
            )
            return Category.REGRESSED, f"{was}; {_how(outcome, evidence)}"
        return Category.STILL_FAILING, f"failed {when} too ({previous})"
    if not before:
        return Category.FIXED, f"failed {when} ({previous}), works tonight"
    return Category.STILL_PASSING, f"works, as {when}"


def _how(outcome: SuiteOutcome, evidence: Evidence) -> str:
    """How tonight's failure is known for one: confirmed by a retry, or why it counts without one."""
    match outcome.raw_status:
        case Status.INSTALL_ERROR if evidence.baseline_built:
            return "its environment cannot be built, though tonight's blessed baseline was: the releases it installs"
        case Status.INSTALL_ERROR:
            return "its environment could not be built on an earlier night too: no longer the infrastructure's doing"
        case Status.SKIPPED:
            return "no test ran tonight, which is no evidence that it works"
        case Status.UNRESOLVABLE:
            return "the resolver refuses the newest releases together"
        case _:
            return "failed again when run once more" if outcome.attempts > 1 else "ran once (not confirmed)"


def reproduces(target: SuiteOutcome, probe: SuiteOutcome | None) -> bool | None:
    """Whether a probe's outcome of a suite reproduces the target failure: a test failure with the
    same signature, or a refusal by the resolver when the target is one. None: unknown (the probe
    could not be resolved or built, it failed some other way, or it passed only on a retry)."""
    if probe is None:
        return None
    raw, wanted = probe.raw_status, target.raw_status
    if raw is Status.PASSED:
        return False
    if raw is Status.SKIPPED or wanted is Status.SKIPPED:  # no test ran: it reproduces only another such suite
        return (raw is wanted) or None
    if wanted in (Status.UNRESOLVABLE, Status.INSTALL_ERROR):
        return True if raw is wanted and _same(target, probe, wanted) else None
    if raw.is_failure and _same(target, probe, raw):
        return True
    return None


def _same(target: SuiteOutcome, probe: SuiteOutcome, status: Status) -> bool:
    """The same failure: a refusal is one whatever uv says; otherwise the signatures must agree."""
    return status is Status.UNRESOLVABLE or not target.signature or probe.signature == target.signature


def bisectable(latest: SuiteOutcome, baseline: SuiteOutcome | None) -> bool:
    """Whether the upgrades are to blame for a failure: it fails in the latest cell (a test failure,
    an environment that cannot be built, no test that ran, or the newest releases cannot be installed
    together) and works on tonight's blessed baseline."""
    raw = latest.raw_status
    failing = raw.is_failure or raw in (Status.UNRESOLVABLE, Status.INSTALL_ERROR, Status.SKIPPED)
    return (
        failing
        and not works(latest)
        and infrastructure(latest, timed_out_before=True, baseline_built=True) is None
        and baseline is not None
        and works(baseline)
    )


def flake_record(tonight: Status, earlier: Sequence[Status], *, key_flaky: bool) -> tuple[int, int] | None:
    """A suite's flake record over the nights that ran it under one outcome key — tonight, then
    `earlier` — as (nights, nights on which it failed at least once); None unless the key has seen
    both a pass and a failure (`key_flaky`: the store saw that in the key's own runs)."""
    nights = [tonight, *earlier]
    failing = sum(1 for s in nights if s is Status.FLAKY or not (working(s) or s is Status.SKIPPED))
    mixed = any(s is Status.FLAKY for s in nights) or (0 < failing < len(nights))
    if not (mixed or key_flaky):
        return None
    return len(nights), failing


def stale_exceptions(records: Sequence[CellRecord], policy: Policy, today: dt.date) -> list[StaleException]:
    """Expected-failure rules that earn nothing tonight: expired, matching no outcome of tonight's
    cells, or matching only outcomes that now pass ("lift this exception")."""
    found = []
    for rule in policy.expected_failures:
        written = f"{rule.describe()}: {rule.reason}"
        hits = [(r.cell_id, s) for r in records for s in r.outcome.suites if s.rule == written]
        excused = [hit for hit in hits if hit[1].status is Status.EXPECTED_FAIL]
        passing = [f"{cell} {s.suite}" for cell, s in hits if s.status is Status.UNEXPECTED_PASS]
        if rule.expired(today):
            why = f"expired on {rule.expires}: renew or remove it"
        elif not hits:
            why = "matched no outcome tonight (a nightly tests the blessed and the newest releases)"
        elif passing and not excused:
            why = "the outcomes it covers pass now: lift it"
        else:
            continue
        found.append(StaleException(rule.describe(), rule.line, rule.reason, why, tuple(passing)))
    return found
