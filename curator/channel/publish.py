"""`curator publish BUNDLE --channel DIR` and `curator yank VERSION --channel DIR --reason TEXT`.

A publish verifies the bundle (a tampered one is refused, exit 1; an unsigned one unless
`allow_unsigned`), then adds it: its distribution files stored once by content in `files/` (each
wheel's core metadata beside it), the rest of the bundle as `releases/<version>/`, an entry in
`log.jsonl`, and every derived file written again (`render`). A yank adds an entry and writes the
derived files again; nothing is ever deleted. Both hold the channel's lock, finish an interrupted
change first, and place their own through `commit` (all or nothing, the log last).

Publishing a bundle already published (the same `SHA256SUMS`) changes nothing; yanking a yanked
release changes nothing. Bad input — a path that is no bundle, a channel of another distribution,
another bundle under a published version, a version not in the channel, an empty reason — is a
`UsageError` before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from curator import signing
from curator.channel import commit, log, releases, render
from curator.channel.model import Action, BundleRecord, ChannelRecord, ReleaseRecord, pep440
from curator.channel.pages import METADATA_SUFFIX
from curator.errors import UsageError, VerifyMismatch
from curator.inputs import quoted
from curator.layout import BundleLayout, ChannelLayout
from curator.locking import FolderLock
from curator.release import files
from curator.release import verify as bundles
from curator.release.contents import Contents, Folder, unpack

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # as the manifest's `version`, and PEP 440 besides
MAX_REASON = 1000


@dataclass(frozen=True)
class PublishRequest:
    """What `curator publish` was asked to do."""

    bundle: Path  # a bundle folder or its .tar.gz
    channel: Path
    keys: tuple[signing.SigningKey, ...] = ()  # each signs the log entry
    allow_unsigned: bool = False


@dataclass(frozen=True)
class Change:
    """What a publish or a yank did to a channel."""

    channel: Path
    distribution: str
    version: str
    changed: bool  # False: already so; nothing was written
    head: str
    stable: str | None
    signed_by: tuple[str, ...] = ()  # the principals whose signatures the new log entry carries
    recovered: tuple[str, ...] = ()  # interrupted changes finished first
    added: int = 0  # distribution files new to files/
    shared: int = 0  # distribution files an earlier release had stored
    bundle_signed: bool = True
    bundle_fingerprint: str | None = None
    reason: str | None = None  # a yank's


def is_channel(root: Path) -> bool:
    """Whether `root` holds a channel (its log or its `channel.json`)."""
    layout = ChannelLayout(root)
    return layout.path(ChannelLayout.LOG).is_file() or layout.path(ChannelLayout.CHANNEL_JSON).is_file()


def publish(request: PublishRequest) -> Change:
    """Verify the bundle, then add it to the channel (see the module's docstring)."""
    root, bundle = request.channel, request.bundle
    _channel_folder(root)
    if not os.path.lexists(bundle):
        raise UsageError(f"{bundle}: no such bundle (give a bundle folder or its .tar.gz)")
    contents = bundles.opened(bundle)
    verification = _verified(contents, bundle, "refusing to publish it")
    record, sums = _said(contents, bundle)
    _publishable(request, record, sums)
    history = log.read(root)
    if (done := _already(root, history, record, sums)) is not None and not commit.pending(root):
        return done  # an interrupted change pending: finish it first, under the lock
    created = not root.exists()
    try:
        with FolderLock.take(root, command="publish", what=f"the channel {root}"):
            recovered = tuple(commit.recover(root))
            history = _intact(root, log.read(root))
            if (done := _already(root, history, record, sums)) is not None:
                return replace(done, recovered=recovered)
            staging = commit.Staging(root)
            try:
                added, shared, entry_signers = _add(request, staging, history, record, sums)
            except BaseException:
                staging.abandon()
                raise
    except BaseException:
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        raise
    final = log.read(root).record
    assert final is not None
    return Change(
        channel=root,
        distribution=final.distribution,
        version=record.version,
        changed=True,
        head=final.head,
        stable=final.stable,
        signed_by=entry_signers,
        recovered=recovered,
        added=added,
        shared=shared,
        bundle_signed=verification.signed,
        bundle_fingerprint=verification.fingerprint,
    )


def yank(root: Path, version: str, reason: str, keys: Sequence[signing.SigningKey] = ()) -> Change:
    """Mark a release yanked: it leaves `stable`, and its files carry PEP 592's mark where no good
    release holds them (see the module's docstring)."""
    if not reason.strip():
        raise UsageError("curator yank: --reason is empty; say why the release is withdrawn (pip shows it to users)")
    if not reason.isprintable() or len(reason) > MAX_REASON:
        raise UsageError(
            f"curator yank: --reason {quoted(reason)} must be one line of at most {MAX_REASON} printable characters"
        )
    record = _channel(root, log.read(root))
    _published(root, record, version)
    with FolderLock.take(root, command="yank", what=f"the channel {root}"):
        recovered = tuple(commit.recover(root))
        history = _intact(root, log.read(root))
        record = _channel(root, history)
        release = _published(root, record, version)
        if release.yanked is not None:
            return Change(root, record.distribution, release.version, False, record.head, record.stable,
                          recovered=recovered, reason=release.yanked)  # fmt: skip
        entry = history.next_entry(Action.YANK, record.distribution, log.now(), version=release.version, reason=reason)
        entry = log.sign(entry, keys, record.signers)
        staging = commit.Staging(root)
        try:
            _commit(root, staging, history.append(entry), fresh=())
        except BaseException:
            staging.abandon()
            raise
    final = log.read(root).record
    assert final is not None
    return Change(
        root, final.distribution, release.version, True, final.head, final.stable,
        signed_by=tuple(sorted(entry.signatures)), recovered=recovered, reason=reason,
    )  # fmt: skip


# ------------------------------------------------------------------------------- checks


def _channel_folder(root: Path) -> None:
    """A channel, an empty folder, or nothing yet; never a folder of something else."""
    if not os.path.lexists(root):
        return
    if not root.is_dir():
        raise UsageError(f"--channel {root}: exists and is not a folder")
    if not is_channel(root) and any(p.name != ".curator.lock" for p in root.iterdir()):
        raise UsageError(f"--channel {root}: a folder that is not a channel (no {ChannelLayout.LOG}) and not empty")


def _channel(root: Path, history: log.History) -> ChannelRecord:
    if not is_channel(root) or history.record is None:
        raise UsageError(f"--channel {root}: not a channel (no {ChannelLayout.LOG} with entries in it)")
    return history.record


def _published(root: Path, record: ChannelRecord, version: str) -> ReleaseRecord:
    found = record.release(version)
    if found is None:
        have = ", ".join(r.version for r in record.releases)
        raise UsageError(f"{version}: not a release of the channel {root} ({record.distribution}: {have})")
    return found


def _verified(contents: Contents, bundle: Path, refusal: str) -> bundles.Verification:
    try:
        return bundles.verified(contents, bundle, bundles.Trust())
    except VerifyMismatch as mismatch:
        raise VerifyMismatch(f"{mismatch}\n{refusal}", mismatch.problems) from None


def _said(contents: Contents, bundle: Path) -> tuple[BundleRecord, str]:
    """The bundle's release.json and the sha256 of its SHA256SUMS."""
    try:
        record = releases.read_record(contents.read(releases.RELEASE_JSON), f"{bundle}/{releases.RELEASE_JSON}")
    except releases.Unloadable as exc:
        raise UsageError(f"{exc}: not a bundle curator could publish") from None
    sums = contents.read(files.SUMS)
    assert sums is not None  # a bundle that verified has one
    return record, hashlib.sha256(sums).hexdigest()


def _publishable(request: PublishRequest, record: BundleRecord, sums: str) -> None:
    bundle = request.bundle
    if not _VERSION.fullmatch(record.version) or pep440(record.version) is None:
        raise UsageError(
            f"{bundle}: version {quoted(record.version)} is not a PEP 440 version; a channel orders its releases by it"
        )
    if not _VERSION.fullmatch(record.distribution):
        raise UsageError(f"{bundle}: distribution {quoted(record.distribution)} is not a name a channel can hold")
    if not record.signed and not request.allow_unsigned:
        raise UsageError(f"{bundle}: an unsigned bundle (cut with --unsigned); publish it only with --allow-unsigned")


def _already(root: Path, history: log.History, record: BundleRecord, sums: str) -> Change | None:
    """A `Change` that changed nothing when this bundle is published already; bad input when the
    channel is another distribution's, or holds another bundle under this version."""
    current = history.record
    if current is None:
        return None
    if current.distribution != record.distribution:
        raise UsageError(
            f"--channel {root}: the channel of {current.distribution}, not of {record.distribution} "
            "(one channel per distribution)"
        )
    found = current.release(record.version)
    if found is None:
        return None
    if found.sums_sha256 != sums or found.version != record.version:
        raise UsageError(
            f"{record.distribution} {found.version} is already in {root} with other contents; a published release "
            "never changes: cut a new version (or yank that one)"
        )
    return Change(root, current.distribution, found.version, False, current.head, current.stable)


def _intact(root: Path, history: log.History) -> log.History:
    """The channel's history, refused when it does not verify, or is lost while its releases are there."""
    layout = ChannelLayout(root)
    published = layout.path(ChannelLayout.RELEASES)
    if history.record is None and (
        layout.path(ChannelLayout.CHANNEL_JSON).exists() or (published.is_dir() and any(published.iterdir()))
    ):
        raise VerifyMismatch(
            f"{root}: the channel holds releases but its {ChannelLayout.LOG} is missing or empty: its history is lost; "
            "restore log.jsonl from a mirror or a backup (nothing was written)"
        )
    if history.problems:
        raise VerifyMismatch(
            f"{root}: the channel's log does not verify ({history.problems[0]}); nothing was written: "
            f"run `curator verify {root}`",
            history.problems,
        )
    return history


# ------------------------------------------------------------------------------- publishing


def _add(
    request: PublishRequest, staging: commit.Staging, history: log.History, record: BundleRecord, sums: str
) -> tuple[int, int, tuple[str, ...]]:
    """Stage the bundle, its files and the new state, then commit; (files added, files shared, signers)."""
    root = request.channel
    staged = _stage_bundle(
        request.bundle, staging.folder / "bundle", BundleLayout.name(record.distribution, record.version)
    )
    copy = Folder(staged)
    _verified(copy, staged, "the bundle changed while it was copied; refusing to publish it")
    if _said(copy, staged) != (record, sums):
        raise UsageError(f"{request.bundle}: the bundle changed while it was copied; publish it again")
    listed = files.parse_sums((staged / files.SUMS).read_text(encoding="utf-8"))
    owned = sorted(n for n in listed if n.split("/")[0] in releases.CHANNEL_OWNED)
    if owned:
        raise UsageError(f"{request.bundle}: holds {owned[0]}, a name the channel writes into a release's folder")
    _same_names(root, history, listed)
    added = shared = 0
    for member, (name, digest) in sorted(releases.shipped(listed).items()):
        stored = ChannelLayout.stored(digest, name)
        on_disk = ChannelLayout(root).path(stored)
        if on_disk.is_file():
            if files.sha256_file(on_disk) != digest:
                raise VerifyMismatch(
                    f"{on_disk}: changed (its sha256 is not the one its path names); nothing was written: "
                    f"run `curator verify {root}`"
                )
            shared += 1
        elif not os.path.lexists(staging.path(stored)):
            staging.adopt(stored, staged / member)
            metadata = releases.wheel_metadata(staging.path(stored)) if name.endswith(".whl") else None
            if metadata is not None:
                staging.write(stored + METADATA_SUFFIX, metadata)
            added += 1
    shutil.rmtree(staged / "wheels", ignore_errors=True)
    folder = ChannelLayout.release(record.version)
    staging.adopt(folder, staged)
    view = releases.load(record.version, _locate(root, staging))
    current = history.record
    entry = history.next_entry(
        Action.PUBLISH,
        record.distribution,
        log.now(),
        version=record.version,
        sums_sha256=sums,
        pythons=view.pythons,
        platforms=view.platforms,
    )
    entry = log.sign(entry, request.keys, current.signers if current else ())
    _commit(root, staging, history.append(entry), fresh=(folder,))
    return added, shared, tuple(sorted(entry.signatures))


def _stage_bundle(bundle: Path, target: Path, name: str) -> Path:
    """A copy of the bundle (folder or tarball) in the staging folder, named as a bundle folder is."""
    staged = target / name
    if bundle.is_dir():
        shutil.copytree(bundle, staged, symlinks=True)
    else:
        staged.mkdir(parents=True)
        unpack(bundle, staged)
    return staged


def _same_names(root: Path, history: log.History, listed: Mapping[str, str]) -> None:
    """One file name, one content: an index cannot list two files of one name."""
    record = history.record
    if record is None:
        return
    mine = dict(releases.shipped(listed).values())
    for release in record.releases:
        try:
            theirs = releases.shipped(
                files.parse_sums(
                    ChannelLayout(root).path(f"{ChannelLayout.release(release.version)}/{files.SUMS}").read_text()
                )
            )
        except (OSError, ValueError):
            continue  # verify names a damaged release; publishing does not depend on it
        for name, digest in theirs.values():
            if mine.get(name, digest) != digest:
                raise UsageError(
                    f"{name}: release {release.version} published another file of this name; an index cannot hold "
                    "two (rebuilt wheels need a new version or build tag)"
                )


def _locate(root: Path, staging: commit.Staging) -> releases.Locate:
    def locate(relative: str) -> Path:
        staged = staging.path(relative)
        return staged if os.path.lexists(staged) else ChannelLayout(root).path(relative)

    return locate


def _commit(root: Path, staging: commit.Staging, history: log.History, fresh: tuple[str, ...]) -> None:
    """Stage every derived file that changes, and the log; then place them (`commit`). `fresh` are
    folders new to the channel, staged whole: what is derived inside them moves with them."""
    record = history.record
    assert record is not None and not history.problems, history.problems
    locate = _locate(root, staging)
    views = {r.version: releases.load(r.version, locate) for r in record.releases}
    derived = render.derived(record, views)
    layout = ChannelLayout(root)
    moves = [path.relative_to(staging.path("")).as_posix() for path in _new_files(staging)]
    moves += list(fresh)
    last: list[str] = []
    for relative, content in sorted(derived.items()):
        if any(relative.startswith(f"{folder}/") for folder in fresh):
            staging.write(relative, content)
            continue
        target = layout.path(relative)
        if target.is_file() and target.read_bytes() == content:
            continue
        staging.write(relative, content)
        (last if relative in (ChannelLayout.CHANNEL_JSON, ChannelLayout.PAGE) else moves).append(relative)
    removes = [relative for relative in derived_on_disk(root) if relative not in derived]
    staging.write(ChannelLayout.LOG, history.content())
    staging.commit(commit.Journal(tuple(moves), tuple(removes), (*last, ChannelLayout.LOG)))


def _new_files(staging: commit.Staging) -> list[Path]:
    folder = staging.path(ChannelLayout.FILES)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def derived_on_disk(root: Path) -> list[str]:
    """Every file in the channel that `render` owns (index pages, constraints, channel.json, index.html)."""
    found = []
    for folder, dirs, names in os.walk(root):
        base = Path(folder)
        if base == root:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            relative = (base / name).relative_to(root).as_posix()
            if render.is_derived(relative):
                found.append(relative)
    return sorted(found)
