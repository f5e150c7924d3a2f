"""Resolution with uv: requirements + a Python → a hash-pinned `Lock`, or `Unresolvable`.

uv resolves differently for each target Python, so every lock is for one interpreter,
given by absolute path — and, when the manifest names platforms, for one platform
(`--python-platform`): such a lock holds the hashes of that platform's wheels only. A set of
pins the resolver rejects is a value carrying uv's own explanation; only a failure of the tool
itself (a network error, a missing folder) is an exception.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from curator.host import proc
from curator.host.layout import atomic_write
from curator.model import codec
from curator.model.distribution import Index
from curator.model.errors import ToolError
from curator.model.pins import Pins
from curator.resolve.interpreters import Interpreter

ROOT = "<requirements>"


@cache
def uv_binary() -> Path:
    """The uv executable that ships with curator (the `uv` package), else the one on PATH."""
    try:
        from uv import find_uv_bin

        return Path(find_uv_bin())
    except (ImportError, FileNotFoundError):  # pragma: no cover - uv is a dependency
        import shutil

        found = shutil.which("uv")
        if found is None:
            raise ToolError("uv is not installed; `pip install uv`") from None
        return Path(found)


def _uv_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("uv")
    except metadata.PackageNotFoundError:  # pragma: no cover - uv is a dependency
        return str(uv_binary())


def index_args(index: Index) -> list[str]:
    """uv options that make it use exactly the manifest's package sources."""
    args: list[str] = []
    if index.no_index:
        args.append("--no-index")
    elif index.url:
        args += ["--default-index", index.url]
    for folder in index.find_links:
        args += ["--find-links", str(folder)]
    if index.exclude_newer:
        args += ["--exclude-newer", index.exclude_newer]
    return args


@dataclass(frozen=True)
class Pin:
    """One resolved package: exact version, every acceptable file hash, who requires it."""

    name: NormalizedName
    version: Version
    hashes: tuple[str, ...]
    required_by: tuple[str, ...]  # package names, or ROOT for the requested requirements


@dataclass(frozen=True)
class Lock:
    """A fully resolved requirement set for one Python, every file pinned by sha256."""

    python: str
    pins: tuple[Pin, ...]
    text: str  # requirements.txt, installable with `pip install --require-hashes -r`

    @property
    def key(self) -> str:
        """Content hash of the pins and their hashes (not of the file's formatting)."""
        digest = hashlib.sha256(self.python.encode())
        for pin in sorted(self.pins, key=lambda p: p.name):
            digest.update(f"\n{pin.name}=={pin.version} {' '.join(sorted(pin.hashes))}".encode())
        return digest.hexdigest()

    @property
    def versions(self) -> Pins:
        """Name → resolved version."""
        return Pins((pin.name, pin.version) for pin in self.pins)

    def edges(self) -> list[tuple[str, NormalizedName]]:
        """(requirer, requirement) pairs from uv's annotations; ROOT for what was asked for."""
        return [(parent, pin.name) for pin in self.pins for parent in pin.required_by]

    def closure(self, roots: Iterable[str]) -> Lock:
        """The part of the lock that `roots` need (drops the test runner from a shipped lock)."""
        import networkx as nx

        graph: nx.DiGraph = nx.DiGraph()
        graph.add_nodes_from(pin.name for pin in self.pins)
        graph.add_edges_from((a, b) for a, b in self.edges() if a != ROOT)
        keep: set[str] = set()
        for root in (canonicalize_name(r) for r in roots):
            if root in graph:
                keep |= {root} | nx.descendants(graph, root)
        pins = tuple(p for p in self.pins if p.name in keep)
        return Lock(self.python, pins, render_requirements(pins))


def render_requirements(pins: Sequence[Pin]) -> str:
    """A requirements.txt with hashes for `pins` (sorted, stable)."""
    lines: list[str] = []
    for pin in sorted(pins, key=lambda p: p.name):
        hashes = [f"    --hash=sha256:{h}" for h in sorted(pin.hashes)]
        lines.append(" \\\n".join([f"{pin.name}=={pin.version}", *hashes]))
    return "\n".join(lines) + "\n" if lines else ""


@dataclass(frozen=True)
class Unresolvable:
    """The resolver refused these requirements; `reason` is its explanation."""

    python: str
    requirements: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class ResolveFailed:
    """uv itself failed (the index unreachable, a broken wheel): no verdict on the pins."""

    python: str
    requirements: tuple[str, ...]
    reason: str


