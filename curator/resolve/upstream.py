"""What is new upstream: the newest release of each manifest package, as of a moment.

Releases come from the manifest's index — its PEP 691 JSON simple API, or the PEP 503 HTML page
when the index offers no JSON — and from the wheels in its `find_links` folders. A release is
the newest one when at least one of its files would install on the target Python:

- inside the package's `track:` specifier, and not a pre-release unless `track` names one;
- not yanked (PEP 592);
- uploaded no later than `as_of` (PEP 700 `upload-time`). An index file with no upload time
  counts as not available, as uv counts it under `--exclude-newer`; a find-links file has no
  upload time and is always available, as it is for uv;
- `requires-python` admits the target's exact version;
- a wheel whose tags the target accepts (CPython on this machine's platform). A source
  distribution counts only for a release that ships no wheel at all: a release with wheels,
  none of them for this Python, is one whose wheels are not built (yet) for it.

An index that cannot be read is an `UpstreamError` naming the index and the package, never a
silent "nothing new".
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

from packaging import tags
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from curator.model.distribution import DEFAULT_INDEX_URL, Distribution, Index, Package
from curator.model.errors import UpstreamError, UsageError
from curator.model.ids import PyVersion

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.2, text/html;q=0.01"
_SDIST_SUFFIXES = (".tar.gz", ".zip")
_ATTEMPTS = 3


def parse_as_of(text: str) -> dt.datetime:
    """`--as-of`: an RFC 3339 time or a date (midnight UTC), as an aware UTC datetime."""
    value = text.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--as-of {text!r}: write a date like 2026-11-24 or a time like 2026-11-24T03:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_time(moment: dt.datetime) -> str:
    """`2026-11-24T03:00:00Z`: how an as-of time is recorded and handed to uv (`--exclude-newer`)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Target:
    """A Python a release must install on: its exact version and the wheel tags it accepts."""

    python: PyVersion
    full_version: Version
    tags: frozenset[tags.Tag]

    @classmethod
    def cpython(cls, python: PyVersion, full_version: str, platforms: Sequence[str] | None = None) -> Target:
        """CPython `full_version` on this machine's platform (or on `platforms`)."""
        major, minor = (int(part) for part in python.split("."))
        interpreter = f"cp{major}{minor}"
        where = list(platforms) if platforms is not None else list(tags.platform_tags())
        accepted = [
            *tags.cpython_tags((major, minor), abis=[interpreter], platforms=where),
            *tags.compatible_tags((major, minor), interpreter=interpreter, platforms=where),
        ]
        return cls(python, Version(full_version), frozenset(accepted))


@dataclass(frozen=True)
class File:
    """One file of a release, as the index (or a find-links folder) describes it."""

    filename: str
    version: Version
    wheel_tags: frozenset[tags.Tag] | None  # None: a source distribution
    requires_python: str | None = None
    yanked: bool = False
    uploaded: dt.datetime | None = None
    local: bool = False  # from a find-links folder (no upload time, always available)


@dataclass(frozen=True)
class Newest:
    """A package's newest release for one Python, with the newer ones passed over and why."""

    package: NormalizedName
    python: PyVersion
    version: Version | None  # None: no release qualifies
    passed_over: tuple[str, ...] = ()  # "3.0: yanked", newest first

    def describe(self) -> str:
        """`numpy 2.2.0` (or why there is none)."""
        if self.version is None:
            reasons = f" ({'; '.join(self.passed_over)})" if self.passed_over else ""
            return f"{self.package}: no release qualifies{reasons}"
        return f"{self.package} {self.version}"


Fetch = Callable[[str], "tuple[str, bytes] | None"]
"""Get a URL with the simple API's Accept header: (content type, body), or None for 404."""


