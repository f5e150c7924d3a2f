"""`curator publish BUNDLE --channel DIR`, `curator yank VERSION --channel DIR --reason TEXT` and
`curator signers DIR --set FILE --threshold K`: the three changes a channel's log knows.

A publish verifies the bundle (a tampered one is refused, exit 1; an unsigned one unless
`allow_unsigned`), then adds it: its distribution files stored once by content in `files/` (each
wheel's core metadata beside it), the rest of the bundle as `releases/<version>/`, an entry in
`log.jsonl`, and every derived file written again (`render`). A yank adds an entry and writes the
derived files again; nothing is ever deleted; so does a change of signers. Each holds the channel's
lock, finishes an interrupted change first, and places its own through `commit` (all or nothing,
the log last).

A governed channel changes only with enough of its signers' signatures (`trust`): the keys given
(`--key`, several times) are judged before anything is written — an outsider's key, or fewer
distinct signers than a threshold the entry needs, is refused (exit 1) — and judged again under the
lock. A channel takes its first signer set from `curator signers` or from the first governed bundle
published into it (its release.json's signers and threshold, written as a `signers` entry before the
`publish` one), whichever comes first.

Publishing a bundle already published (the same `SHA256SUMS`) changes nothing; yanking a yanked
release, or installing the signer set in force, changes nothing. Bad input — a path that is no
bundle, a channel of another distribution, another bundle under a published version, a version not
in the channel, an empty reason, a malformed signers file — is a `UsageError` before anything is
written.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from curator.channel import commit, log, releases, render, trust
from curator.channel.pages import METADATA_SUFFIX
from curator.channel.records import Action, BundleRecord, ChannelRecord, Entry, ReleaseRecord, pep440
from curator.host.inputs import quoted
from curator.host.layout import BundleLayout, ChannelLayout
from curator.host.locking import LOCK_NAME, FolderLock
from curator.model.errors import UsageError, VerifyMismatch
from curator.release import archive as files
from curator.release import signatures, signing
from curator.release import verify as bundles
from curator.release.contents import Contents, Folder, unpack
from curator.release.governance import Signers, Tally

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
    bundle_tally: Tally | None = None  # a governed bundle's count of its own signatures
    reason: str | None = None  # a yank's
    approvals: tuple[trust.Approval, ...] = ()  # the new entry's signatures counted by each set it needs
    signers: Signers | None = None  # the set in force afterwards; None: an ungoverned channel
    installed: bool = False  # the publish gave the channel its first signers (the bundle's), in an entry before


@dataclass(frozen=True)
class SignersRequest:
    """What `curator signers` was asked to do."""

    channel: Path
    proposal: trust.Proposal
    keys: tuple[signing.SigningKey, ...] = ()
    distribution: str | None = None  # to start a channel with this entry


@dataclass(frozen=True)
class SignersChange:
    """What `curator signers` did to a channel."""

    channel: Path
    distribution: str
    changed: bool  # False: that set was in force already; nothing was written
    head: str
    signers: Signers  # the set in force afterwards
    replaced: Signers | None  # the set before; None for a channel's first
    approvals: tuple[trust.Approval, ...] = ()
    signed_by: tuple[str, ...] = ()
    recovered: tuple[str, ...] = ()
    created: bool = False  # the entry started the channel


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
    if not verification.wheels:
        raise UsageError(
            f"{bundle}: holds no wheels (cut without --wheelhouse), and a channel serves a release's files: "
            "pip and uv would find nothing to install; cut it again with `curator release --wheelhouse`"
        )
    first = _first_signers(contents, bundle)
    history = log.read(root)
    if (done := _already(root, history, record, sums)) is not None and not commit.pending(root):
        return done  # an interrupted change pending: finish it first, under the lock
    _approve_publish(request, history, first)
    with commit.creating(root), FolderLock.take(root, command="publish", what=f"the channel {root}"):
        recovered = tuple(commit.recover(root))
        history = _intact(root, log.read(root))
        if (done := _already(root, history, record, sums)) is not None:
            return replace(done, recovered=recovered)
        installing = _approve_publish(request, history, first)  # the signers may have changed meanwhile
        with commit.Staging(root) as staging:
            added, shared, entry, final = _add(request, staging, history, record, sums, installing=installing)
    assert final.record is not None  # the history as committed, read under the lock: this change's own
    return Change(
        channel=root,
        distribution=final.record.distribution,
        version=record.version,
        changed=True,
        head=final.record.head,
        stable=final.record.stable,
        signed_by=tuple(sorted(entry.signatures)),
        recovered=recovered,
        added=added,
        shared=shared,
        bundle_signed=verification.signed,
        bundle_fingerprint=verification.fingerprint,
        bundle_tally=verification.tally,
        approvals=final.lines[-1].approvals,
        signers=final.in_force,
        installed=installing is not None,
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
    history = log.read(root)
    record = _channel(root, history)
    if _published(root, record, version).yanked is None:
        trust.approve(keys, trust.required(history.in_force, Action.YANK, None), command="yank", channel=root)
    with FolderLock.take(root, command="yank", what=f"the channel {root}"):
        recovered = tuple(commit.recover(root))
        history = _intact(root, log.read(root))
        record = _channel(root, history)
        release = _published(root, record, version)
        if release.yanked is not None:
            return Change(root, record.distribution, release.version, False, record.head, record.stable,
                          recovered=recovered, reason=release.yanked, signers=history.in_force)  # fmt: skip
        trust.approve(keys, trust.required(history.in_force, Action.YANK, None), command="yank", channel=root)
        entry = history.next_entry(Action.YANK, record.distribution, log.now(), version=release.version, reason=reason)
        entry = log.sign(entry, keys, record.signers)
        final = history.append(entry)
        with commit.Staging(root) as staging:
            _commit(root, staging, final, fresh=())
    assert final.record is not None  # the history as committed, read under the lock: this change's own
    return Change(
        root, final.record.distribution, release.version, True, final.record.head, final.record.stable,
        signed_by=tuple(sorted(entry.signatures)), recovered=recovered, reason=reason,
        approvals=final.lines[-1].approvals, signers=final.in_force,
    )  # fmt: skip


def change_signers(request: SignersRequest) -> SignersChange:
    """Install a new signer set, signed by the threshold of the set in force (if any) and of the new
    one; the first set of a channel, or of a new channel (`distribution` given), is signed by its own."""
    root, proposal = request.channel, request.proposal
    _channel_folder(root)
    history = log.read(root)
    distribution = _distribution(root, history, request.distribution)
    sets = _rotation(history, proposal)
    if sets is None and not commit.pending(root):
        return _unchanged(root, history, ())
    if sets is not None:
        trust.approve(request.keys, sets, command="signers", channel=root)
    with commit.creating(root), FolderLock.take(root, command="signers", what=f"the channel {root}"):
        recovered = tuple(commit.recover(root))
        history = _intact(root, log.read(root))
        distribution = _distribution(root, history, request.distribution)
        sets = _rotation(history, proposal)
        if sets is None:
            return _unchanged(root, history, recovered)
        trust.approve(request.keys, sets, command="signers", channel=root)
        replaced = history.in_force
        entry = history.next_entry(
            Action.SIGNERS, distribution, log.now(), signers=proposal.signers, threshold=proposal.threshold
        )
        in_force = history.record.signers if history.record is not None else ()
        entry = log.sign(entry, request.keys, (*in_force, *proposal.signers))
        final = history.append(entry)
        with commit.Staging(root) as staging:
            _commit(root, staging, final, fresh=())
    assert final.record is not None  # the history as committed, read under the lock: this change's own
    return SignersChange(
        channel=root,
        distribution=final.record.distribution,
        changed=True,
        head=final.record.head,
        signers=proposal.counted,
        replaced=replaced,
        approvals=final.lines[-1].approvals,
        signed_by=tuple(sorted(entry.signatures)),
        recovered=recovered,
        created=len(final.lines) == 1,
    )


def _unchanged(root: Path, history: log.History, recovered: tuple[str, ...]) -> SignersChange:
    record = history.record
    assert record is not None and history.in_force is not None
    return SignersChange(root, record.distribution, False, record.head, history.in_force, None, recovered=recovered)


# ------------------------------------------------------------------------------- checks


def _channel_folder(root: Path) -> None:
    """A channel, an empty folder, or nothing yet; never a folder of something else."""
    if not os.path.lexists(root):
        return
    if not root.is_dir():
        raise UsageError(f"--channel {root}: exists and is not a folder")
    if not ChannelLayout(root).holds_channel() and any(p.name != LOCK_NAME for p in root.iterdir()):
        raise UsageError(f"--channel {root}: a folder that is not a channel (no {ChannelLayout.LOG}) and not empty")


def _channel(root: Path, history: log.History) -> ChannelRecord:
    if not ChannelLayout(root).holds_channel() or history.record is None:
        raise UsageError(f"--channel {root}: not a channel (no {ChannelLayout.LOG} with entries in it)")
    return history.record


def _distribution(root: Path, history: log.History, given: str | None) -> str:
    """The channel's distribution; `given` (`--distribution`) must be it, and starts a channel that is none yet."""
    record = history.record
    if record is not None:
        if given is not None and given != record.distribution:
            raise UsageError(f"--distribution {quoted(given)}: {root} is the channel of {record.distribution}")
        return record.distribution
    if given is None:
        raise UsageError(
            f"{root}: not a channel yet; to start one whose first entry names its signers, pass --distribution NAME "
            "(or publish a governed bundle into it: the channel takes the bundle's signers)"
        )
    if not _VERSION.fullmatch(given):
        raise UsageError(f"--distribution {quoted(given)}: not a name a channel can hold (letters, digits, . _ -)")
    return given


