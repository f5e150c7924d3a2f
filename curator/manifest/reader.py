"""distribution.yaml → `curator.model.distribution`: every field checked, unknown keys refused with a
"did you mean", every error naming FILE:LINE:COL."""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import hashlib
import math
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from curator.host import targets
from curator.host.inputs import Unreadable, quoted, read_regular, size
from curator.model.distribution import (
    DEFAULT_TEST_REQUIRES,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_MAX_CELLS,
    MAX_RETRIES,
    MAX_THRESHOLD,
    MAX_TIMEOUT,
    RESERVED_VARIABLES,
    Distribution,
    Environment,
    Exclude,
    ExpectedFailure,
    ExpectedSkip,
    Governance,
    Include,
    Index,
    Matrix,
    Package,
    Platforms,
    Policy,
    Rule,
    Scope,
    Strategy,
    Suite,
)
from curator.model.errors import ManifestError
from curator.model.ids import Platform, PyVersion, SuiteName
from curator.model.pins import Pins

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # used with fullmatch: `$` would allow a final newline
_PYTHON_RE = re.compile(r"3\.\d{1,2}")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_MAX_DIGITS = 100
_LONG_NUMBER_RE = re.compile(rf"\d{{{_MAX_DIGITS + 1},}}")
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
    "environment",
    "governance",
    "platforms",
)
_INDEX_KEYS = ("url", "find_links", "no_index", "exclude_newer")
_PACKAGE_KEYS = ("versions", "blessed", "tests", "track", "maintainers")
_MAINTAINER_RE = re.compile(r"@?[A-Za-z0-9][A-Za-z0-9._-]{0,99}|[^\s@]{1,64}@[^\s@]{1,190}\.[A-Za-z]{2,}")
_SUITE_KEYS = ("path", "requires", "allow_outside")
_MATRIX_KEYS = ("strategy", "max_cells", "scope", "include", "exclude", "split_unresolvable")
_INCLUDE_KEYS = ("python", "pins")
_ENVIRONMENT_KEYS = ("seed", "env")
_PLATFORM_KEYS = ("tested", "locked")
_VARIABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POLICY_KEYS = ("timeout", "retries", "expected_failures", "expected_skips")
_EXPECTED_KEYS = ("when", "reason", "owner", "expires", "suites")
_GOVERNANCE_KEYS = ("signers", "threshold")

