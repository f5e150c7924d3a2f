"""A nightly's pure parts: categories, reproduction, the plan, the document and its place in the store."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.utils import NormalizedName
from packaging.version import Version

from curator.manifest.reader import load
from curator.model import codec
from curator.model.distribution import Distribution
from curator.model.ids import CellId, PyVersion, RunId, SuiteName
from curator.model.outcome import CellOutcome, NightPlan, RunKind, RunStatus, Status, SuiteOutcome, Verdict
from curator.model.pins import PinList, Pins
from curator.nightly import classify, history, planning
from curator.nightly.night import Bisection, Category, ComparedTo, Flaky, Night, Probe, Result, StaleException
from curator.store.db import CellRecord, NightlyRow, RunRecord, Store

ROOT = Path(__file__).resolve().parents[2]
PY = PyVersion("3.12")
APP = SuiteName("app")


def _outcome(
    status: Status, *, raw: Status | None = None, reason: str = "", signature: str = "", attempts: int = 2
) -> SuiteOutcome:
    return SuiteOutcome(APP, status, raw or status, reason, signature, attempts=attempts)


def _evidence(status: Status | None, previous: Status | None, **extra: object) -> classify.Evidence:
    outcome = _outcome(status, **extra) if status is not None else None  # type: ignore[arg-type]
    return classify.Evidence(PY, APP, outcome, previous)


@pytest.mark.parametrize(
    ("tonight", "before", "category"),
    [
        (Status.FAILED, Status.PASSED, Category.REGRESSED),
        (Status.CRASHED, Status.EXPECTED_FAIL, Category.REGRESSED),
        (Status.UNRESOLVABLE, Status.PASSED, Category.REGRESSED),  # the newest releases cannot be installed together
        (Status.FAILED, Status.FLAKY, Category.REGRESSED),  # a flaky pass was a pass
        (Status.PASSED, Status.FAILED, Category.FIXED),
        (Status.UNEXPECTED_PASS, Status.ERROR, Category.FIXED),
        (Status.ERROR, Status.FAILED, Category.STILL_FAILING),
        (Status.PASSED, Status.PASSED, Category.STILL_PASSING),
        (Status.EXPECTED_FAIL, Status.PASSED, Category.STILL_PASSING),  # the policy expects it: not a regression
        (Status.FLAKY, Status.PASSED, Category.SPURIOUS),  # did not reproduce on the retry
        (Status.INSTALL_ERROR, Status.PASSED, Category.SPURIOUS),  # the baseline failed to build too: the first time
        (Status.SKIPPED, Status.PASSED, Category.REGRESSED),  # no test ran tonight: no evidence it works
        (Status.PASSED, Status.SKIPPED, Category.FIXED),
        (Status.SKIPPED, Status.SKIPPED, Category.STILL_FAILING),
        (Status.TIMEOUT, Status.PASSED, Category.SPURIOUS),  # never timed out before
        (Status.PASSED, None, Category.NEW),
        (None, Status.PASSED, Category.REMOVED),
    ],
)
def test_categories(tonight: Status | None, before: Status | None, category: Category) -> None:
    assert classify.classify(_evidence(tonight, before))[0] is category


def test_infrastructure_failures_are_spurious_only_when_they_look_like_it() -> None:
    oom = _outcome(Status.CRASHED, reason="the interpreter died by SIGKILL", signature="crashed: SIGKILL")
    assert classify.classify(classify.Evidence(PY, APP, oom, Status.PASSED))[0] is Category.SPURIOUS
    abort = _outcome(Status.CRASHED, reason="the interpreter died by SIGABRT", signature="crashed: SIGABRT")
    assert classify.classify(classify.Evidence(PY, APP, abort, Status.PASSED))[0] is Category.REGRESSED
    hang = _outcome(Status.TIMEOUT)
    usual = classify.Evidence(PY, APP, hang, Status.TIMEOUT, timed_out_before=True)
    assert classify.classify(usual)[0] is Category.STILL_FAILING  # it hangs every night: not the machine's fault


def test_a_failure_of_a_known_flaky_suite_does_not_turn_the_night_red() -> None:
    flaky = Flaky(PY, APP, CellId("py3.12-baseline"), "k", nights=5, failing_nights=2)
    evidence = classify.Evidence(PY, APP, _outcome(Status.FAILED), Status.PASSED, known_flaky=flaky)
    category, reason = classify.classify(evidence)
    assert category is Category.SPURIOUS
    assert reason == "known flaky: failed on 2 of its last 5 nights under this key"


def test_a_previous_spurious_failure_counts_as_working() -> None:
    evidence = classify.Evidence(PY, APP, _outcome(Status.FAILED), Status.INSTALL_ERROR, Category.SPURIOUS)
    assert classify.classify(evidence)[0] is Category.REGRESSED


def test_a_probe_reproduces_the_same_failure_not_another() -> None:
    target = _outcome(Status.FAILED, signature="AttributeError: module 'cfx_lib' has no attribute 'api'")
    assert classify.reproduces(target, target) is True
    assert classify.reproduces(target, _outcome(Status.PASSED)) is False
    assert classify.reproduces(target, _outcome(Status.FAILED, signature="ImportError: x")) is None
    assert classify.reproduces(target, _outcome(Status.UNRESOLVABLE)) is None  # recorded, and skipped
    assert classify.reproduces(target, _outcome(Status.FLAKY)) is None
    assert classify.reproduces(target, None) is None
    refused = _outcome(Status.UNRESOLVABLE)
    assert classify.reproduces(refused, _outcome(Status.UNRESOLVABLE)) is True
    assert classify.reproduces(refused, _outcome(Status.PASSED)) is False


def test_only_failures_the_baseline_does_not_share_are_bisected() -> None:
    failing = _outcome(Status.FAILED)
    assert classify.bisectable(failing, _outcome(Status.PASSED))
    assert not classify.bisectable(failing, _outcome(Status.FAILED))
    # an environment that cannot be built beside a blessed baseline that works: the releases it installs
    assert classify.bisectable(_outcome(Status.INSTALL_ERROR), _outcome(Status.PASSED))
    assert not classify.bisectable(_outcome(Status.INSTALL_ERROR), _outcome(Status.INSTALL_ERROR))
    assert classify.bisectable(_outcome(Status.SKIPPED), _outcome(Status.PASSED))  # which release made it skip
    assert not classify.bisectable(_outcome(Status.SKIPPED), _outcome(Status.SKIPPED))
    assert not classify.bisectable(_outcome(Status.EXPECTED_FAIL, raw=Status.FAILED), _outcome(Status.PASSED))
    oom = _outcome(Status.CRASHED, reason="the interpreter died by SIGKILL", signature="crashed: SIGKILL")
    assert not classify.bisectable(oom, _outcome(Status.PASSED))


# --------------------------------------------------------------------- an environment that cannot be built

BROKEN_WHEEL = "error: Failed to install: cfx_lib-<version>-py3-none-any.whl (cfx-lib==<version>)"


def _install_error(**extra: object) -> classify.Evidence:
    outcome = _outcome(Status.INSTALL_ERROR, reason="the environment could not be built", attempts=0)
    return classify.Evidence(PY, APP, outcome, Status.PASSED, **extra)  # type: ignore[arg-type]


def test_an_install_error_beside_a_baseline_that_built_is_a_regression_the_first_night() -> None:
    category, reason = classify.classify(_install_error(baseline_built=True))
    assert category is Category.REGRESSED
    assert "cannot be built, though tonight's blessed baseline was" in reason


def test_an_install_error_is_spurious_only_the_first_time() -> None:
    """The blessed baseline cannot be built either (the network, the disk): the machine's doing, once.
    The next night the same suite fails to build again: it counts, and the night is red."""
    first, why = classify.classify(_install_error())
    assert first is Category.SPURIOUS
    assert "nor could tonight's blessed baseline" in why
    second = classify.Evidence(
        PY,
        APP,
        _outcome(Status.INSTALL_ERROR, attempts=0),
        Status.INSTALL_ERROR,
        previous_category=Category.SPURIOUS,  # last night's, which counts as working
        install_failed_before=True,
    )
    category, reason = classify.classify(second)
    assert category is Category.REGRESSED
    assert "could not be built on an earlier night too" in reason
    third = classify.Evidence(
        PY,
        APP,
        _outcome(Status.INSTALL_ERROR, attempts=0),
        Status.INSTALL_ERROR,
        previous_category=Category.REGRESSED,
        install_failed_before=True,
    )
    assert classify.classify(third)[0] is Category.STILL_FAILING


def test_a_baseline_built_when_one_of_its_suites_ran() -> None:
    ran = CellOutcome(CellId("py3.12-baseline"), (_outcome(Status.FAILED, attempts=1),))
    assert classify.built(ran)
    installed = CellOutcome(
        CellId("py3.12-baseline"), (_outcome(Status.PASSED, attempts=0),)
    )  # no suites: it installed
    assert classify.built(installed)
    broken = CellOutcome(CellId("py3.12-baseline"), (_outcome(Status.INSTALL_ERROR, attempts=0),))
    assert not classify.built(broken)
    slow = CellOutcome(CellId("py3.12-baseline"), (_outcome(Status.TIMEOUT, attempts=0),))  # timed out building
    assert not classify.built(slow)


def test_a_probe_reproduces_an_install_error_or_a_skip_only_in_kind() -> None:
    target = _outcome(Status.INSTALL_ERROR, signature=BROKEN_WHEEL)
    assert classify.reproduces(target, _outcome(Status.INSTALL_ERROR, signature=BROKEN_WHEEL)) is True
    assert classify.reproduces(target, _outcome(Status.INSTALL_ERROR, signature="error: disk full")) is None
    assert classify.reproduces(target, _outcome(Status.PASSED)) is False
    assert classify.reproduces(target, _outcome(Status.FAILED, signature=BROKEN_WHEEL)) is None
    skipped = _outcome(Status.SKIPPED)
    assert classify.reproduces(skipped, _outcome(Status.SKIPPED)) is True
    assert classify.reproduces(skipped, _outcome(Status.PASSED)) is False
    assert classify.reproduces(_outcome(Status.FAILED), skipped) is None  # no test ran: it says nothing


# --------------------------------------------------------------------- a suite in which no test ran


def test_a_skip_the_policy_expects_works_and_one_it_does_not_is_no_evidence() -> None:
    expected = SuiteOutcome(APP, Status.SKIPPED, Status.SKIPPED, rule="suites app: no GPU here", attempts=1)
    assert classify.classify(classify.Evidence(PY, APP, expected, Status.PASSED))[0] is Category.STILL_PASSING
    # last night's expected skip was working: tonight's failure is a regression, tonight's pass no fix
    failed = _outcome(Status.FAILED)
    assert (
        classify.classify(classify.Evidence(PY, APP, failed, Status.SKIPPED, previous_expected_skip=True))[0]
        is Category.REGRESSED
    )
    passed = _outcome(Status.PASSED)
    assert (
        classify.classify(classify.Evidence(PY, APP, passed, Status.SKIPPED, previous_expected_skip=True))[0]
        is Category.STILL_PASSING
    )
    category, reason = classify.classify(classify.Evidence(PY, APP, _outcome(Status.SKIPPED), Status.PASSED))
    assert category is Category.REGRESSED
    assert "no test ran tonight" in reason


def test_a_flake_rate_counts_the_nights_a_key_failed_on() -> None:
    assert classify.flake_record(Status.FLAKY, [Status.PASSED, Status.PASSED, Status.FLAKY], key_flaky=True) == (4, 2)
    assert classify.flake_record(Status.PASSED, [Status.PASSED], key_flaky=False) is None
    assert classify.flake_record(Status.FAILED, [Status.FAILED], key_flaky=False) is None  # deterministic
    assert classify.flake_record(Status.FAILED, [Status.PASSED], key_flaky=False) == (2, 1)


# --------------------------------------------------------------------- the plan


def _default() -> Distribution:
    return load(ROOT / "distribution.yaml")


def _inputs(as_of: str, numpy: str | None = "2.2.0") -> planning.Inputs:
    newest = {
        PY: {
            NormalizedName("numpy"): None if numpy is None else Version(numpy),
            NormalizedName("pandas"): Version("2.2.3"),
            NormalizedName("matplotlib"): Version("3.10.0"),
            NormalizedName("scipy"): Version("1.14.1"),
            NormalizedName("networkx"): Version("3.4.2"),
        }
    }
    return planning.Inputs(as_of, newest, {})


def test_the_nightly_plan_holds_baseline_latest_and_each_upgrade() -> None:
    run, keys = planning.distributions(_default(), "2026-11-24T03:00:00Z")
    plan = planning.first_batch(keys, _inputs("2026-11-24T03:00:00Z"), [PY])
    assert [(c.id, c.reasons) for c in plan.cells] == [
        ("py3.12-baseline", ("baseline",)),
        ("py3.12-numpy@2.2.0-matplotlib@3.10.0", ("latest",)),
        ("py3.12-numpy@2.2.0", ("upgrade numpy",)),
        ("py3.12-matplotlib@3.10.0", ("upgrade matplotlib",)),
    ]
    assert run.index.exclude_newer == "2026-11-24T03:00:00Z" and keys.index.exclude_newer is None
    assert run.policy.retries == 1
    stored = codec.from_json(planning.Inputs, json.loads(codec.dumps(plan))["inputs"])
    assert stored == _inputs("2026-11-24T03:00:00Z")


def test_an_unchanged_cell_keeps_its_key_from_night_to_night() -> None:
    """The as-of time is not in a cell's key (the resolved lock in the outcome key says what it changed)."""
    tonight = planning.first_batch(planning.distributions(_default(), "2026-11-24T03:00:00Z")[1], _inputs("x"), [PY])
    tomorrow = planning.first_batch(planning.distributions(_default(), "2026-11-25T03:00:00Z")[1], _inputs("y"), [PY])
    assert [c.key for c in tonight.cells] == [c.key for c in tomorrow.cells]