def http_fetch(url: str) -> tuple[str, bytes] | None:
    """`Fetch` over urllib: the simple API's Accept header, a timeout, and a few attempts when the
    server or the network fails (a 404 is an answer: the index has no such project)."""
    request = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": "curator-nightly"})  # noqa: S310
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) or file: the manifest's index
                return str(response.headers.get("Content-Type", "")), bytes(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                return None
            if exc.code < 500 or attempt == _ATTEMPTS:
                raise
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == _ATTEMPTS:
                raise
        time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def newest_releases(
    distribution: Distribution,
    targets: Sequence[Target],
    as_of: dt.datetime,
    *,
    fetch: Fetch = http_fetch,
) -> dict[PyVersion, dict[NormalizedName, Newest]]:
    """For each target Python, each manifest package's newest qualifying release as of `as_of`."""
    index = distribution.index
    url = None if index.no_index else (index.url or DEFAULT_INDEX_URL)

    def files_of(package: Package) -> list[File]:
        found = [] if url is None else index_files(url, package.name, fetch)
        for folder in index.find_links:
            found += folder_files(folder, package.name)
        if not found:
            where = " and ".join([*([url] if url else []), *(f"find_links {f}" for f in index.find_links)])
            raise UpstreamError(f"{where}: no file of {package.name} at all; is the name or the index right?")
        return found

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="curator-upstream") as pool:
        files = dict(zip(distribution.packages, pool.map(files_of, distribution.packages), strict=True))
    return {
        target.python: {package.name: newest(package, files[package], target, as_of) for package in files}
        for target in targets
    }


def newest(package: Package, files: Sequence[File], target: Target, as_of: dt.datetime) -> Newest:
    """The newest release of `package` among `files` that qualifies for `target` as of `as_of`."""
    by_version: dict[Version, list[File]] = {}
    for file in files:
        by_version.setdefault(file.version, []).append(file)
    allow_pre = bool(package.track is not None and package.track.prereleases)
    passed_over: list[str] = []
    for version in sorted(by_version, reverse=True):
        reason = _disqualified(version, by_version[version], package, target, as_of, allow_pre=allow_pre)
        if reason is None:
            return Newest(package.name, target.python, version, tuple(passed_over[:6]))
        if reason:  # "" means: not worth mentioning (uploaded later than as-of: it did not exist yet)
            passed_over.append(f"{version}: {reason}")
    if not by_version:
        passed_over.append("no files at all")
    return Newest(package.name, target.python, None, tuple(passed_over[:6]))


def _disqualified(
    version: Version, files: Sequence[File], package: Package, target: Target, as_of: dt.datetime, *, allow_pre: bool
) -> str | None:
    """Why no file of this release qualifies (None: one does; "": it did not exist yet as of then)."""
    published = [f for f in files if f.local or (f.uploaded is not None and f.uploaded <= as_of)]
    if not published:
        if all(f.uploaded is None for f in files):
            return "the index gives no upload time (PEP 700), so it is not available as of any time"
        return ""
    if package.track is not None and not package.track.contains(version, prereleases=allow_pre):
        return f"outside track {package.track}"
    if version.is_prerelease and not allow_pre:
        return "a pre-release (name one in track: to follow them)"
    unyanked = [f for f in published if not f.yanked]
    if not unyanked:
        return "yanked"
    admitted = [f for f in unyanked if _admits(f.requires_python, target.full_version)]
    if not admitted:
        return f"requires Python {unyanked[0].requires_python}"
    wheels = [f for f in admitted if f.wheel_tags is not None]
    if any(f.wheel_tags is not None and f.wheel_tags & target.tags for f in wheels):
        return None
    if wheels or any(f.wheel_tags is not None for f in files):
        return f"no wheel for Python {target.python} on this platform"
    return None  # a source-only release: uv builds it


def _admits(requires_python: str | None, version: Version) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(version, prereleases=True)
    except InvalidSpecifier:
        return True  # as pip does: an unreadable constraint does not exclude the file


# --------------------------------------------------------------------- reading the index


def index_files(index_url: str, name: NormalizedName, fetch: Fetch) -> list[File]:
    """The files the index lists for project `name` (PEP 691 JSON, else PEP 503 HTML)."""
    return _read_page(
        index_url,
        name,
        fetch,
        json_page=lambda body: _json_files(body, name),
        html_page=lambda text: _html_files(text, name),
        missing=[],
    )


