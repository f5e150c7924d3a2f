"""A bundle as `verify` and `diff` read it: its folder, or its tarball read in one pass, never unpacked.

A tarball is somebody else's file. Unpacking it would trust `tarfile`'s extraction filters,
which have been bypassed (CVE-2025-4517: a chain of symlinks past PATH_MAX wrote outside the
target folder); reading it member by member, hashing as it streams, writes nothing at all.
Every member is checked before its content is read: only regular files and folders, every
name below one top folder, no `..`, `.` or empty parts, no absolute names, no name twice, and
bounded sizes and counts. A tarball that breaks these rules was not written by curator: it is
refused as bad input (exit 2), naming the first member at fault, and nothing else is checked.
`unpack` (for `curator publish`) writes each member's bytes as they stream, under the same checks,
never through tarfile's extraction.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Protocol

from curator.host.inputs import Unreadable, quoted, read_regular, size
from curator.model.errors import UsageError
from curator.release import archive as files

MAX_MEMBERS = 100_000  # members of a tarball (a bundle of every wheel for four Pythons has a few hundred)
MAX_MEMBER_BYTES = 8 * 2**30  # one file (the largest wheels are a few GiB)
MAX_TOTAL_BYTES = 64 * 2**30  # all files together
MAX_HEADER_BYTES = 2**20  # one extended (PAX or GNU long-name) header, which tarfile reads into memory
MAX_NAME_CHARS = 4096
MAX_READ_BYTES = 64 * 2**20  # a file verify or diff reads whole (SHA256SUMS, locks, cells.csv)

Readable = Callable[[str], bool]  # which files (by path inside the bundle) are kept to be read

_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.CONTTYPE: "a contiguous file",
    tarfile.GNUTYPE_SPARSE: "a sparse file",
}


class Contents(Protocol):
    """What is in a bundle, by POSIX path inside its one folder (`locks/py3.12.txt`)."""

    @property
    def name(self) -> str:
        """The bundle's folder name (`pydata-core-2026.11`)."""
        ...

    def files(self) -> list[str]:
        """Every regular file, sorted."""
        ...

    def odd(self) -> list[str]:
        """Everything that is neither a regular file nor a folder (links), sorted."""
        ...

    def folders(self) -> list[str]:
        """Every folder below the top one (empty ones too), sorted."""
        ...

    def sha256(self, name: str) -> str:
        """The sha256 of a file of `files()`."""
        ...

    def read(self, name: str) -> bytes | None:
        """The bytes of a readable file; None when the bundle has no such regular file."""
        ...


def open_bundle(bundle: Path, readable: Readable) -> Contents:
    """A bundle folder, or a bundle tarball read (and checked) in one pass; `readable` names the
    files the caller will `read` (a tarball's other files are hashed, never kept)."""
    if bundle.is_dir():
        return Folder(bundle)
    if bundle.is_file() and bundle.name.endswith((".tar.gz", ".tgz")):
        return Archive(bundle, readable)
    raise UsageError(f"{bundle}: not a release bundle (give its folder or its .tar.gz)")


def unpack(tarball: Path, target: Path) -> str:
    """Write a bundle tarball's files below `target` (an empty folder curator made), checking each
    member as `Archive` does before anything of it is written: only files and folders, every name
    below the one top folder, so nothing lands outside `target` and no link is ever made. Returns
    the top folder's name; a tarball curator could not have written is a `UsageError`."""
    return Archive(tarball, lambda _name: False, unpack_to=target).name


class Folder:
    """A bundle folder on disk; links in it are reported by `odd`, never followed into."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files, self._odd = files.walk(root)
        self._present = set(self._files)
        self._folders = sorted(
            (Path(folder) / name).relative_to(root).as_posix()
            for folder, names, _ in os.walk(root)
            for name in names
            if not (Path(folder) / name).is_symlink()
        )

    @property
    def name(self) -> str:
        """The folder's name."""
        return self.root.resolve().name

    def files(self) -> list[str]:
        """Regular files under the folder."""
        return list(self._files)

    def odd(self) -> list[str]:
        """Links and special files under the folder."""
        return list(self._odd)

    def folders(self) -> list[str]:
        """Folders under the folder (links to folders are `odd`)."""
        return list(self._folders)

    def sha256(self, name: str) -> str:
        """Hashed from disk, in chunks."""
        return files.sha256_file(self.root / name)

    def read(self, name: str) -> bytes | None:
        """Read from disk, bounded."""
        if name not in self._present:
            return None
        try:
            return read_regular(self.root / name, MAX_READ_BYTES)
        except (OSError, Unreadable) as exc:
            raise UsageError(f"{self.root / name}: {exc}") from None


