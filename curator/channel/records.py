"""The shapes a channel keeps: a log entry, `channel.json`, and what a bundle's `release.json` says.

Each is a frozen dataclass written and read through `curator.model.codec`. A log entry is one line of
`log.jsonl`; `channel.json` (`ChannelRecord`) is nothing but the log replayed, so `curator verify`
can recompute it and compare bytes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from packaging.version import InvalidVersion, Version


class Action(enum.StrEnum):
    """What a log entry does."""

    PUBLISH = "publish"  # a release joins the channel
    YANK = "yank"  # a release leaves `stable`; its files are marked yanked (PEP 592)
    SIGNERS = "signers"  # the signer set and threshold change (issue 22: `curator signers`)


@dataclass(frozen=True)
class Signer:
    """A maintainer: the principal of an OpenSSH `allowed_signers` line and their public key."""

    principal: str
    key: str  # `ssh-ed25519 AAAA…`


@dataclass(frozen=True)
class Entry:
    """One line of `log.jsonl`.

    `seq` counts from 0; `previous` is the sha256 of the line before (None for the first), so the
    log is a hash chain and its last line's sha256 is the channel's head. Fields that do not
    belong to the action stay None and are left out of the line. `signatures` maps a principal to
    an SSHSIG armor (namespace `curator`) over the entry's canonical bytes without its signatures
    (`log.signed_bytes`).
    """

    seq: int
    action: Action
    distribution: str
    time: str  # UTC, `2026-11-23T20:15:03Z`
    previous: str | None = None  # None only for the first entry
    version: str | None = None  # publish, yank
    sums_sha256: str | None = None  # publish: the sha256 of the release's SHA256SUMS
    pythons: tuple[str, ...] | None = None  # publish
    platforms: tuple[str, ...] | None = None  # publish
    reason: str | None = None  # yank
    signers: tuple[Signer, ...] | None = None  # signers
    threshold: int | None = None  # signers
    signatures: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReleaseRecord:
    """A release as `channel.json` lists it."""

    version: str
    published: str  # the time of its publish entry
    sums_sha256: str
    pythons: tuple[str, ...]
    platforms: tuple[str, ...]
    yanked: str | None = None  # the reason, once yanked


@dataclass(frozen=True)
class ChannelRecord:
    """`channel.json`: the log replayed. Releases newest first (PEP 440 order)."""

    JSON_COMPUTED: ClassVar = {"stable": "stable"}

    distribution: str
    releases: tuple[ReleaseRecord, ...]
    signers: tuple[Signer, ...]
    threshold: int
    head: str  # the sha256 of the log's last line

    @property
    def stable(self) -> str | None:
        """The newest release that is not yanked: what `stable/simple/` serves."""
        return next((r.version for r in self.releases if r.yanked is None), None)

    def release(self, version: str) -> ReleaseRecord | None:
        """The release of `version` (the same PEP 440 version, however spelled), if published."""
        wanted = pep440(version)
        return next((r for r in self.releases if wanted is not None and pep440(r.version) == wanted), None)


def pep440(version: str) -> Version | None:
    """A release's place in the channel's order; None for a version that is not PEP 440 (which
    publish refuses, and the log's replay reports)."""
    try:
        return Version(version)
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class BundleRun:
    """The gating run a bundle was cut from."""

    id: str
    strategy: str
    manifest_sha256: str


@dataclass(frozen=True)
class BundlePython:
    """One Python of a bundle: its lock files and what they install."""

    lock: str
    pylock: str
    packages: Mapping[str, str]


@dataclass(frozen=True)
class BundleRecord:
    """What a channel reads from a bundle's `release.json` (docs/release.md); other keys are ignored,
    so a bundle that says more (its platforms, its signers) is read all the same."""

    distribution: str
    version: str
    date: str
    run: BundleRun
    gate: Mapping[str, Mapping[str, str]]
    pythons: Mapping[str, BundlePython]
    signature: Mapping[str, object]
    blessed: tuple[str, ...] = ()  # the manifest's packages
    platforms: object = None  # uv targets, when the bundle says: a list, a mapping keyed by them, or lists by kind

    @property
    def signed(self) -> bool:
        """Whether the bundle says it was signed."""
        return bool(self.signature.get("signed"))

    @property
    def fingerprint(self) -> str | None:
        """The fingerprint of the key that signed it, as the bundle says."""
        found = self.signature.get("fingerprint")
        return found if isinstance(found, str) else None

    def said_platforms(self) -> tuple[str, ...] | None:
        """The platforms the bundle says it holds, sorted; None when it does not say. A list of targets,
        a mapping keyed by target, or a mapping of lists (`{"tested": […], "locked": […]}`: their union)."""
        value = self.platforms
        if isinstance(value, Mapping) and value and all(isinstance(v, list | tuple) for v in value.values()):
            value = [target for targets in value.values() for target in targets]
        elif isinstance(value, Mapping):
            value = list(value)
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(sorted(set(value)))
        return None