T = TypeVar("T")
Summary = tuple[float | None, frozenset[Version]]
"""A project's newest upload (POSIX time; None when the index does not date every file) and its
yanked versions."""


def index_summary(index_url: str, name: NormalizedName, fetch: Fetch) -> Summary:
    """What `ReleaseLog` needs of project `name`'s page, without reading each file's name into a
    `File` (wheel tags and all: a quarter of a second for the pages of a PyData stack)."""
    undated: Summary = (None, frozenset())  # PEP 503 HTML has no upload times
    nothing: Summary = (0.0, frozenset())
    return _read_page(index_url, name, fetch, json_page=_json_summary, html_page=lambda _text: undated, missing=nothing)


def _read_page(
    index_url: str,
    name: NormalizedName,
    fetch: Fetch,
    *,
    json_page: Callable[[bytes], T],
    html_page: Callable[[str], T],
    missing: T,
) -> T:
    """Project `name`'s page read by `json_page` (PEP 691) or `html_page` (PEP 503); `missing` for a
    project the index does not have."""
    page = project_url(index_url, name)
    try:
        answer = fetch(page)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise UpstreamError(f"{index_url}: cannot read the page of {name} ({page}): {reason}") from None
    if answer is None:
        return missing
    content_type, body = answer
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind in (JSON_TYPE, "application/json"):
            return json_page(body)
        if kind in (HTML_TYPE, "text/html", ""):
            return html_page(body.decode("utf-8", "replace"))
    except (ValueError, KeyError, TypeError) as exc:
        raise UpstreamError(f"{index_url}: the page of {name} is not a simple API page: {exc}") from None
    raise UpstreamError(f"{index_url}: the page of {name} came back as {content_type!r}, not a simple API page")


def project_url(index_url: str, name: NormalizedName) -> str:
    """`https://pypi.org/simple/numpy/`; a `file://` index reads `<folder>/<name>/index.html`."""
    base = index_url.rstrip("/")
    if base.startswith("file:"):
        return f"{base}/{name}/index.html"
    return f"{base}/{name}/"


def _json_entries(body: bytes) -> list[dict[str, Any]]:
    data = json.loads(body)
    version = str(data.get("meta", {}).get("api-version", "1.0"))
    if not version.startswith("1."):
        raise ValueError(f"simple API version {version}, this curator reads 1.x")
    return list(data["files"])


def _json_summary(body: bytes) -> Summary:
    newest = 0.0
    yanked: set[Version] = set()
    for entry in _json_entries(body):
        filename = str(entry["filename"])
        if not filename.endswith((".whl", *_SDIST_SUFFIXES)):
            continue  # a format uv ignores
        uploaded = entry.get("upload-time")
        moment = _timestamp(uploaded) if isinstance(uploaded, str) else None
        if moment is None:
            return None, frozenset()
        newest = max(newest, moment.timestamp())
        if entry.get("yanked") and (version := _filename_version(filename)) is not None:
            yanked.add(version)
    return newest, frozenset(yanked)


def _filename_version(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _json_files(body: bytes, name: NormalizedName) -> list[File]:
    found = []
    for entry in _json_entries(body):
        uploaded = entry.get("upload-time")
        file = _file(
            str(entry["filename"]),
            name,
            requires_python=entry.get("requires-python"),
            yanked=bool(entry.get("yanked", False)),
            uploaded=_timestamp(uploaded) if isinstance(uploaded, str) else None,
        )
        if file is not None:
            found.append(file)
    return found


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, self._text.strip()))
            self._open = None