Resolution = Lock | Unresolvable | ResolveFailed
"""What asking the resolver gives: a lock, its refusal, or its failure."""


_PIN_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")
_HASH_RE = re.compile(r"--hash=sha256:(?P<hash>[0-9a-f]{64})")
_VIA_RE = re.compile(r"^\s+#\s+(?:via\s+)?(?P<who>\S.*)$")


def parse_requirements(python: str, text: str) -> Lock:
    """Read uv's requirements.txt output (pins, hashes and `# via` annotations)."""
    pins: list[Pin] = []
    name: NormalizedName | None = None
    version: Version | None = None
    hashes: list[str] = []
    via: list[str] = []

    def flush() -> None:
        if name is not None and version is not None:
            pins.append(Pin(name, version, tuple(hashes), tuple(via)))

    for line in text.splitlines():
        if match := _PIN_RE.match(line):
            flush()
            name, version = canonicalize_name(match["name"]), Version(match["version"])
            hashes, via = [], []
            hashes += _HASH_RE.findall(line)
        elif line.strip().startswith("--hash="):
            hashes += _HASH_RE.findall(line)
        elif (match := _VIA_RE.match(line)) and name is not None:
            who = match["who"].strip()
            if who == "via":
                continue
            via.append(ROOT if who.startswith(("-r", "-c")) else canonicalize_name(who))
    flush()
    return Lock(python, tuple(pins), text)


class IndexState(Protocol):
    """What the index says now about some projects (see `upstream.ReleaseLog`): has anything changed
    since a moment that could change a resolution made then?"""

    def changed(self, watched: Sequence[str], since: float) -> bool:
        """Whether, for any entry of `watched` (`name` or `name==version`), the index lists a file
        uploaded after `since` (or one it gives no upload time), or a file of that version yanked."""
        ...


@dataclass(frozen=True)
class Watch:
    """Beside an answer cached from sources not frozen in time: when it was made (a little before
    uv was asked) and what a new release of would change it (`IndexState.changed`)."""

    made: float
    watched: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> Watch | None:
        """A `.watch` file, or None when there is none (or it cannot be read)."""
        try:
            return codec.loads(cls, path.read_bytes())
        except (OSError, ValueError):
            return None


CLOCK_MARGIN = 600.0
"""Seconds an answer is taken to be older than it is: a file the index lists as uploaded up to ten
minutes before uv was asked (clocks differ; an index's pages lag) still counts as new after it."""