_E = TypeVar("_E", bound=enum.StrEnum)
_TAG_PREFIX = "tag:yaml.org,2002:"
_TAG_KINDS = {
    "int": "whole number",
    "float": "number",
    "bool": "true or false value",
    "timestamp": "date (like 2026-11-01)",
    "null": "null",
    "binary": "base64 value",
}


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Reader:
    """Walks composed YAML nodes, raising `ManifestError` at the offending node."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.locations: dict[str, tuple[int, int]] = {}
        self.constructor = SafeConstructor()

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
                self.fail(key_node, f"{quoted(key)} appears twice in {where} (first on line {first})")
            if allowed is not None and key not in allowed:
                choices = ", ".join(allowed)
                self.fail(
                    key_node,
                    f"unknown key {quoted(key)} in {where}{_hint(key, allowed)} (allowed: {choices})",
                )
            entries[key] = (key_node, value_node)
        for key in required:
            if key not in entries:
                self.fail(node, f"{where} is missing the required key '{key}'")
        return entries

    def scalar(self, node: Node, what: str) -> object:
        """A scalar as YAML types it (`!!int`, a date…); a value its tag cannot make is an error."""
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a single value, not a list or mapping")
        try:
            return self.constructor.construct_object(node)
        except ConstructorError as exc:
            self.fail(node, f"{what}: {exc.problem}")
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError):
            # PyYAML's own constructors fail this way on `!!int abc`, `!!bool maybe`,
            # `!!timestamp soon`, 2027-02-30, and integers past Python's 4,300-digit limit
            tag = node.tag.removeprefix(_TAG_PREFIX)
            digits = str(node.value).lstrip("+-").replace("_", "")
            if tag == "int" and digits.isdigit():
                self.fail(node, f"{what}: a whole number of {len(digits):,} digits is too large")
            kind = _TAG_KINDS.get(tag, f"value of the tag {quoted(node.tag)}")
            self.fail(node, f"{what}: {quoted(str(node.value))} is not a valid {kind}")

    def text(self, node: Node, what: str) -> str:
        """A scalar as written (so `2.0` stays "2.0"); empty and null are errors."""
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a single value, not a list or mapping")
        if node.tag == "tag:yaml.org,2002:null" or not str(node.value).strip():
            self.fail(node, f"{what} must not be empty")
        value = str(node.value)
        if "\0" in value:
            self.fail(node, f"{what} must not hold a NUL character: {quoted(value)}")
        if _SURROGATE_RE.search(value):
            self.fail(node, f"{what} holds a lone surrogate, which is not text: {quoted(value)}")
        return value.strip()

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
            self.fail(node, f"{what} must be true or false, not {quoted(str(node.value))}")
        return value

    def number(self, node: Node, what: str, *, integer: bool, minimum: float, maximum: float) -> float:
        """A finite number from `minimum` to `maximum` (compared before any conversion to float)."""
        value = self.scalar(node, what)
        ok_types = (int,) if integer else (int, float)
        shown = quoted(str(node.value))
        if isinstance(value, bool) or not isinstance(value, ok_types):
            kind = "a whole number" if integer else "a number"
            self.fail(node, f"{what} must be {kind} of at least {minimum:g}, not {shown}")
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(node, f"{what} must be a finite number, not {shown}")
        if value < minimum:
            kind = "a whole number" if integer else "a number"
            self.fail(node, f"{what} must be {kind} of at least {minimum:g}, not {shown}")
        if value > maximum:
            self.fail(node, f"{what} must be at most {maximum:,.0f}, not {shown}")
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
            self.fail(node, f"{what} must be a date like 2026-11-01, not {quoted(str(node.value))}")

    def enum_value(self, node: Node, what: str, kind: type[_E]) -> _E:
        value = self.text(node, what)
        try:
            return kind(value)
        except ValueError:
            choices = [member.value for member in kind]
            self.fail(
                node,
                f"{what} {quoted(value)} is not one of {', '.join(choices)}{_hint(value, choices)}",
            )

    def name(self, node: Node, what: str) -> NormalizedName:
        value = self.text(node, what)
        try:
            return canonicalize_name(value, validate=True)
        except InvalidName:
            self.fail(node, f"{what} {quoted(value)} is not a valid package name")

    def short_numbers(self, node: Node, what: str, value: str) -> None:
        """Versions compare their numbers as integers: one past `_MAX_DIGITS` digits is refused
        (past 4,300 Python cannot convert it at all, and long before that it is no version)."""
        if match := _LONG_NUMBER_RE.search(value):
            self.fail(node, f"{what} {quoted(value)} holds a number of {len(match[0]):,} digits; at most {_MAX_DIGITS}")

    def version(self, node: Node, what: str) -> Version:
        value = self.text(node, what)
        self.short_numbers(node, what, value)
        try:
            return Version(value)
        except InvalidVersion:
            self.fail(node, f"{what} {quoted(value)} is not a PEP 440 version (write it like '2.2.3')")

    def specifier(self, node: Node, what: str) -> SpecifierSet:
        value = self.text(node, what)
        self.short_numbers(node, what, value)
        try:
            return SpecifierSet(value)
        except InvalidSpecifier:
            pass
        try:  # a bare version means exactly that version
            return SpecifierSet(f"=={Version(value)}")
        except InvalidVersion:
            self.fail(node, f"{what} {quoted(value)} is not a version specifier (like '>=2' or '<2.2.2')")


class _TooDeep(yaml.MarkedYAMLError):
    """Nesting past `MAX_DEPTH`: refused before PyYAML's recursive composer exhausts the stack."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, composing at most `MAX_DEPTH` levels of nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _TooDeep(problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load(path: Path | str) -> Distribution:
    """Read and validate a manifest file (a regular file of at most `MAX_BYTES`)."""
    path = Path(path)
    try:
        text = read_regular(path, MAX_BYTES)
    except FileNotFoundError:
        raise ManifestError(path, 1, 1, "no such manifest file") from None
    except Unreadable as exc:
        raise ManifestError(path, 1, 1, f"cannot read the manifest: {exc}") from None
    return parse(text, path)


