"""The nightly plan: per Python, the blessed baseline, the latest cell and one cell per upgrade.

The night's inputs — its as-of time and each Python's newest releases — are kept in the plan
(`Plan.inputs`), so a resumed nightly rebuilds exactly the same cells, and a replay with the same
`--as-of` asks uv exactly the same question.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from curator.model import codec
from curator.model.distribution import Distribution
from curator.model.ids import PyVersion
from curator.model.outcome import NightPlan
from curator.plan.cells import Cell, Plan, cells_for
from curator.resolve.upstream import Newest

BASELINE, LATEST = "baseline", "latest"


@dataclass(frozen=True)
class Inputs:
    """What a night starts from: the upstream snapshot time and what was newest then (its JSON form
    is kept in the stored plan, `Plan.inputs`)."""

    as_of: str  # RFC 3339, UTC
    newest: Mapping[PyVersion, Mapping[NormalizedName, Version | None]]
    passed_over: Mapping[PyVersion, Mapping[NormalizedName, tuple[str, ...]]]

    @classmethod
    def of(cls, as_of: str, found: Mapping[PyVersion, Mapping[NormalizedName, Newest]]) -> Inputs:
        """From what `upstream.newest_releases` found."""
        return cls(
            as_of,
            {py: {name: item.version for name, item in per.items()} for py, per in found.items()},
            {
                py: {name: item.passed_over for name, item in per.items() if item.passed_over}
                for py, per in found.items()
            },
        )

    def upgrades(self, distribution: Distribution, python: PyVersion) -> dict[NormalizedName, Version]:
        """The packages whose newest release on `python` is not the blessed one, in manifest order."""
        newest = self.newest.get(python, {})
        return {
            p.name: version
            for p in distribution.packages
            if (version := newest.get(p.name)) is not None and version != p.blessed
        }


def distributions(distribution: Distribution, as_of: str) -> tuple[Distribution, Distribution]:
    """The distribution a night runs (uv resolves as of `as_of`; every failing suite runs once more,
    whatever `policy.retries` says: that retry is the confirmation) and the one its cells' keys
    come from — the same without the as-of time, because the resolved lock in each outcome key says
    exactly what the time changed, so an unchanged cell is reused from the night before."""
    policy = replace(distribution.policy, retries=max(1, distribution.policy.retries))
    run = replace(distribution, index=replace(distribution.index, exclude_newer=as_of), policy=policy)
    keys = replace(run, index=replace(run.index, exclude_newer=None))
    return run, keys


def first_batch(keys: Distribution, inputs: Inputs, pythons: Sequence[PyVersion]) -> Plan:
    """Per Python: the baseline, the latest cell (every upgrade at once), one cell per upgrade."""
    wanted: list[tuple[PyVersion, Mapping[NormalizedName, Version], str]] = []
    for python in pythons:
        upgrades = inputs.upgrades(keys, python)
        wanted.append((python, {}, BASELINE))
        wanted.append((python, upgrades, LATEST))
        for name, version in upgrades.items():
            verb = "upgrade" if version > keys.package(name).blessed else "downgrade"
            wanted.append((python, {name: version}, f"{verb} {name}"))
    return Plan(NightPlan.NIGHTLY, cells_for(keys, wanted), codec.to_json(inputs))


def probes(
    keys: Distribution,
    python: PyVersion,
    upgrades: Mapping[NormalizedName, Version],
    subsets: Iterable[tuple[Iterable[str], str]],
) -> tuple[Cell, ...]:
    """Probe cells, one per `(upgrade names, reason)`: the blessed set with those upgrades applied."""
    wanted = [
        (python, {canonicalize_name(n): upgrades[canonicalize_name(n)] for n in names}, reason)
        for names, reason in subsets
    ]
    return cells_for(keys, wanted)


def find(plan_cells: Iterable[Cell], python: str, changed: Iterable[str]) -> Cell | None:
    """The cell of `python` that changes exactly the packages `changed`."""
    wanted = {canonicalize_name(n) for n in changed}
    return next((c for c in plan_cells if c.python == python and set(c.changes) == wanted), None)
