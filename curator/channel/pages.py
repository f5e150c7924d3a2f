"""A simple repository's pages: PEP 503 HTML and PEP 691 JSON, as files any static server serves.

Pure functions of a list of files: the same list gives the same bytes, so `curator verify` can
write every page again and compare. Each project has a folder holding `index.html` (PEP 503) and
`index.json` (PEP 691, `application/vnd.pypi.simple.v1+json`), and so does the root: a server
answers `…/simple/<project>/` with `index.html`, or with `index.json` when the client's `Accept`
asks for JSON (docs/channel.md has nginx and caddy snippets); pip and uv read either.

What a page says about a file:

- its URL, relative to the page (so a channel works from any address, `file://` included), ending
  in `#sha256=…` (HTML) or with `hashes` (JSON);
- `data-requires-python` / `requires-python` from the wheel's own metadata;
- PEP 658/714: the wheel's core metadata is served beside it as `<file>.metadata`, and the page
  says so with its sha256 (`data-dist-info-metadata` and `data-core-metadata`; `core-metadata` and
  `dist-info-metadata` in JSON), so pip and uv resolve without downloading wheels;
- PEP 592: `data-yanked="reason"` / `"yanked": "reason"`;
- PEP 700 (JSON, API 1.1): `size`, `upload-time`, and the project's `versions`.
"""

from __future__ import annotations

import html
import json
import urllib.parse
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.release.wheelhouse import identify

API_VERSION = "1.1"
HTML_PAGE = "index.html"
JSON_PAGE = "index.json"
METADATA_SUFFIX = ".metadata"


@dataclass(frozen=True)
class Artifact:
    """A distribution file as an index lists it."""

    filename: str
    sha256: str
    size: int
    requires_python: str | None = None
    metadata_sha256: str | None = None  # of `<file>.metadata` (PEP 658), for a wheel

    @property
    def project(self) -> NormalizedName:
        """The project it belongs to (its normalised name)."""
        found = identify(self.filename)
        assert found is not None  # only distribution files become artifacts
        return found[0]

    @property
    def version(self) -> Version:
        """The version it is a file of."""
        found = identify(self.filename)
        assert found is not None
        return found[1]


@dataclass(frozen=True)
class Listing:
    """An artifact on one index: since when, and whether it is yanked there."""

    artifact: Artifact
    uploaded: str  # PEP 700 `upload-time`
    yanked: str | None = None  # the reason


def stored_url(artifact: Artifact, to_root: str) -> str:
    """The file's link from a page `to_root` below the channel's folder (`../../`)."""
    return f"{to_root}files/{artifact.sha256}/{urllib.parse.quote(artifact.filename)}"


def simple_index(listings: Sequence[Listing], to_root: str) -> dict[str, bytes]:
    """Every page of one simple index, by path below its root (`index.html`, `cfx-base/index.json` …);
    `to_root` leads from a project's folder to the channel's (`../../` for the channel's `simple/`)."""
    by_project: dict[NormalizedName, list[Listing]] = defaultdict(list)
    for listing in listings:
        by_project[listing.artifact.project].append(listing)
    pages = {HTML_PAGE: _root_html(sorted(by_project)), JSON_PAGE: _root_json(sorted(by_project))}
    for project, found in sorted(by_project.items()):
        ordered = sorted(found, key=lambda listing: (listing.artifact.version, listing.artifact.filename))
        pages[f"{project}/{HTML_PAGE}"] = _project_html(project, ordered, to_root)
        pages[f"{project}/{JSON_PAGE}"] = _project_json(project, ordered, to_root)
    return pages


def _head(title: str) -> str:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
    )


_TAIL = "  </body>\n</html>\n"


def _root_html(projects: Sequence[NormalizedName]) -> bytes:
    links = "".join(f'    <a href="{name}/">{name}</a><br>\n' for name in projects)
    return (_head("Simple index") + links + _TAIL).encode("utf-8")


def _root_json(projects: Sequence[NormalizedName]) -> bytes:
    return _json({"meta": {"api-version": API_VERSION}, "projects": [{"name": name} for name in projects]})


def _project_html(project: NormalizedName, listings: Sequence[Listing], to_root: str) -> bytes:
    links = []
    for listing in listings:
        artifact = listing.artifact
        attributes = [f'href="{html.escape(stored_url(artifact, to_root))}#sha256={artifact.sha256}"']
        if artifact.requires_python:
            attributes.append(f'data-requires-python="{html.escape(artifact.requires_python)}"')
        if artifact.metadata_sha256:
            value = f"sha256={artifact.metadata_sha256}"
            attributes += [f'data-dist-info-metadata="{value}"', f'data-core-metadata="{value}"']
        if listing.yanked is not None:
            attributes.append(f'data-yanked="{html.escape(listing.yanked)}"')
        links.append(f"    <a {' '.join(attributes)}>{html.escape(artifact.filename)}</a><br>\n")
    return (_head(f"Links for {project}") + f"    <h1>Links for {project}</h1>\n" + "".join(links) + _TAIL).encode()


def _project_json(project: NormalizedName, listings: Sequence[Listing], to_root: str) -> bytes:
    files = []
    for listing in listings:
        artifact = listing.artifact
        file: dict[str, Any] = {
            "filename": artifact.filename,
            "url": stored_url(artifact, to_root),
            "hashes": {"sha256": artifact.sha256},
        }
        if artifact.requires_python:
            file["requires-python"] = artifact.requires_python
        if artifact.metadata_sha256:
            file["core-metadata"] = file["dist-info-metadata"] = {"sha256": artifact.metadata_sha256}
        file["size"] = artifact.size
        file["upload-time"] = listing.uploaded
        file["yanked"] = listing.yanked if listing.yanked is not None else False
        files.append(file)
    versions = sorted({listing.artifact.version for listing in listings})
    return _json(
        {
            "meta": {"api-version": API_VERSION},
            "name": project,
            "versions": [str(v) for v in versions],
            "files": files,
        }
    )


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