def parse(data: bytes, path: Path) -> Distribution:
    """Parse manifest bytes; `path` locates errors and anchors relative paths."""
    reader = _Reader(path)
    if len(data) > MAX_BYTES:
        raise ManifestError(path, 1, 1, f"the manifest is larger than {size(MAX_BYTES)}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(path, 1, 1, f"the manifest is not UTF-8 text ({exc.reason})") from None
    try:
        root = yaml.compose(text, Loader=_Loader)
    except _TooDeep as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ManifestError(path, line, column, f"the manifest is {exc.problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise ManifestError(path, line, column, f"YAML does not allow the character {character} here") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestError(path, line, column, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(path, 1, 1, f"YAML error: {' '.join(str(exc).split())}") from None
    if root is None:
        raise ManifestError(path, 1, 1, "the manifest is empty; see docs/manifest.md for its fields")

    top = reader.mapping(root, "the manifest", _TOP_KEYS, required=("distribution", "version", "python", "packages"))
    for key, (key_node, _) in top.items():
        reader.note(key, key_node)

    name = reader.text(top["distribution"][1], "distribution")
    if not _NAME_RE.fullmatch(name):
        reader.fail(
            top["distribution"][1],
            f"distribution {quoted(name)} may only hold letters, digits, '.', '_' and '-'",
        )
    version = reader.text(top["version"][1], "version")
    if not _NAME_RE.fullmatch(version):
        reader.fail(
            top["version"][1],
            f"version {quoted(version)} may only hold letters, digits, '.', '_' and '-'",
        )

    pythons = _pythons(reader, top["python"][1])
    index = _index(reader, top["index"][1], path.parent) if "index" in top else Index()
    packages = _packages(reader, top["packages"][1])
    names = {p.name for p in packages}
    suites = _suites(reader, top["suites"][1], path.parent, names) if "suites" in top else ()
    matrix = _matrix(reader, top["matrix"][1], packages, pythons) if "matrix" in top else Matrix()
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
            _requirement(reader, node, text, packages)
            for node, text in reader.texts(top["test_requires"][1], "test_requires")
        )
    environment = _environment(reader, top["environment"][1]) if "environment" in top else Environment()
    governance = _governance(reader, top["governance"][1], path.parent) if "governance" in top else None
    platforms = _platforms(reader, top["platforms"][1]) if "platforms" in top else None
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
        environment=environment,
        governance=governance,
        platforms=platforms,
        locations=dict(reader.locations),
    )


def _pythons(reader: _Reader, node: Node) -> tuple[PyVersion, ...]:
    found: list[PyVersion] = []
    items = reader.texts(node, "python")
    if not items:
        reader.fail(node, 'python needs at least one version, like ["3.12"]')
    for item, value in items:
        if not _PYTHON_RE.fullmatch(value):
            reader.fail(item, f'python version {quoted(value)} must be MAJOR.MINOR, like "3.12" (quote it)')
        if value in found:
            reader.fail(item, f"python version {quoted(value)} is listed twice")
        found.append(PyVersion(value))
    return tuple(sorted(found, key=Version))


