"""Compatibility matrices (pandas): for each pair of manifest packages joined by a dependency
edge, and each Python, a version × version table whose values are statuses.

A square shows the worst status of every cell × suite behind it (a cell that holds both
versions), so a single failing suite is never hidden by passing ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from packaging.version import Version

from curator.model.distribution import Distribution
from curator.model.ids import PyVersion, SuiteName
from curator.model.outcome import Status, worst


def pin_columns(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with one column `pin:<package>` per manifest package, holding the cell's version."""
    versions = pd.DataFrame(
        [{name: str(version) for name, version in pins.items()} for pins in table["pins"]], index=table.index
    )
    return pd.concat([table, versions.add_prefix("pin:")], axis=1)


def varied_pairs(table: pd.DataFrame, distribution: Distribution, python: str) -> list[tuple[str, str]]:
    """Every pair of manifest packages that both take more than one version on `python` (the
    matrices to draw when a Python has no baseline lock to read dependency edges from)."""
    pinned = pin_columns(table[table["python"] == python])
    varied = [p.name for p in distribution.packages if pinned.get(f"pin:{p.name}", pd.Series()).nunique() > 1]
    return list(itertools.combinations(varied, 2))


def relevant_suites(distribution: Distribution, row: str, column: str) -> set[SuiteName] | None:
    """The suites that speak to whether `row` works with `column`.

    Suites requiring both, and `row`'s own tests; failing that, suites touching either;
    None when no suite touches them (then every suite counts).
    """
    both = {s.name for s in distribution.suites if {row, column} <= s.requires}
    own = {p.suite_name for p in distribution.packages if p.name == row and p.tests}
    if both | own:
        return both | own
    either = {s.name for s in distribution.suites if {row, column} & s.requires}
    either |= {p.suite_name for p in distribution.packages if p.name in (row, column) and p.tests}
    return either or None


def _pair_rows(
    table: pd.DataFrame, distribution: Distribution | None, python: str, row: str, column: str
) -> pd.DataFrame:
    rows = table[table["python"] == python]
    suites = relevant_suites(distribution, row, column) if distribution is not None else None
    if suites is not None:
        rows = rows[rows["suite"].isin(suites)]
    return pin_columns(rows)


def matrix(
    table: pd.DataFrame, python: str, row: str, column: str, distribution: Distribution | None = None
) -> pd.DataFrame:
    """Versions of `row` × versions of `column` on `python`; values: the worst status, or ''.

    With `distribution`, only the suites relevant to the pair count (see `relevant_suites`).
    """
    pinned = _pair_rows(table, distribution, python, row, column)
    a, b = f"pin:{row}", f"pin:{column}"
    if a not in pinned or b not in pinned:
        return pd.DataFrame()
    pinned = pinned.dropna(subset=[a, b])
    rows = sorted(pinned[a].unique(), key=Version)
    columns = sorted(pinned[b].unique(), key=Version)
    result = pd.DataFrame("", index=pd.Index(rows, name=row), columns=pd.Index(columns, name=column))
    for (va, vb), group in pinned.groupby([a, b]):
        status = worst(Status(s) for s in _own_cells(group, row, column)["status"])
        result.loc[va, vb] = str(status) if status else ""
    return result


def _own_cells(group: pd.DataFrame, row: str, column: str) -> pd.DataFrame:
    """Of the outcomes behind one square, those of cells that change nothing but the pair
    (everything else as it ships, or — scope: minimal, a split — left out), when there are any;
    and of those, the ones that ran, when any did: a refusal where another environment holding
    both versions installed is about the other packages (the findings name them), not the pair."""
    own = group[group["changes"].map(lambda changes: set(changes) <= {row, column})]
    chosen = own if not own.empty else group
    ran = chosen[chosen["status"] != str(Status.UNRESOLVABLE)]
    return ran if not ran.empty else chosen


def matrix_counts(
    table: pd.DataFrame, python: str, row: str, column: str, distribution: Distribution | None = None
) -> pd.DataFrame:
    """How many cell × suite outcomes stand behind each square of `matrix`."""
    pinned = _pair_rows(table, distribution, python, row, column)
    a, b = f"pin:{row}", f"pin:{column}"
    if a not in pinned or b not in pinned:
        return pd.DataFrame()
    counts = pinned.groupby([a, b]).size().unstack(fill_value=0)
    counts = counts.reindex(index=sorted(counts.index, key=Version), columns=sorted(counts.columns, key=Version))
    return counts.rename_axis(index=row, columns=column)


