"""Find each Python the manifest asks for, by absolute path, without downloading any.

Where curator looks, in order: `--python X.Y=PATH` given by the user; `pythonX.Y`,
`python3` and `python` in every PATH folder (a pyenv shim that answers "command not found"
is passed over); pyenv's versions folder, even when pyenv has not activated a version;
the interpreters uv has installed. Each candidate is asked for its own version, so a
name that lies is never trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import ClassVar

from packaging.version import InvalidVersion, Version

from curator.host import proc
from curator.model.errors import InterpreterNotFound, UsageError
from curator.model.ids import PyVersion

_PROBE = (
    "import json, sys, sysconfig; print(json.dumps([list(sys.version_info[:3]), sys.executable,"
    " sys.implementation.name, sys.version + ' ' + sysconfig.get_platform()]))"
)


@dataclass(frozen=True)
class Interpreter:
    """A Python found on this machine."""

    version: PyVersion  # "3.12"
    full_version: str  # "3.12.1"
    path: Path  # absolute
    source: str  # where it was found: explicit, PATH, pyenv, uv
    build: str = ""  # `sys.version` and the platform: which build of that version, for outcome keys


@dataclass(frozen=True)
class Probe:
    """What a candidate said about itself."""

    full_version: str
    executable: Path
    implementation: str
    build: str = ""


ProbeFn = Callable[[Path], "Probe | str"]


@cache
def probe(path: Path) -> Probe | str:
    """Which Python an executable is; a string is the reason it could not answer.

    Asked once per process, and remembered across processes (`Answers`) while nothing it depends on
    has changed: asking costs a process each, and a pyenv shim is a shell script that runs pyenv."""
    answers = Answers.load()
    stamp = stamp_of(path, os.environ)
    if stamp is not None and (known := answers.get(stamp)) is not None:
        return known
    answer, lasting = _ask(path)
    if stamp is not None and lasting:
        answers.put(stamp, answer)
    return answer


def _ask(path: Path) -> tuple[Probe | str, bool]:
    """The candidate's answer, and whether it lasts (a timeout may not happen again)."""
    try:
        done = proc.run([path, "-I", "-c", _PROBE], cwd=Path.cwd(), env=proc.clean_env(os.environ), timeout=30)
    except OSError as exc:
        return exc.strerror or str(exc), False
    if not done.ok:
        lines = done.tail(5).strip().splitlines()
        return (lines[0] if lines else f"exit status {done.returncode}"), not (done.timed_out or done.interrupted)
    try:
        (major, minor, micro), executable, implementation, build = json.loads(done.stdout.strip())
    except (ValueError, TypeError):
        return "did not answer like a Python interpreter", True
    return Probe(f"{major}.{minor}.{micro}", Path(executable), implementation, str(build)), True


def stamp_of(path: Path, env: Mapping[str, str]) -> str | None:
    """What a candidate's answer depends on, as text; None when that cannot be told (ask every time).

    An executable answers by what it is: its file (followed through links). A pyenv shim answers by
    the version pyenv selects: `PYENV_VERSION`, the `.python-version` files from the current folder
    up, pyenv's global `version` file, and the versions installed. Any other script may answer
    anything, and is asked every time."""
    try:
        real = path.resolve()
        with real.open("rb") as handle:
            script = handle.read(2) == b"#!"
    except OSError:
        return None
    facts = _file_facts(real)
    if facts is None:
        return None
    parts: list[object] = [str(path), str(real), *facts]
    if script:
        selection = _pyenv_selection(real, env)
        if selection is None:
            return None
        parts.append(selection)
    return json.dumps(parts)


def _pyenv_selection(shim: Path, env: Mapping[str, str]) -> list[object] | None:
    """The inputs of pyenv's version selection, when `shim` is one of pyenv's shims."""
    root = shim.parent.parent
    if shim.parent.name != "shims" or not (root / "libexec" / "pyenv").exists():
        return None
    start = Path(env.get("PYENV_DIR") or Path.cwd())
    files = [folder / ".python-version" for folder in (start, *start.parents)] + [root / "version"]
    chosen: list[object] = [env.get("PYENV_VERSION", ""), env.get("PATH", "")]
    for file in files:
        with contextlib.suppress(OSError):
            chosen.append([str(file), file.read_text(encoding="utf-8", errors="replace")])
    try:
        chosen.append(sorted(entry.name for entry in os.scandir(root / "versions")))
    except OSError:
        chosen.append(None)
    return chosen