def _index(reader: _Reader, node: Node, root: Path) -> Index:
    entries = reader.mapping(node, "index", _INDEX_KEYS)
    url = None
    if "url" in entries:
        url = reader.text(entries["url"][1], "index.url")
        if not re.match(r"^(https?|file)://", url):
            reader.fail(entries["url"][1], f"index.url {quoted(url)} must be an http(s):// or file:// URL")
    links: list[Path] = []
    if "find_links" in entries:
        for item, value in reader.texts(entries["find_links"][1], "index.find_links"):
            folder = _folder(reader, item, root, value, "find_links folder")
            if folder is None:
                reader.fail(
                    item,
                    f"find_links folder {quoted(value)} does not exist (paths are relative to the manifest)",
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
                f"index.exclude_newer {quoted(raw)} must be a date like 2026-11-01 or an RFC 3339 time",
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
            reader.fail(key_node, f"package {quoted(raw_name)} is the same package as {quoted(seen[name])}")
        seen[name] = raw_name
        reader.note(f"packages.{name}", key_node)
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
            reader.fail(item, f"version {quoted(str(version))} of {name} is listed twice")
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
                f"blessed version {quoted(str(blessed))} of {name} is not among its versions ({listed}); "
                "add it to versions or bless one of those",
            )
    tests = _tests(reader, entries["tests"][1], name) if "tests" in entries else ()
    track = reader.specifier(entries["track"][1], f"{where}.track") if "track" in entries else None
    maintainers = _maintainers(reader, entries["maintainers"][1], name) if "maintainers" in entries else ()
    return Package(name=name, versions=ordered, blessed=blessed, tests=tests, track=track, maintainers=maintainers)


def _tests(reader: _Reader, node: Node, name: NormalizedName) -> tuple[str, ...]:
    commands = []
    for item, command in reader.texts(node, f"packages.{name}.tests"):
        try:
            shlex.split(command)
        except ValueError as exc:
            reader.fail(item, f"test command of {name} cannot be split into words: {exc}")
        commands.append(command)
    return tuple(commands)


def _maintainers(reader: _Reader, node: Node, name: NormalizedName) -> tuple[str, ...]:
    found = []
    for item, who in reader.texts(node, f"packages.{name}.maintainers"):
        if not _MAINTAINER_RE.fullmatch(who):
            reader.fail(
                item, f"maintainer {quoted(who)} of {name} must be a handle like '@octocat' or an e-mail address"
            )
        found.append(who)
    return tuple(found)


def _known_package(
    reader: _Reader, node: Node, what: str, names: set[NormalizedName], extra: Sequence[str] = ()
) -> str:
    value = reader.text(node, what)
    if value in extra:
        return value
    name = canonicalize_name(value)
    if name not in names:
        choices = sorted(names) + list(extra)
        reader.fail(node, f"{what} {quoted(value)} is not in packages{_hint(name, choices)}")
    return name


def _suites(reader: _Reader, node: Node, root: Path, names: set[NormalizedName]) -> tuple[Suite, ...]:
    suites: list[Suite] = []
    for suite_name, (key_node, value_node) in reader.mapping(node, "suites").items():
        if not _NAME_RE.fullmatch(suite_name):
            reader.fail(
                key_node,
                f"suite name {quoted(suite_name)} may only hold letters, digits, '.', '_' and '-'",
            )
        where = f"suites.{suite_name}"
        reader.note(where, key_node)
        entries = reader.mapping(value_node, where, _SUITE_KEYS, required=("path",))
        path_node = entries["path"][1]
        relative = reader.text(path_node, f"{where}.path")
        allow_outside = (
            reader.boolean(entries["allow_outside"][1], f"{where}.allow_outside")
            if "allow_outside" in entries
            else False
        )
        folder = _folder(reader, path_node, root, relative, "suite path")
        if folder is not None and not allow_outside and not folder.is_relative_to(root.resolve()):
            reader.fail(
                path_node,
                f"suite path {quoted(relative)} leads outside the manifest's folder (to {quoted(str(folder))}); "
                f"move the suite below the manifest, or set allow_outside: true on {where}",
            )
        if folder is None:
            reader.fail(
                path_node,
                f"suite path {quoted(relative)} is not a folder (paths are relative to the manifest)",
            )
        requires: set[NormalizedName] = set()
        if "requires" in entries:
            for item, _ in reader.texts(entries["requires"][1], f"{where}.requires"):
                requires.add(canonicalize_name(_known_package(reader, item, f"suite '{suite_name}' requires", names)))
        suites.append(Suite(name=SuiteName(suite_name), path=folder, requires=frozenset(requires)))
    return tuple(suites)


