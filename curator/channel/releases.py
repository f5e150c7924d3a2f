"""A published release: its folder read back, its files found in `files/`, and the folder seen as
the bundle it was.

`releases/<version>/` holds the bundle as published — every file and signature — except its
`wheels/`: each of those lives once in `files/<sha256>/<name>` (shared by every release that ships
it), and the release's `SHA256SUMS` still lists it as `wheels/…`, so the content address and the
signed list agree on every byte. Beside the bundle's files the channel writes `simple/` and
`constraints.txt` into the folder; they are the channel's, not the bundle's (`CHANNEL_OWNED`).
"""

from __future__ import annotations

import email.parser
import hashlib
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.utils import parse_wheel_filename

from curator.channel.pages import METADATA_SUFFIX, Artifact
from curator.channel.records import BundleRecord
from curator.host.inputs import Unreadable, read_regular
from curator.host.layout import BundleLayout, ChannelLayout
from curator.model import codec
from curator.model.ids import python_key
from curator.release import archive as files
from curator.release.contents import MAX_READ_BYTES, Folder
from curator.release.wheelhouse import identify

WHEELS = "wheels/"
RELEASE_JSON = BundleLayout(Path()).release_json.name
CHANNEL_OWNED = ChannelLayout.RELEASE_OWNED  # written into releases/<version>/ by the channel
MAX_METADATA_BYTES = 16 * 2**20  # core metadata is a few KiB; a long description a few hundred

Locate = Callable[[str], Path]  # a channel-relative path → where it is on disk (the channel, or staging)
Hashed = Callable[[str], str]  # a channel-relative path → the sha256 of the file there


class Unloadable(Exception):
    """A release folder that cannot be read back; the message names the file."""


