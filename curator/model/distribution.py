"""The distribution as curator models it: frozen dataclasses of the manifest (`Distribution`,
`Package`, `Suite`, `Policy` …), read from distribution.yaml once by `curator.manifest`; nothing
downstream touches YAML."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from curator.model.ids import ANY_PLATFORM, Platform, PyVersion, SuiteName
from curator.model.pins import Pins

DEFAULT_MANIFEST = "distribution.yaml"
DEFAULT_INDEX_URL = "https://pypi.org/simple"
DEFAULT_TEST_REQUIRES = ("pytest",)
MAX_BYTES = 16 * 2**20  # a manifest larger than this is refused, not read
MAX_DEPTH = 64  # nesting deeper than this is refused before it can exhaust the stack
MAX_TIMEOUT = 7 * 24 * 3600  # policy.timeout: a week per cell
MAX_RETRIES = 100
MAX_MAX_CELLS = 1_000_000
MAX_THRESHOLD = 1000  # governance.threshold: signatures a release needs


class Strategy(enum.StrEnum):
    """Which cells a plan holds (docs/manifest.md, "matrix")."""

    BASELINE = "baseline"
    UPGRADES = "upgrades"
    PAIRS = "pairs"
    FULL = "full"
    COVER = "cover"


class Scope(enum.StrEnum):
    """What a cell installs: the whole distribution, what its changes' suites involve, or, per
    suite, the smallest environment that holds the suite's `requires` (docs/manifest.md)."""

    FULL = "full"
    INVOLVED = "involved"
    MINIMAL = "minimal"