class Answers:
    """What candidates answered, kept in curator's cache (`interpreters.json`) by their stamp.

    A remembered answer naming an executable holds only while that executable is the same file."""

    NAME = "interpreters.json"
    _loaded: ClassVar[dict[Path, Answers]] = {}
    _lock = threading.Lock()

    def __init__(self, path: Path, known: dict[str, object]) -> None:
        self.path = path
        self.known = known

    @classmethod
    def load(cls) -> Answers:
        from curator.host.layout import cache_dir

        path = cache_dir() / cls.NAME
        with cls._lock:
            if path not in cls._loaded:
                known: dict[str, object] = {}
                with contextlib.suppress(OSError, ValueError):
                    data = json.loads(path.read_text(encoding="utf-8"))
                    known = {k: v for k, v in data.items() if _still_there(k)} if isinstance(data, dict) else {}
                cls._loaded[path] = cls(path, known)
            return cls._loaded[path]

    def get(self, stamp: str) -> Probe | str | None:
        entry = self.known.get(stamp)
        if isinstance(entry, str):
            return entry
        if not isinstance(entry, dict):
            return None
        try:
            answer = Probe(entry["full_version"], Path(entry["executable"]), entry["implementation"], entry["build"])
            if _file_facts(answer.executable) != entry["executable_facts"]:
                return None
        except (KeyError, TypeError):
            return None
        return answer

    def put(self, stamp: str, answer: Probe | str) -> None:
        from curator.host.layout import atomic_write

        entry: object = answer
        if isinstance(answer, Probe):
            entry = {
                "full_version": answer.full_version,
                "executable": str(answer.executable),
                "implementation": answer.implementation,
                "build": answer.build,
                "executable_facts": _file_facts(answer.executable),
            }
        with self._lock:
            self.known[stamp] = entry
            with contextlib.suppress(OSError):  # a cache that cannot be written: ask again next time
                atomic_write(self.path, json.dumps(self.known, indent=0, sort_keys=True))


def _still_there(stamp: str) -> bool:
    """Whether the candidate a remembered answer is for still exists: the answers of removed
    environments and interpreters are not carried from run to run (written again without them)."""
    try:
        return Path(json.loads(stamp)[0]).exists()
    except (ValueError, TypeError, IndexError):
        return False


def _file_facts(path: Path) -> list[int] | None:
    """What tells one file from another, or from itself rewritten: inode, size, modification time."""
    try:
        facts = path.stat()
    except OSError:
        return None
    return [facts.st_ino, facts.st_size, facts.st_mtime_ns]


def parse_overrides(values: Sequence[str]) -> dict[str, Path]:
    """`--python 3.12=/opt/py312/bin/python` options → {"3.12": path}."""
    overrides: dict[str, Path] = {}
    for value in values:
        version, sep, location = value.partition("=")
        if not sep or not re.fullmatch(r"3\.\d{1,2}", version) or not location:
            raise UsageError(f"--python {value!r}: write it as X.Y=PATH, like --python 3.12=/opt/py312/bin/python")
        overrides[version] = Path(location).expanduser()
    return overrides


