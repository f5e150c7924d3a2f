"""Cell environments: each holds exactly its lock, and costs what changed.

An environment lives in `CURATOR_CACHE_DIR/envs/<key>/<nox's folder for the cell>`, keyed by the
interpreter and the lock. The first time it is needed it is made from the *nearest* environment
already built for the same interpreter (the one whose packages differ from this lock in the fewest
names, versions or hashes): a copy whose files are hardlinks — uv's own cache is hardlinked into
every environment anyway — then `uv pip sync` to this lock, which uninstalls and installs only the
packages that differ. With none to start from, it is created empty (`uv venv --relocatable`, so no
script names the folder it was made in) and synced. Either way it is then verified: the installed
distributions are exactly the lock's names and versions, nothing in site-packages is left that no
installed distribution claims, and no script runs another environment's interpreter. Only then is
it recorded as ready (`curator-env.json` beside it), and only ready environments are copied. A copy
that fails the check is thrown away and the environment built afresh; a fresh one that fails it is
the cell's `install-error`.

Bytecode is written lazily, by the interpreter, into the environment's own `.pycache` folder
(`PYTHONPYCACHEPREFIX`, set for the suites by the noxfile, which also lets Python write bytecode
where `PYTHONDONTWRITEBYTECODE` says not to): only what the suites import is ever compiled, once
per environment, and a copy inherits it. Bytecode is a cache of the locked sources — each file is
checked against its source's size and modification time when imported — so it cannot change what
runs; to leave no room even for a source of equal size and time, a copy forgets the bytecode of
every package it replaces, and every cell starts with the bytecode of anything outside the
environment and the interpreter's own library (suites, the run folder) forgotten.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from curator.execute.harness.protocol import PYCACHE
from curator.host import proc
from curator.host.layout import atomic_write
from curator.model import codec
from curator.resolve.interpreters import Interpreter
from curator.resolve.lock import parse_requirements, uv_binary

REUSED = "reused"  # `Prepared.how` of an environment that already held its lock

RECORD_NAME = "curator-env.json"  # beside the environment, in its key's folder: written once it is verified
FORMAT = 2  # of environments and their records; part of the key's folder name (see `cell.env_key`)
_UNCLAIMED_OK = frozenset({"__pycache__", "_virtualenv.pth", "_virtualenv.py"})


def location(env_dir: Path, session: str) -> Path:
    """Where nox keeps the environment of session `session` under `--envdir env_dir` (its own rule:
    the session name made path-safe, hashed when the path would grow too long)."""
    from nox.sessions import _normalize_path

    return Path(_normalize_path(os.fspath(env_dir), session))


def lock_packages(lock_text: str) -> dict[str, str]:
    """name → `version sha256 …` of every pin of a lock file: what an environment must hold."""
    lock = parse_requirements("", lock_text)
    return {str(pin.name): " ".join([str(pin.version), *sorted(pin.hashes)]) for pin in lock.pins}


@dataclass(frozen=True)
class Record:
    """A verified environment: its interpreter, its lock and the packages it holds."""

    interpreter: str
    full_version: str
    lock: str
    location: str  # the environment's folder name inside its key's folder
    packages: Mapping[str, str]
    origin: str = ""  # the environment it was copied from (absolute), until its first use takes its new bytecode

    def text(self) -> str:
        """The record file's text."""
        return json.dumps({"format": FORMAT, **codec.to_json(self)}, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> Record | None:
        """A record file, or None when it is missing, unreadable or of another format."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                return None
            return codec.from_json(cls, data)
        except (OSError, ValueError):
            return None


def distance(a: Mapping[str, str], b: Mapping[str, str]) -> int:
    """How many packages two environments do not share (a name, version or hash differs, or only one
    holds it)."""
    return sum(1 for name in a.keys() | b.keys() if a.get(name) != b.get(name))


def nearest(root: Path, interpreter: Interpreter, packages: Mapping[str, str], *, exclude: Path) -> Path | None:
    """The key folder of the ready environment of `interpreter` under `root` that is closest to
    `packages` (fewest packages to change; ties by folder name), if any shares a package with them."""
    best: tuple[int, str] | None = None
    for path in root.glob(f"*/{RECORD_NAME}"):
        if path.parent == exclude:
            continue
        record = Record.read(path)
        if record is None or (record.interpreter, record.full_version) != (
            str(interpreter.path),
            interpreter.full_version,
        ):
            continue
        far = distance(record.packages, packages)
        if far < len(packages) and (best is None or (far, path.parent.name) < best):
            best = (far, path.parent.name)
    return root / best[1] if best is not None else None


@dataclass(frozen=True)
class Prepared:
    """How a cell's environment came to be, and whether it holds the lock."""

    ok: bool
    how: str  # reused | created | copied from <folder> (<n> packages differ)
    seconds: Mapping[str, float] = field(default_factory=dict)  # copy, sync, verify
    failure: proc.Completed | None = None  # what failed, for the cell's install-error
    interrupted: bool = False
    fresh_may_help: bool = False  # a copy went wrong (not uv): building afresh may still succeed

    def describe(self) -> str:
        """`copied from 3f…/py3-12-baseline (1 package differs) in 0.41 s: copy 0.12 s, sync 0.27 s, …`."""
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.seconds.items())
        total = sum(self.seconds.values())
        return f"{self.how} in {total:.2f} s" + (f": {parts}" if parts else "")


