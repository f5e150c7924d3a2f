"""Categories: what each result of the latest cell means next to the night before (pure).

The rules (docs/nightly.md, "Categories"), in the order they are tried:

1. `removed`: the suite ran last night and not tonight; `new`: the other way round.
2. `spurious`: a failure that did not reproduce (`flaky`: failed, then passed on the retry), or one
   the infrastructure caused — `install-error` (the environment could not be built: an install or
   network error), a `timeout` when the suite never timed out in the nights of the history, a
   crash by SIGKILL (what the out-of-memory killer sends) — or a failure of a suite whose outcome
   key is known to be flaky.
3. Otherwise the night's outcome is compared with the previous one, each read as working
   (passed, expected-fail, unexpected-pass, skipped — or a previous failure that was itself
   spurious) or failing: `regressed` (worked, fails), `fixed` (failed, works), `still-failing`,
   `still-passing`.

A regression is confirmed before it is reported: a nightly runs each suite once more when it fails
(at least one retry, whatever the policy says), so `failed` here means it failed twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from curator.ids import PyVersion, SuiteName
from curator.manifest import Policy
from curator.nightly.model import Category, Flaky, StaleException, working
from curator.outcome import Status, SuiteOutcome
from curator.store import CellRecord

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


def infrastructure(outcome: SuiteOutcome, *, timed_out_before: bool) -> str | None:
    """Why a failure looks like the infrastructure's doing rather than the code's (None: it does not)."""
    match outcome.raw_status:
        case Status.INSTALL_ERROR:
            return "the environment could not be built (an install or network error)"
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
    before = working(previous) or evidence.previous_category is Category.SPURIOUS
    if status is Status.FLAKY:
        return Category.SPURIOUS, "failed, then passed when it ran again"
    if not working(status):
        cause = infrastructure(outcome, timed_out_before=evidence.timed_out_before)
        if cause is not None:
            return Category.SPURIOUS, cause
        if evidence.known_flaky is not None:
            flaky = evidence.known_flaky
            return (
                Category.SPURIOUS,
                f"known flaky: failed on {flaky.failing_nights} of its last {flaky.nights} nights under this key",
            )
        if before:
            confirmed = "failed again when run once more" if outcome.attempts > 1 else "ran once (not confirmed)"
            return Category.REGRESSED, f"worked {when} ({previous}); {confirmed}"
        return Category.STILL_FAILING, f"failed {when} too ({previous})"
    if not before:
        return Category.FIXED, f"failed {when} ({previous}), works tonight"
    return Category.STILL_PASSING, f"works, as {when}"


def reproduces(target: SuiteOutcome, probe: SuiteOutcome | None) -> bool | None:
    """Whether a probe's outcome of a suite reproduces the target failure: a test failure with the
    same signature, or a refusal by the resolver when the target is one. None: unknown (the probe
    could not be resolved or built, it failed some other way, or it passed only on a retry)."""
    if probe is None:
        return None
    raw = probe.raw_status
    if raw in (Status.PASSED, Status.SKIPPED):
        return False
    if target.raw_status is Status.UNRESOLVABLE:
        return True if raw is Status.UNRESOLVABLE else None
    if raw.is_failure and (not target.signature or probe.signature == target.signature):
        return True
    return None


def bisectable(latest: SuiteOutcome, baseline: SuiteOutcome | None) -> bool:
    """Whether the upgrades are to blame for a failure: it fails in the latest cell (a test failure,
    or the newest releases cannot be installed together) and works on tonight's blessed baseline."""
    failing = latest.raw_status.is_failure or latest.raw_status is Status.UNRESOLVABLE
    return (
        failing
        and not working(latest.status)
        and infrastructure(latest, timed_out_before=True) is None
        and baseline is not None
        and working(baseline.status)
    )


def flake_record(tonight: Status, earlier: Sequence[Status], *, key_flaky: bool) -> tuple[int, int] | None:
    """A suite's flake record over the nights that ran it under one outcome key — tonight, then
    `earlier` — as (nights, nights on which it failed at least once); None unless the key has seen
    both a pass and a failure (`key_flaky`: the store saw that in the key's own runs)."""
    nights = [tonight, *earlier]
    failing = sum(1 for s in nights if s is Status.FLAKY or not working(s))
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
