"""Classification, retries, the policy's judgement and failure signatures (pure logic)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from curator.execute import testcases as junit
from curator.model.distribution import ExpectedFailure, ExpectedSkip, Policy
from curator.model.ids import SuiteName
from curator.model.outcome import (
    Attempt,
    Status,
    SuiteOutcome,
    TestCase,
    applies,
    deterministic,
    failure_signature,
    gates,
    judge,
    raw_status,
    settle,
    signature,
    to_retry,
    unexpected,
    worst,
)
from curator.model.pins import Pins

FAILED_CASE = TestCase("test_x", "test_a", "failed", message="assert 1 == 2")
ERROR_CASE = TestCase("test_x", "test_b", "error", message="fixture 'db' not found")
PASSED_CASE = TestCase("test_x", "test_c", "passed")
SKIPPED_CASE = TestCase("test_x", "test_d", "skipped", message="could not import 'numpy': No module named 'numpy'")
PASSED = Attempt(0, cases=(PASSED_CASE,))


@pytest.mark.parametrize(
    ("attempt", "status", "reason"),
    [
        (PASSED, Status.PASSED, ""),
        (Attempt(0, cases=(PASSED_CASE, SKIPPED_CASE)), Status.PASSED, ""),  # one test that ran is evidence
        (Attempt(0, cases=(SKIPPED_CASE, SKIPPED_CASE)), Status.SKIPPED, "every test was skipped (2): could not"),
        (Attempt(0), Status.ERROR, "pytest exited 0 but left no JUnit report"),  # no evidence a test passed
        (Attempt(0, uses_pytest=False), Status.PASSED, ""),  # another runner: its exit status is all there is
        (Attempt(1, cases=(FAILED_CASE,)), Status.FAILED, "1 test(s) failed"),
        (Attempt(1, cases=(ERROR_CASE,)), Status.ERROR, "errored in setup"),
        (Attempt(1), Status.FAILED, "pytest exited 1 and left no JUnit report"),  # a test called os._exit(1)
        (Attempt(2), Status.ERROR, "collection errors"),
        (Attempt(5), Status.SKIPPED, "pytest collected none"),
        (Attempt(-6), Status.CRASHED, "SIGABRT"),
        (Attempt(-11), Status.CRASHED, "SIGSEGV"),
        (Attempt(3, uses_pytest=False), Status.FAILED, "exit status 3"),
        (Attempt(None, started=True, timed_out=True), Status.TIMEOUT, "still running"),
        (Attempt(None, started=False, timed_out=True), Status.TIMEOUT, "not reached"),
        (Attempt(None, started=False, timed_out=False), Status.ERROR, "ended before"),
    ],
)
def test_raw_status(attempt: Attempt, status: Status, reason: str) -> None:
    found, why = raw_status(attempt, timeout=60)
    assert found is status
    assert reason in why


def test_pass_on_retry_is_flaky_and_fail_twice_is_failed() -> None:
    status, reason = settle([Attempt(1, cases=(FAILED_CASE,)), PASSED], timeout=60)
    assert status is Status.FLAKY
    assert "failed on attempt 1" in reason
    assert settle([Attempt(1, cases=(FAILED_CASE,)), Attempt(1, cases=(FAILED_CASE,))], timeout=60)[0] is Status.FAILED
    assert settle([Attempt(-6), PASSED], timeout=60)[0] is Status.FLAKY
    assert settle([], timeout=60)[0] is Status.SKIPPED


def test_a_retry_in_which_no_test_ran_leaves_the_failure_standing() -> None:
    """Failed, then skipped everything on the retry: the only evidence is the failure, neither a pass
    (`flaky`) nor `skipped`."""
    status, reason = settle([Attempt(1, cases=(FAILED_CASE,)), Attempt(5)], timeout=60)
    assert status is Status.FAILED
    assert "1 test(s) failed" in reason and "attempt 2" in reason


RULE = ExpectedFailure(
    when=(("pandas", SpecifierSet("<2.2.2")), ("numpy", SpecifierSet(">=2"))),
    reason="built against the NumPy 1.x ABI",
    owner="alice",
    expires=dt.date(2027, 1, 1),
)
POLICY = Policy(expected_failures=(RULE,))
BROKEN = {"pandas": Version("2.1.4"), "numpy": Version("2.1.3")}


def _judge(
    raw: Status, pins: dict[str, Version], *, suite: str = "pandas-numpy", today: dt.date = dt.date(2026, 11, 1)
) -> SuiteOutcome:
    outcome = SuiteOutcome(SuiteName(suite), raw, raw, reason="r")
    return judge(
        outcome,
        python="3.12",
        pins=Pins(pins),
        suite_requires=frozenset({"pandas", "numpy"}),
        policy=POLICY,
        today=today,
    )


def test_expected_failure_and_unexpected_pass() -> None:
    expected = _judge(Status.FAILED, BROKEN)
    assert expected.status is Status.EXPECTED_FAIL
    assert expected.raw_status is Status.FAILED
    assert "NumPy 1.x ABI" in expected.reason and "alice" in expected.reason
    lifted = _judge(Status.PASSED, BROKEN)
    assert lifted.status is Status.UNEXPECTED_PASS
    assert "lift this exception" in lifted.reason
    untouched = _judge(Status.FAILED, {"pandas": Version("2.2.3"), "numpy": Version("2.1.3")})
    assert untouched.status is Status.FAILED
    assert _judge(Status.TIMEOUT, BROKEN).status is Status.TIMEOUT  # infrastructure is never excused


def test_expired_rule_excuses_nothing() -> None:
    assert _judge(Status.FAILED, BROKEN, today=dt.date(2027, 1, 2)).status is Status.FAILED


def test_rule_scope() -> None:
    both = frozenset({"pandas", "numpy"})
    assert applies(RULE, "pandas-numpy", both)
    assert not applies(RULE, "scipy-numpy", frozenset({"scipy", "numpy"}))
    assert applies(RULE, "pandas:tests", frozenset({"pandas"}))
    assert not applies(RULE, "scipy:tests", frozenset({"scipy"}))
    named = ExpectedFailure(when=RULE.when, reason="r", suites=frozenset({"plots"}))
    assert applies(named, "plots", frozenset()) and not applies(named, "pandas-numpy", both)


def test_what_makes_a_run_fail() -> None:
    assert not unexpected(Status.EXPECTED_FAIL, baseline=True)
    assert not unexpected(Status.FLAKY, baseline=True)
    assert unexpected(Status.UNEXPECTED_PASS, baseline=False)
    assert unexpected(Status.UNRESOLVABLE, baseline=True)
    assert not unexpected(Status.UNRESOLVABLE, baseline=False)
    assert worst([Status.PASSED, Status.CRASHED, Status.FAILED]) is Status.CRASHED
    assert worst([]) is None
    assert len({s.letter for s in Status}) == len(Status)  # a distinct mark for every status


def test_signatures_mask_what_varies_between_cells() -> None:
    log_a = (
        "____ ERROR collecting test_x.py ____\n"
        "/root/.cache/curator/envs/0bf3/py3-11/lib/python3.11/site-packages/pandas/__init__.py:22: in <module>\n"
        "E   ValueError: numpy.dtype size changed, may indicate binary incompatibility. "
        "Expected 96 from C header, got 88 from PyObject\n"
        "=== short test summary info ===\n"
    )
    log_b = log_a.replace("0bf3/py3-11", "9a9a/py3-12").replace("96", "104").replace("88", "96")
    assert signature(log_a) == signature(log_b)
    assert signature(log_a) == (
        "ValueError: numpy.dtype size changed, may indicate binary incompatibility. "
        "Expected <n> from C header, got <n> from PyObject"
    )
    assert signature("E   AttributeError: module 'cfx_base' has no attribute 'old_api' at 0x7f3a2b1c") == (
        "AttributeError: module 'cfx_base' has no attribute 'old_api' at 0x…"
    )
    assert signature("E   ImportError: cannot import name 'x' from 'y' (/usr/lib/python3.12/y.py) 2.1.3") == (
        "ImportError: cannot import name 'x' from 'y' (<path>) <version>"
    )
    assert signature("all good\n") == ""


ABI = (
    "pandas/_libs/interval.pyx:1: in init pandas._libs.interval\n"
    "E   ValueError: numpy.dtype size changed, may indicate binary incompatibility. Expected 96 from C header,"
    " got 88 from PyObject\n"
)


def test_an_import_error_that_stops_several_suites_of_a_cell_is_not_retried() -> None:
    """Three suites stopped at collection by the same exception: deterministic, reported as such; the
    test failure beside them is still worth another attempt, and so is an error of its own."""
    last = {
        "pandas-numpy": Attempt(2, tail=ABI),
        "pandas-matplotlib": Attempt(2, tail=ABI.replace("interval", "tslibs")),  # stopped elsewhere, same error
        "networkx:tests": Attempt(4, tail=ABI),
        "scipy-numpy": Attempt(1, cases=(FAILED_CASE,), tail="E   AssertionError: 1 != 2\n"),
        "plotting": Attempt(2, tail="E   ImportError: cannot import name 'x' from 'y'\n"),
        "fine": PASSED,
    }
    held = deterministic(last, timeout=60)
    assert set(held) == {"pandas-numpy", "pandas-matplotlib", "networkx:tests"}
    assert "the same error stops 3 suites of this cell" in held["pandas-numpy"]
    assert to_retry(last, timeout=60, held=held) == ["scipy-numpy", "plotting"]
    assert to_retry(last, timeout=60) == [
        "pandas-numpy",
        "pandas-matplotlib",
        "networkx:tests",
        "scipy-numpy",
        "plotting",
    ]


def test_a_failure_of_tests_is_retried_even_when_shared() -> None:
    """Two suites failing the same assertion ran their tests: that may be flaky, so both go again."""
    tail = "E   AssertionError: assert 0.30000000000000004 == 0.3\n"
    last = {"a": Attempt(1, cases=(FAILED_CASE,), tail=tail), "b": Attempt(1, cases=(FAILED_CASE,), tail=tail)}
    assert deterministic(last, timeout=60) == {}
    assert to_retry(last, timeout=60) == ["a", "b"]


def test_timeouts_and_unfinished_suites_are_neither_retried_nor_held() -> None:
    last = {"slow": Attempt(None, started=True, timed_out=True), "cut": Attempt(None, started=False, timed_out=True)}
    assert to_retry(last, timeout=60) == []
    assert deterministic(last, timeout=60) == {}


# What pytest 8.4.2 wrote (`pytest -q -rfE -p no:cacheprovider --junitxml=…`) for a test shaped like
# bottleneck's on the NumPy 2 night: a module built for NumPy 1.x prints a chained traceback whose last
# line is a bare `ImportError` (captured stderr, which pytest shows after the failure), then raises with
# the message.
BARE_SOURCE = """\
import traceback

