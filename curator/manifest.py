"""distribution.yaml → frozen, typed models, with line-exact errors.

The manifest is parsed once. YAML is composed into nodes (not loaded into dicts) so every
value keeps its position and its text exactly as written: `2.0` stays the string "2.0",
and each mistake is reported as `FILE:LINE:COL: message` with a fix where one is obvious.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import hashlib
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import NoReturn, TypeVar

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from curator.errors import ManifestError
from curator.ids import PyVersion, SuiteName
from curator.pins import Pins

DEFAULT_MANIFEST = "distribution.yaml"
DEFAULT_INDEX_URL = "https://pypi.org/simple"
DEFAULT_TEST_REQUIRES = ("pytest",)


class Strategy(enum.StrEnum):
    """Which cells a plan holds (docs/manifest.md, "matrix")."""

    BASELINE = "baseline"
    UPGRADES = "upgrades"
    PAIRS = "pairs"
    FULL = "full"
    COVER = "cover"


class Scope(enum.StrEnum):
    """What a cell installs: the whole distribution, or only what its suites involve."""

    FULL = "full"
    INVOLVED = "involved"


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
class Matrix:
    """How the plan is drawn."""

    strategy: Strategy = Strategy.PAIRS
    max_cells: int = 500
    scope: Scope = Scope.FULL


@dataclass(frozen=True)
class ExpectedFailure:
    """A policy exception: outcomes in cells matching `when` are expected to fail."""

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
        """`pandas<2.2.2, numpy>=2` — the condition as a person would write it."""
        return ", ".join(f"{name}{spec}" for name, spec in self.when)


@dataclass(frozen=True)
class Policy:
    """Timeouts, retries and the expected failures."""

    timeout: float = 900.0
    retries: int = 1
    expected_failures: tuple[ExpectedFailure, ...] = ()


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
    locations: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False)

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


# --------------------------------------------------------------------------- parsing

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PYTHON_RE = re.compile(r"^3\.\d{1,2}$")
_TOP_KEYS = (
    "distribution",
    "version",
    "python",
    "index",
    "packages",
    "suites",
    "matrix",
    "policy",
    "test_requires",
)
_INDEX_KEYS = ("url", "find_links", "no_index", "exclude_newer")
_PACKAGE_KEYS = ("versions", "blessed", "tests", "track")
_SUITE_KEYS = ("path", "requires")
_MATRIX_KEYS = ("strategy", "max_cells", "scope")
_POLICY_KEYS = ("timeout", "retries", "expected_failures")
_EXPECTED_KEYS = ("when", "reason", "owner", "expires", "suites")

_constructor = SafeConstructor()
_E = TypeVar("_E", bound=enum.StrEnum)


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Reader:
    """Walks composed YAML nodes, raising `ManifestError` at the offending node."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.locations: dict[str, tuple[int, int]] = {}

    def fail(self, node: Node, message: str) -> NoReturn:
        mark = node.start_mark
        raise ManifestError(self.path, mark.line + 1, mark.column + 1, message)

    def note(self, key: str, node: Node) -> None:
        self.locations[key] = (node.start_mark.line + 1, node.start_mark.column + 1)

    def mapping(
        self,
        node: Node,
        where: str,
        allowed: Sequence[str] | None = None,
        required: Sequence[str] = (),
    ) -> dict[str, tuple[ScalarNode, Node]]:
        """The entries of a mapping node; unknown, duplicate and missing keys are errors."""
        if not isinstance(node, MappingNode):
            self.fail(node, f"{where} must be a mapping of keys to values")
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, f"keys in {where} must be plain words")
            key = str(key_node.value)
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                self.fail(key_node, f"'{key}' appears twice in {where} (first on line {first})")
            if allowed is not None and key not in allowed:
                choices = ", ".join(allowed)
                self.fail(
                    key_node,
                    f"unknown key '{key}' in {where}{_hint(key, allowed)} (allowed: {choices})",
                )
            entries[key] = (key_node, value_node)
        for key in required:
            if key not in entries:
                self.fail(node, f"{where} is missing the required key '{key}'")
        return entries

    def scalar(self, node: Node, what: str) -> object:
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a single value, not a list or mapping")
        try:
            return _constructor.construct_object(node)
        except ConstructorError as exc:
            self.fail(node, f"{what}: {exc.problem}")

    def text(self, node: Node, what: str) -> str:
        """A scalar as written (so `2.0` stays "2.0"); empty and null are errors."""
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a single value, not a list or mapping")
        if node.tag == "tag:yaml.org,2002:null" or not str(node.value).strip():
            self.fail(node, f"{what} must not be empty")
        return str(node.value).strip()

    def texts(self, node: Node, what: str) -> list[tuple[Node, str]]:
        """A list of scalars (a single scalar counts as a list of one)."""
        if isinstance(node, ScalarNode):
            return [(node, self.text(node, what))]
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what} must be a list")
        return [(item, self.text(item, what)) for item in node.value]

    def boolean(self, node: Node, what: str) -> bool:
        value = self.scalar(node, what)
        if not isinstance(value, bool):
            self.fail(node, f"{what} must be true or false, not '{node.value}'")
        return value

    def number(self, node: Node, what: str, *, integer: bool, minimum: float) -> float:
        value = self.scalar(node, what)
        ok_types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types) or value < minimum:
            kind = "a whole number" if integer else "a number"
            self.fail(node, f"{what} must be {kind} of at least {minimum:g}, not '{node.value}'")
        return float(value)

    def date(self, node: Node, what: str) -> dt.date:
        value = self.scalar(node, what)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(node, f"{what} must be a date like 2026-11-01, not '{node.value}'")

    def enum_value(self, node: Node, what: str, kind: type[_E]) -> _E:
        value = self.text(node, what)
        try:
            return kind(value)
        except ValueError:
            choices = [member.value for member in kind]
            self.fail(
                node,
                f"{what} '{value}' is not one of {', '.join(choices)}{_hint(value, choices)}",
            )

    def name(self, node: Node, what: str) -> NormalizedName:
        value = self.text(node, what)
        try:
            return canonicalize_name(value, validate=True)
        except InvalidName:
            self.fail(node, f"{what} '{value}' is not a valid package name")

    def version(self, node: Node, what: str) -> Version:
        value = self.text(node, what)
        try:
            return Version(value)
        except InvalidVersion:
            self.fail(node, f"{what} '{value}' is not a PEP 440 version (write it like '2.2.3')")

    def specifier(self, node: Node, what: str) -> SpecifierSet:
        value = self.text(node, what)
        try:
            return SpecifierSet(value)
        except InvalidSpecifier:
            pass
        try:  # a bare version means exactly that version
            return SpecifierSet(f"=={Version(value)}")
        except InvalidVersion:
            self.fail(node, f"{what} '{value}' is not a version specifier (like '>=2' or '<2.2.2')")