def _matrix(reader: _Reader, node: Node, packages: Sequence[Package], pythons: Sequence[PyVersion]) -> Matrix:
    entries = reader.mapping(node, "matrix", _MATRIX_KEYS)
    for key, (key_node, _) in entries.items():
        reader.note(f"matrix.{key}", key_node)
    strategy = (
        reader.enum_value(entries["strategy"][1], "matrix.strategy", Strategy)
        if "strategy" in entries
        else Matrix.strategy
    )
    max_cells = (
        int(reader.number(entries["max_cells"][1], "matrix.max_cells", integer=True, minimum=1, maximum=MAX_MAX_CELLS))
        if "max_cells" in entries
        else Matrix.max_cells
    )
    scope = reader.enum_value(entries["scope"][1], "matrix.scope", Scope) if "scope" in entries else Matrix.scope
    include = _includes(reader, entries["include"][1], packages, pythons) if "include" in entries else ()
    exclude = _excludes(reader, entries["exclude"][1], packages, pythons) if "exclude" in entries else ()
    split = (
        reader.boolean(entries["split_unresolvable"][1], "matrix.split_unresolvable")
        if "split_unresolvable" in entries
        else False
    )
    return Matrix(
        strategy=strategy, max_cells=max_cells, scope=scope, include=include, exclude=exclude, split_unresolvable=split
    )


def _items(reader: _Reader, node: Node, what: str, shape: str) -> list[Node]:
    """The entries of a list of mappings (`matrix.include`, `matrix.exclude`)."""
    if not isinstance(node, SequenceNode):
        reader.fail(node, f"{what} must be a list of {shape}")
    return list(node.value)


def _pythons_of(reader: _Reader, node: Node, what: str, axis: Sequence[PyVersion]) -> tuple[PyVersion, ...]:
    """Pythons named by an include: each must be on the manifest's python axis."""
    found: list[PyVersion] = []
    for item, value in reader.texts(node, what):
        if value not in axis:
            reader.fail(
                item,
                f"{what} {quoted(value)} is not on the python axis ({', '.join(axis)}){_hint(value, axis)}",
            )
        if value not in found:
            found.append(PyVersion(value))
    if not found:
        reader.fail(node, f"{what} needs at least one version (leave it out for every Python)")
    return tuple(found)


def _includes(
    reader: _Reader, node: Node, packages: Sequence[Package], axis: Sequence[PyVersion]
) -> tuple[Include, ...]:
    by_name = {p.name: p for p in packages}
    found: list[Include] = []
    for item in _items(reader, node, "matrix.include", "{python, pins}"):
        where = "an include of matrix.include"
        entries = reader.mapping(item, where, _INCLUDE_KEYS, required=("pins",))
        python = _pythons_of(reader, entries["python"][1], "include python", axis) if "python" in entries else ()
        pins_node = entries["pins"][1]
        pin_entries = reader.mapping(pins_node, "include pins")
        if not pin_entries:
            reader.fail(pins_node, "include pins must name at least one package and its version")
        pins: list[tuple[NormalizedName, Version]] = []
        for key_node, value_node in pin_entries.values():
            name = canonicalize_name(_known_package(reader, key_node, "include pins package", set(by_name)))
            if name in dict(pins):
                reader.fail(key_node, f"include pins name {name} twice")
            pins.append((name, reader.version(value_node, f"include pins.{name}")))
        if all(by_name[name].blessed == version for name, version in pins):
            reader.fail(
                pins_node,
                "every pin of this include is blessed: that cell is the baseline, which every plan holds; "
                "pin at least one package to another version",
            )
        ordered = Pins((p.name, dict(pins)[p.name]) for p in packages if p.name in dict(pins))
        found.append(Include(ordered, python, line=item.start_mark.line + 1))
    return tuple(found)


