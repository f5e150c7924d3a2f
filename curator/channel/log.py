"""`log.jsonl`: a channel's append-only history, and its replay into what `channel.json` says.

Each line is one entry (`model.Entry`) as **canonical JSON**: keys sorted, no spaces
(`separators=(",", ":")`), UTF-8 unescaped, fields without a value left out — `jq -cS .` prints
the same bytes. There is one spelling of an entry, so its bytes can be hashed and signed:

- `previous` is the sha256 of the line before it (its bytes without the newline), so the log is a
  hash chain, and the sha256 of the last line is the channel's **head**;
- `signatures` maps a principal to an SSHSIG armor (namespace `curator`, as release bundles) over
  the entry's canonical bytes *without* its `signatures` key — what
  `jq -cjS 'del(.signatures)'` prints — so `ssh-keygen -Y verify` checks one with OpenSSH alone.
  The signed bytes hold `previous`, so a signature also pins the entry's place in the history.

The replay checks the shape of every line, the chain, the signatures, and that each action makes
sense where it stands (a release published once, a yank of a published release, a signer set that
is one); every problem names its line (`log.jsonl:3`). Once a `signers` entry has given the channel
a signer set, every entry needs the threshold of the set then in force, and a `signers` entry that
of the set it replaces and of the set it installs (`trust`); before that, each signature must be
good by the key its fingerprint names, and none is counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.version import Version

from curator.channel import trust
from curator.channel.records import Action, ChannelRecord, Entry, ReleaseRecord, Signer, pep440
from curator.host.inputs import Unreadable, read_regular
from curator.host.layout import ChannelLayout
from curator.model import codec
from curator.model.errors import UsageError
from curator.release import signing
from curator.release.governance import Signers

LOG = ChannelLayout.LOG
MAX_LOG_BYTES = 2**30  # a log of a million entries is a few hundred MiB
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def canonical(data: Mapping[str, Any]) -> bytes:
    """The one byte form of a JSON object: sorted keys, no spaces, UTF-8 as it is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _data(entry: Entry) -> dict[str, Any]:
    return {key: value for key, value in codec.to_json(entry).items() if value is not None}


def line(entry: Entry) -> bytes:
    """The entry as its line of `log.jsonl` (without the newline)."""
    return canonical(_data(entry))


def signed_bytes(data: Mapping[str, Any]) -> bytes:
    """What an entry's signatures sign: its canonical bytes without `signatures`."""
    return canonical({key: value for key, value in data.items() if key != "signatures"})


def digest(raw: bytes) -> str:
    """The sha256 of a line (without its newline): the next entry's `previous`, or the head."""
    return hashlib.sha256(raw).hexdigest()


def now() -> str:
    """The current moment, as entries and PEP 700 `upload-time` write it."""
    return dt.datetime.now(dt.UTC).strftime(TIME_FORMAT)


def sign(entry: Entry, keys: Sequence[signing.SigningKey], signers: Sequence[trust.Named]) -> Entry:
    """The entry with one signature per key added, each under its principal among `signers` (the
    set in force, and for a `signers` entry the set it installs), else under its fingerprint."""
    message = signed_bytes(_data(entry))
    names = trust.principals(keys, signers)
    signatures = dict(entry.signatures)
    for key in keys:
        signatures[names[key.source]] = signing.sign(message, key)
    return replace(entry, signatures=signatures)


@dataclass(frozen=True)
class Line:
    """One line of the log as read: its number (from 1), its bytes, and the entry when it reads."""

    number: int
    raw: bytes
    entry: Entry | None
    approvals: tuple[trust.Approval, ...] = ()  # each signer set's count of its signatures (none: ungoverned)

    @property
    def where(self) -> str:
        """`log.jsonl:3 (publish 1.1)`: how messages name the entry."""
        said = f"{LOG}:{self.number}"
        if self.entry is not None:
            said += f" ({self.entry.action}{f' {self.entry.version}' if self.entry.version else ''})"
        return said


@dataclass(frozen=True)
class Installed:
    """A signer set a `signers` entry installed: where, who, and how many of them must sign."""

    line: int
    signers: tuple[Signer, ...]
    threshold: int