def test_a_quiet_night_is_one_cell_per_python() -> None:
    keys = planning.distributions(_default(), "t")[1]
    nothing = planning.Inputs("t", {PY: dict(_default().blessed)}, {})
    assert [(c.id, c.reasons) for c in planning.first_batch(keys, nothing, [PY]).cells] == [
        ("py3.12-baseline", ("baseline", "latest"))
    ]


# --------------------------------------------------------------------- the document and the store


CULPRIT = PinList.from_list(["cfx-lib==1.1"])


def _night(run: str = "r1") -> Night:
    result = Result(PY, APP, CellId("py3.12-cfx-lib@1.1"), Status.FAILED, Status.PASSED, Category.REGRESSED, CULPRIT)
    gpu = Result(
        PY, SuiteName("gpu"), CellId("py3.12-cfx-lib@1.1"), Status.SKIPPED, Status.SKIPPED, Category.STILL_PASSING,
        rule="suites gpu: no GPU here",
    )  # fmt: skip
    probe = Probe(CellId("py3.12-cfx-lib@1.1"), CULPRIT, "latest", Status.FAILED, True)
    bisection = Bisection(PY, APP, CULPRIT, CULPRIT, (probe,), 0, 0, False, "single upgrade")
    stale = StaleException("cfx-lib<1", 12, "old", "matched no outcome tonight")
    return Night(
        run=RunId(run),
        distribution="eco",
        version="1",
        as_of="2026-11-24T03:00:00Z",
        compared_to=ComparedTo(None, None),
        newest={"cfx-lib": "1.1"},
        newest_by_python={PY: {"cfx-lib": "1.1"}},
        passed_over={PY: {"cfx-lib": ("1.2: yanked",)}},
        verdict=Verdict.FAILED,
        results=(result, gpu),
        bisections=(bisection,),
        flaky=(Flaky(PY, APP, CellId("c"), "k", 3, 1),),
        stale_exceptions=(stale,),
    )