class Archive:
    """A bundle tarball, checked and hashed member by member as it streams; nothing is unpacked
    (unless `unpack_to` asks for the files: then each member, once checked, is written below it by
    curator itself, as a folder or a regular file — never by tarfile's extraction; see `unpack`)."""

    def __init__(self, path: Path, readable: Readable, unpack_to: Path | None = None) -> None:
        self.path = path
        self._unpack_to = unpack_to
        self._digests: dict[str, str] = {}
        self._kept: dict[str, bytes] = {}
        self._folders: set[str] = set()
        self._top = ""
        try:
            with tarfile.open(path, mode="r|gz", tarinfo=_BoundedTarInfo) as tar:
                self._scan(tar, readable)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise UsageError(f"{path}: not a readable .tar.gz ({' '.join(str(exc).split())})") from None

    @property
    def name(self) -> str:
        """The tarball's one top folder."""
        return self._top

    def files(self) -> list[str]:
        """Regular files below the top folder."""
        return sorted(self._digests)

    def odd(self) -> list[str]:
        """Nothing: a tarball with links or special files is refused outright."""
        return []

    def folders(self) -> list[str]:
        """Folders below the top one: each folder member, and each folder a file's name implies."""
        return sorted(self._folders)

    def sha256(self, name: str) -> str:
        """Hashed while streaming."""
        return self._digests[name]

    def read(self, name: str) -> bytes | None:
        """Kept while streaming (only files the caller named readable)."""
        if name not in self._digests:
            return None
        return self._kept[name]

    def _refuse(self, member: str, problem: str) -> UsageError:
        return UsageError(f"{self.path}: not a bundle tarball: member {quoted(member)} {problem}")

    def _scan(self, tar: tarfile.TarFile, readable: Readable) -> None:
        folders: set[str] = set()  # every folder, named or implied by a file below it
        total = 0
        for count, member in enumerate(tar, 1):
            if count > MAX_MEMBERS:
                raise UsageError(f"{self.path}: not a bundle tarball: more than {MAX_MEMBERS:,} members")
            relative = self._place(member)
            if relative is None:
                continue  # the top folder itself
            parents = [str(p) for p in PurePosixPath(relative).parents if str(p) != "."]
            if relative in self._digests or (relative in folders and member.type != tarfile.DIRTYPE):
                raise self._refuse(member.name, "appears twice")
            if any(p in self._digests for p in parents):
                raise self._refuse(member.name, "lies below a file")
            folders.update(parents)
            if member.type == tarfile.DIRTYPE:
                folders.add(relative)
                self._unpack_folder(relative)
                continue
            if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                kind = _KINDS.get(member.type, f"of type {member.type!r}")
                raise self._refuse(member.name, f"is {kind}; a bundle holds only files and folders")
            if member.size > MAX_MEMBER_BYTES:
                raise self._refuse(member.name, f"is larger than {size(MAX_MEMBER_BYTES)}")
            total += member.size
            if total > MAX_TOTAL_BYTES:
                raise UsageError(
                    f"{self.path}: not a bundle tarball: its files add up to more than {size(MAX_TOTAL_BYTES)}"
                )
            keep = readable(relative)
            if keep and member.size > MAX_READ_BYTES:
                raise self._refuse(member.name, f"is larger than {size(MAX_READ_BYTES)}")
            self._digests[relative], kept = _digest(tar, member, keep=keep, copy_to=self._target(relative))
            if keep:
                self._kept[relative] = kept
        if not self._top:
            raise UsageError(f"{self.path}: not a bundle tarball: it is empty")
        self._folders = folders

    def _target(self, relative: str) -> Path | None:
        """Where `unpack` writes a member (a checked name below the top folder); None when reading only."""
        return self._unpack_to.joinpath(*relative.split("/")) if self._unpack_to is not None else None

    def _unpack_folder(self, relative: str) -> None:
        if (target := self._target(relative)) is not None:
            target.mkdir(parents=True, exist_ok=True)

    def _place(self, member: tarfile.TarInfo) -> str | None:
        """The member's path below the top folder (None for the top folder itself), or a refusal."""
        name = member.name
        if len(name) > MAX_NAME_CHARS:
            raise self._refuse(name, f"has a name longer than {MAX_NAME_CHARS} characters")
        if "\0" in name:
            raise self._refuse(name, "has a NUL character in its name")
        if name.startswith("/"):
            raise self._refuse(name, "has an absolute name; a bundle's names lie below its one folder")
        parts = name.split("/")
        if ".." in parts:
            raise self._refuse(name, "leads outside the bundle ('..')")
        if any(part in ("", ".") for part in parts):
            raise self._refuse(name, "has an empty or '.' part in its name")
        if not self._top:
            self._top = parts[0]
        elif parts[0] != self._top:
            raise UsageError(
                f"{self.path}: not a bundle tarball: it holds more than one top folder "
                f"({quoted(self._top)} and {quoted(parts[0])}); a bundle tarball holds exactly one"
            )
        if len(parts) == 1:
            if member.type != tarfile.DIRTYPE:
                raise self._refuse(name, "is the top entry, and not a folder")
            return None
        return "/".join(parts[1:])


def _digest(
    tar: tarfile.TarFile, member: tarfile.TarInfo, *, keep: bool, copy_to: Path | None = None
) -> tuple[str, bytes]:
    """The member's sha256, and its bytes when `keep` (else empty); with `copy_to`, its bytes are
    also written to that new file."""
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    handle = tar.extractfile(member)
    assert handle is not None  # a regular file always has a reader
    with handle, contextlib.ExitStack() as stack:
        if copy_to is not None:
            copy_to.parent.mkdir(parents=True, exist_ok=True)
            sink = stack.enter_context(copy_to.open("xb"))  # never over a file: each name is new
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            if keep:
                chunks.append(chunk)
            if copy_to is not None:
                sink.write(chunk)
    return digest.hexdigest(), b"".join(chunks)


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a PAX or GNU long-name header whole into memory before curator sees the member;
    one that claims more than `MAX_HEADER_BYTES` is refused first."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        extended = (
            tarfile.GNUTYPE_LONGNAME,
            tarfile.GNUTYPE_LONGLINK,
            tarfile.XHDTYPE,
            tarfile.XGLTYPE,
            tarfile.SOLARIS_XHDTYPE,
        )
        if self.type in extended and self.size > MAX_HEADER_BYTES:
            raise tarfile.HeaderError(f"an extended header of {self.size:,} bytes (more than {size(MAX_HEADER_BYTES)})")
        return super()._proc_member(tarfile_)  # type: ignore[misc,no-any-return]
