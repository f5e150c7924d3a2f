"""A channel's index pages (PEP 503, 691, 592, 658, 700, 714) and its other derived files, as pure functions."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

from curator.channel import render
from curator.channel.pages import Artifact, Listing, simple_index
from curator.channel.records import BundlePython, BundleRecord, BundleRun, ChannelRecord, ReleaseRecord
from curator.channel.releases import ReleaseView

BASE_1 = Artifact("cfx_base-1.0-py3-none-any.whl", "1" * 64, 986, ">=3.8", "a" * 64)
BASE_2 = Artifact("cfx_base-2.0-py3-none-any.whl", "2" * 64, 978, ">=3.10", "b" * 64)
TOP = Artifact("cfx_top-1.0-py3-none-any.whl", "3" * 64, 1200, None, "c" * 64)
SDIST = Artifact("cfx_top-1.0.tar.gz", "4" * 64, 800)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def _anchors(page: bytes) -> list[dict[str, str | None]]:
    parser = _Anchors()
    parser.feed(page.decode())
    return parser.anchors


def test_a_project_page_in_html_says_what_pip_needs() -> None:
    pages = simple_index([Listing(BASE_2, "2026-11-02T00:00:00Z"), Listing(BASE_1, "2026-11-01T00:00:00Z")], "../../")
    assert sorted(pages) == ["cfx-base/index.html", "cfx-base/index.json", "index.html", "index.json"]
    first, second = _anchors(pages["cfx-base/index.html"])  # oldest version first
    assert first["href"] == f"../../files/{'1' * 64}/cfx_base-1.0-py3-none-any.whl#sha256={'1' * 64}"
    assert first["data-requires-python"] == ">=3.8"  # the parser unescapes &gt;
    assert first["data-core-metadata"] == first["data-dist-info-metadata"] == f"sha256={'a' * 64}"
    assert "data-yanked" not in first
    assert second["data-requires-python"] == ">=3.10"
    assert b'data-requires-python="&gt;=3.8"' in pages["cfx-base/index.html"]
    assert b'<meta name="pypi:repository-version" content="1.1">' in pages["cfx-base/index.html"]
    assert _anchors(pages["index.html"]) == [{"href": "cfx-base/"}]


def test_a_project_page_in_json_is_pep_691_with_pep_700() -> None:
    pages = simple_index([Listing(BASE_1, "2026-11-01T00:00:00Z", yanked="broken <ABI>")], "../../../")
    page = json.loads(pages["cfx-base/index.json"])
    assert page["meta"] == {"api-version": "1.1"} and page["name"] == "cfx-base" and page["versions"] == ["1.0"]
    (file,) = page["files"]
    assert file == {
        "filename": BASE_1.filename,
        "url": f"../../../files/{'1' * 64}/{BASE_1.filename}",
        "hashes": {"sha256": "1" * 64},
        "requires-python": ">=3.8",
        "core-metadata": {"sha256": "a" * 64},
        "dist-info-metadata": {"sha256": "a" * 64},
        "size": 986,
        "upload-time": "2026-11-01T00:00:00Z",
        "yanked": "broken <ABI>",
    }
    assert json.loads(pages["index.json"]) == {"meta": {"api-version": "1.1"}, "projects": [{"name": "cfx-base"}]}
    (anchor,) = _anchors(pages["cfx-base/index.html"])
    assert anchor["data-yanked"] == "broken <ABI>"
    assert b'data-yanked="broken &lt;ABI&gt;"' in pages["cfx-base/index.html"]


def test_an_sdist_is_listed_without_metadata_and_names_are_quoted() -> None:
    local = Artifact("cfx_top-1.0+local-py3-none-any.whl", "5" * 64, 10)
    pages = simple_index([Listing(SDIST, "t"), Listing(local, "t")], "../../")
    anchors = _anchors(pages["cfx-top/index.html"])
    assert [a["href"].split("#")[0].rsplit("/", 1)[1] for a in anchors] == [  # type: ignore[union-attr]
        "cfx_top-1.0.tar.gz",
        "cfx_top-1.0%2Blocal-py3-none-any.whl",
    ]
    assert all("data-core-metadata" not in a for a in anchors)
    assert json.loads(pages["cfx-top/index.json"])["versions"] == ["1.0", "1.0+local"]


def _view(version: str, artifacts: tuple[Artifact, ...], packages: dict[str, dict[str, str]]) -> ReleaseView:
    bundle = BundleRecord(
        distribution="eco",
        version=version,
        date="2026-11-01T00:00:00+00:00",
        run=BundleRun("run-1", "baseline", "0" * 64),
        gate={"py3.12-baseline": {"sides": "passed"}},
        pythons={p: BundlePython(f"locks/py{p}.txt", "pylock", pins) for p, pins in packages.items()},
        signature={"signed": True, "fingerprint": "SHA256:abc"},
        blessed=("cfx-top", "cfx-base"),
    )
    return ReleaseView(version, bundle, artifacts, report=True)


def _record(*releases: ReleaseRecord) -> ChannelRecord:
    return ChannelRecord("eco", tuple(releases), (), 0, "f" * 64)


OLD = ReleaseRecord("1.0", "2026-11-01T00:00:00Z", "a" * 64, ("3.12",), ("any",))
NEW = ReleaseRecord("1.1", "2026-11-02T00:00:00Z", "b" * 64, ("3.12",), ("any",))
VIEWS = {
    "1.0": _view("1.0", (BASE_1, TOP), {"3.12": {"cfx-base": "1.0", "cfx-top": "1.0"}}),
    "1.1": _view("1.1", (BASE_2, TOP), {"3.12": {"cfx-base": "2.0", "cfx-top": "1.0"}}),
}


def _files(derived: dict[str, bytes], page: str) -> list[tuple[str, str, object]]:
    return [(f["filename"], f["upload-time"], f["yanked"]) for f in json.loads(derived[page])["files"]]


def test_every_file_once_since_its_first_release_and_yanked_where_no_good_release_holds_it() -> None:
    yanked = ReleaseRecord(**{**NEW.__dict__, "yanked": "broken"})
    derived = render.derived(_record(yanked, OLD), VIEWS)
    assert _files(derived, "simple/cfx-top/index.json") == [(TOP.filename, OLD.published, False)]
    assert _files(derived, "simple/cfx-base/index.json") == [
        (BASE_1.filename, OLD.published, False),
        (BASE_2.filename, NEW.published, "broken"),
    ]
    # a release's own index: its publish time, and all of it yanked when it is
    assert _files(derived, "releases/1.1/simple/cfx-top/index.json") == [(TOP.filename, NEW.published, "broken")]
    assert _files(derived, "stable/simple/cfx-base/index.json") == [(BASE_1.filename, OLD.published, False)]
    assert json.loads(derived["channel.json"])["stable"] == "1.0"
    both = ReleaseRecord(**{**OLD.__dict__, "yanked": "also broken"})
    derived = render.derived(_record(yanked, both), VIEWS)
    assert _files(derived, "simple/cfx-top/index.json") == [
        (TOP.filename, OLD.published, "1.0: also broken; 1.1: broken")
    ]
    assert json.loads(derived["stable/simple/index.json"])["projects"] == []  # no good release: an empty index
    assert json.loads(derived["channel.json"])["stable"] is None


def test_pages_link_up_to_the_channels_files_from_where_they_are() -> None:
    derived = render.derived(_record(NEW, OLD), VIEWS)
    prefix = {"simple": "../../", "stable/simple": "../../../", "releases/1.0/simple": "../../../../"}
    for root, up in prefix.items():
        (anchor, *_) = _anchors(derived[f"{root}/cfx-top/index.html"])
        assert str(anchor["href"]).startswith(f"{up}files/{'3' * 64}/"), root


def test_constraints_pin_every_package_with_markers_where_pythons_differ() -> None:
    view = _view(
        "1.0",
        (),
        {"3.11": {"cfx-base": "1.0", "cfx-top": "1.0"}, "3.12": {"cfx-base": "2.0", "cfx-top": "1.0", "cfx-new": "3"}},
    )
    lines = render.constraints("eco", view).decode().splitlines()
    assert [line for line in lines if not line.startswith("#")] == [
        'cfx-base==1.0 ; python_version == "3.11"',
        'cfx-base==2.0 ; python_version == "3.12"',
        'cfx-new==3 ; python_version == "3.12"',
        "cfx-top==1.0",
    ]


def test_the_channel_page_lists_releases_newest_first_with_their_state() -> None:
    yanked = ReleaseRecord(**{**NEW.__dict__, "yanked": "<b>broken</b>"})
    page = render.derived(_record(yanked, OLD), VIEWS)["index.html"].decode()
    assert page.index('id="release-1.1"') < page.index('id="release-1.0"')
    assert "&lt;b&gt;broken&lt;/b&gt;" in page and "<b>broken</b>" not in page
    assert 'href="releases/1.0/report/index.html"' in page
    assert "/stable/simple cfx-top cfx-base" in page
    (policy,) = [html.unescape(p) for p in re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)]
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy


def test_the_platforms_a_bundle_says_it_holds() -> None:
    view = VIEWS["1.0"]
    cases: list[tuple[object, tuple[str, ...] | None]] = [
        (["x86_64-manylinux_2_28", "aarch64-apple-darwin"], ("aarch64-apple-darwin", "x86_64-manylinux_2_28")),
        ({"x86_64-pc-windows-msvc": {"tested": False}}, ("x86_64-pc-windows-msvc",)),
        ({"tested": ["x86_64-manylinux_2_28"], "locked": ["x86_64-pc-windows-msvc"]},
         ("x86_64-manylinux_2_28", "x86_64-pc-windows-msvc")),
        (None, None),
        ("linux", None),
    ]  # fmt: skip
    for value, expected in cases:
        bundle = BundleRecord(**{**view.bundle.__dict__, "platforms": value})
        assert bundle.said_platforms() == expected, value
    # a bundle that does not say: its wheels' platform tags
    assert view.platforms == ("any",)
    sdist = ReleaseView("1.0", view.bundle, (*view.artifacts, SDIST), report=True)
    assert sdist.platforms == ("any", "source")