class Finder:
    """Looks for interpreters; `env` and `probe` are injectable so tests need no processes."""

    def __init__(
        self,
        overrides: Mapping[str, Path] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        probe: ProbeFn = probe,
        home: Path | None = None,
    ) -> None:
        self.overrides = dict(overrides or {})
        self.env = dict(os.environ if env is None else env)
        self.probe = probe
        self.home = home if home is not None else Path.home()

    def candidates(self, version: str) -> Iterator[tuple[str, Path]]:
        """Every place a Python `version` might be, in the order they are tried."""
        if version in self.overrides:
            yield "explicit", self.overrides[version]
            return
        for folder in self._path_folders():
            for name in (f"python{version}", "python3", "python"):
                candidate = folder / name
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    yield "PATH", candidate
        for folder in self._versions_under(self.pyenv_root() / "versions", version, r"(\d+\.\d+\.\d+)"):
            yield "pyenv", folder / "bin" / f"python{version}"
        uv_root = self.uv_python_dir()
        for folder in self._versions_under(uv_root, version, r"cpython-(\d+\.\d+\.\d+)-.*"):
            yield "uv", folder / "bin" / f"python{version}"

    def places(self, version: str) -> list[str]:
        """Where `find` looks, for error messages."""
        if version in self.overrides:
            return [f"--python {version}={self.overrides[version]}"]
        return [
            f"PATH (python{version}, python3, python)",
            f"pyenv ({self.pyenv_root() / 'versions' / (version + '.*')})",
            f"uv-managed ({self.uv_python_dir() / ('cpython-' + version + '.*')})",
        ]

    def find(self, version: str) -> Interpreter:
        """The first working CPython `version`, or `InterpreterNotFound` saying where it looked."""
        rejected: list[str] = []
        for found in self._working(version, rejected):
            return found
        raise self._not_found(version, rejected)

    def find_exact(self, version: str, full_version: str, build: str, *, hint: Path | None = None) -> Interpreter:
        """The CPython `version` that is exactly `full_version` built as `build` (another machine's
        interpreter, which an outcome key was computed with), or `InterpreterNotFound` saying where
        it looked and what it found instead. `hint` (where that machine has it) is tried first when it
        is one of the places searched anyway: machines of one cluster often share a layout, and one
        probe is cheaper than a search."""
        if hint is not None and self._searched(hint) and hint.exists():
            answer = self.probe(hint)
            if isinstance(answer, Probe) and (answer.implementation, answer.full_version, answer.build) == (
                "cpython",
                full_version,
                build,
            ):
                return Interpreter(PyVersion(version), full_version, answer.executable, "hint", build)
        rejected: list[str] = []
        for found in self._working(version, rejected):
            if (found.full_version, found.build) == (full_version, build):
                return found
            rejected.append(f"{found.path}: is {found.full_version} ({found.build})")
        raise self._not_found(f"{full_version} ({build})" if build else full_version, rejected, version)

    def _searched(self, path: Path) -> bool:
        """Whether `path` is somewhere `candidates` looks (an explicit one, a PATH folder, pyenv's or uv's)."""
        if not path.is_absolute():
            return False
        if path in self.overrides.values() or path.parent in set(self._path_folders()):
            return True
        return any(path.is_relative_to(root) for root in (self.pyenv_root() / "versions", self.uv_python_dir()))

    def _working(self, version: str, rejected: list[str]) -> Iterator[Interpreter]:
        """Every working CPython `version` where `candidates` looks, noting what was passed over."""
        for source, candidate in self.candidates(version):
            if not candidate.exists():
                rejected.append(f"{candidate}: no such file")
                continue
            answer = self.probe(candidate)
            if isinstance(answer, str):
                rejected.append(f"{candidate}: {answer}")
                continue
            found = ".".join(answer.full_version.split(".")[:2])
            if found != version or answer.implementation != "cpython":
                if source == "explicit":
                    rejected.append(f"{candidate}: is {answer.implementation} {answer.full_version}")
                continue
            executable = answer.executable if answer.executable.is_absolute() else candidate.absolute()
            yield Interpreter(PyVersion(version), answer.full_version, executable, source, answer.build)

    def _not_found(self, wanted: str, rejected: list[str], version: str | None = None) -> InterpreterNotFound:
        version = version or wanted
        tried = f"; tried {'; '.join(rejected[:3])}" if rejected else ""
        return InterpreterNotFound(
            f"Python {wanted} not found: looked in {', '.join(self.places(version))}{tried}. "
            f"Install it (`uv python install {version}` or `pyenv install {version}`) "
            f"or point to one with --python {version}=/path/to/python{version}"
        )

    def find_all(self, versions: Sequence[str]) -> dict[PyVersion, Interpreter]:
        """Every version, or the error for the first one missing.

        The candidates are asked all at once first (a process each, mostly waiting; a pyenv shim is a
        shell script that takes a tenth of a second): `find` then meets answers `probe` has cached.
        """
        from concurrent.futures import ThreadPoolExecutor

        wanted = {candidate for version in versions for _, candidate in self.candidates(version)}
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="curator-probe") as pool:
            list(pool.map(self.probe, sorted(c for c in wanted if c.exists())))
        return {PyVersion(version): self.find(version) for version in versions}

    def pyenv_root(self) -> Path:
        return Path(self.env.get("PYENV_ROOT") or self.home / ".pyenv")

    def uv_python_dir(self) -> Path:
        if self.env.get("UV_PYTHON_INSTALL_DIR"):
            return Path(self.env["UV_PYTHON_INSTALL_DIR"])
        data = Path(self.env.get("XDG_DATA_HOME") or self.home / ".local" / "share")
        return data / "uv" / "python"

    def _path_folders(self) -> Iterator[Path]:
        seen: set[str] = set()
        for entry in self.env.get("PATH", "").split(os.pathsep):
            if entry and entry not in seen:
                seen.add(entry)
                yield Path(entry)

    @staticmethod
    def _versions_under(root: Path, version: str, pattern: str) -> list[Path]:
        """Subfolders of `root` named for a patch release of `version`, newest first."""
        try:
            children = list(root.iterdir())
        except OSError:
            return []
        found: list[tuple[Version, Path]] = []
        for child in children:
            match = re.fullmatch(pattern, child.name)
            if not match:
                continue
            try:
                full = Version(match.group(1))
            except InvalidVersion:
                continue
            if f"{full.major}.{full.minor}" == version:
                found.append((full, child))
        return [path for _, path in sorted(found, reverse=True)]