def test_nightly_json_keeps_its_contract_and_reads_back() -> None:
    data = codec.to_json(_night())
    assert list(data)[:4] == ["run", "distribution", "version", "as_of"]
    assert data["compared_to"] == {"nightly": None, "release": None}
    results = data["results"]
    assert isinstance(results, list)
    assert {"python", "suite", "cell", "status", "previous", "category", "culprits"} <= set(results[0])
    assert data["flaky"] == [
        {
            "python": "3.12",
            "suite": "app",
            "cell": "c",
            "outcome_key": "k",
            "nights": 3,
            "failing_nights": 1,
            "rate": 0.333,
        }
    ]
    assert results[0]["culprits"] == ["cfx-lib==1.1"]
    assert codec.loads(Night, json.dumps(data)) == _night()
    # a skip the policy expects is working (the rule is kept), one it does not expect is not
    assert results[1]["rule"] == "suites gpu: no GPU here"
    assert _night().pass_rate == 0.5
    assert not replace(_night().results[1], rule="").working


def _record(run: str, started: float) -> RunRecord:
    return RunRecord(
        RunId(run),
        RunKind.NIGHTLY,
        "eco",
        "1",
        "/m",
        "sha",
        NightPlan.NIGHTLY,
        (PY,),
        "/out",
        started,
        RunStatus.FINISHED,
        "{}",
    )


