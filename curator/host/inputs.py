"""What users hand curator, taken defensively: files read whole, and values echoed in messages.

A manifest, a key or a bundle is somebody else's file. A FIFO or `/dev/zero` given where a
manifest belongs must not hang curator or fill its memory, so such files are opened without
blocking, checked to be regular files and read up to a bound. A value echoed in an error
must not split the one-line message (a newline) or make it megabytes long, so it is quoted
and cut.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from curator.model.errors import UsageError

QUOTE_LIMIT = 80  # characters of an echoed value; the rest is counted, not shown

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class Unreadable(Exception):
    """A file that is not a regular file, is too large, or cannot be read; the message says which."""


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes.

    The file is opened without blocking and checked once open, so a FIFO or a device is
    refused rather than read, and nothing can be swapped in between the check and the read.
    A missing file raises `FileNotFoundError`; anything else wrong raises `Unreadable`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Unreadable(f"cannot open it ({exc.strerror})") from None
    except ValueError:  # a NUL or an unencodable character in the name
        raise Unreadable("its name is not a usable file name") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise Unreadable(f"not a regular file (it is {_KINDS.get(stat.S_IFMT(mode), 'something else')})")
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise Unreadable(f"cannot read it ({exc.strerror})") from None
    if len(data) > limit:
        raise Unreadable(f"larger than {size(limit)}, too large to be what curator expects here")
    return data


def size(count: int) -> str:
    """A byte count for messages: `16 MiB`."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale and count % scale == 0:
            return f"{count // scale} {unit}"
    return f"{count:,} bytes"


def quoted(value: str, limit: int = QUOTE_LIMIT) -> str:
    """A value as a one-line message shows it: quoted like `repr` (newlines, NULs and lone
    surrogates escaped) and cut after `limit` characters, with the full length said."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


def one_line(message: str) -> str:
    """`message` with every control character escaped, so it prints as exactly one line."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def text_name(path: Path, label: str) -> None:
    """Bad input, before any work starts: a path whose name is not UTF-8 (Python keeps such bytes
    as lone surrogates). The store, run.json and the report record paths as text, so such a name
    would fail only once the run had begun, leaving a store behind."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = os.fsencode(exc.object[exc.start : exc.end])
        raise UsageError(
            f"{label}: the name holds bytes that are not UTF-8 ({byte!r}); curator records paths as text: "
            "use a name in UTF-8"
        ) from None


def writable_folder(path: Path, label: str) -> None:
    """Bad input, before any work starts: `path` is not a folder curator could create or write in.

    `label` starts the message (`--out reports/x`). A folder that does not exist yet is created
    and removed again: the one sure test (`os.access` says yes to root under /proc, where
    nothing can be created).
    """
    text_name(path, label)
    try:
        if path.is_dir():
            if not os.access(path, os.W_OK | os.X_OK):
                raise UsageError(f"{label}: the folder is not writable")
            return
        if os.path.lexists(path):
            raise UsageError(f"{label}: exists and is not a folder")
        missing = [p for p in (path, *path.parents) if not os.path.lexists(p)]
        try:
            path.mkdir(parents=True)
        finally:
            for folder in missing:  # deepest first
                with contextlib.suppress(OSError):
                    folder.rmdir()
    except OSError as exc:
        raise UsageError(f"{label}: cannot create a folder there ({exc.strerror})") from None
    except ValueError:
        raise UsageError(f"{label}: not a usable file name") from None