@dataclass(frozen=True)
class Index:
    """Where packages come from."""

    url: str | None = None
    find_links: tuple[Path, ...] = ()
    no_index: bool = False
    exclude_newer: str | None = None

    def describe(self) -> str:
        """One line for humans."""
        parts = ["find-links only" if self.no_index else (self.url or DEFAULT_INDEX_URL)]
        parts += [f"find-links {p}" for p in self.find_links]
        if self.exclude_newer:
            parts.append(f"as of {self.exclude_newer}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Package:
    """A manifest package: its candidates (ascending), the blessed one, its own tests."""

    name: NormalizedName
    versions: tuple[Version, ...]
    blessed: Version
    tests: tuple[str, ...] = ()
    track: SpecifierSet | None = None
    maintainers: tuple[str, ...] = ()  # handles (`@octocat`) or e-mail addresses, named in nightly notices

    @property
    def others(self) -> tuple[Version, ...]:
        """The non-blessed candidates."""
        return tuple(v for v in self.versions if v != self.blessed)

    @property
    def suite_name(self) -> SuiteName:
        """The suite name under which this package's own tests are reported."""
        return SuiteName(f"{self.name}:tests")


@dataclass(frozen=True)
class Suite:
    """An integration suite: a pytest folder that runs in every cell holding `requires`."""

    name: SuiteName
    path: Path
    requires: frozenset[NormalizedName]


@dataclass(frozen=True)
class Include:
    """A hand-picked cell (`matrix.include`): these pins, on these Pythons (every one when empty).

    A version need not be a candidate: an include is a cell somebody chose, like a historic stack.
    """

    pins: Pins
    python: tuple[PyVersion, ...] = ()
    line: int = 0

    def applies_to(self, python: str) -> bool:
        """Whether the include asks for a cell on `python`."""
        return not self.python or python in self.python

    def describe(self) -> str:
        """`flask==1.1.2 werkzeug==1.0.1 on 3.11` — as a person would say it."""
        where = f" on {', '.join(self.python)}" if self.python else ""
        return " ".join(self.pins.requirements()) + where


@dataclass(frozen=True)
class Exclude:
    """A pattern of cells never worth building (`matrix.exclude`).

    A cell matches when it holds every package the pattern names at a version its specifier
    allows, and its Python matches `python` (when given) — a partial match on the named keys, as
    in GitHub Actions. A cell that does not hold a named package does not match.
    """

    when: tuple[tuple[NormalizedName, SpecifierSet], ...]
    python: SpecifierSet | None = None
    line: int = 0

    def matches(self, python: str, pins: Pins) -> bool:
        """Whether the cell (`python`, `pins`) is one this pattern excludes."""
        if self.python is not None and not self.python.contains(Version(python), prereleases=True):
            return False
        return all(
            (version := pins.get(name)) is not None and spec.contains(version, prereleases=True)
            for name, spec in self.when
        )

    def describe(self) -> str:
        """`pandas==2.1.4, numpy>=2, python==3.11`."""
        parts = [f"{name}{spec}" for name, spec in self.when]
        return ", ".join(parts + ([f"python{self.python}"] if self.python is not None else []))


@dataclass(frozen=True)
class Matrix:
    """How the plan is drawn."""

    strategy: Strategy = Strategy.PAIRS
    max_cells: int = 500
    scope: Scope = Scope.FULL
    include: tuple[Include, ...] = ()
    exclude: tuple[Exclude, ...] = ()
    split_unresolvable: bool = False  # retry the suites of a refused cell in minimal cells


SEED_PACKAGES = ("pip", "setuptools", "wheel")
"""What `environment.seed: true` puts in every cell, as `python -m venv` (before 3.12) and
virtualenv give; resolved into the lock like any requirement."""

RESERVED_VARIABLES = frozenset({"PATH", "VIRTUAL_ENV", "PYTHONHOME"})
"""Variables nox and curator set for a cell; a manifest cannot override them (nor `CURATOR_*`)."""


@dataclass(frozen=True)
class Environment:
    """How every cell's environment is made: seeded or not, and the variables every suite sees."""

    seed: bool = False
    env: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def seed_packages(self) -> tuple[str, ...]:
        """The requirements seeding adds to every cell's lock (none unless `seed: true`)."""
        return SEED_PACKAGES if self.seed else ()


@dataclass(frozen=True)
class Platforms:
    """The platforms a distribution is made for (`platforms`), each one of uv's `--python-platform`
    targets: `tested` ones have every cell of the plan and must pass; `locked` ones (locked only)
    are resolved, hash-locked and shipped, and tested only where an executor serves them (their
    baseline cells). A tested platform is locked and shipped too. The first tested platform is the
    *primary* one: its locks are the bundle's `locks/py<X.Y>.txt`, as for a manifest without
    `platforms`."""

    tested: tuple[Platform, ...]
    locked: tuple[Platform, ...] = ()

    @property
    def every(self) -> tuple[Platform, ...]:
        """Tested, then locked-only: every platform a release ships."""
        return self.tested + self.locked

    @property
    def primary(self) -> Platform:
        """The first tested platform (the release's default locks)."""
        return self.tested[0]

    def is_tested(self, platform: str) -> bool:
        """Whether `platform` is one the manifest tests (not only locks)."""
        return platform in self.tested


def platform_axis(platforms: Platforms | None) -> tuple[tuple[Platform, bool], ...]:
    """The platforms cells are planned and gated on, each with whether it is tested (every cell of
    the strategy, which must pass) or only locked (its baseline cells): `("", True)` alone for a
    manifest naming none."""
    if platforms is None:
        return ((ANY_PLATFORM, True),)
    return tuple((p, True) for p in platforms.tested) + tuple((p, False) for p in platforms.locked)


@dataclass(frozen=True)
class Rule:
    """A policy exception: where it applies (`when`, `suites`), why, whose, until when."""

    when: tuple[tuple[str, SpecifierSet], ...]
    reason: str
    owner: str | None = None
    expires: dt.date | None = None
    suites: frozenset[str] = frozenset()
    line: int = 0

    def matches(self, python: str, pins: Pins) -> bool:
        """Whether a cell with this Python and these pins meets every condition of `when`."""
        for name, spec in self.when:
            if name == "python":
                if not spec.contains(Version(python), prereleases=True):
                    return False
            elif (version := pins.get(name)) is None or not spec.contains(version, prereleases=True):
                return False
        return True

    def expired(self, today: dt.date) -> bool:
        """Whether the exception's expiry date has passed."""
        return self.expires is not None and today > self.expires

    def describe(self) -> str:
        """`pandas<2.2.2, numpy>=2` — the condition as a person would write it (`suites gpu, cuda`
        for a rule that names suites only)."""
        return ", ".join(f"{name}{spec}" for name, spec in self.when) or f"suites {', '.join(sorted(self.suites))}"


@dataclass(frozen=True)
class ExpectedFailure(Rule):
    """Outcomes in cells matching `when` are expected to fail (`expected-fail`, not a failure)."""


@dataclass(frozen=True)
class ExpectedSkip(Rule):
    """Suites expected to run no test where the rule applies (every test skipped, or none
    collected): their `skipped` is then no gap in the release's evidence. `when` may be empty
    (the rule's `suites` everywhere)."""


@dataclass(frozen=True)
class Policy:
    """Timeouts, retries and the exceptions: expected failures and expected skips."""

    timeout: float = 900.0
    retries: int = 1
    expected_failures: tuple[ExpectedFailure, ...] = ()
    expected_skips: tuple[ExpectedSkip, ...] = ()


@dataclass(frozen=True)
class Governance:
    """Who may sign a release, a yank and a change of signers, and how many of them must
    (docs/governance.md). The signers file is read and checked where it is used
    (`release.governance.load`), so its errors name its own lines."""

    signers: Path  # an OpenSSH allowed_signers file, absolute
    threshold: int


@dataclass(frozen=True)
class Distribution:
    """A parsed distribution.yaml."""

    name: str
    version: str
    python: tuple[PyVersion, ...]
    packages: tuple[Package, ...]
    path: Path
    sha256: str
    index: Index = Index()
    suites: tuple[Suite, ...] = ()
    matrix: Matrix = Matrix()
    policy: Policy = Policy()
    test_requires: tuple[str, ...] = DEFAULT_TEST_REQUIRES
    environment: Environment = Environment()
    governance: Governance | None = None
    platforms: Platforms | None = None  # None: the manifest names none (cells run wherever they are sent)
    locations: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False)

    @property
    def runner_requires(self) -> tuple[str, ...]:
        """What every cell resolves beside its pins: the test runner, and the seed packages."""
        return (*self.test_requires, *self.environment.seed_packages)

    @property
    def root(self) -> Path:
        """The folder relative paths in the manifest are taken from."""
        return self.path.parent

    def package(self, name: str) -> Package:
        """The manifest package called `name` (any spelling)."""
        try:
            return self._by_name[canonicalize_name(name)]
        except KeyError:
            raise KeyError(name) from None

    @cached_property
    def _by_name(self) -> dict[NormalizedName, Package]:
        return {p.name: p for p in self.packages}

    @cached_property
    def package_names(self) -> tuple[NormalizedName, ...]:
        """Manifest packages, in manifest order (computed once: a plan asks for every cell)."""
        return tuple(p.name for p in self.packages)

    @property
    def blessed(self) -> dict[NormalizedName, Version]:
        """Every package at its blessed version."""
        return {p.name: p.blessed for p in self.packages}

    def where(self, key: str) -> str:
        """`FILE:LINE:COL` of a dotted key (`matrix.max_cells`), or just the file."""
        if key in self.locations:
            line, column = self.locations[key]
            return f"{self.path}:{line}:{column}"
        return f"{self.path}:1:1"
