"""`wheels/`: every file every lock installs, each checked against its lock's hashes.

The file for each package and Python is the one uv picks for that interpreter (from the
pylock it writes) — for a platform's lock, the one uv picks for that platform
(`--python-platform`: a Windows wheel on a Linux machine); local `file://` wheels are copied,
remote ones downloaded. A file whose sha256 the lock does not allow is never written. With a
wheelhouse, each pylock is written again from `wheels/` alone, every file named by its path
relative to the lock (PEP 751), so `uv pip install -r locks/pylock.py312.toml --offline` needs
nothing but the bundle (`pylock`).
"""

from __future__ import annotations

import hashlib
import tempfile
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from packaging.utils import NormalizedName, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from curator.model.distribution import Index
from curator.model.errors import ToolError
from curator.resolve.interpreters import Interpreter
from curator.resolve.lock import Lock, LockedFile, Resolver
from curator.resolve.metadata import USER_AGENT


def filename(url: str) -> str:
    """The file name at the end of a URL."""
    return urllib.parse.unquote(Path(urllib.parse.urlparse(url).path).name)


def identify(name: str) -> tuple[NormalizedName, Version] | None:
    """(project, version) from a wheel or sdist file name; None for anything else."""
    try:
        if name.endswith(".whl"):
            project, version, _build, _tags = parse_wheel_filename(name)
            return project, version
        if name.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(name)
    except ValueError:
        return None
    return None


def collect(files: Mapping[str, Mapping[NormalizedName, LockedFile]], locks: Mapping[str, Lock], dest: Path) -> int:
    """Fill `dest` with the file of every pin of every lock (keyed by Python, `3.12`, or by Python and
    platform, `3.12-x86_64-pc-windows-msvc`); returns how many files it holds."""
    dest.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for python, lock in locks.items():
        for pin in lock.pins:
            located = files[python].get(pin.name)
            if located is None:
                raise ToolError(f"uv named no file for {pin.name}=={pin.version} on Python {python}")
            name = filename(located.url)
            if identify(name) != (pin.name, pin.version):
                raise ToolError(f"{located.url}: not a wheel or sdist of {pin.name}=={pin.version}")
            if name in written:
                if written[name] not in pin.hashes:
                    raise ToolError(f"{name}: one file, two different hashes across the locks")
                continue
            digest = _fetch(located.url, dest / name)
            if digest not in pin.hashes:
                (dest / name).unlink()
                raise ToolError(
                    f"{located.url}: sha256 {digest} is not one the lock allows for {pin.name}=={pin.version} "
                    f"(Python {python}); the file changed since the run, refusing to ship it"
                )
            written[name] = digest
    return len(written)


def _fetch(url: str, target: Path) -> str:
    """Copy or download `url` to `target` (through a temporary file); its sha256."""
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".download-", delete=False) as tmp:
        part = Path(tmp.name)
        try:
            if url.startswith("file:"):
                source = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
                with source.open("rb") as handle:
                    _copy(handle, tmp, digest)
            else:
                request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
                with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                    _copy(response, tmp, digest)
        except (OSError, urllib.error.URLError, TimeoutError) as exc:
            tmp.close()
            part.unlink(missing_ok=True)
            raise ToolError(f"{url}: cannot fetch it for wheels/ ({exc})") from None
    part.replace(target)
    return digest.hexdigest()


def _copy(source: IO[bytes], target: IO[bytes], digest: hashlib._Hash) -> None:
    while chunk := source.read(1 << 20):
        digest.update(chunk)
        target.write(chunk)


def pylock(wheels: Path, lock: Lock, interpreter: Interpreter, platform: str = "") -> str:
    """uv's PEP 751 lock of `lock`'s exact pins resolved from `wheels/` alone, each file named by
    `path = "../wheels/<file>"` (relative to `locks/`, where the bundle keeps it) instead of a URL;
    with `platform`, the files uv picks for that platform."""
    text = Resolver(Index(find_links=(wheels,), no_index=True)).pylock(
        [f"{pin.name}=={pin.version}" for pin in lock.pins], interpreter, platform
    )
    for package in tomllib.loads(text).get("packages", []):
        for file in [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]:
            url = file.get("url", "")
            local = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
            if not url.startswith("file:") or local.parent.resolve() != wheels.resolve():
                raise ToolError(f"uv's pylock names {url or 'a file without a URL'}, which is not in {wheels}")
            text = text.replace(f'url = "{url}"', f'path = "../{wheels.name}/{local.name}"')
    if "file://" in text:
        raise ToolError(f"uv's pylock for Python {interpreter.version}: a file URL is left after naming files by path")
    return text
