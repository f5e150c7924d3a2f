"""Newest releases from an index's pages: what counts, what is passed over and why, what is an error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from packaging.utils import NormalizedName

from curator.manifest.reader import parse
from curator.model.distribution import Distribution, Index
from curator.model.errors import UpstreamError, UsageError
from curator.model.ids import PyVersion
from curator.resolve.upstream import JSON_TYPE, Newest, ReleaseLog, Target, newest_releases, parse_as_of

AS_OF = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
LINUX = ["manylinux_2_17_x86_64", "linux_x86_64"]
PY312 = Target.cpython(PyVersion("3.12"), "3.12.1", platforms=LINUX)
PY311 = Target.cpython(PyVersion("3.11"), "3.11.7", platforms=LINUX)


def _manifest(tmp_path: Path, packages: str, index: str = "  url: https://index.example/simple\n") -> Distribution:
    text = f'distribution: d\nversion: "1"\npython: ["3.11", "3.12"]\nindex:\n{index}packages:\n{packages}'
    return parse(text.encode(), tmp_path / "distribution.yaml")


def _file(
    name: str, *, uploaded: str = "2026-11-01T00:00:00Z", yanked: bool | str = False, rp: str | None = None
) -> dict[str, object]:
    entry: dict[str, object] = {
        "filename": name,
        "url": f"../../f/{name}",
        "hashes": {},
        "upload-time": uploaded,
        "yanked": yanked,
    }
    if rp is not None:
        entry["requires-python"] = rp
    return entry


def _pick(found: dict[PyVersion, dict[NormalizedName, Newest]], python: str, name: str) -> Newest:
    return found[PyVersion(python)][NormalizedName(name)]


class FakeIndex:
    """A `Fetch`: project pages by name, in JSON (PEP 691) or HTML (PEP 503)."""

    def __init__(self, pages: dict[str, list[dict[str, object]]], *, html: bool = False) -> None:
        self.pages, self.html, self.asked = pages, html, list[str]()

    def __call__(self, url: str) -> tuple[str, bytes] | None:
        self.asked.append(url)
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if name not in self.pages:
            return None
        files = self.pages[name]
        if not self.html:
            return JSON_TYPE, json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()
        links = ""
        for f in files:
            yanked = " data-yanked" if f["yanked"] else ""
            needs = f" data-requires-python={f['requires-python']!r}" if "requires-python" in f else ""
            links += f'<a href="{f["url"]}"{yanked}{needs}>{f["filename"]}</a>'

        return "text/html", f"<html><body>{links}</body></html>".encode()


def test_the_newest_qualifying_release_wins_and_newer_ones_say_why_not(tmp_path: Path) -> None:
    dist = _manifest(tmp_path, '  numpy: ["2.1.3"]\n')
    index = FakeIndex(
        {
            "numpy": [
                _file("numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.whl"),
                _file("numpy-2.2.0-cp312-cp312-manylinux_2_17_x86_64.whl"),
                _file("numpy-2.2.1-cp312-cp312-manylinux_2_17_x86_64.whl", yanked="broken ABI"),
                _file("numpy-2.3.0rc1-cp312-cp312-manylinux_2_17_x86_64.whl"),
                _file("numpy-2.3.0-cp312-cp312-manylinux_2_17_x86_64.whl", uploaded="2026-11-21T00:00:00Z"),
                _file("numpy-2.2.2-cp313-cp313-manylinux_2_17_x86_64.whl"),
                _file("numpy-2.2.2.tar.gz"),
            ]
        }
    )
    found = newest_releases(dist, [PY312], AS_OF, fetch=index)
    numpy = _pick(found, "3.12", "numpy")
    assert str(numpy.version) == "2.2.0"
    assert numpy.passed_over == (
        "2.3.0rc1: a pre-release (name one in track: to follow them)",
        "2.2.2: no wheel for Python 3.12 on this platform",
        "2.2.1: yanked",
    )  # 2.3.0 was uploaded after as-of: it did not exist yet, so it is not mentioned
    assert index.asked == ["https://index.example/simple/numpy/"]


def test_track_and_requires_python_are_honoured_per_python(tmp_path: Path) -> None:
    dist = _manifest(
        tmp_path, '  pandas: {versions: ["2.2.3"], track: "<3"}\n  attrs: {versions: ["24.2.0"], track: ">=25.0rc1"}\n'
    )
    index = FakeIndex(
        {
            "pandas": [
                _file("pandas-2.3.1-py3-none-any.whl", rp=">=3.12"),
                _file("pandas-2.3.0-py3-none-any.whl"),
                _file("pandas-3.0.0-py3-none-any.whl"),
            ],
            "attrs": [_file("attrs-25.1.0rc2-py3-none-any.whl"), _file("attrs-24.2.0-py3-none-any.whl")],
        }
    )
    found = newest_releases(dist, [PY311, PY312], AS_OF, fetch=index)
    assert str(_pick(found, "3.12", "pandas").version) == "2.3.1"
    assert str(_pick(found, "3.11", "pandas").version) == "2.3.0"
    assert _pick(found, "3.11", "pandas").passed_over == (
        "3.0.0: outside track <3",
        "2.3.1: requires Python >=3.12",
    )
    assert str(_pick(found, "3.12", "attrs").version) == "25.1.0rc2"  # track names a pre-release: followed


def test_the_html_fallback_reads_yanked_files_but_has_no_upload_times(tmp_path: Path) -> None:
    """PEP 503 pages carry no upload time: as uv does under --exclude-newer, such files are not available."""
    dist = _manifest(tmp_path, '  six: ["1.16.0"]\n')
    files = [_file("six-1.17.0-py2.py3-none-any.whl", yanked=True), _file("six-1.16.0-py2.py3-none-any.whl")]
    found = newest_releases(dist, [PY312], AS_OF, fetch=FakeIndex({"six": files}, html=True))
    six = _pick(found, "3.12", "six")
    assert six.version is None
    assert six.passed_over[0].startswith("1.17.0: the index gives no upload time (PEP 700)")


def test_find_links_wheels_count_at_any_as_of(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "cfx_base-2.5-py3-none-any.whl").write_bytes(b"")
    (wheels / "cfx_base-3.0-py3-none-any.whl").write_bytes(b"")
    (wheels / "cfx_other-9.0-py3-none-any.whl").write_bytes(b"")
    dist = _manifest(tmp_path, '  cfx-base: ["1.0"]\n', index="  find_links: [wheels]\n  no_index: true\n")
    found = newest_releases(dist, [PY312], dt.datetime(2000, 1, 1, tzinfo=dt.UTC), fetch=FakeIndex({}))
    assert str(_pick(found, "3.12", "cfx-base").version) == "3.0"


def test_index_failures_are_errors_naming_the_index(tmp_path: Path) -> None:
    dist = _manifest(tmp_path, '  numpy: ["2.1.3"]\n')

    def down(url: str) -> tuple[str, bytes] | None:
        raise OSError("Connection refused")

    with pytest.raises(
        UpstreamError, match=r"https://index.example/simple: cannot read the page of numpy .*Connection refused"
    ):
        newest_releases(dist, [PY312], AS_OF, fetch=down)
    with pytest.raises(UpstreamError, match=r"https://index.example/simple: no file of numpy at all"):
        newest_releases(dist, [PY312], AS_OF, fetch=FakeIndex({}))
    with pytest.raises(UpstreamError, match="not a simple API page"):
        newest_releases(dist, [PY312], AS_OF, fetch=lambda url: (JSON_TYPE, b"{not json"))
    with pytest.raises(UpstreamError, match="came back as 'image/png'"):
        newest_releases(dist, [PY312], AS_OF, fetch=lambda url: ("image/png", b""))


def test_as_of_reads_dates_and_times_as_utc() -> None:
    assert parse_as_of("2026-11-24") == dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    assert parse_as_of("2026-11-24T03:00:00+02:00") == dt.datetime(2026, 11, 24, 1, tzinfo=dt.UTC)
    assert parse_as_of("2026-11-24T03:00:00Z").hour == 3
    with pytest.raises(UsageError, match="--as-of 'tomorrow'"):
        parse_as_of("tomorrow")


# --------------------------------------------------------------------- has anything changed since a lock was made


def _moment(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_lock_is_stale_once_any_of_its_packages_has_a_newer_file() -> None:
    pages = {
        "numpy": [_file("numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.whl", uploaded="2026-10-01T00:00:00Z")],
        "pandas": [_file("pandas-2.2.3-cp312-cp312-manylinux_2_17_x86_64.whl", uploaded="2026-10-05T00:00:00Z")],
    }
    index = FakeIndex(pages)
    log = ReleaseLog(Index(url="https://index.example/simple"), fetch=index)
    log.load(["numpy==2.1.3", "pandas==2.2.3", "numpy"])
    assert len(index.asked) == 2  # once per project, however often it is named
    made = _moment("2026-11-01T00:00:00Z")
    assert not log.changed(["numpy==2.1.3", "pandas==2.2.3"], made)
    assert log.changed(["numpy==2.1.3", "pandas==2.2.3"], _moment("2026-10-03T00:00:00Z"))  # pandas came after
    assert len(index.asked) == 2  # answered from what was asked once


def test_a_yanked_locked_version_or_an_unreadable_page_counts_as_changed() -> None:
    pages: dict[str, list[dict[str, object]]] = {
        "lib": [
            _file("lib-1.0-py3-none-any.whl", uploaded="2026-01-01T00:00:00Z", yanked="broken"),
            _file("lib-2.0-py3-none-any.whl", uploaded="2026-02-01T00:00:00Z"),
        ],
        "old": [{"filename": "old-1.0-py3-none-any.whl", "url": "x", "hashes": {}}],  # no upload time (PEP 700)
    }
    log = ReleaseLog(Index(url="https://index.example/simple"), fetch=FakeIndex(pages))
    made = _moment("2026-11-01T00:00:00Z")
    assert log.changed(["lib==1.0"], made)  # the locked version was yanked
    assert not log.changed(["lib==2.0"], made)
    assert log.changed(["old==1.0"], made)  # no upload times: nothing can be told, so it is asked again
    assert not log.changed(["missing==1.0"], made)  # not on the index (a find-links package): the key covers it

    def broken(url: str) -> tuple[str, bytes] | None:
        raise OSError("connection refused")

    assert ReleaseLog(Index(url="https://index.example/simple"), fetch=broken).changed(["lib==2.0"], made)
    html = FakeIndex({"lib": [_file("lib-2.0-py3-none-any.whl", uploaded="2026-02-01T00:00:00Z")]}, html=True)
    assert ReleaseLog(Index(url="https://index.example/simple"), fetch=html).changed(["lib==2.0"], made)  # undated


def test_without_an_index_nothing_is_asked() -> None:
    index = FakeIndex({})
    log = ReleaseLog(Index(no_index=True), fetch=index)
    assert not log.changed(["lib==1.0"], 0.0)
    assert index.asked == []