@dataclass(frozen=True)
class Spec:
    """What one cell's environment must be."""

    env_dir: Path  # the key's folder: the environment, its record and the cell lock
    location: Path  # the environment itself (nox's folder inside env_dir)
    interpreter: Interpreter
    lock_path: Path
    lock_key: str
    install_args: Sequence[str]

    @property
    def record_path(self) -> Path:
        """Where the environment's record goes once it is verified."""
        return self.env_dir / RECORD_NAME


@dataclass(frozen=True)
class _Steps:
    """What every step of one preparation shares: its variables, its log, its time and its stop."""

    env: Mapping[str, str]
    log: Path
    timeout: float
    cancel: threading.Event | None

    def run(self, argv: Sequence[str | os.PathLike[str]], cwd: Path, *, spent: float = 0.0) -> proc.Completed:
        """One tool's run, logged, within what is left of the time after `spent` seconds."""
        left = max(self.timeout - spent, 1.0)
        return proc.run(argv, cwd=cwd, env=self.env, timeout=left, log_path=self.log, cancel=self.cancel)


def prepare(
    spec: Spec, *, env: Mapping[str, str], log: Path, timeout: float, cancel: threading.Event | None
) -> Prepared:
    """Make `spec.location` hold exactly the lock, at the least cost (see the module's doc)."""
    steps = _Steps(env, log, timeout, cancel)
    packages = lock_packages(spec.lock_path.read_text(encoding="utf-8"))
    seconds: dict[str, float] = {}
    record = Record.read(spec.record_path)
    if record is not None and record.lock == spec.lock_key and record.location == spec.location.name:
        started = time.monotonic()
        problems = verify(spec.location, packages)
        seconds["verify"] = time.monotonic() - started
        if not problems:
            if record.origin:  # first use since it was copied: what its origin compiled meanwhile, once
                inherit_bytecode(spec.location, Path(record.origin))
                atomic_write(spec.record_path, dataclasses.replace(record, origin="").text())
            prune_bytecode(spec.location)
            return _said(log, Prepared(True, REUSED, seconds))
        _note(log, f"the environment no longer holds its lock ({'; '.join(problems[:3])}): building it again")
    spec.record_path.unlink(missing_ok=True)
    source = nearest(spec.env_dir.parent, spec.interpreter, packages, exclude=spec.env_dir)
    if source is not None:
        copied = _copy(spec, source, packages, steps)
        if not copied.fresh_may_help:
            return copied
        _note(log, "building the environment afresh instead")
    return _fresh(spec, packages, steps)


def _copy(
    spec: Spec,
    source: Path,
    packages: Mapping[str, str],
    steps: _Steps,
) -> Prepared:
    record = Record.read(source / RECORD_NAME)
    assert record is not None
    origin = source / record.location
    differ = distance(record.packages, packages)
    how = f"copied from {source.name}/{record.location} (packages to change: {differ})"
    _note(steps.log, f"environment: {how}")
    started = time.monotonic()
    _remove(spec.location)
    partial = spec.location.with_name(spec.location.name + ".partial")
    _remove(partial)
    try:
        shutil.copytree(origin, partial, symlinks=True, copy_function=os.link, ignore=_unrecorded(origin))
        _move_bytecode(partial, origin, spec.location)
        partial.rename(spec.location)
    except (OSError, shutil.Error) as exc:
        _remove(partial)
        failure = proc.Completed(("copy",), 1, f"error: cannot copy {origin}: {exc}", "", 0.0)
        return Prepared(False, how, {"copy": time.monotonic() - started}, failure, fresh_may_help=True)
    changed = {name for name in record.packages if record.packages[name] != packages.get(name)}
    forget_bytecode(spec.location, changed)
    seconds = {"copy": time.monotonic() - started}
    # uv keeps an installed name==version whatever its hashes: the same version built differently
    # (another index, a rebuilt local wheel) must be installed again from this lock's file
    rebuilt = sorted(
        name for name in changed if name in packages and _version(record.packages[name]) == _version(packages[name])
    )
    synced = _sync(spec, packages, how, seconds, steps, reinstall=rebuilt, origin=origin)
    if synced.failure is not None and synced.failure.argv == ("verify",):
        return dataclasses.replace(synced, fresh_may_help=True)
    return synced