def shipped(sums: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The distribution files a bundle's SHA256SUMS lists under `wheels/`: member → (file name, sha256)."""
    found = {}
    for member, digest in sums.items():
        name = PurePosixPath(member).name
        if member.startswith(WHEELS) and identify(name) is not None:
            found[member] = (name, digest)
    return found


def wheel_metadata(path: Path) -> bytes | None:
    """A wheel's core metadata (`<name>-<version>.dist-info/METADATA`); None when it has none."""
    try:
        with zipfile.ZipFile(path) as wheel:
            candidates = [
                info
                for info in wheel.infolist()
                if info.filename.count("/") == 1 and info.filename.endswith(".dist-info/METADATA")
            ]
            if len(candidates) != 1 or candidates[0].file_size > MAX_METADATA_BYTES:
                return None
            return wheel.read(candidates[0])
    except (OSError, zipfile.BadZipFile, ValueError):
        return None


def requires_python(metadata: bytes) -> str | None:
    """`Requires-Python` of core metadata."""
    value = email.parser.BytesParser().parsebytes(metadata, headersonly=True).get("Requires-Python")
    return str(value).strip() or None if value is not None else None


def read_record(data: bytes | None, where: str) -> BundleRecord:
    """A bundle's `release.json` as the channel reads it."""
    if data is None:
        raise Unloadable(f"{where}: missing")
    try:
        return codec.loads(BundleRecord, data, where)
    except codec.CodecError as exc:
        raise Unloadable(str(exc)) from None


@dataclass(frozen=True)
class ReleaseView:
    """A published release as the channel's pages need it."""

    version: str
    bundle: BundleRecord
    artifacts: tuple[Artifact, ...]
    report: bool  # the bundle holds the gating run's report/index.html

    @property
    def pythons(self) -> tuple[str, ...]:
        """The Pythons the bundle has locks for, oldest first."""
        return tuple(sorted(self.bundle.pythons, key=python_key))

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platforms the bundle says it holds; else what its files' tags say (`any` for pure wheels)."""
        said = self.bundle.said_platforms()
        if said is not None:
            return said
        tags: set[str] = set()
        for artifact in self.artifacts:
            if artifact.filename.endswith(".whl"):
                tags |= {tag.platform for tag in parse_wheel_filename(artifact.filename)[3]}
            else:
                tags.add("source")
        return tuple(sorted(tags))


Metadata = Callable[[str], bytes | None]  # a stored wheel's channel-relative path → its core metadata


def load(version: str, locate: Locate, metadata: Metadata | None = None) -> ReleaseView:
    """The release folder of `version`, its files found through `locate`; `Unloadable` names what is
    missing. A wheel's core metadata is its `.metadata` file, or what `metadata` says (`curator
    verify` reads it from the wheel itself, so a changed `.metadata` file is blamed alone)."""
    folder = ChannelLayout.release(version)
    sums = read_sums(version, locate)
    record = read_record(_read(locate, f"{folder}/{RELEASE_JSON}"), f"{folder}/{RELEASE_JSON}")
    artifacts = []
    for filename, digest in sorted(set(shipped(sums).values())):
        stored = ChannelLayout.stored(digest, filename)
        try:
            size = locate(stored).stat().st_size
        except OSError:
            raise Unloadable(f"{stored}: missing") from None
        core = metadata(stored) if metadata is not None else _optional(locate(stored + METADATA_SUFFIX))
        artifacts.append(
            Artifact(
                filename=filename,
                sha256=digest,
                size=size,
                requires_python=requires_python(core) if core is not None else None,
                metadata_sha256=hashlib.sha256(core).hexdigest() if core is not None else None,
            )
        )
    report = f"report/{Path(ChannelLayout.PAGE).name}" in sums
    return ReleaseView(version, record, tuple(artifacts), report)


def read_sums(version: str, locate: Locate) -> dict[str, str]:
    """The `SHA256SUMS` of the release folder of `version`; `Unloadable` when it is missing or
    malformed."""
    relative = f"{ChannelLayout.release(version)}/{files.SUMS}"
    try:
        return files.parse_sums(_read(locate, relative).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unloadable(f"{relative}: unreadable ({exc})") from None


def _read(locate: Locate, relative: str) -> bytes:
    try:
        return read_regular(locate(relative), MAX_READ_BYTES)
    except FileNotFoundError:
        raise Unloadable(f"{relative}: missing") from None
    except (OSError, Unreadable) as exc:
        raise Unloadable(f"{relative}: unreadable ({exc})") from None


def _optional(path: Path) -> bytes | None:
    try:
        return read_regular(path, MAX_METADATA_BYTES)
    except (OSError, Unreadable):
        return None


class ReleaseFolder:
    """A release folder seen as the bundle it was published from, for `release.verify.check`: its
    own files but the channel's (`CHANNEL_OWNED`), and each `wheels/` member SHA256SUMS lists, read
    from `files/`. It is named `<distribution>-<version>` after the folder, so a folder holding
    another release's bundle fails `check`'s identity test."""

    def __init__(self, root: Path, distribution: str, version: str, sums: Mapping[str, str], hashed: Hashed) -> None:
        self._folder = Folder(root / ChannelLayout.release(version))
        self._name = f"{distribution}-{version}"
        self._root = root
        self._hashed = hashed
        self._wheels = {
            member: ChannelLayout.stored(digest, name)
            for member, (name, digest) in shipped(sums).items()
            if (root / ChannelLayout.stored(digest, name)).is_file()
        }

    @property
    def name(self) -> str:
        """`<distribution>-<version>`, from the folder's name."""
        return self._name

    def stored_as(self, member: str) -> str | None:
        """Where a `wheels/` member of the bundle is stored (`files/<sha256>/<name>`)."""
        return self._wheels.get(member)

    def files(self) -> list[str]:
        """The bundle's files: the folder's, and the wheels found in `files/`."""
        return sorted([n for n in self._folder.files() if not _channel_owned(n)] + list(self._wheels))

    def odd(self) -> list[str]:
        """Links and special files in the folder (outside the channel's own)."""
        return [n for n in self._folder.odd() if not _channel_owned(n)]

    def folders(self) -> list[str]:
        """The folder's folders, and `wheels/` where wheels are found."""
        implied = {str(p) for member in self._wheels for p in PurePosixPath(member).parents if str(p) != "."}
        return sorted({n for n in self._folder.folders() if not _channel_owned(n)} | implied)

    def sha256(self, name: str) -> str:
        """A wheel's from `files/` (hashed once for the whole channel), any other file's from the folder."""
        if name in self._wheels:
            return self._hashed(self._wheels[name])
        return self._folder.sha256(name)

    def read(self, name: str) -> bytes | None:
        """A file of the folder (never a wheel: `check` reads none)."""
        return None if name in self._wheels or _channel_owned(name) else self._folder.read(name)


def _channel_owned(name: str) -> bool:
    return PurePosixPath(name).parts[0] in CHANNEL_OWNED
