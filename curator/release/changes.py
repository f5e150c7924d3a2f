"""What changed between two releases (or runs): packages per Python, outcomes per cell × suite.

Pure functions over versions and statuses; `CHANGES.md` is rendered here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.model.codec import spec
from curator.model.ids import PyVersion
from curator.release.provenance import Evidence

Versions = Mapping[NormalizedName, Version]


def python_key(python: str) -> Version:
    """Sort key for "3.9" < "3.12"."""
    return Version(python)


@dataclass(frozen=True)
class Present:
    """A package on one side only."""

    name: str
    version: str


@dataclass(frozen=True)
class Moved:
    """A package at another version."""

    name: str
    old: str
    new: str


@dataclass(frozen=True)
class PackageChanges:
    """How one Python's package set changed (its JSON form is documented in docs/release.md)."""

    python: str = field(metadata=spec(json=None))  # the key it is written under
    added: tuple[Present, ...] = ()
    removed: tuple[Present, ...] = ()
    upgraded: tuple[Moved, ...] = ()
    downgraded: tuple[Moved, ...] = ()
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """Nothing added, removed, upgraded or downgraded."""
        return not (self.added or self.removed or self.upgraded or self.downgraded)

    def names(self) -> set[str]:
        """Every package that changed."""
        return {c.name for group in (self.added, self.removed, self.upgraded, self.downgraded) for c in group}

    def lines(self, manifest: frozenset[str] = frozenset()) -> list[str]:
        """One line per change, manifest packages marked."""

        def mark(name: str) -> str:
            return f"{name} (blessed)" if name in manifest else name

        out = [f"upgraded {mark(m.name)} {m.old} → {m.new}" for m in self.upgraded]
        out += [f"downgraded {mark(m.name)} {m.old} → {m.new}" for m in self.downgraded]
        out += [f"added {mark(p.name)} {p.version}" for p in self.added]
        out += [f"removed {mark(p.name)} {p.version}" for p in self.removed]
        return out


def compare(old: Mapping[PyVersion, Versions], new: Mapping[PyVersion, Versions]) -> list[PackageChanges]:
    """Per Python (of either side), the packages added, removed, upgraded and downgraded."""
    changes: list[PackageChanges] = []
    for python in sorted(set(old) | set(new), key=python_key):
        before, after = old.get(python, {}), new.get(python, {})
        upgraded, downgraded = [], []
        for name in sorted(set(before) & set(after)):
            if after[name] > before[name]:
                upgraded.append(Moved(str(name), str(before[name]), str(after[name])))
            elif after[name] < before[name]:
                downgraded.append(Moved(str(name), str(before[name]), str(after[name])))
        changes.append(
            PackageChanges(
                python=python,
                added=tuple(Present(str(n), str(after[n])) for n in sorted(set(after) - set(before))),
                removed=tuple(Present(str(n), str(before[n])) for n in sorted(set(before) - set(after))),
                upgraded=tuple(upgraded),
                downgraded=tuple(downgraded),
                unchanged=sum(1 for n in set(before) & set(after) if before[n] == after[n]),
            )
        )
    return changes


@dataclass(frozen=True)
class OutcomeChange:
    """A cell × suite whose status differs between two runs (None: not in that run)."""

    cell: str
    suite: str
    old: str | None
    new: str | None

    def describe(self) -> str:
        """`py3.12-baseline × sides: passed → failed`."""
        return f"{self.cell} × {self.suite}: {self.old or '(not run)'} → {self.new or '(not run)'}"


def compare_outcomes(old: Mapping[tuple[str, str], str], new: Mapping[tuple[str, str], str]) -> list[OutcomeChange]:
    """Every (cell, suite) whose status changed, appeared or disappeared."""
    return [
        OutcomeChange(cell, suite, old.get((cell, suite)), new.get((cell, suite)))
        for cell, suite in sorted(set(old) | set(new))
        if old.get((cell, suite)) != new.get((cell, suite))
    ]


def render_changes(
    *,
    title: str,
    signed_by: str | None,
    evidence: Evidence,
    signers: str | None = None,
    previous: str | None,
    changes: Sequence[PackageChanges],
    current: Mapping[PyVersion, Versions],
    manifest: frozenset[str],
    date: str,
) -> str:
    """CHANGES.md: the signature status, the gate's evidence, and what changed since `previous`."""
    run = evidence.run
    out = [f"# {title}", ""]
    if signers is not None:
        out += [
            f"Signed by its maintainers: {signers} sign `SHA256SUMS` (SSH signatures in "
            "`signatures/<principal>.sig`, namespace `curator`; check them with `curator verify --signers FILE`).",
            "",
        ]
    elif signed_by is None:
        out += [
            "**UNSIGNED RELEASE.** Cut with `--unsigned`: `SHA256SUMS` shows the files are intact, "
            "but nothing shows who made them.",
            "",
        ]
    else:
        out += [f"Signed (SSH signature, namespace `curator`) by the ed25519 key `{signed_by}`.", ""]
    out += [
        f"Released {date} from run `{run.id}` (strategy `{run.strategy}`, manifest sha256 `{run.manifest_sha256}`).",
        "",
        "## Evidence",
        "",
        "The release gate held: every baseline cell (every package at its blessed version) passed or failed as "
        "expected.",
        "",
    ]
    out += [f"- `{c.cell_id}`: {c.describe()}" for c in evidence.baseline.values()]
    if evidence.platforms:
        out += ["", "Platforms (each ships its locks, `locks/py<X.Y>-<platform>.txt`):", ""]
        out += [f"- `{state.platform}` ({state.role}): {state.coverage}" for state in evidence.platforms]
    primary = {c.cell_id for c in evidence.baseline.values()}
    others = [c for c in evidence.cells if c.cell_id not in primary and not (c.baseline and evidence.platforms)]
    if others:
        out += ["", f"Other cells of the run ({len(others)}), each changing some packages from blessed:", ""]
        for cell in others:
            changed = " ".join(cell.changes.requirements())
            out.append(f"- `{cell.cell_id}` ({changed}): {cell.describe()}")
    out += ["", "Full results: `report/cells.csv`, `report/matrices/`, `report/run.json`.", ""]
    if previous is None:
        out += ["## Changes", "", "First release in this folder: nothing to compare with.", ""]
        for python in sorted(current, key=python_key):
            pins = ", ".join(f"{n} {v}" for n, v in sorted(current[python].items()))
            out.append(f"- Python {python}: {pins}")
        return "\n".join(out).rstrip() + "\n"
    out += [f"## Changes since {previous}", ""]
    for change in changes:
        out.append(f"### Python {change.python}")
        out.append("")
        lines = change.lines(manifest)
        out += [f"- {line}" for line in lines] or ["- no changes"]
        out += [_tried(evidence, change, manifest), ""]
    return "\n".join(out).rstrip() + "\n"


def _tried(evidence: Evidence, change: PackageChanges, manifest: frozenset[str]) -> str:
    """The run's other cells that tried a changed blessed package at another version, as evidence."""
    names = change.names() & manifest
    cells = [c for c in evidence.cells if not c.baseline and c.python == change.python and set(c.changes) & names]
    if not cells:
        return ""
    tried = "; ".join(f"`{c.cell_id}` ({' '.join(c.changes.requirements())}): {c.describe()}" for c in cells)
    return f"\nTried in this run at other versions: {tried}."