def _html_files(text: str, name: NormalizedName) -> list[File]:
    parser = _Anchors()
    parser.feed(text)
    found = []
    for attrs, label in parser.anchors:
        href = attrs.get("href") or ""
        filename = label or urllib.parse.unquote(urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
        file = _file(filename, name, requires_python=attrs.get("data-requires-python"), yanked="data-yanked" in attrs)
        if file is not None:
            found.append(file)
    return found


def folder_files(folder: Path, name: NormalizedName) -> list[File]:
    """The files of project `name` in a find-links folder (always available: no upload time)."""
    try:
        entries = sorted(p.name for p in folder.iterdir() if p.is_file())
    except OSError as exc:
        raise UpstreamError(f"find_links folder {folder}: cannot list it: {exc.strerror}") from None
    return [f for n in entries if (f := _file(n, name, local=True)) is not None]


def _file(
    filename: str,
    name: NormalizedName,
    *,
    requires_python: str | None = None,
    yanked: bool = False,
    uploaded: dt.datetime | None = None,
    local: bool = False,
) -> File | None:
    """A file of project `name` from its file name; None for another project or a format uv ignores."""
    try:
        if filename.endswith(".whl"):
            project, version, _, wheel_tags = parse_wheel_filename(filename)
            if project != name:
                return None
            return File(filename, version, frozenset(wheel_tags), requires_python, yanked, uploaded, local)
        if filename.endswith(_SDIST_SUFFIXES):
            project, version = parse_sdist_filename(filename)
            if canonicalize_name(project) != name:
                return None
            return File(filename, version, None, requires_python, yanked, uploaded, local)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def _timestamp(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def newest_json(found: Mapping[PyVersion, Mapping[NormalizedName, Version | None]]) -> dict[str, str | None]:
    """`{package: version}`: each package's newest release over the Pythons (nightly.json's `newest`)."""
    merged: dict[str, Version | None] = {}
    for per_python in found.values():
        for name, version in per_python.items():
            best = merged.get(name)
            merged[name] = version if version is not None and (best is None or version > best) else best
    return {name: None if version is None else str(version) for name, version in merged.items()}


class ReleaseLog:
    """What the index lists now for some projects, asked once per project and a few at a time: the
    `resolve.IndexState` a coordinator hands its resolver, so a lock cached from an index that is
    not frozen in time (no `exclude_newer`) is used again only while none of its packages has a new
    file and none of its versions was yanked. A project the index cannot tell about counts as
    changed; so does an index that gives no upload times (PEP 700). Projects only in `find_links`
    folders are not asked about: the cache's key already holds those folders' contents."""

    def __init__(self, index: Index, *, fetch: Fetch = http_fetch, workers: int = 8) -> None:
        self.url = None if index.no_index else (index.url or DEFAULT_INDEX_URL)
        self.fetch = fetch
        self.workers = workers
        self.latest: dict[NormalizedName, float | None] = {}  # newest upload (POSIX time); None: unknown
        self.yanked: dict[NormalizedName, frozenset[Version]] = {}
        self._loading = threading.Lock()  # resolutions ask from several threads

    @property
    def asked(self) -> int:
        """How many projects the index was asked about."""
        return len(self.latest)

    def load(self, watched: Iterable[str]) -> None:
        """Ask the index about every project of `watched` (`name` or `name==version`) not asked yet."""
        if self.url is None:
            return
        with self._loading:
            self._load(self.url, sorted({canonicalize_name(w.partition("==")[0]) for w in watched}))

    def _load(self, url: str, names: Sequence[NormalizedName]) -> None:
        wanted = [name for name in names if name not in self.latest]

        def one(name: NormalizedName) -> Summary:
            try:
                return index_summary(url, name, self.fetch)
            except UpstreamError:
                return None, frozenset()

        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(wanted)))) as pool:
            for name, (latest, yanked) in zip(wanted, pool.map(one, wanted), strict=True):
                self.latest[name] = latest
                self.yanked[name] = yanked

    def changed(self, watched: Sequence[str], since: float) -> bool:
        """Whether a project of `watched` has a file uploaded after `since`, or a watched version of it
        yanked (see `resolve.IndexState`)."""
        if self.url is None:
            return False
        self.load(watched)
        for entry in watched:
            name, _, version = entry.partition("==")
            key = canonicalize_name(name)
            latest = self.latest.get(key)
            if latest is None or latest > since:
                return True
            if version and _version(version) in self.yanked.get(key, frozenset()):
                return True
        return False


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
