"""`curator verify DIR`: a whole channel, offline, file by file.

1. `log.jsonl`: every line in canonical form, the chain of hashes, each entry's signatures at the
   threshold then in force (a `signers` entry's: the old set's and the new set's), each action where
   it stands (`log.History.problems`); with a known head (the head a client saw last), the log must
   hold it — else it was rolled back or forked; with the signers a client trusts (an anchor), some
   `signers` entry must install exactly them, at a threshold the client accepts;
2. each published release: its folder is there, its `SHA256SUMS` is the one the log published
   (by sha256), and the folder is the bundle it was (`release.verify.check` over `ReleaseFolder`:
   every file against `SHA256SUMS`, nothing extra, its name, its signature, its wheels against its
   locks); each of its distribution files is in `files/` with the sha256 its path names, and each
   wheel's `.metadata` is the wheel's own core metadata;
3. nothing else: no release folder the log did not publish, no file in `files/` no release lists;
4. every derived file — index pages, `constraints.txt`, `channel.json`, `index.html` — is written
   again from the log and the release folders (`render.derived`) and compared byte for byte, and
   no page is there that should not be;
5. no change is half done (a staging folder left by an interrupted publish or yank).

Each problem names its file; `VerifyMismatch` lists them all (exit 1).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from curator import __version__
from curator.channel import commit, log, releases, render
from curator.channel.log import LOG
from curator.channel.pages import METADATA_SUFFIX
from curator.channel.updates import derived_on_disk
from curator.host.inputs import Unreadable, read_regular
from curator.host.layout import ChannelLayout
from curator.model.errors import VerifyMismatch
from curator.release import archive as files
from curator.release import governance, signing
from curator.release import verify as bundles
from curator.release.contents import MAX_READ_BYTES


@dataclass(frozen=True)
class ChannelVerification:
    """A channel that verified: what it holds and what was checked."""

    channel: Path
    distribution: str
    head: str
    stable: str | None
    releases: int
    yanked: int
    files: int  # distribution files in files/
    pages: int  # derived files written again and compared
    entries: int
    signed_entries: int
    unsigned_releases: tuple[str, ...]
    trusted_key: bool  # each release's signature checked against a key the user gave
    signers: governance.Signers | None = None  # the set in force at the head; None: an ungoverned channel
    governed_since: int | None = None  # the line of the first `signers` entry: from it on, every entry is counted
    last_time: str = ""  # the time of the last entry
    since_known: int | None = None  # entries after the known head, when one was given
    anchored_at: str | None = None  # the entry that installs the signers the client trusts (`log.jsonl:1`)


@dataclass(frozen=True)
class Anchor:
    """The signers a client trusts (`--signers FILE`, the file the distribution publishes) and the
    least threshold it accepts for them (`--threshold`; else a majority of them, as for a bundle)."""

    signers: tuple[governance.Signer, ...]
    source: str
    threshold: int | None = None

    @property
    def least(self) -> int:
        """The least threshold the log may install these signers at."""
        return self.threshold if self.threshold is not None else len(self.signers) // 2 + 1


def verify_channel(
    root: Path,
    pubkey: signing.PublicKey | None = None,
    *,
    known_head: str | None = None,
    anchor: Anchor | None = None,
) -> ChannelVerification:
    """Check the channel in `root` completely (see the module's docstring)."""
    layout = ChannelLayout(root)
    problems = [
        f"{folder.name}/: a publish or yank under way, or interrupted (run it again: it finishes it first)"
        for folder in commit.pending(root)
    ]
    history = log.read(root)
    since_known, anchored_at, wrong = _client(history, known_head, anchor)
    problems += wrong
    problems += history.problems
    record = history.record
    if record is None:
        problems.append(f"{ChannelLayout.LOG}: missing or empty, so nothing says what the channel holds")
        raise _mismatch(root, problems)
    digests: dict[str, str] = {}

    def hashed(relative: str) -> str:
        if relative not in digests:
            digests[relative] = files.sha256_file(layout.path(relative))
        return digests[relative]

    metadata = _from_wheel(layout)
    expected: set[str] = set()  # every path files/ should hold
    bad: set[str] = set()  # stored files missing or changed
    lists = 0  # releases whose SHA256SUMS could be read
    views: dict[str, releases.ReleaseView] = {}
    unsigned: list[str] = []
    for release in record.releases:
        folder = ChannelLayout.release(release.version)
        where = f"{ChannelLayout.LOG}:{history.published_at[release.version]}"
        if not layout.path(folder).is_dir():
            problems.append(f"{folder}/: missing (published by {where})")
            continue
        listed = _sums(
            layout.path(f"{folder}/{files.SUMS}"), f"{folder}/{files.SUMS}", release.sums_sha256, where, problems
        )
        if listed is None:
            continue
        lists += 1
        flagged = _stored(
            layout, folder, listed, hashed=hashed, metadata=metadata, expected=expected, bad=bad, problems=problems
        )
        seen = releases.ReleaseFolder(root, record.distribution, release.version, listed, hashed)
        try:
            if not bundles.verified(seen, layout.path(folder), bundles.Trust(pubkey=pubkey)).signed:
                unsigned.append(release.version)
        except VerifyMismatch as mismatch:
            problems += [
                _blamed(folder, seen, p) for p in mismatch.problems if not (flagged and p.startswith("wheels/"))
            ]
        with contextlib.suppress(releases.Unloadable, ValueError):  # said above, file by file
            views[release.version] = releases.load(release.version, layout.path, metadata=metadata)
    problems += _unlisted(
        layout, {r.version for r in record.releases}, expected, complete=lists == len(record.releases)
    )
    pages = 0
    if len(views) == len(record.releases):
        want = render.derived(record, views)
        pages = len(want)
        problems += _pages(layout, want, {r.version for r in record.releases})
    else:
        problems.append("index pages not compared: a release folder above cannot be read")
    if problems:
        raise _mismatch(root, problems)
    return ChannelVerification(
        channel=root,
        distribution=record.distribution,
        head=record.head,
        stable=record.stable,
        releases=len(record.releases),
        yanked=sum(r.yanked is not None for r in record.releases),
        files=sum(1 for path in expected if not path.endswith(METADATA_SUFFIX)),
        pages=pages,
        entries=len(history.lines),
        signed_entries=sum(1 for line in history.lines if line.entry is not None and line.entry.signatures),
        unsigned_releases=tuple(unsigned),
        trusted_key=pubkey is not None,
        signers=history.in_force,
        governed_since=history.installed[0].line if history.installed else None,
        last_time=history.lines[-1].entry.time if history.lines[-1].entry is not None else "",
        since_known=since_known,
        anchored_at=anchored_at,
    )


def _client(
    history: log.History, known_head: str | None, anchor: Anchor | None
) -> tuple[int | None, str | None, list[str]]:
    """What the client brings, checked: the head it saw last (entries since), the signers it trusts
    (the entry installing them), and what is wrong."""
    since, anchored, problems = None, None, []
    if known_head is not None:
        since, wrong = _extends(history, known_head)
        problems += wrong
    if anchor is not None:
        anchored, wrong = _anchored(history, anchor)
        problems += wrong
    return since, anchored, problems


def _extends(history: log.History, known: str) -> tuple[int | None, list[str]]:
    """How many entries the log holds after the known head; a problem when it does not hold it."""
    at = history.at(known)
    if at is not None:
        return len(history.lines) - at, []
    entries = len(history.lines)
    return None, [
        f"{LOG}: does not extend your known head {known}: none of its {entries} entries has that sha256, so the "
        "channel was rolled back (your head is past its end) or forked (your head is on another history); "
        "do not install from it"
    ]


def _anchored(history: log.History, anchor: Anchor) -> tuple[str | None, list[str]]:
    """The entry that installs exactly the signers the client trusts, at a threshold it accepts; from
    there every later set was signed in by the one before, and every earlier entry is pinned by that
    entry's `previous`. A problem when no entry does."""
    wanted = {(s.principal, s.key) for s in anchor.signers}
    weak = []
    for installed in history.installed:
        if {(s.principal, s.key) for s in installed.signers} == wanted:
            if installed.threshold >= anchor.least:
                return f"{LOG}:{installed.line}", []
            weak.append(f"{LOG}:{installed.line} installs them at threshold {installed.threshold}")
    names = ", ".join(s.principal for s in anchor.signers)
    said = f" ({'; '.join(weak)})" if weak else ""
    least = "--threshold" if anchor.threshold is not None else "a majority of them"
    return None, [
        f"{LOG}: no entry installs the signers of {anchor.source} ({names}) at a threshold of at least "
        f"{anchor.least} ({least}){said}: this channel is not governed by the maintainers you trust"
    ]


def _blamed(folder: str, seen: releases.ReleaseFolder, problem: str) -> str:
    """A problem of a release's bundle, naming a wheel by where the channel stores it."""
    member, _, rest = problem.partition(": ")
    stored = seen.stored_as(member)
    return f"{stored} ({member} of {folder}): {rest}" if stored else f"{folder}/{problem}"


def _from_wheel(layout: ChannelLayout) -> releases.Metadata:
    """Core metadata read from the stored wheel itself, once per wheel: the pages are judged by the
    wheels, not by `.metadata` files (which are judged on their own, against the same reading)."""
    read: dict[str, bytes | None] = {}

    def metadata(stored: str) -> bytes | None:
        if stored not in read:
            read[stored] = releases.wheel_metadata(layout.path(stored)) if stored.endswith(".whl") else None
        return read[stored]

    return metadata


def _mismatch(root: Path, problems: list[str]) -> VerifyMismatch:
    lines = "\n".join(f"  {p}" for p in problems)
    return VerifyMismatch(f"{root} does not verify ({len(problems)} problem(s)):\n{lines}", tuple(problems))


def _sums(path: Path, name: str, logged: str, where: str, problems: list[str]) -> dict[str, str] | None:
    """A release's SHA256SUMS, which must be the one the log published."""
    try:
        data = read_regular(path, MAX_READ_BYTES)
    except FileNotFoundError:
        problems.append(f"{name}: missing (published by {where})")
        return None
    except (OSError, Unreadable) as exc:
        problems.append(f"{name}: unreadable ({exc})")
        return None
    if hashlib.sha256(data).hexdigest() != logged:
        problems.append(f"{name}: changed (its sha256 is not the one {where} published)")
    try:
        return files.parse_sums(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{name}: unreadable ({exc})")
        return None


def _stored(
    layout: ChannelLayout,
    folder: str,
    listed: dict[str, str],
    *,
    hashed: releases.Hashed,
    metadata: releases.Metadata,
    expected: set[str],
    bad: set[str],
    problems: list[str],
) -> bool:
    """Each distribution file of a release in `files/`, and each wheel's core metadata beside it;
    whether any was missing or changed."""
    flagged = False
    for member, (name, digest) in sorted(releases.shipped(listed).items()):
        stored = ChannelLayout.stored(digest, name)
        if stored in expected:  # checked for an earlier release: said once
            flagged |= stored in bad
            continue
        expected.update((stored, stored + METADATA_SUFFIX))
        path = layout.path(stored)
        if not path.is_file():
            problems.append(f"{stored}: missing ({folder}/{files.SUMS} lists it as {member})")
            bad.add(stored)
        elif hashed(stored) != digest:
            problems.append(f"{stored}: changed (its sha256 is not the one its path and {folder}/{files.SUMS} name)")
            bad.add(stored)
        if stored in bad:
            flagged = True
            continue
        core = metadata(stored)
        if core is None:
            continue
        beside = layout.path(stored + METADATA_SUFFIX)
        if not beside.is_file():
            problems.append(f"{stored}{METADATA_SUFFIX}: missing (the wheel's core metadata, PEP 658)")
        elif beside.read_bytes() != core:
            problems.append(f"{stored}{METADATA_SUFFIX}: changed (it is not the wheel's own core metadata)")
    return flagged


def _unlisted(layout: ChannelLayout, versions: set[str], expected: set[str], *, complete: bool) -> list[str]:
    """Release folders the log never published, and (when every release's list could be read)
    files in `files/` no release lists."""
    problems = []
    folder = layout.path(ChannelLayout.RELEASES)
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        if child.name not in versions:
            name = f"{ChannelLayout.RELEASES}/{child.name}{'/' if child.is_dir() else ''}"
            problems.append(f"{name}: extra (no entry of {ChannelLayout.LOG} publishes it)")
    stored = layout.path(ChannelLayout.FILES)
    for path in sorted(stored.rglob("*")) if stored.is_dir() and complete else []:
        relative = path.relative_to(layout.root).as_posix()
        if (path.is_file() or path.is_symlink()) and relative not in expected:
            problems.append(f"{relative}: extra (no release lists it)")
    return problems


_GENERATOR = re.compile(rb'<meta name="generator" content="curator ([^"<>]{1,64})">')


def _writer(page: bytes) -> str | None:
    """The curator version a channel's `index.html` says wrote it (None: it says none). A page is
    compared byte for byte, so one another curator wrote cannot be checked by this one: the message
    says which to use. The claim only names a version; it excuses nothing."""
    found = _GENERATOR.search(page[:4096])
    return found.group(1).decode("utf-8", "replace") if found else None


def _pages(layout: ChannelLayout, want: dict[str, bytes], versions: set[str]) -> list[str]:
    """Every derived file as the log and the release folders give it, and no other (inside a
    release folder the log never published, which is named as a whole)."""
    problems = []
    for relative, content in sorted(want.items()):
        path = layout.path(relative)
        on_disk = path.read_bytes() if path.is_file() else None
        if on_disk is None:
            problems.append(f"{relative}: missing")
        elif on_disk != content:
            if relative == ChannelLayout.CHANNEL_JSON:
                problems.append(f"{relative}: changed (it is not what {ChannelLayout.LOG} says)")
            elif relative == ChannelLayout.PAGE and (writer := _writer(on_disk)) not in (None, __version__):
                problems.append(
                    f"{relative}: written by curator {writer}, and this is curator {__version__}, which writes "
                    f"the page differently: verify with curator {writer}, or have the maintainers publish again"
                )
            else:
                problems.append(f"{relative}: changed (not the file the log and the release folders give)")
    for relative in derived_on_disk(layout.root):
        parts = relative.split("/")
        unpublished = parts[0] == ChannelLayout.RELEASES and parts[1] not in versions
        if relative not in want and not unpublished:
            problems.append(f"{relative}: extra (no release lists it)")
    return problems