class Resolver:
    """Runs `uv pip compile` for one manifest's package sources, and keeps what it said in `cache`.

    When the sources are frozen in time (`exclude_newer`), a resolution is a pure function of its
    inputs: a cached lock (or refusal) is used again as it is. Otherwise a cached answer is used
    again only when the index shows nothing new since it was made for any package it depends on
    — every package of a lock, every package a refusal names — as told by `index_state`, which the
    coordinator sets after asking the index once for all of them (`watched`); without it, uv is
    asked every time, so a new upstream release is always seen.
    """

    def __init__(self, index: Index, *, env: Mapping[str, str] | None = None, cache: Path | None = None) -> None:
        self.index = index
        self.env = proc.clean_env(os.environ if env is None else env)
        self.cache = cache
        self.frozen = bool(index.exclude_newer)
        self.index_state: IndexState | None = None
        self.asked = 0  # how many times uv was asked (the rest came from the cache)

    def _cache_entry(self, requirements: Sequence[str], interpreter: Interpreter, platform: str = "") -> Path | None:
        if self.cache is None:
            return None
        digest = hashlib.sha256()
        # in the order given: uv's explanation of a refusal follows the order of its requirements, and
        # a cached refusal must read as uv would have worded it for this request
        parts = (*requirements, str(interpreter.path), interpreter.full_version, _uv_version())
        if platform:  # only then, so the answers cached for a manifest without platforms stay found
            parts = (*parts, f"--python-platform={platform}")
        for part in (*parts, *index_args(self.index)):
            digest.update(part.encode() + b"\0")
        for folder in self.index.find_links:  # a changed wheelhouse is a different input
            for wheel in sorted(folder.iterdir()):
                stat = wheel.stat()
                digest.update(f"{wheel.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return self.cache / "locks" / f"{digest.hexdigest()[:32]}.txt"

    def watched(self, requirements: Sequence[str], interpreter: Interpreter, platform: str = "") -> tuple[str, ...]:
        """What the index must be asked about before the cached answers for these requirements can
        be used again (nothing when the sources are frozen or nothing is cached)."""
        entry = self._cache_entry(requirements, interpreter, platform)
        if entry is None or self.frozen:
            return ()
        answers = (entry, entry.with_suffix(".refused"), entry.with_suffix(".pylock.toml"))
        found = [Watch.read(_watch_path(answer)) for answer in answers]
        return tuple(w for watch in found if watch is not None for w in watch.watched)

    def _cached(self, answer: Path) -> str | None:
        """The text of a cached answer that may be used again, else None."""
        try:
            text = answer.read_text(encoding="utf-8")
        except OSError:
            return None
        if self.frozen:
            return text
        made = Watch.read(_watch_path(answer))
        if made is None or self.index_state is None or self.index_state.changed(made.watched, made.made):
            return None
        return text

    def _keep(self, answer: Path, text: str, watched: Sequence[str], made: float, *, instead_of: Path | None) -> None:
        """Cache an answer (with what it is watched for, unless the sources are frozen); the other
        kind of answer for the same question (a lock for a refusal) goes, so only the newest counts."""
        if instead_of is not None:
            instead_of.unlink(missing_ok=True)
            _watch_path(instead_of).unlink(missing_ok=True)
        if not self.frozen:
            atomic_write(_watch_path(answer), codec.dumps(Watch(made - CLOCK_MARGIN, tuple(watched))))
        atomic_write(answer, text)

    def _compile(
        self, requirements: Sequence[str], interpreter: Interpreter, *extra: str, platform: str = ""
    ) -> proc.Completed:
        self.asked += 1
        target = ["--python-platform", platform] if platform else []
        with tempfile.TemporaryDirectory(prefix="curator-resolve-") as tmp:
            infile = Path(tmp) / "requirements.in"
            infile.write_text("\n".join(requirements) + "\n")
            return proc.run(
                [
                    uv_binary(),
                    "pip",
                    "compile",
                    infile,
                    "--python",
                    interpreter.path,
                    "--no-header",
                    "--quiet",
                    *target,
                    *index_args(self.index),
                    *extra,
                ],
                cwd=Path(tmp),
                env=self.env,
                timeout=600,
            )

    def resolve(self, requirements: Sequence[str], interpreter: Interpreter, platform: str = "") -> Lock | Unresolvable:
        """Resolve `requirements` for `interpreter` (on `platform`, a uv target, when given) with hashes.

        A refusal is cached like a lock (`<key>.refused`, uv's explanation) and returned again
        without asking uv, on the same terms (see the class).
        """
        entry = self._cache_entry(requirements, interpreter, platform)
        refused = entry.with_suffix(".refused") if entry is not None else None
        if entry is not None and refused is not None:
            if (text := self._cached(entry)) is not None:
                return parse_requirements(interpreter.version, text)
            if (reason := self._cached(refused)) is not None:
                return Unresolvable(interpreter.version, tuple(requirements), reason)
        made = time.time()
        done = self._compile(requirements, interpreter, "--generate-hashes", platform=platform)
        if done.ok:
            lock = parse_requirements(interpreter.version, done.stdout)
            if entry is not None:
                watched = [f"{pin.name}=={pin.version}" for pin in lock.pins]
                self._keep(entry, done.stdout, watched, made, instead_of=refused)
            return lock
        if "No solution found" in done.stderr or "unsatisfiable" in done.stderr:
            refusal = Unresolvable(interpreter.version, tuple(requirements), explain(done.stderr))
            if entry is not None and refused is not None:
                watched = sorted({*(_requirement_name(r) for r in requirements), *named_in(refusal.reason)})
                self._keep(refused, refusal.reason, watched, made, instead_of=entry)
            return refusal
        raise ToolError(f"uv pip compile failed ({done.returncode}): {done.tail(8)}")

    def attempt(self, requirements: Sequence[str], interpreter: Interpreter, platform: str = "") -> Resolution:
        """`resolve`, with a failure of uv itself returned as a value instead of raised."""
        try:
            return self.resolve(requirements, interpreter, platform)
        except ToolError as exc:
            return ResolveFailed(interpreter.version, tuple(requirements), f"resolution failed: {exc}")

    def pylock(self, requirements: Sequence[str], interpreter: Interpreter, platform: str = "") -> str:
        """A PEP 751 lock (`pylock.toml`) of `requirements` for `interpreter` (on `platform`), as uv
        writes it: with a platform, each package's file for that platform."""
        done = self._compile(requirements, interpreter, "--format", "pylock.toml", platform=platform)
        if not done.ok:
            raise ToolError(f"uv pip compile failed ({done.returncode}): {done.tail(8)}")
        return done.stdout

    def files(self, requirements: Sequence[str], interpreter: Interpreter) -> dict[NormalizedName, str]:
        """For each resolved package, the URL of the file uv would install on this machine (cached
        like a lock)."""
        entry = self._cache_entry(requirements, interpreter)
        answer = entry.with_suffix(".pylock.toml") if entry is not None else None
        text = self._cached(answer) if answer is not None else None
        if text is None:
            made = time.time()
            text = self.pylock(requirements, interpreter)
            if answer is not None:
                watched = [f"{name}=={file.version}" for name, file in pylock_files(text).items() if file.version]
                self._keep(answer, text, watched, made, instead_of=None)
        return {name: file.url for name, file in pylock_files(text).items()}


def _watch_path(answer: Path) -> Path:
    return answer.with_name(answer.name + ".watch")


def _requirement_name(requirement: str) -> str:
    return canonicalize_name(re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0])