def all_matrices(
    table: pd.DataFrame, distribution: Distribution, edges: Mapping[PyVersion, Sequence[tuple[str, str]]]
) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Every (python, dependent, dependency) matrix of a run, for the given pairs per Python."""
    found: dict[tuple[str, str, str], pd.DataFrame] = {}
    if table.empty:
        return found
    for python in sorted(table["python"].unique(), key=Version):
        for dependent, dependency in edges.get(PyVersion(python), ()):
            result = matrix(table, python, dependent, dependency, distribution)
            if not result.empty:
                found[python, dependent, dependency] = result
    return found


def telling(result: pd.DataFrame, *, blamed: bool = True) -> bool:
    """Whether a matrix tells more than the candidates' summary: a square that did not pass, or two
    versions of each package tested against each other (the four squares of some 2 × 2 all tested).

    An L of passing squares — each package's other candidate beside the other's blessed version, as
    `upgrades` tests them — says no more than "each candidate passed". A refused square counts only
    when the resolver `blamed` the pair (named both packages); a refusal it blames on other packages
    (a candidate refused because of a third package's upper bound) is that finding's story, not this
    matrix's.
    """
    values = [[str(v) for v in row] for row in result.to_numpy()]
    quiet = {"", str(Status.PASSED)} | (set() if blamed else {str(Status.UNRESOLVABLE)})
    if any(v not in quiet for row in values for v in row):
        return True
    tested = [frozenset(j for j, v in enumerate(row) if v and v != str(Status.UNRESOLVABLE)) for row in values]
    return any(len(a & b) >= 2 for a, b in itertools.combinations(tested, 2))


def matrix_csv(result: pd.DataFrame) -> str:
    """A matrix as CSV; the corner names both packages (`pandas \\ numpy`: rows \\ columns)."""
    corner = f"{result.index.name} \\ {result.columns.name}"
    return result.rename_axis(index=corner, columns=None).to_csv()


# Outcomes that say nothing about whether code works: the suite never ran.
_NOT_RUN = frozenset({str(Status.UNRESOLVABLE), str(Status.SKIPPED)})


def pass_rate(counts: Mapping[str, int]) -> float | None:
    """Passed outcomes over those that ran (unresolvable and skipped did not); None when none ran."""
    ran = sum(n for status, n in counts.items() if status not in _NOT_RUN)
    return counts.get(str(Status.PASSED), 0) / ran if ran else None


def suite_pass_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Per suite: how many outcomes of each status, and the pass rate (see `pass_rate`).

    Columns: `suite`, `outcomes`, one column per status that occurs, `pass_rate` (0–1, NaN when
    nothing ran); worst pass rate first.
    """
    if table.empty:
        return pd.DataFrame(columns=["suite", "outcomes", "pass_rate"])
    counts = table.groupby(["suite", "status"]).size().unstack(fill_value=0)
    present = [str(s) for s in Status if str(s) in counts.columns]
    counts = counts[present]
    result = counts.reset_index()
    result.insert(1, "outcomes", counts.sum(axis=1).to_numpy())
    result["pass_rate"] = [pass_rate({str(k): int(v) for k, v in row.items()}) for _, row in counts.iterrows()]
    return result.sort_values(["pass_rate", "suite"], na_position="first").reset_index(drop=True)


def candidate_summary(table: pd.DataFrame, distribution: Distribution) -> pd.DataFrame:
    """Every candidate of every manifest package × Python: the worst status of the suites that
    speak to the package (those that require it, and its own tests), in the cells that hold the
    candidate and change nothing else (any cell holding it, when there are none); '' untested.

    The index is (package, version) in manifest order, the columns the Pythons. One pass over the
    rows finds each candidate's own cells (a run of a thousand packages has thousands of rows per
    Python: no per-candidate scan of the table).
    """
    pythons = sorted(table["python"].unique(), key=Version) if not table.empty else []
    index = pd.MultiIndex.from_tuples(
        [(p.name, str(v)) for p in distribution.packages for v in p.versions], names=["package", "version"]
    )
    result = pd.DataFrame("", index=index, columns=pd.Index(pythons, name="python"))
    if table.empty:
        return result
    rows = list(zip(table["python"], table["pins"], table["changes"], table["suite"], table["status"], strict=True))
    holding = _Holding(rows)
    found: dict[str, dict[tuple[str, str], str]] = {}  # python → candidate → worst status
    for package in distribution.packages:
        suites = {s.name for s in distribution.suites if package.name in s.requires}
        suites |= {package.suite_name} if package.tests else set()
        for version in package.versions:
            chosen = holding.chosen(str(package.name), version, blessed=version == package.blessed)
            if suites and any(rows[i][3] in suites for i in chosen):
                chosen = [i for i in chosen if rows[i][3] in suites]
            by_python: dict[str, list[Status]] = {}
            for i in chosen:
                by_python.setdefault(str(rows[i][0]), []).append(Status(rows[i][4]))
            for python, statuses in by_python.items():
                status = worst(statuses)
                found.setdefault(python, {})[package.name, str(version)] = str(status) if status else ""
    for python, values in found.items():
        result[python] = [values.get(key, "") for key in result.index]
    return result


class _Holding:
    """Which rows hold which candidate, found in one pass over (python, pins, changes, suite, status)."""

    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.changed: dict[tuple[str, str], list[int]] = {}  # a non-blessed candidate → the rows holding it
        self.alone: dict[tuple[str, str], list[int]] = {}  # … of cells that change nothing else
        self.unchanged: list[int] = []  # rows of cells that change nothing (baseline cells)
        for i, row in enumerate(rows):
            changes = row[2]
            if not changes:
                self.unchanged.append(i)
            for name, version in changes.items():
                self.changed.setdefault((name, str(version)), []).append(i)
                if len(changes) == 1:
                    self.alone.setdefault((name, str(version)), []).append(i)

    def chosen(self, name: str, version: Version, *, blessed: bool) -> list[int]:
        """The rows of cells holding the candidate and changing nothing else, else of any cell holding it."""
        if blessed:  # held by every cell that installs the package unchanged
            own = [i for i in self.unchanged if name in self.rows[i][1]]
            return own or [i for i, row in enumerate(self.rows) if name in row[1] and name not in row[2]]
        key = (name, str(version))
        return self.alone.get(key, []) or self.changed.get(key, [])
