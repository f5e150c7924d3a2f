"""Who may change a channel: its signer set in force, and whether an entry carries enough of its signatures.

A channel governed by a signer set (`threshold` ≥ 1 in `channel.json`) changes only by entries that
`threshold` distinct signers of a set signed (docs/governance.md):

- a `publish` or a `yank` needs the threshold of the set **in force** (the last `signers` entry
  before it);
- a `signers` entry, which installs a new set, needs the threshold of the set it **replaces** (none
  for a channel's first set, which is trusted on first use, as TUF's first root is) and of the set it
  **installs**: the old set vouches for its successor, the new one shows that it holds its keys.

A channel with no signer set yet (threshold 0: every channel before governance, and one of bundles
cut without governance until `curator signers` gives it one) is **ungoverned**: its entries carry
whatever signatures `--key` gave, each checked, none counted.

Signatures are counted as a bundle's are (`curator.release.governance.tally`): a key counts once; a
signature by a key outside the set (an outsider), or filed under another signer's name, counts for
nothing. An entry about to be written is judged by the keys given (`approve`, before anything is
written) and an entry replayed by its signatures (`count`); both say the same `Tally.summary`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from curator.channel.records import Action, Signer
from curator.host.inputs import quoted
from curator.model.errors import NotASigner, SignersError, ThresholdNotMet, UsageError
from curator.release import governance, signing
from curator.release.governance import Counted, Presented, Signers, Tally, Uncounted, Why


class Role(enum.StrEnum):
    """Which signer set an entry's signatures are counted against."""

    IN_FORCE = "in-force"  # a publish's or a yank's: the set of the last `signers` entry before it
    REPLACED = "replaced"  # a `signers` entry's old set
    INSTALLED = "installed"  # a `signers` entry's new set


_SAID = {
    Role.IN_FORCE: "the signers in force",
    Role.REPLACED: "the signers it replaces",
    Role.INSTALLED: "the signers it installs",
}


@dataclass(frozen=True)
class Approval:
    """One signer set's count of an entry's signatures."""

    signers: Role
    tally: Tally

    @property
    def said(self) -> str:
        """`1 of 2 signatures: alice; 1 more needed from bob, carol (the signers in force)`."""
        return f"{self.tally.summary} ({_SAID[self.signers]})"


Sets = tuple[tuple[Role, Signers], ...]


class Named(Protocol):
    """A signer as the log (`model.Signer`) or a signers file (`governance.Signer`) holds one."""

    @property
    def principal(self) -> str: ...  # the name `-I` takes

    @property
    def key(self) -> str: ...  # `ssh-ed25519 AAAA…`


@dataclass(frozen=True)
class Proposal:
    """A signer set to install: its signers as the log keeps them (principal and key), how many of
    them must sign, and where it came from (`--set FILE`, a bundle's release.json)."""

    signers: tuple[Signer, ...]
    threshold: int
    source: str

    @property
    def counted(self) -> Signers:
        """The set as governance counts it."""
        return Signers(tuple(governance.Signer(s.principal, s.key) for s in self.signers), self.threshold)

    def describe(self) -> str:
        """`2 of alice, bob, carol`."""
        return self.counted.describe()


_TIMELESS = (
    "a channel's signers change by a signed `signers` entry, not by time: its log is replayed long after, "
    "and a key past its valid-before would stop counting for every entry it signed"
)


def from_file(path: Path, threshold: int) -> Proposal:
    """The set of an allowed_signers file with `threshold`; a malformed file is a `SignersError`
    naming FILE:LINE, a threshold above its signers a `UsageError` (both exit 2)."""
    loaded = governance.load(path, threshold, threshold_from="--threshold")
    for signer in loaded.signers:
        if signer.valid_after is not None or signer.valid_before is not None:
            raise SignersError(path, signer.line, f"valid-after/valid-before: {_TIMELESS}; drop the option")
    return Proposal(tuple(Signer(s.principal, s.key) for s in loaded.signers), threshold, str(path))


def from_record(signers: Sequence[governance.Signer], threshold: int, source: str) -> Proposal:
    """The set a governed bundle records (release.json `governance`), for a channel's first set."""
    for signer in signers:
        if signer.valid_after is not None or signer.valid_before is not None:
            raise UsageError(
                f"{source}: {signer.principal}'s key carries valid-after/valid-before, and {_TIMELESS}; give the "
                "channel its first signers with `curator signers DIR --set FILE --threshold K` first"
            )
    return Proposal(tuple(Signer(s.principal, s.key) for s in signers), threshold, source)


def signer_set(signers: Sequence[Signer], threshold: int) -> Signers | None:
    """A channel's signers as governance counts them; None for an ungoverned channel (threshold 0)."""
    if threshold < 1:
        return None
    return Signers(tuple(governance.Signer(s.principal, s.key) for s in signers), threshold)


def checked_set(signers: Sequence[Signer], threshold: int) -> Signers:
    """A set a `signers` entry installs, checked as a signers file is (one principal and one key per
    signer, each a readable ed25519 key written canonically); a `ValueError` says what is wrong."""
    if not signers:
        raise ValueError("installs no signers")
    if not 1 <= threshold <= len(signers):
        raise ValueError(f"sets threshold {threshold} for {len(signers)} signer(s)")
    text = "".join(f"{s.principal} {s.key}\n" for s in signers)
    try:
        parsed = governance.parse(text.encode("utf-8"), "signers")
    except SignersError as exc:
        raise ValueError(f"its signer {exc.line}: {exc.message}") from None
    for number, (given, read) in enumerate(zip(signers, parsed, strict=True), 1):
        if (given.principal, given.key) != (read.principal, read.key):
            raise ValueError(f"its signer {number}: the key is not written as `ssh-ed25519 BASE64` alone")
    return Signers(parsed, threshold)