def _excludes(
    reader: _Reader, node: Node, packages: Sequence[Package], axis: Sequence[PyVersion]
) -> tuple[Exclude, ...]:
    by_name = {p.name: p for p in packages}
    found: list[Exclude] = []
    for item in _items(reader, node, "matrix.exclude", "patterns like {pandas: '2.1.4', numpy: '>=2'}"):
        entries = reader.mapping(item, "an exclude pattern of matrix.exclude")
        if not entries:
            reader.fail(item, "an exclude pattern must name at least one package (and may name python)")
        when: list[tuple[NormalizedName, SpecifierSet]] = []
        python: SpecifierSet | None = None
        for key_node, value_node in entries.values():
            name = _known_package(reader, key_node, "exclude names package", set(by_name), extra=("python",))
            spec = reader.specifier(value_node, f"exclude.{name}")
            if name == "python":
                if not any(spec.contains(Version(v), prereleases=True) for v in axis):
                    shown = quoted(str(value_node.value))
                    reader.fail(value_node, f"exclude python {shown} matches no Python of the axis ({', '.join(axis)})")
                python = spec
                continue
            package = by_name[canonicalize_name(name)]
            if not any(spec.contains(v, prereleases=True) for v in package.versions):
                listed = ", ".join(str(v) for v in package.versions)
                text = str(value_node.value).strip()
                is_version = not any(text.startswith(op) for op in "<>=!~")
                problem = "is not a candidate of" if is_version else "matches no candidate of"
                reader.fail(
                    value_node,
                    f"exclude {package.name} {quoted(text)} {problem} {package.name} ({listed}): "
                    "the pattern could never exclude a cell",
                )
            when.append((package.name, spec))
        if not when:
            reader.fail(item, "an exclude pattern must name at least one package, not only python")
        pattern = Exclude(tuple(when), python, line=item.start_mark.line + 1)
        blessed = Pins((p.name, p.blessed) for p in packages)
        hit = [v for v in axis if pattern.matches(v, blessed)]
        if hit:
            reader.fail(
                item,
                f"this exclude pattern ({pattern.describe()}) matches the baseline on Python {hit[0]} "
                "(every package blessed), which gates a release and is never excluded; narrow the pattern",
            )
        found.append(pattern)
    return tuple(found)


def _environment(reader: _Reader, node: Node) -> Environment:
    entries = reader.mapping(node, "environment", _ENVIRONMENT_KEYS)
    for key, (key_node, _) in entries.items():
        reader.note(f"environment.{key}", key_node)
    seed = reader.boolean(entries["seed"][1], "environment.seed") if "seed" in entries else False
    variables: dict[str, str] = {}
    if "env" in entries:
        for name, (key_node, value_node) in reader.mapping(entries["env"][1], "environment.env").items():
            if not _VARIABLE_RE.fullmatch(name):
                reader.fail(
                    key_node,
                    f"environment variable {quoted(name)} may only hold letters, digits and '_', "
                    "and may not start with a digit",
                )
            if name in RESERVED_VARIABLES or name.startswith("CURATOR_"):
                reader.fail(key_node, f"environment variable {name} is set by curator and nox for every cell")
            variables[name] = _variable(reader, value_node, f"environment.env.{name}")
    return Environment(seed=seed, env=variables)


def _platforms(reader: _Reader, node: Node) -> Platforms:
    """`platforms: {tested: [...], locked: [...]}`: uv targets, each listed once; `tested` defaults
    to this machine's target (`platforms.here`)."""
    empty = "platforms needs `tested` and/or `locked` (uv --python-platform targets), or leave it out"
    if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        reader.fail(node, empty)
    entries = reader.mapping(node, "platforms", _PLATFORM_KEYS)
    if not entries:
        reader.fail(node, empty)
    for key, (key_node, _) in entries.items():
        reader.note(f"platforms.{key}", key_node)
    if "tested" in entries:
        tested = _targets(reader, entries["tested"][1], "platforms.tested")
        if not tested:
            reader.fail(
                entries["tested"][1],
                "platforms.tested needs at least one platform (leave it out to test this machine's)",
            )
    else:
        machine = targets.here()
        if machine is None:
            shown = ", ".join(targets.machine_tags()[:2]) or "none"
            reader.fail(
                node,
                f"this machine is no uv --python-platform target (its wheel platform tags: {shown}), so it is no "
                "default for platforms.tested: name the platforms to test, like tested: [x86_64-manylinux_2_28]",
            )
        tested = [(node, Platform(machine))]
    locked = _targets(reader, entries["locked"][1], "platforms.locked") if "locked" in entries else []
    named = {platform for _, platform in tested}
    for item, platform in locked:
        if platform in named:
            reader.fail(
                item,
                f"platform {platform} is under both platforms.tested and platforms.locked; a tested platform is "
                "locked and shipped too, so list it once: under tested to run its cells, under locked to only lock it",
            )
    return Platforms(tested=tuple(p for _, p in tested), locked=tuple(p for _, p in locked))