def _compiled_module():
    try:
        raise AttributeError("_ARRAY_API not found")
    except AttributeError as err:
        try:
            raise ImportError() from err
        except ImportError:
            traceback.print_exc()
    raise ImportError("numpy.core.multiarray failed to import")

def test_move_mean():
    _compiled_module()
"""
BARE_LOG = """\
F                                                                        [100%]
=================================== FAILURES ===================================
________________________________ test_move_mean ________________________________

    def test_move_mean():
>       _compiled_module()

test_np.py:16:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def _compiled_module():
        try:
            raise AttributeError("_ARRAY_API not found")
        except AttributeError as err:
            try:
                raise ImportError() from err
            except ImportError:
                traceback.print_exc()
>       raise ImportError("numpy.core.multiarray failed to import")
E       ImportError: numpy.core.multiarray failed to import

test_np.py:12: ImportError
----------------------------- Captured stderr call -----------------------------
Traceback (most recent call last):
  File "/tmp/sigexp/test_np.py", line 6, in _compiled_module
    raise AttributeError("_ARRAY_API not found")
AttributeError: _ARRAY_API not found

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/tmp/sigexp/test_np.py", line 9, in _compiled_module
    raise ImportError() from err
ImportError
=========================== short test summary info ============================
FAILED test_np.py::test_move_mean - ImportError: numpy.core.multiarray failed...
1 failed in 2.07s
"""
BARE_JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0" '
    'failures="1" skipped="0" tests="1" time="0.109" timestamp="2026-12-05T21:27:00.062544+00:00" hostname="vm">'
    '<testcase classname="test_np" name="test_move_mean" time="0.001">'
    '<failure message="ImportError: numpy.core.multiarray failed to import">def test_move_mean():\n'
    "&gt;       _compiled_module()\n\ntest_np.py:16: \n\n    def _compiled_module():\n        try:\n"
    '            raise AttributeError("_ARRAY_API not found")\n        except AttributeError as err:\n'
    "            try:\n                raise ImportError() from err\n            except ImportError:\n"
    "                traceback.print_exc()\n"
    '&gt;       raise ImportError("numpy.core.multiarray failed to import")\n'
    "E       ImportError: numpy.core.multiarray failed to import\n\ntest_np.py:12: ImportError</failure>"
    "</testcase></testsuite></testsuites>"
)


def test_a_bare_exception_type_takes_the_message_pytest_recorded(tmp_path: Path) -> None:
    report = tmp_path / "suite-1.xml"
    report.write_text(BARE_JUNIT, encoding="utf-8")
    cases = junit.read(report)
    assert signature(BARE_LOG) == "ImportError"  # the log's last error line carries no message
    attempt = Attempt(1, cases=cases, tail=BARE_LOG)
    assert failure_signature(attempt) == "ImportError: numpy.core.multiarray failed to import"
    # a message of the same exception type is preferred to another test's
    other = TestCase("test_y", "test_z", "failed", message="AssertionError: assert 1 == 2")
    assert failure_signature(Attempt(1, cases=(*cases, other), tail=BARE_LOG)) == (
        "ImportError: numpy.core.multiarray failed to import"
    )
    # with a message in the log, the log's own line stands; with none anywhere, the bare type does
    assert failure_signature(Attempt(1, cases=(other,), tail="E   ValueError: bad dtype\n")) == "ValueError: bad dtype"
    bare = TestCase("test_y", "test_w", "failed", message="ImportError")
    assert failure_signature(Attempt(1, cases=(bare,), tail=BARE_LOG)) == "ImportError"
    assert failure_signature(Attempt(1, cases=(bare,))) == "ImportError"


# --------------------------------------------------------------------- skips and what the policy expects

SKIP_RULE = ExpectedSkip(when=(), reason="no GPU on the CI machines", owner="ops", suites=frozenset({"gpu"}))
PY313_RULE = ExpectedSkip(
    when=(("python", SpecifierSet(">=3.13")),), reason="numba has no 3.13 wheels", expires=dt.date(2027, 1, 1)
)


def _skipped(suite: str, *, python: str = "3.12", today: dt.date = dt.date(2026, 11, 1)) -> SuiteOutcome:
    raw = SuiteOutcome(SuiteName(suite), Status.SKIPPED, Status.SKIPPED, reason="no test ran: every test was skipped")
    policy = Policy(expected_skips=(SKIP_RULE, PY313_RULE))
    return judge(raw, python=python, pins=Pins(BROKEN), suite_requires=frozenset(), policy=policy, today=today)


def test_a_skip_the_policy_expects_is_recorded_with_its_rule() -> None:
    gpu = _skipped("gpu")
    assert gpu.status is Status.SKIPPED and gpu.expected_skip
    assert gpu.rule == "suites gpu: no GPU on the CI machines"
    assert "expected skip: no GPU on the CI machines (owner ops)" in gpu.reason
    assert gates(gpu) and not unexpected(gpu.status, baseline=True, expected_skip=True)
    other = _skipped("plots")  # no rule names it
    assert other.status is Status.SKIPPED and not other.expected_skip and other.rule == ""
    assert not gates(other)
    assert unexpected(other.status, baseline=True)  # the release would ship the suite untested
    assert not unexpected(other.status, baseline=False)  # elsewhere, a gap the matrices show
    assert _skipped("plots", python="3.13").expected_skip  # `when` alone covers every suite of that Python
    assert not _skipped("plots", python="3.13", today=dt.date(2027, 1, 2)).expected_skip  # expired
    # an expected-skip rule never excuses a failure, and an expected-failure rule never a skip
    failed = SuiteOutcome(SuiteName("gpu"), Status.FAILED, Status.FAILED)
    policy = Policy(expected_failures=(RULE,), expected_skips=(SKIP_RULE,))
    judged = judge(
        failed, python="3.12", pins=Pins(BROKEN), suite_requires=frozenset(), policy=policy, today=dt.date(2026, 11, 1)
    )
    assert judged.status is Status.FAILED
    skipped = SuiteOutcome(SuiteName("pandas-numpy"), Status.SKIPPED, Status.SKIPPED)
    both = frozenset({"pandas", "numpy"})
    judged = judge(
        skipped, python="3.12", pins=Pins(BROKEN), suite_requires=both, policy=policy, today=dt.date(2026, 11, 1)
    )
    assert judged.status is Status.SKIPPED and not judged.expected_skip


def test_passed_and_expected_outcomes_open_the_gate_and_nothing_else_does() -> None:
    for status in Status:
        outcome = SuiteOutcome(SuiteName("s"), status, status)
        assert gates(outcome) is (status in (Status.PASSED, Status.EXPECTED_FAIL)), status