def _fresh(
    spec: Spec,
    packages: Mapping[str, str],
    steps: _Steps,
) -> Prepared:
    _note(steps.log, "environment: created")
    started = time.monotonic()
    _remove(spec.location)
    spec.env_dir.mkdir(parents=True, exist_ok=True)
    argv: list[str | os.PathLike[str]] = ["venv", "--relocatable", "--quiet", "--python", spec.interpreter.path]
    argv = [uv_binary(), *argv, spec.location]
    done = steps.run(argv, spec.env_dir)
    seconds = {"venv": time.monotonic() - started}
    if not done.ok:
        return Prepared(False, "created", seconds, done, interrupted=done.interrupted)
    started = time.monotonic()
    seed_library_bytecode(spec.location, steps)
    seconds["library bytecode"] = time.monotonic() - started
    return _sync(spec, packages, "created", seconds, steps)


def _sync(
    spec: Spec,
    packages: Mapping[str, str],
    how: str,
    seconds: dict[str, float],
    steps: _Steps,
    *,
    reinstall: Sequence[str] = (),
    origin: Path | None = None,
) -> Prepared:
    argv: list[str | os.PathLike[str]] = [
        uv_binary(),
        "pip",
        "sync",
        "--require-hashes",
        "--python",
        python_of(spec.location),
        *spec.install_args,
        *(f"--reinstall-package={name}" for name in reinstall),
        spec.lock_path,
    ]
    done = steps.run(argv, spec.env_dir, spent=sum(seconds.values()))
    seconds["sync"] = done.duration
    if not done.ok:
        return Prepared(False, how, seconds, done, interrupted=done.interrupted)
    started = time.monotonic()
    problems = verify(spec.location, packages)
    seconds["verify"] = time.monotonic() - started
    if problems:
        text = "error: the environment does not hold exactly its lock: " + "; ".join(problems[:10])
        _note(steps.log, text)
        return Prepared(False, how, seconds, proc.Completed(("verify",), 1, text, "", 0.0))
    prune_bytecode(spec.location)
    record = Record(
        str(spec.interpreter.path),
        spec.interpreter.full_version,
        spec.lock_key,
        spec.location.name,
        dict(packages),
        origin=str(origin.absolute()) if origin is not None else "",
    )
    atomic_write(spec.record_path, record.text())
    return _said(steps.log, Prepared(True, how, seconds))


def _unrecorded(env: Path) -> Callable[[str, list[str]], set[str]]:
    """For `shutil.copytree`: the files in site-packages that no installed distribution's RECORD lists
    — what the environment's own tests wrote there (a counter, a cache) — stay behind, so a copy
    holds what a fresh install would, and its bytecode. A copy's files are hardlinks: shared with the
    original (and uv's cache) until replaced, which Python's bytecode writes and uv's installs do."""
    site = site_packages(env)
    recorded: set[str] = set()
    if site is not None:
        for record in site.glob("*.dist-info/RECORD"):
            recorded |= {os.path.normpath(site / path) for path in _record_paths(record)}
    inside = os.fspath(site) if site is not None else None

    def ignore(folder: str, names: list[str]) -> set[str]:
        if inside is None or not (folder == inside or folder.startswith(inside + os.sep)):
            return set()
        paths = {name: Path(folder, name) for name in names}
        return {name for name, path in paths.items() if os.fspath(path) not in recorded and not path.is_dir()}

    return ignore


def python_of(env: Path) -> Path:
    """An environment's interpreter."""
    return env / "bin" / "python"


def site_packages(env: Path) -> Path | None:
    """An environment's site-packages folder (None before it exists)."""
    found = sorted(env.glob("lib/python*/site-packages"))
    return found[0] if found else None