def _targets(reader: _Reader, node: Node, what: str) -> list[tuple[Node, Platform]]:
    """A list of uv targets; an alias, a typo or a name twice is an error at its line."""
    if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return []
    found: list[tuple[Node, Platform]] = []
    for item, value in reader.texts(node, what):
        if value in targets.ALIASES:
            reader.fail(
                item,
                f"{what}: {quoted(value)} is uv's short name for {targets.ALIASES[value]}; write the target itself "
                "(it names lock files and dask worker resources)",
            )
        if value not in targets.TARGETS:
            hint = _hint(value, targets.TARGETS)
            reader.fail(
                item,
                f"{what}: {quoted(value)} is not a platform uv resolves for{hint} (names are uv's "
                "--python-platform targets, like x86_64-manylinux_2_28, x86_64-pc-windows-msvc, "
                "aarch64-apple-darwin; uv pip compile --help lists them)",
            )
        if any(value == seen for _, seen in found):
            reader.fail(item, f"{what}: platform {value} is listed twice")
        found.append((item, Platform(value)))
    return found


def _variable(reader: _Reader, node: Node, what: str) -> str:
    """A variable's value as written (`1` stays "1", `true` stays "true"); "" is allowed when quoted."""
    if not isinstance(node, ScalarNode):
        reader.fail(node, f"{what} must be a single value, not a list or mapping")
    if node.tag == "tag:yaml.org,2002:null":  # `NAME:` or `NAME: ~`; a quoted "" is text
        reader.fail(node, f'{what} has no value; write "" for an empty one')
    value = str(node.value)
    if "\0" in value:
        reader.fail(node, f"{what} must not hold a NUL character: {quoted(value)}")
    if _SURROGATE_RE.search(value):
        reader.fail(node, f"{what} holds a lone surrogate, which is not text: {quoted(value)}")
    return value


def _policy(reader: _Reader, node: Node, names: set[NormalizedName], suite_names: set[str]) -> Policy:
    entries = reader.mapping(node, "policy", _POLICY_KEYS)
    timeout = (
        reader.number(entries["timeout"][1], "policy.timeout", integer=False, minimum=1, maximum=MAX_TIMEOUT)
        if "timeout" in entries
        else Policy.timeout
    )
    retries = (
        int(reader.number(entries["retries"][1], "policy.retries", integer=True, minimum=0, maximum=MAX_RETRIES))
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
    skips: list[ExpectedSkip] = []
    if "expected_skips" in entries:
        list_node = entries["expected_skips"][1]
        if not isinstance(list_node, SequenceNode):
            reader.fail(list_node, "policy.expected_skips must be a list of {suites and/or when, reason}")
        for item in list_node.value:
            skips.append(_expected_skip(reader, item, names, suite_names))
    return Policy(timeout=timeout, retries=retries, expected_failures=tuple(expected), expected_skips=tuple(skips))


def _expected(reader: _Reader, node: Node, names: set[NormalizedName], suite_names: set[str]) -> ExpectedFailure:
    where = "an expected failure"
    entries = reader.mapping(node, where, _EXPECTED_KEYS, required=("when", "reason"))
    return _rule(ExpectedFailure, reader, node, entries, where=where, names=names, suite_names=suite_names)


def _expected_skip(reader: _Reader, node: Node, names: set[NormalizedName], suite_names: set[str]) -> ExpectedSkip:
    where = "an expected skip"
    entries = reader.mapping(node, where, _EXPECTED_KEYS, required=("reason",))
    if "when" not in entries and "suites" not in entries:
        reader.fail(node, f"{where} must say where it applies: `suites: [NAME, …]`, `when: {{PACKAGE: SPEC}}`, or both")
    return _rule(ExpectedSkip, reader, node, entries, where=where, names=names, suite_names=suite_names)


_R = TypeVar("_R", bound=Rule)


def _rule(
    kind: type[_R],
    reader: _Reader,
    node: Node,
    entries: Mapping[str, tuple[ScalarNode, Node]],
    *,
    where: str,
    names: set[NormalizedName],
    suite_names: set[str],
) -> _R:
    """A policy exception of `kind` from its entries."""
    when: list[tuple[str, SpecifierSet]] = []
    if "when" in entries:
        when_entries = reader.mapping(entries["when"][1], f"{where}'s when")
        if not when_entries:
            reader.fail(entries["when"][1], "when must name at least one package and a specifier")
        for key_node, value_node in when_entries.values():
            what = f"{where.removeprefix('an ')} names package"
            name = _known_package(reader, key_node, what, names, extra=("python",))
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
                    f"suite {quoted(value)} is not a suite of this manifest{_hint(value, suite_names)}",
                )
            suites.add(value)
        if not suites:
            reader.fail(entries["suites"][1], "suites must name at least one suite (or leave `suites` out)")
    return kind(
        when=tuple(when),
        reason=reason,
        owner=owner,
        expires=expires,
        suites=frozenset(suites),
        line=node.start_mark.line + 1,
    )


