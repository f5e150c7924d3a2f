"""Files of a bundle: SHA256SUMS and the byte-reproducible tarball (read back by `contents`, never unpacked).

The tarball holds one folder, entries sorted, every mtime the release's date, owners 0/0
with no names, modes 0644/0755, gzip without a timestamp or file name: the same folder
gives the same bytes on any machine with the same zlib.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from pathlib import Path, PurePosixPath

SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
PUBLIC_KEY = "SHA256SUMS.pub"
SIGNATURES = "signatures"  # a governed bundle's signatures/<principal>.sig
UNLISTED = frozenset({SUMS, SIGNATURE})  # with signatures/, everything else is listed in SHA256SUMS


def unlisted(name: str) -> bool:
    """Whether a bundle member is one SHA256SUMS cannot list: itself and the signatures of it
    (`SHA256SUMS.sig`, anything under `signatures/`, which verify then accounts for)."""
    return name in UNLISTED or name.startswith(f"{SIGNATURES}/")


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def walk(root: Path) -> tuple[list[str], list[str]]:
    """(regular files, anything else) under `root`, as sorted POSIX paths relative to it."""
    files: list[str] = []
    odd: list[str] = []
    for folder, dirs, names in os.walk(root):
        base = Path(folder)
        for name in [*names, *(d for d in dirs if (base / d).is_symlink())]:
            path = base / name
            relative = path.relative_to(root).as_posix()
            (files if path.is_file() and not path.is_symlink() else odd).append(relative)
    return sorted(files), sorted(odd)


def render_sums(root: Path) -> str:
    """SHA256SUMS for every file under `root` but the sums and their signatures (`sha256sum -c` reads it)."""
    files, _ = walk(root)
    return "".join(f"{sha256_file(root / f)}  {f}\n" for f in files if not unlisted(f))


def parse_sums(text: str) -> dict[str, str]:
    """`{path: sha256}` from a SHA256SUMS file; a malformed line is a `ValueError` naming it."""
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        name = name.removeprefix("*")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            raise ValueError(f"{SUMS}:{number}: not a `SHA256  PATH` line")
        posix = PurePosixPath(name)
        if posix.is_absolute() or ".." in posix.parts:
            raise ValueError(f"{SUMS}:{number}: path {name!r} leaves the bundle")
        sums[name] = digest
    return sums


def write_tarball(folder: Path, arcname: str, target: Path, mtime: int) -> str:
    """Pack `folder` as `arcname/…` into `target`, reproducibly; returns the tarball's sha256."""
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        archive.addfile(_entry(arcname, tarfile.DIRTYPE, 0o755, mtime))
        entries = sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix())
        for path in entries:
            name = f"{arcname}/{path.relative_to(folder).as_posix()}"
            if path.is_dir():
                archive.addfile(_entry(name, tarfile.DIRTYPE, 0o755, mtime))
            else:
                info = _entry(name, tarfile.REGTYPE, 0o644, mtime)
                info.size = path.stat().st_size
                with path.open("rb") as handle:
                    archive.addfile(info, handle)
    return sha256_file(target)


def _entry(name: str, kind: bytes, mode: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