_NAMED = re.compile(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9._-]*?)(?:\[[^\]]*\])?\s*(?:==|>=|<=|!=|~=|<|>)\s*\d")
_ALL_OF = re.compile(r"(?:versions of|of package|package)\s+([A-Za-z0-9][A-Za-z0-9._-]*)", re.IGNORECASE)


def named_in(reason: str) -> set[str]:
    """The packages a resolver's explanation names with a version (`flask==3.0.3 depends on
    jinja2>=3.1.2`) or as a whole (`all versions of cfx-base`): what a refusal is watched for."""
    names = {m.group(1) for m in _NAMED.finditer(reason)} | {m.group(1) for m in _ALL_OF.finditer(reason)}
    return {canonicalize_name(n.rstrip(".-_")) for n in names if n}


@dataclass(frozen=True)
class LockedFile:
    """The file a pylock.toml installs for one package: where it is and its sha256 (if given)."""

    url: str
    sha256: str | None
    version: str = ""


def pylock_files(text: str) -> dict[NormalizedName, LockedFile]:
    """For each package of a pylock.toml, its first wheel (else its sdist)."""
    import tomllib

    data = tomllib.loads(text)
    found: dict[NormalizedName, LockedFile] = {}
    for package in data.get("packages", []):
        files = [
            *package.get("wheels", []),
            *([package["sdist"]] if "sdist" in package else []),
        ]
        for file in files:
            location = file.get("url") or (Path(file["path"]).resolve().as_uri() if "path" in file else None)
            if location:
                found[canonicalize_name(package["name"])] = LockedFile(
                    location, file.get("hashes", {}).get("sha256"), str(package.get("version", ""))
                )
                break
    return found


def explain(stderr: str) -> str:
    """uv's resolver explanation, without its `error:`/`cause:` prefixes and hints."""
    lines = []
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line or line.startswith(("hint:", "help:")):
            continue
        line = re.sub(r"^(error|cause|×|╰─▶)[:\s]*", "", line).strip()
        if line and line != "No solution found when resolving dependencies:":
            lines.append(line.rstrip(":"))
    text = " ".join(lines)
    text = text.replace("No solution found when resolving dependencies ", "")
    return text or stderr.strip()


def mentioned(reason: str, names: Iterable[str]) -> list[str]:
    """Which of `names` (manifest packages) a resolver's explanation names, in the order given:
    `cfx-capped==1.0 depends on cfx-base<2` names cfx-capped and cfx-base. uv may spell a name
    with `_` or `.` for `-`; a longer name that contains it (`cfx-base-extra`) does not count."""
    found = []
    for name in names:
        spellings = {name, name.replace("-", "_"), name.replace("-", ".")}
        pattern = r"(?<![\w.-])(?:" + "|".join(re.escape(s) for s in spellings) + r")(?![\w-])"
        if re.search(pattern, reason, flags=re.IGNORECASE):
            found.append(name)
    return found