def _governance(reader: _Reader, node: Node, root: Path) -> Governance:
    entries = reader.mapping(node, "governance", _GOVERNANCE_KEYS, required=("signers", "threshold"))
    signers_node, threshold_node = entries["signers"][1], entries["threshold"][1]
    reader.note("governance.signers", signers_node)
    reader.note("governance.threshold", threshold_node)
    relative = reader.text(signers_node, "governance.signers")
    signers = _existing(reader, signers_node, root, relative, "governance.signers", kind=Path.is_file)
    if signers is None:
        reader.fail(
            signers_node,
            f"governance.signers {quoted(relative)} is not a file (an OpenSSH allowed_signers file, "
            "relative to the manifest; see docs/governance.md)",
        )
    threshold = reader.number(threshold_node, "governance.threshold", integer=True, minimum=1, maximum=MAX_THRESHOLD)
    return Governance(signers=signers, threshold=int(threshold))


def _requirement(reader: _Reader, node: Node, text: str, packages: Sequence[Package]) -> str:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid"
        reader.fail(node, f"test requirement {quoted(text)} is not a valid requirement: {reason}")
    name = canonicalize_name(requirement.name)
    package = next((p for p in packages if p.name == name), None)
    if package is not None and requirement.marker is None:
        ruled_out = [v for v in package.versions if not requirement.specifier.contains(v, prereleases=True)]
        if ruled_out:
            shown = ", ".join(str(v) for v in ruled_out)
            reader.fail(
                node,
                f"test requirement {quoted(text)} rules out {name} {shown}, a candidate: every cell holding it "
                "would be unresolvable; widen the requirement or drop the candidate",
            )
    return text


def _folder(reader: _Reader, node: Node, root: Path, relative: str, what: str) -> Path | None:
    """`relative` (to the manifest) as an absolute, resolved folder; None when there is no folder there."""
    return _existing(reader, node, root, relative, what, kind=Path.is_dir)


def _existing(
    reader: _Reader, node: Node, root: Path, relative: str, what: str, *, kind: Callable[[Path], bool]
) -> Path | None:
    """`relative` (to the manifest) as an absolute, resolved path; None when nothing of `kind`
    (`Path.is_dir`, `Path.is_file`) is there.

    A name the operating system cannot take (too long, a NUL) is an error at the node.
    """
    try:
        path = (root / relative).resolve()
        return path if kind(path) else None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a usable file name"
        reader.fail(node, f"{what} {quoted(relative)} cannot be used ({reason.lower()})")