def _cell(run: str, status: Status, key: str = "K") -> CellRecord:
    suite = SuiteOutcome(APP, status, status, attempts=2)
    outcome = CellOutcome(CellId("py3.12-baseline"), (suite,), outcome_key=key, lock_key="L")
    return CellRecord(RunId(run), CellId("py3.12-baseline"), PY, "3.12.1 /py", Pins(), Pins(), True, "p", outcome)


def test_the_store_keeps_nights_newest_first_and_knows_a_flaky_key(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        for number, (run, status) in enumerate([("n1", Status.PASSED), ("n2", Status.FAILED), ("n3", Status.PASSED)]):
            store.create_run(_record(run, float(number)))
            store.record_cell(_cell(run, status, key="K" if run != "n3" else "other"))
            store.record_nightly(
                NightlyRow(RunId(run), f"2026-11-2{number}T00:00:00Z", Verdict.PASSED, codec.dumps(_night(run)))
            )
        assert [n.run for n in history.recent(store, "eco", before=2.5)] == ["n3", "n2", "n1"]
        assert [n.run for n in history.recent(store, "eco", before=2.5, limit=1)] == ["n3"]
        assert store.flaky("K")  # passed in n1, failed in n2: same key
        assert not store.flaky("other")
        row = store.nightly(RunId("n2"))
        assert row is not None and row.as_of == "2026-11-21T00:00:00Z"
        store.update_plan(RunId("n1"), '{"strategy": "nightly", "cells": []}')
        assert store.run("n1").plan == '{"strategy": "nightly", "cells": []}'


def test_stale_exceptions_are_those_that_earn_nothing_tonight(tmp_path: Path) -> None:
    dist = _default()
    rule = dist.policy.expected_failures[0]
    records = [_cell("n", Status.PASSED)]
    stale = classify.stale_exceptions(records, dist.policy, dt.date(2026, 11, 24))
    assert [(s.rule, s.why.split(" (")[0]) for s in stale] == [(rule.describe(), "matched no outcome tonight")]
    written = f"{rule.describe()}: {rule.reason}"
    lifted = SuiteOutcome(APP, Status.UNEXPECTED_PASS, Status.PASSED, rule=written)
    passing = CellRecord(
        RunId("n"), CellId("c"), PY, "", Pins(), Pins(), False, "p", CellOutcome(CellId("c"), (lifted,))
    )
    assert [s.why for s in classify.stale_exceptions([passing], dist.policy, dt.date(2026, 11, 24))] == [
        "the outcomes it covers pass now: lift it"
    ]


def test_a_notice_shows_what_the_suite_printed_as_text() -> None:
    from curator.model.markup import one_line
    from curator.nightly.notices import notices
    from tests.rendered import code_blocks, code_spans, kinds, raw_html
    from tests.unit.test_markup import HOSTILE

    result = Result(
        PY,
        SuiteName("pandas-numpy"),
        CellId("py3.12-numpy@2.2.0"),
        Status.FAILED,
        Status.PASSED,
        Category.REGRESSED,
        PinList.from_list(["numpy==2.2.0"]),
        reason="failed: <b>x</b> **y**",
        signature=HOSTILE,
        reproduce="nox -f run/noxfile.py -s py3.12-numpy@2.2.0 -- pandas-numpy",
    )
    night = replace(_night(), results=(result,), stale_exceptions=())
    tail = "collected 1 item\n```\n</details><script>alert(1)</script>\n" + HOSTILE
    assert result.cell is not None
    (notice,) = notices(night, _default(), {(result.cell, result.suite): tail})
    text = notice.text
    assert raw_html(text) == [] and not kinds(text) & {"image", "link_open", "em_open", "s_open"}
    assert one_line(HOSTILE) in code_spans(text)  # the signature, exactly
    blocks = dict(code_blocks(text))
    assert blocks["text"] == tail + "\n"  # the end of the log, every line as it was (a fence inside included)
    assert blocks["sh"] == result.reproduce + "\n"
    assert json.loads(blocks["yaml"].split("reason: ", 1)[1].split("\n")[0]) == HOSTILE  # the rule's reason
