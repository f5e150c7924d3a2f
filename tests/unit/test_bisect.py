"""The culprit search: minimal failing sets, within about 2·k·log2(n) probes."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from curator.nightly.bisect import Search, Subset, probe_bound, run


def _upgrades(n: int) -> list[str]:
    return [f"p{i:02d}" for i in range(n)]


def _singles(upgrades: list[str]) -> list[Subset]:
    return [frozenset([u]) for u in upgrades]


def test_a_pair_among_three_is_found_in_three_probes() -> None:
    """Two releases that break only together and a bystander (the nightly fixture's cfx-pa, cfx-pb, cfx-pc)."""
    upgrades = ["pa", "pc", "pb"]
    search = run(upgrades, lambda s: {"pa", "pb"} <= s, known=_singles(upgrades))
    assert search.found == frozenset({"pa", "pb"})
    assert [sorted(s) for s in search.asked if len(s) > 1] == [["pb", "pc"], ["pa", "pc"], ["pa", "pb"]]
    assert search.used == 3 <= probe_bound(3) == 8
    assert search.reproduced and not search.cut_short


def test_the_bound_cuts_a_search_short_and_says_so() -> None:
    upgrades = _upgrades(16)
    culprits = {"p01", "p05", "p09", "p13"}
    search = run(upgrades, lambda s: culprits <= s, budget=4, known=_singles(upgrades))
    assert search.cut_short
    assert search.used <= 4
    assert culprits <= (search.found or set())  # the smallest failing set seen: it still holds every culprit


def test_a_search_cut_short_names_the_smallest_failing_set_it_saw_not_every_upgrade() -> None:
    """Eight upgrades, two culprits in the second half: the first round finds that half failing on its
    own; the bound then stops the search before that half is split. What it names is that half, a
    proper subset of the upgrades (still holding both culprits), never all eight."""
    upgrades = _upgrades(8)
    culprits = {"p04", "p06"}
    search = run(upgrades, lambda s: culprits <= s, budget=2, known=_singles(upgrades))
    assert search.cut_short and search.used == 2
    assert search.found == frozenset({"p04", "p05", "p06", "p07"})
    assert search.reproduced  # it was seen to fail on its own


def test_an_unknown_probe_is_skipped_and_the_set_found_is_checked_alone() -> None:
    """A probe that cannot be resolved answers None; the search reads it as "does not fail"."""
    upgrades = _upgrades(4)

    def fails(subset: Subset) -> bool | None:
        if subset == {"p00", "p01"}:
            return None  # unresolvable
        return {"p00", "p03"} <= subset

    search = run(upgrades, fails, known=_singles(upgrades))
    assert search.found == frozenset({"p00", "p03"})
    assert search.reproduced is True


def test_a_search_can_be_answered_a_probe_at_a_time() -> None:
    """How the nightly drives it: ask, run the cells, answer; both halves are asked at once."""
    search = Search(["a", "b", "c", "d"], {frozenset(x): False for x in "abcd"})
    assert search.wanted() == [frozenset("ab"), frozenset("cd")]
    search.answer(frozenset("ab"), False)
    assert search.wanted() == [frozenset("cd")]
    search.answer(frozenset("cd"), True)
    assert search.done and search.found == frozenset({"c", "d"})
    assert search.used == 2


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=2, max_value=40), st.data())
def test_monotone_failures_give_the_culprits_within_the_bound(n: int, data: st.DataObject) -> None:
    upgrades = _upgrades(n)
    k = data.draw(st.integers(min_value=1, max_value=min(3, n)))
    culprits = frozenset(data.draw(st.lists(st.sampled_from(upgrades), min_size=k, max_size=k, unique=True)))
    search = run(upgrades, lambda s: culprits <= s, known=_singles(upgrades))
    assert search.found == culprits
    assert search.reproduced
    assert search.used <= 2 * k * math.ceil(math.log2(n)) + 1  # the +1: checking the set found alone