@dataclass(frozen=True)
class History:
    """A log replayed: its lines, what they add up to, and everything wrong with them."""

    lines: tuple[Line, ...]
    record: ChannelRecord | None  # None for an empty log
    problems: tuple[str, ...]
    published_at: Mapping[str, int]  # version → the number of the line that published it
    installed: tuple[Installed, ...] = ()  # every signer set a `signers` entry installed, oldest first

    @property
    def in_force(self) -> Signers | None:
        """The signer set the next entry needs the threshold of; None while the channel is ungoverned."""
        return trust.signer_set(self.record.signers, self.record.threshold) if self.record else None

    def at(self, head: str) -> int | None:
        """The number of the line whose sha256 is `head`, if the log holds it."""
        return next((line.number for line in self.lines if digest(line.raw) == head), None)

    @property
    def head(self) -> str | None:
        """The sha256 of the last line."""
        return digest(self.lines[-1].raw) if self.lines else None

    def content(self) -> bytes:
        """The log's bytes."""
        return b"".join(entry.raw + b"\n" for entry in self.lines)

    def next_entry(self, action: Action, distribution: str, time: str, **fields: Any) -> Entry:
        """A new entry to append after this history."""
        return Entry(
            seq=len(self.lines), previous=self.head, action=action, distribution=distribution, time=time, **fields
        )

    def append(self, entry: Entry) -> History:
        """This history with `entry` appended and replayed."""
        return replay([*(entry.raw for entry in self.lines), line(entry)])


def read(root: Path) -> History:
    """The log of the channel in `root`, replayed (an empty history when there is none)."""
    path = ChannelLayout(root).path(LOG)
    try:
        data = read_regular(path, MAX_LOG_BYTES)
    except FileNotFoundError:
        return replay([])
    except (OSError, Unreadable) as exc:
        raise UsageError(f"{path}: cannot read the channel's log ({exc})") from None
    raws = data.split(b"\n")
    problems = []
    if raws[-1]:
        problems.append(f"{LOG}:{len(raws)}: the last line is not complete (no newline at its end)")
    history = replay(raws[:-1] if not raws[-1] else raws)
    return replace(history, problems=(*problems, *history.problems)) if problems else history


def replay(raws: Sequence[bytes]) -> History:
    """Check every line and add them up (see the module's docstring)."""
    lines: list[Line] = []
    problems: list[str] = []
    state = _State()
    for number, raw in enumerate(raws, 1):
        entry, data = _parse(number, raw, problems)
        if entry is None or data is None:
            lines.append(Line(number, raw, entry))
            continue
        where = Line(number, raw, entry).where
        previous = digest(raws[number - 2]) if number > 1 else None
        if entry.seq != number - 1:
            problems.append(f"{where}: its seq is {entry.seq}, not {number - 1}: a line was dropped, added or moved")
        if entry.previous != previous:
            problems.append(
                f"{where}: its `previous` is not the sha256 of the line before it: "
                "an earlier line was changed, dropped or moved"
            )
        approvals, found = state.apply(entry, data, number)
        problems += [f"{where}: {p}" for p in found]
        lines.append(Line(number, raw, entry, approvals))
    record = state.record(digest(raws[-1])) if raws and state.distribution else None
    return History(tuple(lines), record, tuple(problems), dict(state.published_at), tuple(state.installed))


def _parse(number: int, raw: bytes, problems: list[str]) -> tuple[Entry | None, dict[str, Any] | None]:
    where = f"{LOG}:{number}"
    try:
        data = json.loads(raw)
    except ValueError:
        problems.append(f"{where}: not a JSON object")
        return None, None
    if not isinstance(data, dict):
        problems.append(f"{where}: not a JSON object")
        return None, None
    try:
        entry = codec.from_json(Entry, data, where)
    except codec.CodecError as exc:
        problems.append(str(exc))
        return None, None
    if canonical(data) != raw:
        problems.append(f"{where}: not in canonical form (sorted keys, no spaces), as curator writes every line")
    return entry, data


