"""Change a channel as one step, as far as a filesystem allows (the idea of `release.place`).

A publish or a yank changes many files: new files in `files/`, a new release folder, index pages,
`channel.json`, `index.html` and the log. All of them are first written into a staging folder
inside the channel (`.channel.partial-*/new/…`, on the same filesystem, so every move is a
rename). Then a journal (`JOURNAL`) naming every move and removal is written there; then the
moves are made in the journal's order — new files and release folders first, then the pages that
link to them, then stale pages removed, then `channel.json`, `index.html` and, last, `log.jsonl`:
the commit point — and the staging folder goes.

Killed before the journal is written, nothing in place has changed, and the next command that
changes the channel removes the staging folder: the channel is as it was. Killed after it,
everything still to be placed is in the staging folder, and the next command finishes the moves
first (roll forward): the channel is complete. Every step is a rename or a removal that can be
made again, so a recovery that is itself killed is finished by the next. Meanwhile a reader never
follows a link to a missing file — files are placed before any page that links to them — and
`curator verify` names the pending change.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curator.host.layout import ChannelLayout, fsync
from curator.model import codec
from curator.model.errors import UsageError

STAGING = ".channel.partial-"
JOURNAL = "JOURNAL"
_NEW = "new"


@dataclass(frozen=True)
class Journal:
    """What a change places: channel-relative paths, each staged under `new/`."""

    moves: tuple[str, ...]  # placed first, in this order (a folder moves whole)
    removes: tuple[str, ...]  # then these files go (and the folders they leave empty)
    last: tuple[str, ...]  # then these are placed: channel.json, index.html, log.jsonl


class Staging:
    """A staging folder in a channel, for one change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = Path(tempfile.mkdtemp(prefix=STAGING, dir=root))

    def path(self, relative: str) -> Path:
        """Where a channel-relative path is staged."""
        return ChannelLayout(self.folder / _NEW).path(relative)

    def write(self, relative: str, content: bytes) -> None:
        """Stage a file's new content."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    def adopt(self, relative: str, source: Path) -> None:
        """Stage a file or folder already written elsewhere in the staging folder, by moving it."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)

    def commit(self, journal: Journal) -> None:
        """Make the staged content durable, write the journal, and place everything."""
        for folder, _, names in os.walk(self.folder):
            for name in names:
                fsync(Path(folder) / name)
            fsync(Path(folder))
        tmp = self.folder / f".{JOURNAL}.tmp"
        tmp.write_text(codec.dumps(journal) + "\n", encoding="utf-8")
        fsync(tmp)
        tmp.replace(self.folder / JOURNAL)
        fsync(self.folder)
        finish(self.root, self.folder, journal)

    def abandon(self) -> None:
        """Remove the staging folder of a change that was never committed."""
        if not (self.folder / JOURNAL).exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: type[BaseException] | None, _exc: BaseException | None, _tb: object) -> None:
        if kind is not None:  # anything that stops a change before it is committed leaves nothing staged
            self.abandon()


@contextmanager
def creating(root: Path) -> Iterator[None]:
    """A change to a channel that may not exist yet: a channel folder it made, and left empty when
    it stopped, is removed again."""
    created = not root.exists()
    try:
        yield
    except BaseException:
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        raise


def finish(root: Path, folder: Path, journal: Journal) -> None:
    """Place what the journal says is still staged, remove what it says goes, then the staging folder."""
    new = ChannelLayout(folder / _NEW)
    for relative in journal.moves:
        _place(new.path(relative), ChannelLayout(root).path(relative))
    for relative in journal.removes:
        target = ChannelLayout(root).path(relative)
        target.unlink(missing_ok=True)
        _prune(target.parent, root)
    for relative in journal.last:
        _place(new.path(relative), ChannelLayout(root).path(relative))
    fsync(root)
    shutil.rmtree(folder, ignore_errors=True)


def pending(root: Path) -> list[Path]:
    """Staging folders in a channel: changes that were interrupted (or are under way)."""
    return sorted(p for p in root.glob(f"{STAGING}*") if p.is_dir() and not p.is_symlink())


def recover(root: Path) -> list[str]:
    """Finish every interrupted change in `root` whose journal was written, remove the others' staging
    folders (call it holding the channel's lock); what was done."""
    done = []
    for folder in pending(root):
        path = folder / JOURNAL
        if not path.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            continue
        try:
            journal = codec.loads(Journal, path.read_bytes(), str(path))
        except (OSError, codec.CodecError) as exc:
            raise UsageError(
                f"{path}: cannot read the journal of an interrupted change ({exc}); remove {folder}"
            ) from None
        try:
            finish(root, folder, journal)
        except OSError as exc:
            raise UsageError(
                f"{folder}: cannot finish the interrupted change it holds ({exc.strerror}: {exc.filename})"
            ) from None
        done.append(
            f"finished an interrupted change of {root} ({len(journal.moves) + len(journal.last)} file(s) placed)"
        )
    return done


def _place(source: Path, target: Path) -> None:
    if not os.path.lexists(source):
        return  # placed before an interruption
    target.parent.mkdir(parents=True, exist_ok=True)
    source.replace(target)
    fsync(target.parent)


def _prune(folder: Path, root: Path) -> None:
    """Remove `folder` and its parents below `root` while they are empty."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
