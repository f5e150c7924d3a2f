"""Culprits: for each failure of a latest cell that the blessed baseline does not share, the
smallest set of upgrades that reproduces it.

An upgrade cell that fails the suite the same way names a single culprit. Otherwise the upgrades are
bisected (`bisect.Search`): each probe is an ordinary cell added to the night's run, a round at a
time (the probes of every search and Python of a round run together), cached by key like any cell.
Each search may spend at most its bound of probes; when the bound stops it, the smallest failing set
seen is reported, marked `cut_short`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.utils import NormalizedName

from curator.model.distribution import Distribution
from curator.model.ids import CellId, PyVersion, SuiteName
from curator.model.outcome import SuiteOutcome
from curator.nightly import classify, planning
from curator.nightly.bisect import Search, Subset, probe_bound
from curator.nightly.night import Bisection, Probe
from curator.nightly.tonight import Tonight

Searches = dict[tuple[PyVersion, SuiteName], Search]


def find(tonight: Tonight, keys: Distribution, max_probes: int | None = None) -> list[Bisection] | None:
    """Every culprit search of the night; None when the run was interrupted on the way.

    `keys` is the distribution the night's cells take their keys from; `max_probes` bounds each
    search (default: `probe_bound`, enough for two culprits).
    """
    found, searches = _targets(tonight)
    bound = {py: max_probes or probe_bound(len(tonight.upgrades[py])) for py in tonight.pythons}
    if not _drive(tonight, keys, searches, bound):
        return None
    for (python, suite), search in searches.items():
        search.stop()  # a search still waiting has nothing left to run: it settles on what it saw
        target = tonight.suite(tonight.latest(python), suite)
        assert target is not None
        found.append(_bisection(tonight, python, target, search, bound[python]))
    return found


def _targets(tonight: Tonight) -> tuple[list[Bisection], Searches]:
    """Failures one upgrade cell explains on its own, and a search for each of the others."""
    searches: Searches = {}
    found: list[Bisection] = []
    for python in tonight.pythons:
        latest, baseline = tonight.latest(python), tonight.baseline(python)
        record = tonight.records.get(latest.id)
        for target in record.outcome.suites if record else ():
            if not classify.bisectable(target, tonight.suite(baseline, target.suite)):
                continue
            singles = {name: _answer(tonight, python, target, [name]) for name in tonight.upgrades[python]}
            blamed = [name for name, reproduces in singles.items() if reproduces]
            if blamed or len(singles) < 2:
                found.append(_single(tonight, python, target, blamed or list(singles)))
                continue
            known: dict[Subset, bool | None] = {frozenset([str(name)]): answer for name, answer in singles.items()}
            searches[python, target.suite] = Search(list(tonight.upgrades[python]), known)
    return found, searches


def _drive(tonight: Tonight, keys: Distribution, searches: Searches, bound: Mapping[PyVersion, int]) -> bool:
    """Run the searches' probes, a round at a time, within each search's bound; False if interrupted."""
    counters = {py: tonight.probes_planned(py) for py in tonight.pythons}  # a resumed night goes on counting
    while True:
        wanted: dict[PyVersion, dict[Subset, str]] = {}
        for (python, suite), search in searches.items():
            _answer_recorded(tonight, python, suite, search)
            if search.done:
                continue
            asked = search.wanted()
            if search.used + len(asked) > bound[python]:
                search.stop()  # the bound is spent: the smallest failing set seen so far is the answer
                continue
            for subset in asked:
                if tonight.cell(python, sorted(subset)) is None and subset not in wanted.setdefault(python, {}):
                    counters[python] += 1
                    changes = " ".join(f"{n}@{tonight.upgrades[python][n]}" for n in tonight.ordered(python, subset))
                    wanted[python][subset] = f"probe {counters[python]}/{bound[python]}: {changes}"
        batch = [
            cell
            for python, subsets in wanted.items()
            for cell in planning.probes(keys, python, tonight.upgrades[python], subsets.items())
        ]
        if not batch:
            return True
        if not tonight.run(batch):
            return False


def _answer(tonight: Tonight, python: PyVersion, target: SuiteOutcome, changed: Sequence[str]) -> bool | None:
    return classify.reproduces(target, tonight.suite(tonight.cell(python, changed), target.suite))


def _answer_recorded(tonight: Tonight, python: PyVersion, suite: SuiteName, search: Search) -> None:
    """Answer what the search waits on from cells already recorded (another search's probes, or a
    resumed night's)."""
    target = tonight.suite(tonight.latest(python), suite)
    assert target is not None
    while not search.done:
        ready = [s for s in search.wanted() if (c := tonight.cell(python, sorted(s))) and c.id in tonight.records]
        if not ready:
            return
        for subset in ready:
            search.answer(subset, _answer(tonight, python, target, sorted(subset)))


def _probe(tonight: Tonight, python: PyVersion, target: SuiteOutcome, names: Subset, role: str) -> Probe:
    cell = tonight.cell(python, sorted(names))
    outcome = tonight.suite(cell, target.suite)
    return Probe(
        CellId(cell.id if cell else "?"),
        tonight.pins(python, names),
        role,
        outcome.status if outcome else None,
        classify.reproduces(target, outcome),
    )


def _single(tonight: Tonight, python: PyVersion, target: SuiteOutcome, blamed: Sequence[NormalizedName]) -> Bisection:
    upgrades = tonight.upgrades[python]
    probes = [_probe(tonight, python, target, frozenset(upgrades), "latest")]
    if len(upgrades) > 1:
        probes += [_probe(tonight, python, target, frozenset([n]), "upgrade") for n in upgrades]
    return Bisection(
        python=python,
        suite=target.suite,
        upgrades=tonight.pins(python, frozenset(upgrades)),
        culprits=tonight.pins(python, frozenset(blamed)),
        probes=tuple(probes),
        used=0,
        bound=probe_bound(len(upgrades)),
        cut_short=False,
        method="single upgrade",
    )


def _bisection(tonight: Tonight, python: PyVersion, target: SuiteOutcome, search: Search, bound: int) -> Bisection:
    upgrades = tonight.upgrades[python]
    probes = [_probe(tonight, python, target, frozenset(upgrades), "latest")]
    probes += [_probe(tonight, python, target, frozenset([n]), "upgrade") for n in upgrades]
    probes += [_probe(tonight, python, target, s, "probe") for s in search.asked if len(s) > 1]
    return Bisection(
        python=python,
        suite=target.suite,
        upgrades=tonight.pins(python, frozenset(upgrades)),
        culprits=tonight.pins(python, frozenset(search.found or ())),
        probes=tuple(probes),
        used=search.used,
        bound=bound,
        cut_short=search.cut_short,
        method="bisection",
        reproduced=search.reproduced,
    )
