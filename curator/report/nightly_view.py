"""What a nightly's report adds: its categories, regressions with their culprits and evidence, the trend.

Read from the store once (the night's nightly.json and those before it), like the rest of `RunData`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from curator.model import codec
from curator.nightly import history
from curator.nightly.night import CATEGORY_ORDER, Bisection, Category, Night, Result
from curator.store.db import RunRecord, Store

TREND_NIGHTS = 60


@dataclass(frozen=True)
class TrendNight:
    """One night on the pass-rate trend."""

    run: str
    as_of: str
    pass_rate: float | None
    verdict: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Regression:
    """A regressed result with what explains it."""

    result: Result
    bisection: Bisection | None


@dataclass(frozen=True)
class NightlyView:
    """A night and the nights before it, as the report shows them."""

    night: Night
    trend: tuple[TrendNight, ...]  # oldest first, this night last

    @property
    def categories(self) -> list[tuple[str, int]]:
        """(category, results) in the order that needs a person first."""
        counts = self.night.counts
        return [(str(c), counts[c]) for c in CATEGORY_ORDER if counts.get(c)]

    @property
    def regressions(self) -> list[Regression]:
        """Each regression, with its culprit search."""
        return [Regression(r, self.night.bisection(r.python, r.suite)) for r in self.night.regressions]

    def results(self, category: Category) -> list[Result]:
        """The results of one category."""
        return [r for r in self.night.results if r.category is category]

    @property
    def others(self) -> list[Result]:
        """Every result that is neither a regression nor still passing (those are only counted)."""
        skip = (Category.REGRESSED, Category.STILL_PASSING)
        return [r for c in CATEGORY_ORDER if c not in skip for r in self.results(c)]


def view(store: Store, record: RunRecord) -> NightlyView | None:
    """The nightly part of a run's report (None: not a classified nightly)."""
    row = store.nightly(record.id)
    if row is None:
        return None
    night = codec.loads(Night, row.document, "nightly.json")
    before = history.recent(store, record.distribution, before=record.started, limit=TREND_NIGHTS - 1)
    trend = tuple(_point(n) for n in [*reversed(before), night])
    return NightlyView(night, trend)


def _point(night: Night) -> TrendNight:
    return TrendNight(
        night.run, night.as_of, night.pass_rate, str(night.verdict), {str(c): n for c, n in night.counts.items()}
    )


def short_time(as_of: str) -> str:
    """`11-24 03:00` for a trend's axis."""
    try:
        return dt.datetime.fromisoformat(as_of.replace("Z", "+00:00")).strftime("%m-%d %H:%M")
    except ValueError:
        return as_of
