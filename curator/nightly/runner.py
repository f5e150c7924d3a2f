"""A nightly, end to end: newest releases → the night's cells → culprits → categories → the store.

It is a run (`kind = nightly`) driven by the ordinary coordinator: the first batch is every
Python's baseline, latest and upgrade cells; the culprit searches then add probe cells to the
same run, a round at a time (the stored plan grows with them, so `--resume` knows them). Every
cell is content-keyed as any run's, so what did not change since last night is reused.
Writing the run folder (and nightly.json) is the report's job, as for `curator run`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.execute.coordinator import Coordinator, RunRequest
from curator.execute.executors.interface import Executor
from curator.execute.progress import Observer
from curator.host.layout import RunLayout
from curator.model import codec
from curator.model.distribution import Distribution
from curator.model.errors import UsageError
from curator.model.ids import PyVersion, RunId, SuiteName, python_key
from curator.model.outcome import RunKind, Status, SuiteOutcome, Verdict
from curator.model.pins import PinList
from curator.nightly import classify, culprits, history, planning
from curator.nightly.night import Bisection, Category, ComparedTo, Flaky, Night, Result
from curator.nightly.tonight import Tonight
from curator.plan.cells import Cell, Plan
from curator.resolve.interpreters import Interpreter
from curator.resolve.upstream import Fetch, Target, format_time, http_fetch, newest_json, newest_releases
from curator.store.db import NightlyRow, Store


@dataclass(frozen=True)
class NightlyRequest:
    """What `curator nightly` was asked to do."""

    distribution: Distribution
    interpreters: Mapping[PyVersion, Interpreter]
    today: dt.date
    as_of: dt.datetime | None = None  # None: now (or, resuming, the stored night's)
    out_dir: Path | None = None
    resume: str | None = None
    max_probes: int | None = None  # per culprit search; None: 2·2·⌈log2 n⌉ (two culprits among n upgrades)
    window: int = history.DEFAULT_WINDOW
    fetch: Fetch = field(default=http_fetch)


@dataclass(frozen=True)
class NightlyResult:
    """A nightly whose cells are recorded; `night` is None when it was interrupted."""

    run_id: RunId
    layout: RunLayout
    night: Night | None
    inputs: planning.Inputs

    @property
    def interrupted(self) -> bool:
        """Stopped before it could classify; `curator nightly --resume` finishes it."""
        return self.night is None


def run(
    request: NightlyRequest,
    store: Store,
    executor: Executor,
    observer: Observer,
    cancel: threading.Event,
    *,
    held: contextlib.ExitStack | None = None,
) -> NightlyResult:
    """Run a nightly (or finish an interrupted one) and store its classification.

    The run folder is held (`Coordinator`) until `held` closes — so the caller can write the report
    first — or, without one, until the nightly returns.
    """
    with contextlib.ExitStack() as own:
        return _run(request, store, executor, observer, cancel, held=held if held is not None else own)


def _run(
    request: NightlyRequest,
    store: Store,
    executor: Executor,
    observer: Observer,
    cancel: threading.Event,
    *,
    held: contextlib.ExitStack,
) -> NightlyResult:
    dist = request.distribution
    if request.resume:
        record = store.run(request.resume)
        if record.kind is not RunKind.NIGHTLY:
            raise UsageError(f"run {record.id} is not a nightly; finish it with `curator run --resume {record.id}`")
        inputs = codec.from_json(planning.Inputs, Plan.stored(record.id, record.plan).inputs, "the stored nightly plan")
        plan = None
    else:
        moment = request.as_of or dt.datetime.now(dt.UTC).replace(microsecond=0)
        targets = [Target.cpython(py, i.full_version) for py, i in request.interpreters.items()]
        found = newest_releases(dist, targets, moment, fetch=request.fetch)
        inputs = planning.Inputs.of(format_time(moment), found)
    run_dist, keys = planning.distributions(dist, inputs.as_of)
    pythons = sorted(request.interpreters, key=python_key)
    if not request.resume:
        plan = planning.first_batch(keys, inputs, pythons)
    coordinator = Coordinator(
        RunRequest(
            distribution=run_dist,
            interpreters=request.interpreters,
            out_dir=request.out_dir,
            resume=request.resume,
            kind=RunKind.NIGHTLY,
            plan=plan,
            rerun_flaky=True,
        ),
        store,
        executor,
        observer,
        cancel,
    )
    held.enter_context(coordinator)
    first = coordinator.execute()
    if first.interrupted:
        return NightlyResult(first.run_id, first.layout, None, inputs)
    tonight = Tonight(store, coordinator, {py: inputs.upgrades(keys, py) for py in pythons})
    bisections = culprits.find(tonight, keys, request.max_probes)
    if bisections is None:
        return NightlyResult(first.run_id, first.layout, None, inputs)
    result = _Conclusion(request, tonight, run_dist, inputs).night(bisections)
    store.record_nightly(NightlyRow(result.run, result.as_of, result.verdict, codec.dumps(result)))
    return NightlyResult(first.run_id, first.layout, result, inputs)


class _Conclusion:
    """Tonight's results classified against the nights before: the whole document."""

    def __init__(
        self, request: NightlyRequest, tonight: Tonight, run_dist: Distribution, inputs: planning.Inputs
    ) -> None:
        self.request, self.tonight, self.run_dist, self.inputs = request, tonight, run_dist, inputs
        self.store, self.record, self.records = tonight.store, tonight.record, tonight.records
        self.pythons = tonight.pythons

    def night(self, bisections: Sequence[Bisection]) -> Night:
        """Classify every result of the latest cells against the night before; the whole document."""
        record, store = self.record, self.store
        earlier = history.recent(store, record.distribution, before=record.started, limit=self.request.window)
        previous = earlier[0] if earlier else None
        release = history.last_release(store, record.distribution, self.run_dist.root / "dist")
        results: list[Result] = []
        flaky: list[Flaky] = []
        for python in self.pythons:
            latest, baseline = self.tonight.latest(python), self.tonight.baseline(python)
            outcomes = self.records[latest.id].outcome.suites if latest.id in self.records else ()
            before = self._previous(python, previous, baseline)
            baseline_record = self.records.get(baseline.id)
            baseline_built = baseline_record is not None and classify.built(baseline_record.outcome)
            for outcome in outcomes:
                key = (python, outcome.suite)
                known = self._flaky(python, latest, outcome, earlier)
                if known is not None:
                    flaky.append(known)
                history_of = [r.status for n in earlier for r in n.results if (r.python, r.suite) == key]
                last = before.get(outcome.suite)
                evidence = classify.Evidence(
                    python=python,
                    suite=outcome.suite,
                    outcome=outcome,
                    previous=last.status if last else None,
                    previous_category=last.category if last else None,
                    timed_out_before=Status.TIMEOUT in history_of,
                    known_flaky=known if known is not None and outcome.status is not Status.FLAKY else None,
                    before="last night" if previous is not None else "on the blessed baseline (the first night)",
                    previous_expected_skip=last is not None and last.expected_skip,
                    baseline_built=baseline_built,
                    install_failed_before=Status.INSTALL_ERROR in history_of,
                )
                category, reason = classify.classify(evidence)
                bisection = next((b for b in bisections if (b.python, b.suite) == key), None)
                results.append(
                    Result(
                        python=python,
                        suite=outcome.suite,
                        cell=latest.id,
                        status=outcome.status,
                        previous=evidence.previous,
                        category=category,
                        culprits=bisection.culprits if bisection else PinList(),
                        reason=reason,
                        signature=outcome.signature,
                        outcome_key=self.records[latest.id].outcome.outcome_key,
                        release=release.statuses.get(key) if release else None,
                        reproduce=self._reproduce(python, latest, outcome, bisection),
                        rule=outcome.rule,
                    )
                )
            present = {o.suite for o in outcomes}
            for suite, earlier_result in before.items():
                if previous is not None and suite not in present and earlier_result.status is not None:
                    gone = Result(
                        python,
                        suite,
                        None,
                        None,
                        earlier_result.status,
                        Category.REMOVED,
                        reason="ran last night, not tonight",
                    )
                    results.append(gone)
        regressed = any(r.category is Category.REGRESSED for r in results)
        return Night(
            run=record.id,
            distribution=record.distribution,
            version=record.version,
            as_of=self.inputs.as_of,
            compared_to=ComparedTo(previous.run if previous else None, release.bundle if release else None),
            newest=newest_json({py: self._newest(py) for py in self.pythons}),
            newest_by_python={py: _texts(self._newest(py)) for py in self.pythons},
            passed_over={
                py: {str(n): r for n, r in self.inputs.passed_over.get(py, {}).items()} for py in self.pythons
            },
            verdict=Verdict.FAILED if regressed else Verdict.PASSED,
            results=tuple(results),
            bisections=tuple(bisections),
            flaky=tuple(flaky),
            stale_exceptions=tuple(
                classify.stale_exceptions(list(self.records.values()), self.run_dist.policy, self.request.today)
            ),
        )

    def _newest(self, python: PyVersion) -> dict[NormalizedName, Version | None]:
        return dict(self.inputs.newest.get(python, {}))

    def _previous(self, python: PyVersion, previous: Night | None, baseline: Cell) -> dict[SuiteName, _Before]:
        """What each suite is compared with: last night's results, or tonight's baseline on the first night."""
        if previous is not None:
            return {
                r.suite: _Before(r.status, r.category, r.expected_skip) for r in previous.results if r.python == python
            }
        record = self.records.get(baseline.id)
        return {s.suite: _Before(s.status, None, s.expected_skip) for s in record.outcome.suites} if record else {}

    def _flaky(self, python: PyVersion, latest: Cell, outcome: SuiteOutcome, earlier: Sequence[Night]) -> Flaky | None:
        key = self.records[latest.id].outcome.outcome_key
        before = [
            r.status
            for n in earlier
            for r in n.results
            if r.python == python and r.suite == outcome.suite and r.outcome_key == key and r.status is not None
        ]
        record = classify.flake_record(outcome.status, before, key_flaky=bool(key) and self.store.flaky(key))
        if record is None:
            return None
        return Flaky(python, outcome.suite, latest.id, key, *record)

    def _reproduce(self, python: PyVersion, latest: Cell, outcome: SuiteOutcome, bisection: Bisection | None) -> str:
        """The one command that reproduces a failing suite: in its smallest failing cell."""
        if classify.works(outcome):
            return ""
        cell = latest
        if bisection is not None and bisection.culprits and bisection.reproduced:
            names = list(bisection.culprits)
            cell = self.tonight.cell(python, names) or latest
        record = self.records.get(cell.id)
        command = record.outcome.reproduce if record else ""
        return f"{command} -- {outcome.suite}" if command else ""


@dataclass(frozen=True)
class _Before:
    """What a suite of tonight is compared with: its status and category last night (no category on
    the first night, compared with tonight's baseline), and whether that was a skip the policy expects."""

    status: Status | None
    category: Category | None
    expected_skip: bool


def _texts(versions: Mapping[NormalizedName, Version | None]) -> dict[str, str | None]:
    return {name: None if version is None else str(version) for name, version in versions.items()}