def verify(env: Path, packages: Mapping[str, str]) -> list[str]:
    """What keeps `env` from holding exactly `packages` (name → `version …`): an installed
    distribution missing, extra or at another version, a site-packages entry that no installed
    distribution claims, a script that runs another environment's interpreter. Empty: it holds
    them exactly."""
    site = site_packages(env)
    if site is None or not (env / "pyvenv.cfg").is_file():
        return [f"{env} is not an environment"]
    problems: list[str] = []
    wanted = {canonicalize_name(name): _version(spec) for name, spec in packages.items()}
    installed: dict[NormalizedName, str] = {}
    claimed: set[str] = set()
    entries = sorted(entry.name for entry in site.iterdir())
    for entry in entries:
        if not entry.endswith(".dist-info"):
            continue
        name, _, version = entry.removesuffix(".dist-info").rpartition("-")
        key = canonicalize_name(name)
        if key in installed:
            problems.append(f"{key} is installed twice")
        installed[key] = version
        claimed.add(entry)
        claimed |= _claimed(site / entry / "RECORD")
    for name in sorted(wanted.keys() | installed.keys()):
        want, have = wanted.get(name), installed.get(name)
        if have is None:
            problems.append(f"{name}=={want} is not installed")
        elif want is None:
            problems.append(f"{name}=={have} is installed but not in the lock")
        elif not _same_version(want, have):
            problems.append(f"{name} is {have}, the lock says {want}")
    for entry in entries:
        if entry not in claimed and entry not in _UNCLAIMED_OK and _holds_a_file(site / entry):
            problems.append(f"site-packages/{entry} belongs to no installed distribution")
    problems += _foreign_scripts(env)
    return problems


def _holds_a_file(path: Path) -> bool:
    """Whether `path` is a file, or a folder with a file somewhere inside (a wheel may leave an empty
    folder that its RECORD does not list, such as pandas' `pandas.libs`)."""
    if not path.is_dir() or path.is_symlink():
        return True
    return any(files for _, _, files in os.walk(path))


def _version(entry: str) -> str:
    """The version of a `lock_packages` entry (`version sha256:… …`)."""
    return entry.split(" ", 1)[0]


def _same_version(want: str, have: str) -> bool:
    try:
        return Version(want) == Version(have)
    except InvalidVersion:
        return want == have


def _record_paths(record: Path) -> list[str]:
    """The paths a distribution's RECORD lists, relative to site-packages."""
    try:
        text = record.read_text(encoding="utf-8")
    except OSError:
        return []
    return [row[0] for row in csv.reader(text.splitlines()) if row and row[0]]


def _claimed(record: Path) -> set[str]:
    """The site-packages entries (first path parts) a distribution's RECORD lists."""
    return {path.split("/", 1)[0] for path in _record_paths(record) if not path.startswith(("..", "/"))}


def _foreign_scripts(env: Path) -> list[str]:
    """Scripts whose first line names an interpreter outside `env` (a copy of an environment that
    was not made relocatable would run the original's Python)."""
    problems = []
    own = os.fspath(env.resolve())
    with contextlib.suppress(OSError):
        for script in sorted((env / "bin").iterdir()):
            if script.is_symlink() or not script.is_file():
                continue
            with script.open("rb") as handle:
                first = handle.readline(4096).decode("utf-8", "replace").strip()
            if not first.startswith("#!"):
                continue
            command = first[2:].strip().split()[0] if first[2:].strip() else ""
            if command.startswith("/") and command not in ("/bin/sh", "/usr/bin/env") and not command.startswith(own):
                problems.append(f"bin/{script.name} runs {command}")
    return problems


# --------------------------------------------------------------------- bytecode


def _prefix_of(env: Path, folder: Path) -> Path:
    """Where the bytecode of the files in `folder` lives under `env`'s pycache prefix."""
    return env / PYCACHE / folder.relative_to(folder.anchor)


def _move_bytecode(copy: Path, original: Path, final: Path) -> None:
    """A copied environment's bytecode moves with its sources: the prefix mirrors absolute paths."""
    old = _prefix_of(copy, original)
    if old.is_dir():
        new = _prefix_of(copy, final)
        new.parent.mkdir(parents=True, exist_ok=True)
        old.rename(new)


def forget_bytecode(env: Path, names: Iterable[str]) -> None:
    """Drop the bytecode of the installed distributions `names` (before they are replaced)."""
    site = site_packages(env)
    wanted = {canonicalize_name(n) for n in names}
    if site is None or not wanted:
        return
    cache = _prefix_of(env, site)
    for entry in site.glob("*.dist-info"):
        if canonicalize_name(entry.name.removesuffix(".dist-info").rpartition("-")[0]) not in wanted:
            continue
        for top in _claimed(entry / "RECORD"):
            stem = top.removesuffix(".py")
            _remove(cache / top)
            for compiled in cache.glob(f"{stem}.*.pyc") if stem != top else ():
                compiled.unlink(missing_ok=True)


_LIBRARY = "import os, sys; print(sys.implementation.cache_tag); print(os.path.dirname(os.__file__))"
# folders of the standard library no suite imports from an environment (and the base's own packages)
_NOT_LIBRARY = frozenset({"__pycache__", "site-packages", "dist-packages", "test", "idlelib", "turtledemo", "tkinter"})