def load(path: Path | str) -> Distribution:
    """Read and validate a manifest file."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(path, 1, 1, "no such manifest file") from None
    except OSError as exc:
        raise ManifestError(path, 1, 1, f"cannot read the manifest: {exc.strerror}") from None
    return parse(text, path)


def parse(data: bytes, path: Path) -> Distribution:
    """Parse manifest bytes; `path` locates errors and anchors relative paths."""
    reader = _Reader(path)
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        raise ManifestError(path, 1, 1, f"the manifest is not UTF-8 text ({exc.reason})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestError(path, line, column, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(path, 1, 1, f"YAML error: {exc}") from None
    if root is None:
        raise ManifestError(path, 1, 1, "the manifest is empty; see docs/manifest.md for its fields")

    top = reader.mapping(root, "the manifest", _TOP_KEYS, required=("distribution", "version", "python", "packages"))
    for key, (key_node, _) in top.items():
        reader.note(key, key_node)

    name = reader.text(top["distribution"][1], "distribution")
    if not _NAME_RE.match(name):
        reader.fail(
            top["distribution"][1],
            f"distribution '{name}' may only hold letters, digits, '.', '_' and '-'",
        )
    version = reader.text(top["version"][1], "version")
    if not _NAME_RE.match(version):
        reader.fail(
            top["version"][1],
            f"version '{version}' may only hold letters, digits, '.', '_' and '-'",
        )

    pythons = _pythons(reader, top["python"][1])
    index = _index(reader, top["index"][1], path.parent) if "index" in top else Index()
    packages = _packages(reader, top["packages"][1])
    names = {p.name for p in packages}
    suites = _suites(reader, top["suites"][1], path.parent, names) if "suites" in top else ()
    matrix = _matrix(reader, top["matrix"][1]) if "matrix" in top else Matrix()
    policy = (
        _policy(
            reader,
            top["policy"][1],
            names,
            {s.name for s in suites} | {p.suite_name for p in packages},
        )
        if "policy" in top
        else Policy()
    )
    test_requires: tuple[str, ...] = DEFAULT_TEST_REQUIRES
    if "test_requires" in top:
        test_requires = tuple(
            _requirement(reader, node, text) for node, text in reader.texts(top["test_requires"][1], "test_requires")
        )
    return Distribution(
        name=name,
        version=version,
        python=pythons,
        packages=packages,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        index=index,
        suites=suites,
        matrix=matrix,
        policy=policy,
        test_requires=test_requires,
        locations=dict(reader.locations),
    )


def _pythons(reader: _Reader, node: Node) -> tuple[PyVersion, ...]:
    found: list[PyVersion] = []
    items = reader.texts(node, "python")
    if not items:
        reader.fail(node, 'python needs at least one version, like ["3.12"]')
    for item, value in items:
        if not _PYTHON_RE.match(value):
            reader.fail(item, f"python version '{value}' must be MAJOR.MINOR, like \"3.12\" (quote it)")
        if value in found:
            reader.fail(item, f"python version '{value}' is listed twice")
        found.append(PyVersion(value))
    return tuple(sorted(found, key=Version))


def _index(reader: _Reader, node: Node, root: Path) -> Index:
    entries = reader.mapping(node, "index", _INDEX_KEYS)
    url = None
    if "url" in entries:
        url = reader.text(entries["url"][1], "index.url")
        if not re.match(r"^(https?|file)://", url):
            reader.fail(entries["url"][1], f"index.url '{url}' must be an http(s):// or file:// URL")
    links: list[Path] = []
    if "find_links" in entries:
        for item, value in reader.texts(entries["find_links"][1], "index.find_links"):
            folder = (root / value).resolve()
            if not folder.is_dir():
                reader.fail(
                    item,
                    f"find_links folder '{value}' does not exist (paths are relative to the manifest)",
                )
            links.append(folder)
    no_index = reader.boolean(entries["no_index"][1], "index.no_index") if "no_index" in entries else False
    if no_index and not links:
        reader.fail(
            entries["no_index"][1],
            "index.no_index: true needs index.find_links (a folder of wheels)",
        )
    exclude_newer = None
    if "exclude_newer" in entries:
        value_node = entries["exclude_newer"][1]
        raw = reader.text(value_node, "index.exclude_newer")
        try:
            dt.datetime.fromisoformat(raw)
        except ValueError:
            reader.fail(
                value_node,
                f"index.exclude_newer '{raw}' must be a date like 2026-11-01 or an RFC 3339 time",
            )
        exclude_newer = raw
    return Index(url=url, find_links=tuple(links), no_index=no_index, exclude_newer=exclude_newer)


def _packages(reader: _Reader, node: Node) -> tuple[Package, ...]:
    entries = reader.mapping(node, "packages")
    if not entries:
        reader.fail(node, "packages must name at least one package")
    packages: list[Package] = []
    seen: dict[NormalizedName, str] = {}
    for raw_name, (key_node, value_node) in entries.items():
        name = reader.name(key_node, "package")
        if name in seen:
            reader.fail(key_node, f"package '{raw_name}' is the same package as '{seen[name]}'")
        seen[name] = raw_name
        packages.append(_package(reader, name, value_node))
    return tuple(packages)


def _package(reader: _Reader, name: NormalizedName, node: Node) -> Package:
    where = f"packages.{name}"
    if isinstance(node, SequenceNode | ScalarNode):  # shorthand: `numpy: ["1.26.4", "2.1.3"]`
        entries: dict[str, tuple[ScalarNode, Node]] = {"versions": (ScalarNode("", "versions"), node)}
    else:
        entries = reader.mapping(node, where, _PACKAGE_KEYS, required=("versions",))
    version_nodes = reader.texts(entries["versions"][1], f"{where}.versions")
    if not version_nodes:
        reader.fail(entries["versions"][1], f"{where}.versions needs at least one version")
    versions: list[Version] = []
    for item, _ in version_nodes:
        version = reader.version(item, "version")
        if version in versions:
            reader.fail(item, f"version '{version}' of {name} is listed twice")
        versions.append(version)
    ordered = tuple(sorted(versions))
    blessed = ordered[-1]
    if "blessed" in entries:
        blessed_node = entries["blessed"][1]
        blessed = reader.version(blessed_node, f"{where}.blessed")
        if blessed not in versions:
            listed = ", ".join(str(v) for v in ordered)
            reader.fail(
                blessed_node,
                f"blessed version '{blessed}' of {name} is not among its versions ({listed}); "
                "add it to versions or bless one of those",
            )
    tests: tuple[str, ...] = ()
    if "tests" in entries:
        commands = []
        for item, command in reader.texts(entries["tests"][1], f"{where}.tests"):
            try:
                shlex.split(command)
            except ValueError as exc:
                reader.fail(item, f"test command of {name} cannot be split into words: {exc}")
            commands.append(command)
        tests = tuple(commands)
    track = reader.specifier(entries["track"][1], f"{where}.track") if "track" in entries else None
    return Package(name=name, versions=ordered, blessed=blessed, tests=tests, track=track)


def _known_package(
    reader: _Reader, node: Node, what: str, names: set[NormalizedName], extra: Sequence[str] = ()
) -> str:
    value = reader.text(node, what)
    if value in extra:
        return value
    name = canonicalize_name(value)
    if name not in names:
        choices = sorted(names) + list(extra)
        reader.fail(node, f"{what} '{value}' is not in packages{_hint(name, choices)}")
    return name


def _suites(reader: _Reader, node: Node, root: Path, names: set[NormalizedName]) -> tuple[Suite, ...]:
    suites: list[Suite] = []
    for suite_name, (key_node, value_node) in reader.mapping(node, "suites").items():
        if not _NAME_RE.match(suite_name):
            reader.fail(
                key_node,
                f"suite name '{suite_name}' may only hold letters, digits, '.', '_' and '-'",
            )
        where = f"suites.{suite_name}"
        entries = reader.mapping(value_node, where, _SUITE_KEYS, required=("path",))
        path_node = entries["path"][1]
        relative = reader.text(path_node, f"{where}.path")
        folder = (root / relative).resolve()
        if not folder.is_dir():
            reader.fail(
                path_node,
                f"suite path '{relative}' is not a folder (paths are relative to the manifest)",
            )
        requires: set[NormalizedName] = set()
        if "requires" in entries:
            for item, _ in reader.texts(entries["requires"][1], f"{where}.requires"):
                requires.add(canonicalize_name(_known_package(reader, item, f"suite '{suite_name}' requires", names)))
        suites.append(Suite(name=SuiteName(suite_name), path=folder, requires=frozenset(requires)))
    return tuple(suites)


def _matrix(reader: _Reader, node: Node) -> Matrix:
    entries = reader.mapping(node, "matrix", _MATRIX_KEYS)
    for key, (key_node, _) in entries.items():
        reader.note(f"matrix.{key}", key_node)
    strategy = (
        reader.enum_value(entries["strategy"][1], "matrix.strategy", Strategy)
        if "strategy" in entries
        else Matrix.strategy
    )
    max_cells = (
        int(reader.number(entries["max_cells"][1], "matrix.max_cells", integer=True, minimum=1))
        if "max_cells" in entries
        else Matrix.max_cells
    )
    scope = reader.enum_value(entries["scope"][1], "matrix.scope", Scope) if "scope" in entries else Matrix.scope
    return Matrix(strategy=strategy, max_cells=max_cells, scope=scope)


def _policy(reader: _Reader, node: Node, names: set[NormalizedName], suite_names: set[str]) -> Policy:
    entries = reader.mapping(node, "policy", _POLICY_KEYS)
    timeout = (
        reader.number(entries["timeout"][1], "policy.timeout", integer=False, minimum=1)
        if "timeout" in entries
        else Policy.timeout
    )
    retries = (
        int(reader.number(entries["retries"][1], "policy.retries", integer=True, minimum=0))
        if "retries" in entries
        else Policy.retries
    )
    expected: list[ExpectedFailure] = []
    if "expected_failures" in entries:
        list_node = entries["expected_failures"][1]
        if not isinstance(list_node, SequenceNode):
            reader.fail(list_node, "policy.expected_failures must be a list of {when, reason}")
        for item in list_node.value:
            expected.append(_expected(reader, item, names, suite_names))
    return Policy(timeout=timeout, retries=retries, expected_failures=tuple(expected))


def _expected(reader: _Reader, node: Node, names: set[NormalizedName], suite_names: set[str]) -> ExpectedFailure:
    where = "an expected failure"
    entries = reader.mapping(node, where, _EXPECTED_KEYS, required=("when", "reason"))
    when: list[tuple[str, SpecifierSet]] = []
    when_entries = reader.mapping(entries["when"][1], f"{where}'s when")
    if not when_entries:
        reader.fail(entries["when"][1], "when must name at least one package and a specifier")
    for key_node, value_node in when_entries.values():
        name = _known_package(reader, key_node, "expected failure names package", names, extra=("python",))
        when.append((name, reader.specifier(value_node, f"when.{name}")))
    reason = reader.text(entries["reason"][1], "reason")
    owner = reader.text(entries["owner"][1], "owner") if "owner" in entries else None
    expires = reader.date(entries["expires"][1], "expires") if "expires" in entries else None
    suites: set[str] = set()
    if "suites" in entries:
        for item, value in reader.texts(entries["suites"][1], "suites"):
            if value not in suite_names:
                reader.fail(
                    item,
                    f"suite '{value}' is not a suite of this manifest{_hint(value, suite_names)}",
                )
            suites.add(value)
    return ExpectedFailure(
        when=tuple(when),
        reason=reason,
        owner=owner,
        expires=expires,
        suites=frozenset(suites),
        line=node.start_mark.line + 1,
    )


def _requirement(reader: _Reader, node: Node, text: str) -> str:
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        reader.fail(node, f"test requirement '{text}' is not a valid requirement: {exc}")
    return text
