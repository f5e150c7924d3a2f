"""The wire format of a cell sent to another machine: a self-contained, path-free `WireTask`, and the
`WireResult` that comes back. Both are plain JSON (no pickled curator classes), so a worker with
another curator refuses a task by its `wire` version instead of failing to unpickle it.

A task carries everything that decides the cell, as content: the lock text, the suites' commands
with the coordinator's paths replaced by placeholders (`<run>` for the run folder, `<suite:DIGEST>`
for a suite folder, whose files travel once per digest as a `folder_blob`), the package tests'
commands, the policy's timeout and retries, the interpreter wanted (X.Y, and the exact version and
build the outcome key was computed with — none for a cell of a platform the coordinator does not
serve, whose key holds only X.Y), uv's index options, and both keys as the coordinator
computed them. A worker never recomputes a key. The one path it carries, where the coordinator has
the interpreter, is a hint: the worker probes it first when it is one of the places it searches anyway,
and takes it only when it is that very build.

A result carries the `CellOutcome` (log paths relative to the cell's run folder, as locally) and the
cell's log folder as a tar archive, bounded in size: past `LOG_BUDGET` the largest files keep their
head and tail, with the line a suite's log has where it was cut (`protocol.cut_notice`) saying so.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from curator.execute.cell import CellTask, SuiteSpec
from curator.execute.harness import protocol
from curator.model import codec
from curator.model.ids import CellId, PyVersion
from curator.model.outcome import CellOutcome
from curator.plan.cells import Cell, suite_digest, suite_files

WIRE_VERSION = 3
"""Bumped when a shape below changes; a worker refuses a task of another version (3: a cell's
`platform`, an outcome's `tested`)."""

RUN = "<run>"
LOG_BUDGET = 16 * 1024 * 1024
"""The most log bytes one cell sends back (its cell.log, suite logs and JUnit files together): three
suite logs at their own bound (`protocol.LOG_HEAD + protocol.LOG_TAIL`, cut by the runner where the
suite ran) travel whole."""


class WireError(ValueError):
    """A task or result of another shape (another curator on the other side)."""


def suite_placeholder(digest: str) -> str:
    """What stands for a suite folder in a task: `<suite:DIGEST>`."""
    return f"<suite:{digest}>"


@dataclass(frozen=True)
class WireTask:
    """One cell, as another machine runs it (its suites' paths replaced by placeholders)."""

    cell: Cell
    python: PyVersion
    full_version: str
    build: str
    lock_text: str
    install_args: tuple[str, ...]
    suites: tuple[SuiteSpec, ...]
    folders: tuple[str, ...]  # digests of the suite folders it needs
    outcome_key: str
    lock_key: str
    timeout: float
    retries: int
    hint: str = ""  # where the coordinator has the interpreter: tried first, never trusted unprobed

    def to_json(self) -> dict[str, object]:
        """JSON form, with its wire version."""
        return {"wire": WIRE_VERSION, **codec.to_json(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WireTask:
        """Read back; a `WireError` for another version or shape."""
        return _read(cls, data, "task")

    def local_folders(self) -> list[str]:
        """The local folders uv is told to find packages in (`--find-links /abs/path`): they must
        exist on the worker too, at the same path."""
        found = []
        for option, value in zip(self.install_args, self.install_args[1:], strict=False):
            if option == "--find-links" and "://" not in value:
                found.append(value)
        return found


R = TypeVar("R")


def _read(shape: type[R], data: Mapping[str, Any], what: str) -> R:
    """A task or result read back: its wire version checked, then its shape."""
    if not isinstance(data, Mapping) or data.get("wire") != WIRE_VERSION:
        version = data.get("wire") if isinstance(data, Mapping) else None
        raise WireError(
            f"a cell {what} of wire version {version}, this curator speaks {WIRE_VERSION}: "
            "install the same curator on the coordinator and the workers"
        )
    try:
        return codec.from_json(shape, data, what)
    except codec.CodecError as exc:
        raise WireError(f"a cell {what} of another shape ({exc})") from None


# ------------------------------------------------------------------ coordinator → worker


def pack(task: CellTask, folders: Mapping[Path, str]) -> WireTask:
    """A local task as a wire task; `folders` maps each suite folder to its digest (`folder_blob`)."""
    masks = sorted(((str(path), suite_placeholder(d)) for path, d in folders.items()), key=lambda m: -len(m[0]))
    masks.append((str(task.layout.root), RUN))

    def masked(text: str) -> str:
        for path, placeholder in masks:  # a path ends where a path character does not follow
            text = re.sub(re.escape(path) + r"(?=$|/|[^\w.@+-])", placeholder.replace("\\", r"\\"), text)
        return text

    suites = tuple(replace(s, argv=tuple(masked(a) for a in s.argv), cwd=masked(s.cwd)) for s in task.suites)
    used = sorted({folders[path] for path in suite_folders(task.suites, list(folders))})
    return WireTask(
        cell=task.cell,
        python=task.interpreter.version,
        full_version=task.interpreter.full_version if task.exact_python else "",
        build=task.interpreter.build if task.exact_python else "",
        lock_text=task.lock_path.read_text(encoding="utf-8"),
        install_args=task.install_args,
        suites=suites,
        folders=tuple(used),
        outcome_key=task.outcome_key,
        lock_key=task.lock_key,
        timeout=task.timeout,
        retries=task.retries,
        hint=str(task.interpreter.path),
    )


def folder_blob(folder: Path) -> tuple[str, bytes]:
    """A suite folder as (digest, deterministic tar.gz of its files): the digest is the plan's
    `suite_digest`, so equal folders travel and are cached once."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for path in suite_files(folder):
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return suite_digest(folder), buffer.getvalue()


def unpack_folder(blob: bytes, target: Path) -> None:
    """A `folder_blob` written out into `target` (regular files only, nothing outside it)."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        archive.extractall(target, filter="data")


# ------------------------------------------------------------------ worker side


def unpack(task: WireTask, root: Path, folders: Mapping[str, Path]) -> tuple[SuiteSpec, ...]:
    """The task's suites with placeholders replaced by this machine's paths."""

    def local(text: str) -> str:
        text = text.replace(RUN, str(root))
        for digest, path in folders.items():
            text = text.replace(suite_placeholder(digest), str(path))
        return text

    return tuple(replace(s, argv=tuple(local(a) for a in s.argv), cwd=local(s.cwd)) for s in task.suites)


# ------------------------------------------------------------------ worker → coordinator


@dataclass(frozen=True)
class WireResult:
    """What comes back: the outcome, the log folder (tar), where it ran; or that it was interrupted."""

    cell_id: CellId
    worker: str
    outcome: CellOutcome | None  # None: interrupted (the run was cancelled), nothing to record
    logs: bytes = b""
    truncated: tuple[str, ...] = ()  # log files that came back shortened to their tails

    def to_json(self) -> dict[str, object]:
        """JSON form (the log archive stays bytes: dask moves it as is)."""
        return {"wire": WIRE_VERSION, **codec.to_json(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WireResult:
        """Read back; a `WireError` for another version or shape."""
        return _read(cls, data, "result")


def pack_logs(folder: Path, budget: int = LOG_BUDGET, *, note: str = "") -> tuple[bytes, tuple[str, ...]]:
    """A cell's log folder as a tar.gz of at most about `budget` bytes of content: a file that does
    not fit keeps its head (a fifth of its share) and its tail, with a line between saying how much
    was cut to travel back (`note`: from where). Files are read only as far as they are kept."""
    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    buffer = io.BytesIO()
    truncated: list[str] = []
    left = budget
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for index, path in enumerate(files):
            share = left // max(1, len(files) - index)  # what every file still to come may have
            data, cut = _kept(path, share, f"cut to travel back{' from ' + note if note else ''}")
            if cut:
                truncated.append(path.relative_to(folder).as_posix())
            left -= len(data)
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, int(path.stat().st_mtime)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), tuple(truncated)


def _kept(path: Path, share: int, why: str) -> tuple[bytes, bool]:
    """A file's bytes when they fit in `share`, else its head and tail around a notice; and whether it was cut."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size <= share:
            return handle.read(), False
        room = max(0, share - 300)  # the notice's own length
        head = room // 5
        tail = room - head
        first = handle.read(head)
        handle.seek(size - tail)
        last = handle.read(tail)
    return first + protocol.cut_notice(size - head - tail, size, head, tail, why) + last, True


def suite_folders(suites: Sequence[SuiteSpec], known: Sequence[Path]) -> list[Path]:
    """Which of the `known` suite folders these suites run in or name."""
    return [path for path in known if any(str(path) in s.cwd or str(path) in " ".join(s.argv) for s in suites)]