def _rotation(history: log.History, proposal: trust.Proposal) -> trust.Sets | None:
    """The sets a change to `proposal` needs the threshold of; None when it is the set in force."""
    record = history.record
    if record is not None and (record.signers, record.threshold) == (proposal.signers, proposal.threshold):
        return None
    try:
        installs = trust.checked_set(proposal.signers, proposal.threshold)
    except ValueError as exc:  # a file governance read cannot give one; a bundle's record could
        raise UsageError(f"{proposal.source}: not a signer set a channel can install: it {exc}") from None
    return trust.required(history.in_force, Action.SIGNERS, installs)


def _first_signers(contents: Contents, bundle: Path) -> trust.Proposal | None:
    """The signers a governed bundle records: a channel with none yet takes them (its first set)."""
    record = signatures.recorded(contents)  # readable: the bundle verified
    if record is None:
        return None
    return trust.from_record(record.signers, record.threshold, f"{bundle}/{releases.RELEASE_JSON}")


def _approve_publish(
    request: PublishRequest, history: log.History, first: trust.Proposal | None
) -> trust.Proposal | None:
    """Judge the keys for a publish (`trust.approve`); the bundle's signers when the publish installs
    them as the channel's first set (then both entries need their threshold)."""
    root = request.channel
    if history.in_force is None and first is not None:
        sets = _rotation(history, first)
        assert sets is not None  # the channel has no set in force
        trust.approve(request.keys, sets, command="publish", channel=root)
        return first
    trust.approve(request.keys, trust.required(history.in_force, Action.PUBLISH, None), command="publish", channel=root)
    return None


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
    return Change(
        root, current.distribution, found.version, False, current.head, current.stable, signers=history.in_force
    )


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
    request: PublishRequest,
    staging: commit.Staging,
    history: log.History,
    record: BundleRecord,
    sums: str,
    *,
    installing: trust.Proposal | None,
) -> tuple[int, int, Entry, log.History]:
    """Stage the bundle, its files and the new state (after a `signers` entry installing the bundle's
    signers, when `installing`), then commit; (files added, files shared, the publish entry, the history
    committed)."""
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
    time = log.now()
    if installing is not None:
        first = history.next_entry(
            Action.SIGNERS, record.distribution, time, signers=installing.signers, threshold=installing.threshold
        )
        history = history.append(log.sign(first, request.keys, installing.signers))
    entry = history.next_entry(
        Action.PUBLISH,
        record.distribution,
        time,
        version=record.version,
        sums_sha256=sums,
        pythons=view.pythons,
        platforms=view.platforms,
    )
    current = history.record
    entry = log.sign(entry, request.keys, current.signers if current else ())
    final = history.append(entry)
    _commit(root, staging, final, fresh=(folder,))
    return added, shared, entry, final


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
            theirs = releases.shipped(releases.read_sums(release.version, ChannelLayout(root).path))
        except releases.Unloadable as exc:
            raise _damaged(root, exc) from None
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
    try:
        views = {r.version: releases.load(r.version, locate) for r in record.releases}
    except releases.Unloadable as exc:
        raise _damaged(root, exc) from None
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


def _damaged(root: Path, exc: releases.Unloadable) -> VerifyMismatch:
    """A published release folder that cannot be read: the change is refused, as for a log that
    does not verify."""
    return VerifyMismatch(
        f"{root}: a published release does not load ({exc}); nothing was written: run `curator verify {root}`"
    )


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
