"""Core metadata of resolved files: Requires-Dist puts specifiers on graph edges; licences go into SBOMs.

A local wheel is read in place; a remote one through its PEP 658 `.metadata` file, falling
back to the wheel itself. Answers are cached on disk by URL, so a graph is drawn offline
once it has been drawn online.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from packaging.metadata import Metadata
from packaging.requirements import Requirement

from curator import __version__
from curator.host.layout import atomic_write

USER_AGENT = f"curator/{__version__}"


def core_metadata(url: str, cache: Path) -> Metadata | None:
    """The parsed core metadata of a distribution file; None when it cannot be read."""
    raw = _cached_metadata(url, cache)
    if raw is None:
        return None
    try:
        return Metadata.from_email(raw, validate=False)
    except ValueError:
        return None


def requires_dist(url: str, cache: Path) -> list[Requirement] | None:
    """The requirements a distribution file declares; None when they cannot be read."""
    metadata = core_metadata(url, cache)
    return None if metadata is None else list(metadata.requires_dist or [])


def _cached_metadata(url: str, cache: Path) -> bytes | None:
    entry = cache / "metadata" / (hashlib.sha256(url.encode()).hexdigest() + ".METADATA")
    if entry.exists():
        return entry.read_bytes()
    raw = _fetch_metadata(url)
    if raw is not None:
        atomic_write(entry, raw)  # the graphs of several Pythons may fetch the same file's metadata at once
    return raw


def _fetch_metadata(url: str) -> bytes | None:
    path = urllib.parse.urlparse(url).path
    if not path.endswith(".whl"):
        return None  # an sdist's metadata needs a build; the edge keeps no specifier
    if url.startswith("file:"):
        return _from_wheel(Path(urllib.request.url2pathname(path)).read_bytes())
    try:
        return _get(url + ".metadata")
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            return None
    except (urllib.error.URLError, TimeoutError, OSError):
        return None
    try:
        return _from_wheel(_get(url))
    except (urllib.error.URLError, TimeoutError, OSError):
        return None


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        data: bytes = response.read()
        return data


def _from_wheel(data: bytes) -> bytes | None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return archive.read(name)
    return None
