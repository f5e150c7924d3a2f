"""Every file of a channel that is derived: a pure function of the log and the release folders.

`derived(record, views)` gives each derived file's bytes by its channel-relative path: the three
kinds of index (`releases/<version>/simple/`, `simple/`, `stable/simple/`), each release's
`constraints.txt`, `channel.json` and the channel's `index.html`. Publish and yank write exactly
this; `curator verify` computes it again and compares bytes, so a page edited by hand, or one that
a yank should have changed, is found.

Decisions (docs/channel.md):

- a file's `upload-time` (PEP 700) is the publish time of the release whose index lists it; in
  `simple/`, the time it first appeared there (its earliest release's);
- in `simple/`, a file is yanked when every release that holds it is yanked (its reason, or each
  release's, `1.1: reason; 1.2: reason`); in a yanked release's own index every file is yanked;
- `stable/simple/` is the index of the newest release (PEP 440) that is not yanked, or an empty
  index when there is none.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import jinja2

from curator import __version__
from curator.channel.pages import Artifact, Listing, simple_index
from curator.channel.records import ChannelRecord, ReleaseRecord
from curator.channel.releases import ReleaseView
from curator.host.layout import ChannelLayout
from curator.model import codec
from curator.model.ids import python_key
from curator.release import archive as files


def derived(record: ChannelRecord, views: Mapping[str, ReleaseView]) -> dict[str, bytes]:
    """Every derived file of the channel (see the module's docstring)."""
    out: dict[str, bytes] = {}
    for release in record.releases:
        view = views[release.version]
        listings = [Listing(a, release.published, release.yanked) for a in view.artifacts]
        out |= _index(ChannelLayout.release_simple(release.version), listings)
        out[ChannelLayout.constraints(release.version)] = constraints(record.distribution, view)
    out |= _index(ChannelLayout.SIMPLE, _everything(record, views))
    stable = next((r for r in record.releases if r.yanked is None), None)
    chosen = [Listing(a, stable.published) for a in views[stable.version].artifacts] if stable else []
    out |= _index(ChannelLayout.STABLE_SIMPLE, chosen)
    out[ChannelLayout.CHANNEL_JSON] = channel_json(record)
    out[ChannelLayout.PAGE] = page(record, views)
    return out


def is_derived(relative: str) -> bool:
    """Whether a channel-relative path is one `derived` writes (or would, for another state)."""
    parts = relative.split("/")
    if relative in (ChannelLayout.CHANNEL_JSON, ChannelLayout.PAGE):
        return True
    if parts[0] == ChannelLayout.SIMPLE or relative.startswith(ChannelLayout.STABLE_SIMPLE + "/"):
        return True
    return parts[0] == ChannelLayout.RELEASES and len(parts) >= 3 and parts[2] in ChannelLayout.RELEASE_OWNED


def _index(root: str, listings: Sequence[Listing]) -> dict[str, bytes]:
    to_root = "../" * (root.count("/") + 2)  # from `<root>/<project>/` up to the channel's folder
    return {f"{root}/{path}": content for path, content in simple_index(listings, to_root).items()}


def _everything(record: ChannelRecord, views: Mapping[str, ReleaseView]) -> list[Listing]:
    """Every release's files once each: since their first release, yanked where no good release holds them."""
    holders: dict[tuple[str, str], list[ReleaseRecord]] = defaultdict(list)
    artifacts: dict[tuple[str, str], Artifact] = {}
    for release in reversed(record.releases):  # oldest first: the first holder named is the earliest
        for artifact in views[release.version].artifacts:
            key = (artifact.filename, artifact.sha256)
            artifacts.setdefault(key, artifact)
            holders[key].append(release)
    taken: set[str] = set()
    listings = []
    for key, artifact in artifacts.items():
        if artifact.filename in taken:  # one name, two contents: publish refuses it; list the first
            continue
        taken.add(artifact.filename)
        held = holders[key]
        yanked = None
        if all(r.yanked is not None for r in held):
            yanked = held[0].yanked if len(held) == 1 else "; ".join(f"{r.version}: {r.yanked}" for r in held)
        listings.append(Listing(artifact, min(r.published for r in held), yanked))
    return listings


def constraints(distribution: str, view: ReleaseView) -> bytes:
    """`pip install -c`: every package of the release at the version it ships, with a
    `python_version` marker where the Pythons ship different versions."""
    by_name: dict[str, dict[str, str]] = defaultdict(dict)
    for python, shipped in view.bundle.pythons.items():
        for name, version in shipped.packages.items():
            by_name[name][python] = version
    lines = [
        f"# {distribution} {view.version}: every package at the version this release ships\n",
        "# pip install -c constraints.txt …  (or uv pip install -c / --constraint)\n",
    ]
    every = set(view.bundle.pythons)
    for name in sorted(by_name):
        versions = by_name[name]
        if set(versions) == every and len(set(versions.values())) == 1:
            lines.append(f"{name}=={next(iter(versions.values()))}\n")
            continue
        for python in sorted(versions, key=python_key):
            lines.append(f'{name}=={versions[python]} ; python_version == "{python}"\n')
    return "".join(lines).encode("utf-8")


def channel_json(record: ChannelRecord) -> bytes:
    """`channel.json`."""
    return (codec.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------- index.html


@dataclass(frozen=True)
class ReleaseRow:
    """One release as the channel's page shows it."""

    version: str
    published: str
    yanked: str | None
    stable: bool
    gate: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # cell → (suite, status)
    pythons: tuple[str, ...]
    platforms: tuple[str, ...]
    signed: bool
    fingerprint: str | None
    run: str
    files: int
    report: bool


def page(record: ChannelRecord, views: Mapping[str, ReleaseView]) -> bytes:
    """The channel's `index.html`: releases newest first, how to install, how to verify, how to mirror."""
    rows = [
        ReleaseRow(
            version=r.version,
            published=r.published,
            yanked=r.yanked,
            stable=r.version == record.stable,
            gate=tuple(
                (cell, tuple(sorted(statuses.items())))
                for cell, statuses in sorted(views[r.version].bundle.gate.items())
            ),
            pythons=r.pythons,
            platforms=r.platforms,
            signed=views[r.version].bundle.signed,
            fingerprint=views[r.version].bundle.fingerprint,
            run=views[r.version].bundle.run.id,
            files=len(views[r.version].artifacts),
            report=views[r.version].report,
        )
        for r in record.releases
    ]
    script, script_hash = _script()
    stable = next((row for row in rows if row.stable), None)
    html = _template().render(
        record=record,
        rows=rows,
        stable=stable,
        example=_example(views[stable.version]) if stable else None,
        script=script,
        script_hash=script_hash,
        curator_version=__version__,
        sums=files.SUMS,
        signature=files.SIGNATURE,
    )
    return html.encode("utf-8")


def _example(view: ReleaseView) -> str:
    """What the install commands name: the distribution's blessed packages."""
    return " ".join(view.bundle.blessed) or "PACKAGE"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("curator.channel", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _template() -> jinja2.Template:
    return _environment().get_template("index.html.j2")


@cache
def _script() -> tuple[str, str]:
    """The page's one script (it writes the page's own address into the commands) and its CSP hash."""
    source, _, _ = _environment().loader.get_source(_environment(), "address.js")  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")
    return source, f"'sha256-{digest}'"