def required(in_force: Signers | None, action: Action, installs: Signers | None) -> Sets:
    """The sets whose threshold an entry needs (none in an ungoverned channel but for a first set)."""
    if action is Action.SIGNERS:
        old = ((Role.REPLACED, in_force),) if in_force is not None else ()
        return old + (((Role.INSTALLED, installs),) if installs is not None else ())
    return ((Role.IN_FORCE, in_force),) if in_force is not None else ()


def count(message: bytes, signatures: Mapping[str, str], sets: Sets) -> tuple[Approval, ...]:
    """Each set's tally of an entry's signatures (principal → armor) over `message`."""
    presented = [Presented(who, armored, who) for who, armored in signatures.items()]
    return tuple(
        Approval(role, governance.tally(message, presented, signers, what="the entry")) for role, signers in sets
    )


def problems(approvals: Sequence[Approval]) -> list[str]:
    """What is wrong with an entry's signatures: a set whose threshold is not met, and each signature
    that counts for none of the sets (curator writes none such: an outsider's, one filed under
    another's name, one over other bytes, one by a signer counted already)."""
    found = [a.said for a in approvals if not a.tally.met]
    counted = {c.label for a in approvals for c in a.tally.signed}
    said: set[str] = set()
    for approval in approvals:
        for uncounted in approval.tally.uncounted:
            if uncounted.label not in counted and uncounted.label not in said:
                said.add(uncounted.label)
                found.append(f"the signature of {quoted(uncounted.label)} counts for nothing: {uncounted.reason}")
    return found


def principals(keys: Sequence[signing.SigningKey], signers: Sequence[Named]) -> dict[str, str]:
    """The principal each key signs an entry as (its name among `signers`, else its fingerprint),
    by key source; two keys signing as one principal are bad input (an entry holds one signature each)."""
    names: dict[str, str] = {}
    taken: dict[str, str] = {}
    for key in keys:
        name = next((s.principal for s in signers if _blob(s.key) == key.public.blob), key.public.fingerprint)
        first = taken.get(name)
        if first is not None and _fingerprint(keys, first) != key.public.fingerprint:
            raise UsageError(
                f"--key {key.source} and --key {first} both sign as {quoted(name)} (their old and new keys?): "
                "an entry holds one signature per principal; give one of them"
            )
        taken.setdefault(name, key.source)
        names[key.source] = name
    return names


def approve(keys: Sequence[signing.SigningKey], sets: Sets, *, command: str, channel: Path) -> tuple[Approval, ...]:
    """Judge the keys that are to sign an entry before anything is written: each must be a signer of
    one of `sets`, and every set's threshold must be met (a key counts once). `NotASigner` for an
    outsider's key, `ThresholdNotMet` below a threshold (both exit 1)."""
    approvals = tuple(Approval(role, _by_keys(keys, signers)) for role, signers in sets)
    if not sets:
        return approvals
    principals(keys, [s for _, signers in sets for s in signers.signers])
    for key in keys:
        if all(signers.holding(key.public) is None for _, signers in sets):
            names = "; ".join(f"{_SAID[role]}: {', '.join(s.principals)}" for role, s in sets)
            raise NotASigner(
                f"curator {command}: --key {key.source} ({key.public.fingerprint}) is no signer of {channel} "
                f"({names}); it cannot sign for it: nothing was written"
            )
    short = [a for a in approvals if not a.tally.met]
    if short:
        said = "; and ".join(a.said for a in short)
        raise ThresholdNotMet(
            f"curator {command}: {channel} changes only with enough of its signers' signatures: {said}; "
            "nothing was written (give each signer's key with --key)",
            tuple(a.said for a in short),
        )
    return approvals


def _by_keys(keys: Iterable[signing.SigningKey], signers: Signers) -> Tally:
    """The tally the keys' signatures will make against `signers`: distinct signers, in file order."""
    counted: dict[str, Counted] = {}
    uncounted: list[Uncounted] = []
    for key in keys:
        fingerprint = key.public.fingerprint
        signer = signers.holding(key.public)
        if signer is None:
            reason = f"by key {fingerprint}, which is not one of the signers"
            uncounted.append(Uncounted(key.source, Why.OUTSIDER, reason, fingerprint))
        elif signer.principal in counted:
            first = counted[signer.principal].label
            reason = f"{signer.principal} counted already ({first}): a key counts once"
            uncounted.append(Uncounted(key.source, Why.AGAIN, reason, fingerprint, signer.principal))
        else:
            counted[signer.principal] = Counted(signer.principal, fingerprint, key.source)
    signed = tuple(counted[p] for p in signers.principals if p in counted)
    missing = tuple(p for p in signers.principals if p not in counted)
    return Tally(signers.threshold, signed, tuple(uncounted), missing)


def _blob(key: str) -> bytes | None:
    try:
        return signing.load_public_key(key, "signer").blob
    except UsageError:
        return None


def _fingerprint(keys: Sequence[signing.SigningKey], source: str) -> str:
    return next(k.public.fingerprint for k in keys if k.source == source)