def seed_library_bytecode(env: Path, steps: _Steps) -> None:
    """Give a new environment its interpreter's compiled standard library.

    The suites run with the pycache prefix inside the environment, where Python looks for the
    bytecode of every module, the standard library's too: without this, each interpreter's first
    environment compiled the hundred-odd modules that pytest imports from the standard library
    (half a second). The interpreter's own `.pyc` files are linked into the prefix instead; they are
    checked against their sources as always, and one that is stale is written anew under the prefix
    (a new file: the interpreter's is never changed). Where they cannot be linked (another file
    system, no bytecode installed), nothing is seeded and the modules are compiled on first use."""
    # asked apart from the log: a logged run's `stdout` is the log's tail, not the answer alone
    done = proc.run([python_of(env), "-I", "-c", _LIBRARY], cwd=env, env=steps.env, timeout=30, cancel=steps.cancel)
    tag, _, where = done.stdout.strip().partition("\n")
    library = Path(where.strip())
    if not done.ok or not tag or not library.is_absolute() or not library.is_dir():
        return
    suffix = f".{tag}.pyc"  # not the -O and -OO files beside them
    with contextlib.suppress(OSError):
        for folder, children, _ in os.walk(library):
            compiled = "__pycache__" in children
            children[:] = [c for c in children if c not in _NOT_LIBRARY]
            if not compiled:
                continue
            mirror = _prefix_of(env, Path(folder))
            mirror.mkdir(parents=True, exist_ok=True)
            for entry in os.scandir(Path(folder, "__pycache__")):
                if entry.name.endswith(suffix):
                    with contextlib.suppress(FileExistsError):
                        os.link(entry.path, mirror / entry.name)


def inherit_bytecode(env: Path, origin: Path) -> None:
    """Link into `env`'s pycache prefix the bytecode that `origin`, the environment it was copied
    from, has compiled since the copy, for every source file the two still share (the very same
    file: a package the copy's sync replaced is not shared). An environment built ahead of its
    tests (`executors.local`) is copied before its origin's suites have compiled anything; it
    takes their bytecode here, when its own suites are about to run (once: later uses find their
    own), instead of compiling it again.
    What lies outside both environments is left to `prune_bytecode`, which runs after."""
    theirs_prefix = origin / PYCACHE
    if not theirs_prefix.is_dir():
        return
    theirs, ours = origin.absolute(), env.absolute()
    with contextlib.suppress(OSError):
        for folder, _, names in os.walk(theirs_prefix):
            source = Path("/", Path(folder).relative_to(theirs_prefix))
            inside = source == theirs or theirs in source.parents
            mine = ours / source.relative_to(theirs) if inside else source
            target = _prefix_of(env, mine)
            for name in names:
                if not name.endswith(".pyc") or (target / name).exists():
                    continue
                module = name.split(".", 1)[0] + ".py"
                if inside and not _same_file(mine / module, source / module):
                    continue
                target.mkdir(parents=True, exist_ok=True)
                os.link(Path(folder, name), target / name)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def prune_bytecode(env: Path) -> None:
    """Forget the bytecode of everything but the environment itself and its interpreter's own
    library: a cell's suites and run folder are compiled afresh each time, so an edited suite can
    never meet bytecode of its former self."""
    prefix = env / PYCACHE
    if not prefix.is_dir():
        return
    keep = [env.absolute(), env.resolve()]
    home = _home(env)
    if home is not None:
        keep.append(home.parent)  # base prefix: the standard library and lib-dynload
    _prune(prefix, Path(prefix.anchor), keep)


def _home(env: Path) -> Path | None:
    with contextlib.suppress(OSError):
        for line in (env / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                return Path(value.strip()).resolve()
    return None


def _prune(folder: Path, real: Path, keep: Sequence[Path]) -> None:
    """Remove what lies under `folder` (the prefix's mirror of `real`) unless it is, or leads to, a
    folder of `keep`."""
    for entry in list(os.scandir(folder)):
        path = real / entry.name
        if any(path == k or path in k.parents for k in keep):
            if entry.is_dir(follow_symlinks=False) and path not in keep:  # an ancestor of a kept folder
                _prune(Path(entry.path), path, keep)
            continue
        _remove(Path(entry.path))


# --------------------------------------------------------------------- helpers


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _note(log: Path, text: str) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"curator > {text}\n")


def _said(log: Path, prepared: Prepared) -> Prepared:
    _note(log, f"environment ready: {prepared.describe()}")
    return prepared
