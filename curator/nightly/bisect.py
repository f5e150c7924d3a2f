"""Culprit search: the smallest set of upgrades that reproduces a failure (delta debugging).

A suite fails with every upgrade applied (the latest cell) and passes with none (the blessed
baseline); no single upgrade fails it alone. `Search` finds a minimal subset of the upgrades that
still fails it, asking about one pair of subsets at a time: the two halves of what is left, both
at once (they run in parallel); a half that fails alone holds the culprits and the search goes
into it; when neither half fails alone, the culprits straddle them, and each half is searched
with the other half applied as context (QuickXplain's recursion: delta debugging's "halves, then
complements"). With monotone failures — more upgrades never fix what fewer broke — it names k
culprits among n upgrades in at most about 2·k·log2(n) probes, and the set it names is
1-minimal: drop any one member and the failure is gone.

An answer may be unknown (the probe could not be resolved, or it failed some other way): the
search reads it as "does not fail" and goes on; the set found at the end is probed alone once if
it never was, so what is reported is a set seen to fail.

Pure: the caller runs the probes (as cells of the nightly's run) and answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence

Subset = frozenset[str]
_Steps = Generator[list[Subset], None, Subset]


def probe_bound(upgrades: int, culprits: int = 2) -> int:
    """The probes a search may spend: 2·k·⌈log2 n⌉, enough to name `culprits` culprits among `upgrades`."""
    if upgrades < 2:
        return 0
    return 2 * culprits * math.ceil(math.log2(upgrades))


class Search:
    """One search for the upgrades that make one suite fail; see the module's docstring."""

    def __init__(self, upgrades: Sequence[str], known: Mapping[Subset, bool | None] | None = None) -> None:
        self.upgrades = tuple(upgrades)
        self.answers: dict[Subset, bool | None] = {frozenset(): False, frozenset(self.upgrades): True}
        self.answers.update(known or {})
        self._given = frozenset(self.answers)
        self.asked: list[Subset] = []  # every subset the search needed, in the order it asked
        self.found: Subset | None = None
        self.cut_short = False
        self._waiting: list[Subset] = []
        self._steps: _Steps | None = self._search()
        self._advance(None)

    @property
    def used(self) -> int:
        """Probes the search has had answered, beyond what it was given at the start."""
        return sum(1 for s in self.asked if s not in self._given and s in self.answers)

    @property
    def done(self) -> bool:
        """Whether the search has its answer (or was stopped)."""
        return self._steps is None

    def wanted(self) -> list[Subset]:
        """The subsets the search waits on (empty when done)."""
        return [s for s in self._waiting if s not in self.answers]

    def answer(self, subset: Subset, reproduces: bool | None) -> None:
        """Whether the suite fails the same way with exactly `subset` upgraded (None: unknown)."""
        self.answers[subset] = reproduces
        if not self.wanted():
            self._advance(None)

    def stop(self) -> None:
        """Stop here (the probe budget is spent): the smallest subset seen to fail is the answer."""
        if self._steps is None:
            return
        self._steps.close()
        self._steps = None
        self.cut_short = True
        failing = [s for s, fails in self.answers.items() if fails]
        order = {name: i for i, name in enumerate(self.upgrades)}
        self.found = min(failing, key=lambda s: (len(s), sorted(order[n] for n in s)))

    @property
    def reproduced(self) -> bool | None:
        """Whether the set found was seen to fail on its own."""
        return None if self.found is None else self.answers.get(self.found)

    def _advance(self, _: None) -> None:
        while self._steps is not None and not self.wanted():
            try:
                self._waiting = self._steps.send(None)
            except StopIteration as stop:
                self.found = stop.value
                self._steps = None
                self._waiting = []
                return
            self.asked += [s for s in self._waiting if s not in self.asked]

    def _search(self) -> _Steps:
        found = yield from self._min_fail(frozenset(), self.upgrades)
        if found not in self.answers:
            yield [found]
        return found

    def _min_fail(self, context: Subset, items: Sequence[str]) -> _Steps:
        """A minimal part of `items` that fails with `context` applied, given that `context` with
        all of `items` fails and `context` alone does not."""
        if len(items) <= 1:
            return frozenset(items)
        half = len(items) // 2
        first, second = items[:half], items[half:]
        with_first, with_second = context | set(first), context | set(second)
        yield [with_first, with_second]
        if self.answers[with_first]:
            return (yield from self._min_fail(context, first))
        if self.answers[with_second]:
            return (yield from self._min_fail(context, second))
        culprits_first = yield from self._min_fail(context | set(second), first)
        culprits_second = yield from self._min_fail(context | culprits_first, second)
        return culprits_first | culprits_second


def run(
    upgrades: Sequence[str],
    fails: Callable[[Subset], bool | None],
    *,
    budget: int | None = None,
    known: Iterable[Subset] = (),
) -> Search:
    """Drive a search to its end with an oracle (tests, and anything that can answer at once).
    `known` subsets are answered without counting against the budget."""
    answered = {subset: fails(subset) for subset in known}
    search = Search(upgrades, answered)
    while not search.done:
        wanted = search.wanted()
        if budget is not None and search.used + len(wanted) > budget:
            search.stop()
            break
        for subset in wanted:
            search.answer(subset, fails(subset))
    return search