class _State:
    """What the entries so far add up to."""

    def __init__(self) -> None:
        self.distribution: str | None = None
        self.releases: dict[str, ReleaseRecord] = {}
        self.published_at: dict[str, int] = {}
        self.signers: tuple[Signer, ...] = ()
        self.threshold = 0
        self.installed: list[Installed] = []

    def apply(self, entry: Entry, data: Mapping[str, Any], number: int) -> tuple[tuple[trust.Approval, ...], list[str]]:
        """Apply one entry: each signer set's count of its signatures, and what is wrong with it."""
        problems = []
        if self.distribution is None:
            self.distribution = entry.distribution
        elif entry.distribution != self.distribution:
            problems.append(f"for distribution {entry.distribution!r}, in a channel of {self.distribution!r}")
        try:
            dt.datetime.strptime(entry.time, TIME_FORMAT)
        except ValueError:
            problems.append(f"time {entry.time!r} is not UTC like 2026-11-23T20:15:03Z")
        installs: Signers | None = None
        if entry.action is Action.SIGNERS:
            installs, wrong = self._new_set(entry)
            problems += wrong
        approvals, wrong = self._signatures(entry, data, installs)
        problems += wrong
        match entry.action:
            case Action.PUBLISH:
                problems += self._publish(entry, number)
            case Action.YANK:
                problems += self._yank(entry)
            case Action.SIGNERS:
                if installs is not None and entry.signers is not None:
                    self.signers, self.threshold = entry.signers, installs.threshold
                    self.installed.append(Installed(number, entry.signers, installs.threshold))
        return approvals, problems

    def _publish(self, entry: Entry, number: int) -> list[str]:
        version, sums = entry.version, entry.sums_sha256
        if version is None or pep440(version) is None:
            return [f"publishes version {version!r}, which is not a PEP 440 version"]
        if sums is None or not _SHA256.fullmatch(sums):
            return ["has no sums_sha256 (the sha256 of the release's SHA256SUMS)"]
        if self._find(version) is not None:
            return [f"publishes {version} again (a release is published once)"]
        self.releases[version] = ReleaseRecord(
            version=version,
            published=entry.time,
            sums_sha256=sums,
            pythons=entry.pythons or (),
            platforms=entry.platforms or (),
        )
        self.published_at[version] = number
        return []

    def _yank(self, entry: Entry) -> list[str]:
        found = self._find(entry.version or "")
        if found is None:
            return [f"yanks {entry.version!r}, which no earlier entry published"]
        if not entry.reason:
            return ["yanks without a reason"]
        if found.yanked is not None:
            return [f"yanks {found.version} again"]
        self.releases[found.version] = replace(found, yanked=entry.reason)
        return []

    def _new_set(self, entry: Entry) -> tuple[Signers | None, list[str]]:
        """The set a `signers` entry installs, checked; None (and why) when it cannot be one."""
        if entry.signers is None or entry.threshold is None:
            return None, ["changes the signers without a signer set and a threshold"]
        try:
            return trust.checked_set(entry.signers, entry.threshold), []
        except ValueError as exc:
            return None, [str(exc)]

    def _find(self, version: str) -> ReleaseRecord | None:
        wanted = pep440(version)
        return next((r for v, r in self.releases.items() if wanted is not None and pep440(v) == wanted), None)

    def _signatures(
        self, entry: Entry, data: Mapping[str, Any], installs: Signers | None
    ) -> tuple[tuple[trust.Approval, ...], list[str]]:
        """Each set the entry needs counts its signatures (`trust`): the threshold must be met, and no
        signature may count for nothing. In an ungoverned channel, each signature must be good, by
        the key its principal (a fingerprint) names."""
        message = signed_bytes(data)
        sets = trust.required(trust.signer_set(self.signers, self.threshold), entry.action, installs)
        if sets:
            approvals = trust.count(message, entry.signatures, sets)
            return approvals, trust.problems(approvals)
        problems = []
        for who, armor in sorted(entry.signatures.items()):
            try:
                claimed = signing.signer(armor)
                if who != claimed.fingerprint:
                    problems.append(f"the signature of {who!r} is by {claimed.fingerprint}, not a key of {who!r}")
                    continue
                signing.verify(message, armor, claimed)
            except (signing.BadSignature, UsageError) as exc:
                problems.append(f"the signature of {who!r} {exc}")
        return (), problems

    def record(self, head: str) -> ChannelRecord:
        assert self.distribution is not None
        releases = sorted(self.releases.values(), key=lambda r: Version(r.version), reverse=True)  # PEP 440: checked
        return ChannelRecord(
            distribution=self.distribution,
            releases=tuple(releases),
            signers=self.signers,
            threshold=self.threshold,
            head=head,
        )
