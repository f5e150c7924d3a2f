"""Governance: who may sign, how many must, and which signatures count.

`Signers` is an OpenSSH allowed_signers file (ssh-keygen(1), "ALLOWED SIGNERS") read into named
maintainers and their ed25519 keys, with the threshold of signatures a release, a yank or a change
of signers needs. `tally` says, for one message and the signatures presented for it, which distinct
signers' signatures verify and how many are missing — a shape (`Tally`) that is printed as JSON and
kept in a channel's log.

The same file checks every signature with `ssh-keygen -Y verify -f FILE -I PRINCIPAL -n curator`:
curator reads the lines ssh-keygen reads (quoted principals, `namespaces=`, `valid-after=`,
`valid-before=`, comments) the way it reads them, and refuses — naming FILE:LINE — what a count of
named maintainers cannot use: wildcards, several principals on one key, one principal or one key
twice, certificate authorities, and key types curator cannot verify (docs/governance.md).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from curator.host.inputs import Unreadable, quoted, read_regular
from curator.model.codec import spec
from curator.model.distribution import Distribution
from curator.model.errors import SignersError, UsageError
from curator.release import signing

NAMESPACE = signing.NAMESPACE
MAX_SIGNERS_BYTES = 2**20  # a file of a thousand maintainers is about 100 kB
PRINCIPAL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,99}")  # it names signatures/<principal>.sig
OPTIONS = ("cert-authority", "namespaces", "valid-after", "valid-before")
_SUPPORTED = signing.KEY_TYPE
_PLAIN_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-xmss@openssh.com",
)
_CERT_TYPES = tuple(f"{t.removesuffix('@openssh.com')}-cert-v01@openssh.com" for t in _PLAIN_TYPES)
KEY_TYPES = _PLAIN_TYPES + _CERT_TYPES  # every key type OpenSSH writes in a key line
_TIME_FORMATS = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


# ------------------------------------------------------------------------------------ signers


@dataclass(frozen=True)
class Signer:
    """One maintainer: a principal (the name `-I` takes, and `signatures/<principal>.sig`'s) and
    their ed25519 key, with the options of their line as written."""

    JSON_COMPUTED: ClassVar = {"fingerprint": "fingerprint"}

    principal: str
    key: str  # `ssh-ed25519 AAAA…`
    namespaces: str | None = None  # a pattern list that lets `curator` in (checked when read)
    valid_after: str | None = None  # ssh-keygen's time: YYYYMMDD[HHMM[SS]][Z]
    valid_before: str | None = None
    line: int = field(default=0, compare=False, metadata=spec(json=None))  # where in its file (0: not from one)

    @cached_property
    def public(self) -> signing.PublicKey:
        """The key, for verifying."""
        return signing.public_key_from_blob(base64.b64decode(self.key.split()[1]))

    @property
    def fingerprint(self) -> str:
        """`SHA256:…`, as `ssh-keygen -l` prints it."""
        return self.public.fingerprint

    def options(self) -> str:
        """The line's options as ssh-keygen reads them (empty when there are none)."""
        found = [
            f'{name}="{value}"'
            for name, value in (
                ("namespaces", self.namespaces),
                ("valid-after", self.valid_after),
                ("valid-before", self.valid_before),
            )
            if value is not None
        ]
        return ",".join(found)

    def render(self) -> str:
        """This signer as one allowed_signers line."""
        return " ".join(part for part in (self.principal, self.options(), self.key) if part)

    def invalid_at(self, when: dt.datetime) -> tuple[Why, str] | None:
        """Why the key may not sign at `when` (its `valid-after`/`valid-before`), or None."""
        if self.valid_after is not None and when < instant(self.valid_after):
            return Why.NOT_YET_VALID, f"{self.principal}'s key is valid only from {self.valid_after}"
        if self.valid_before is not None and when > instant(self.valid_before):
            return Why.EXPIRED, f"{self.principal}'s key expired at {self.valid_before}"
        return None


@dataclass(frozen=True)
class Signers:
    """The maintainers who may sign, in their file's order, and how many signatures must agree."""

    signers: tuple[Signer, ...]
    threshold: int

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= len(self.signers):
            raise ValueError(f"threshold {self.threshold} is not between 1 and the {len(self.signers)} signers")

    @property
    def principals(self) -> tuple[str, ...]:
        """Every signer's name, in file order."""
        return tuple(s.principal for s in self.signers)

    def named(self, principal: str) -> Signer | None:
        """The signer called `principal`."""
        return next((s for s in self.signers if s.principal == principal), None)

    def holding(self, key: signing.PublicKey) -> Signer | None:
        """The signer whose key `key` is, if any."""
        return next((s for s in self.signers if s.public.blob == key.blob), None)

    def render(self) -> str:
        """An allowed_signers file of exactly these signers (the threshold is not part of it)."""
        return "".join(f"{s.render()}\n" for s in self.signers)

    def describe(self) -> str:
        """`2 of alice, bob, carol`."""
        return f"{self.threshold} of {', '.join(self.principals)}"


def read(path: Path) -> tuple[Signer, ...]:
    """The signers of an allowed_signers file; each mistake is a `SignersError` naming FILE:LINE."""
    try:
        data = read_regular(path, MAX_SIGNERS_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such signers file (an OpenSSH allowed_signers file)") from None
    except Unreadable as exc:
        raise UsageError(f"{path}: cannot read the signers file: {exc}") from None
    return parse(data, path)


def load(path: Path, threshold: int, *, threshold_from: str) -> Signers:
    """The signers of `path` with `threshold`; a threshold above their number is a `UsageError`
    starting with `threshold_from` (where it was said: `FILE:LINE:COL` of a manifest, `--threshold`)."""
    signers = read(path)
    if threshold > len(signers):
        names = ", ".join(s.principal for s in signers)
        raise UsageError(
            f"{threshold_from}: threshold {threshold} is more than the {len(signers)} signer(s) of {path} "
            f"({names}); lower it, or add signers"
        )
    if threshold < 1:
        raise UsageError(f"{threshold_from}: threshold {threshold} must be at least 1")
    return Signers(signers, threshold)


def of_distribution(dist: Distribution) -> Signers | None:
    """The manifest's `governance`, its signers file read and checked; None without one."""
    if dist.governance is None:
        return None
    governance = dist.governance
    return load(governance.signers, governance.threshold, threshold_from=dist.where("governance.threshold"))


def parse(data: bytes, path: Path | str) -> tuple[Signer, ...]:
    """Signers from allowed_signers bytes; `path` names the file in errors."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SignersError(path, data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None
    found: list[Signer] = []
    principals: dict[str, Signer] = {}
    keys: dict[str, Signer] = {}
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.removesuffix("\r").strip(" \t")
        if not line or line.startswith("#"):
            continue
        try:
            signer = _line(line, number)
        except ValueError as exc:
            raise SignersError(path, number, str(exc)) from None
        first = principals.get(signer.principal.lower())
        if first is not None:
            raise SignersError(
                path,
                number,
                f"principal {quoted(signer.principal)} appears twice (first on line {first.line}"
                + ("" if first.principal == signer.principal else f", as {quoted(first.principal)}")
                + "): one line, and one key, per maintainer",
            )
        blob = signer.key.split()[1]
        if blob in keys:
            other = keys[blob]
            raise SignersError(
                path,
                number,
                f"{quoted(signer.principal)} has the key of {quoted(other.principal)} (line {other.line}): "
                "a key counts once, so each maintainer needs a key of their own",
            )
        principals[signer.principal.lower()] = keys[blob] = signer
        found.append(signer)
    if not found:
        raise SignersError(path, 1, "no signers in it (expected lines like `alice ssh-ed25519 AAAA…`)")
    return tuple(found)


def _line(line: str, number: int) -> Signer:
    """One allowed_signers line: principals, options (if any), key type, base64 key, comment."""
    field_, rest = _field(line)
    if field_ in KEY_TYPES:
        raise ValueError(
            f"the line starts with a key ({field_}), as a .pub file's line does; an allowed_signers line starts with "
            f"the maintainer's name: `alice {field_} AAAA…`"
        )
    if field_.startswith("-----BEGIN"):
        raise ValueError("a private key, not an allowed_signers file (lines like `alice ssh-ed25519 AAAA…`)")
    principal = _principal(field_)
    if not rest:
        raise ValueError(f"no key after the principal {quoted(principal)} (expected `{principal} ssh-ed25519 AAAA…`)")
    second, after = _field(rest)
    options: dict[str, str] = {}
    if second not in KEY_TYPES and not (after.startswith("AAAA") and "=" not in second):
        options = _options(second, principal)
        if not after:
            raise ValueError(f"no key after the options {quoted(second)}")
        written, (second, after) = second, _field(after)
        if "=" in second:
            raise ValueError(f"options are separated by commas, not spaces: write {written},{second}")
    key_type = second
    if key_type not in KEY_TYPES:
        close = difflib.get_close_matches(key_type, KEY_TYPES, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown key type {quoted(key_type)}{hint}")
    if key_type != _SUPPORTED:
        raise ValueError(
            f"key type {quoted(key_type)} is not supported: curator verifies ed25519 signatures only "
            f"(make a key with `ssh-keygen -t ed25519`)"
        )
    encoded, _comment = _field(after) if after else ("", "")
    if not encoded:
        raise ValueError(f"no key after {quoted(key_type)}")
    try:
        public = signing.public_key_from_blob(base64.b64decode(encoded, validate=True))
    except binascii.Error:
        raise ValueError(f"the key of {quoted(principal)} is not valid base64") from None
    except ValueError as exc:
        raise ValueError(f"the key of {quoted(principal)}: {exc}") from None
    valid_after, valid_before = options.get("valid-after"), options.get("valid-before")
    if valid_after is not None and valid_before is not None and instant(valid_before) <= instant(valid_after):
        raise ValueError(f'valid-before="{valid_before}" is not after valid-after="{valid_after}"')
    return Signer(
        principal=principal,
        key=f"{key_type} {base64.b64encode(public.blob).decode()}",
        namespaces=options.get("namespaces"),
        valid_after=valid_after,
        valid_before=valid_before,
        line=number,
    )


def _field(text: str) -> tuple[str, str]:
    """The first field of `text` (whitespace ends it, except inside double quotes) and the rest."""
    inside = False
    for at, char in enumerate(text):
        if char == '"':
            inside = not inside
        elif char in " \t" and not inside:
            return text[:at], text[at:].lstrip(" \t")
    if inside:
        raise ValueError(f"a double quote is not closed in {quoted(text)}")
    return text, ""


def _principal(text: str) -> str:
    """The one principal a line names (quotes taken off); patterns and lists are refused."""
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    names = text.split(",")
    if any(not name for name in names):
        raise ValueError(f"an empty principal in {quoted(text)}")
    for name in names:
        if any(char in name for char in "*?!"):
            raise ValueError(
                f"principal pattern {quoted(name)}: curator counts named maintainers, so each line names one "
                "principal, written out (no wildcards or negation)"
            )
    if len(names) > 1:
        raise ValueError(
            f"principals {', '.join(names)} share one key: a key counts once, so give each principal a line "
            "and a key of their own"
        )
    if not PRINCIPAL_RE.fullmatch(text):
        raise ValueError(
            f"principal {quoted(text)} may hold only letters, digits and . _ + @ - (up to 100 characters), "
            "starting with a letter or digit: it names the file signatures/<principal>.sig"
        )
    return text


def _options(text: str, principal: str) -> dict[str, str]:
    """`namespaces="…"`, `valid-after="…"`, `valid-before="…"`, comma-separated, as ssh-keygen reads them."""
    found: dict[str, str] = {}
    for item in _commas(text):
        name, equals, value = item.partition("=")
        name = name.lower()  # ssh-keygen reads option names in any case
        if name not in OPTIONS:
            close = difflib.get_close_matches(name, OPTIONS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown option {quoted(item)}{hint} (ssh-keygen knows {', '.join(OPTIONS)})")
        if name == "cert-authority":
            raise ValueError(
                "cert-authority is not supported: curator counts maintainers by their own keys, "
                "not by certificates; list each maintainer's key on a line of its own"
            )
        if name in found:
            raise ValueError(f"option {name} appears twice")
        if not (equals and len(value) >= 2 and value.startswith('"') and value.endswith('"')):
            raise ValueError(f'option {name} needs its value in double quotes, as ssh-keygen does: {name}="…"')
        value = value[1:-1]
        if '"' in value:
            raise ValueError(f"option {name}: a double quote inside its value")
        if name == "namespaces" and not match_pattern_list(NAMESPACE, value):
            raise ValueError(
                f'namespaces="{value}" does not let in the namespace "{NAMESPACE}", so a signature by '
                f"{principal} could never count; add {NAMESPACE} to it, or drop the option"
            )
        if name in ("valid-after", "valid-before"):
            try:
                instant(value)
            except ValueError:
                raise ValueError(
                    f'{name}="{value}" is not a time ssh-keygen reads: YYYYMMDD or YYYYMMDDHHMM[SS], '
                    "with a final Z for UTC (else local time)"
                ) from None
        found[name] = value
    return found


def _commas(text: str) -> list[str]:
    """`text` split at commas outside double quotes; an empty part is an error."""
    parts, start, inside = [], 0, False
    for at, char in enumerate(text):
        if char == '"':
            inside = not inside
        elif char == "," and not inside:
            parts.append(text[start:at])
            start = at + 1
    parts.append(text[start:])
    if any(not part for part in parts):
        raise ValueError(f"an empty option in {quoted(text)}")
    return parts


def instant(text: str) -> dt.datetime:
    """An ssh-keygen time (`YYYYMMDD`, `YYYYMMDDHHMM`, `YYYYMMDDHHMMSS`; a final `Z` for UTC, else
    local time) as an aware datetime; a `ValueError` for anything else."""
    digits = text.removesuffix("Z")
    if not (digits.isascii() and digits.isdigit()) or len(digits) not in _TIME_FORMATS:
        raise ValueError(text)
    naive = dt.datetime.strptime(digits, _TIME_FORMATS[len(digits)])
    return naive.replace(tzinfo=dt.UTC) if text.endswith("Z") else naive.astimezone()


def match_pattern_list(name: str, patterns: str) -> bool:
    """Whether `name` matches a comma-separated OpenSSH pattern list (`*`, `?`, a leading `!`
    negates), as ssh_config(5) PATTERNS say: a negated match wins over any other."""
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!")
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in body)
        if re.fullmatch(regex, name, flags=re.DOTALL):
            if negated:
                return False
            matched = True
    return matched


# ------------------------------------------------------------------------------------ the tally


class Why(enum.StrEnum):
    """Why a signature counts for nothing."""

    UNREADABLE = "unreadable"  # not an ed25519 SSH signature curator can read
    NAMESPACE = "namespace"  # made for another namespace than `curator`
    OUTSIDER = "outsider"  # by a key that is not one of the signers
    MISNAMED = "misnamed"  # by a signer's key, presented as another signer's
    NOT_YET_VALID = "not-yet-valid"  # before the key's valid-after
    EXPIRED = "expired"  # after the key's valid-before
    MISMATCH = "mismatch"  # does not verify over the message (another message, or changed)
    AGAIN = "again"  # by a signer whose signature counted already


@dataclass(frozen=True)
class Presented:
    """A signature offered for a message: where it came from, its armored text, and the principal it
    claims to be (its file's name), if it claims one."""

    label: str
    armored: str
    principal: str | None = None


@dataclass(frozen=True)
class Counted:
    """A signer whose signature verifies."""

    principal: str
    fingerprint: str
    label: str


@dataclass(frozen=True)
class Uncounted:
    """A signature that counts for nothing, and why."""

    label: str
    why: Why
    reason: str
    fingerprint: str | None = None  # of the key it was made with, when it could be read
    principal: str | None = None  # the signer that key belongs to, if any


@dataclass(frozen=True)
class Tally:
    """Which distinct signers' signatures verify, which signatures count for nothing, and who has
    not signed: `met` when at least `threshold` signers have."""

    JSON_COMPUTED: ClassVar = {"count": "count", "needed": "needed", "met": "met", "summary": "summary"}

    threshold: int
    signed: tuple[Counted, ...] = ()
    uncounted: tuple[Uncounted, ...] = ()
    missing: tuple[str, ...] = ()  # signers with no signature that counts, in their file's order

    @property
    def count(self) -> int:
        """How many distinct signers signed."""
        return len(self.signed)

    @property
    def needed(self) -> int:
        """How many more signatures the threshold needs (0 when met)."""
        return max(0, self.threshold - self.count)

    @property
    def met(self) -> bool:
        """Whether enough signers signed."""
        return self.needed == 0

    @property
    def summary(self) -> str:
        """`1 of 2 signatures: alice; 1 more needed from bob, carol`, or `2 of 2 signatures: alice, bob`."""
        names = ", ".join(c.principal for c in self.signed)
        if self.met and self.count > self.threshold:
            return f"{self.count} signatures ({self.threshold} needed): {names}"
        head = f"{self.count} of {self.threshold} signature{'s' if self.threshold > 1 else ''}"
        head += f": {names}" if names else ""
        if self.met:
            return head
        return f"{head}; {self.needed} more needed from {', '.join(self.missing)}"


def tally(
    message: bytes,
    presented: Iterable[Presented],
    signers: Signers,
    *,
    what: str = "the message",
    at: dt.datetime | None = None,
) -> Tally:
    """Count the distinct signers whose signature of `message` verifies (namespace `curator`, their
    key valid `at` — default now — as ssh-keygen checks it). A key counts once; a signature by
    a key that is not a signer's, in another namespace, over another message, or presented under
    another signer's name counts for nothing, and `Tally.uncounted` says why. `what` names the
    message in reasons (`SHA256SUMS`)."""
    when = at if at is not None else dt.datetime.now(dt.UTC)
    counted: dict[str, Counted] = {}
    uncounted: list[Uncounted] = []
    for offered in sorted(presented, key=lambda p: p.label):
        result = _judge(message, offered, signers, counted, what=what, when=when)
        if isinstance(result, Counted):
            counted[result.principal] = result
        else:
            uncounted.append(result)
    order = {name: i for i, name in enumerate(signers.principals)}
    signed = tuple(sorted(counted.values(), key=lambda c: order[c.principal]))
    missing = tuple(p for p in signers.principals if p not in counted)
    return Tally(threshold=signers.threshold, signed=signed, uncounted=tuple(uncounted), missing=missing)


def _judge(
    message: bytes,
    offered: Presented,
    signers: Signers,
    counted: dict[str, Counted],
    *,
    what: str,
    when: dt.datetime,
) -> Counted | Uncounted:
    label = offered.label
    try:
        parsed = signing.parse(offered.armored)
    except signing.BadSignature as exc:
        return Uncounted(label, Why.UNREADABLE, f"not a signature curator can read: it {exc}")
    fingerprint = parsed.public.fingerprint
    if parsed.namespace != NAMESPACE:
        return Uncounted(
            label, Why.NAMESPACE, f"made for namespace {quoted(parsed.namespace)}, not {NAMESPACE!r}", fingerprint
        )
    signer = signers.holding(parsed.public)
    if signer is None:
        return Uncounted(label, Why.OUTSIDER, f"by key {fingerprint}, which is not one of the signers", fingerprint)
    principal = signer.principal

    def uncounted(why: Why, reason: str) -> Uncounted:
        return Uncounted(label, why, reason, fingerprint, principal)

    if offered.principal is not None and offered.principal != signer.principal:
        return uncounted(
            Why.MISNAMED,
            f"presented as {quoted(offered.principal)}'s but made by {quoted(signer.principal)}'s key",
        )
    invalid = signer.invalid_at(when)
    if invalid is not None:
        return uncounted(*invalid)
    try:
        signing.verify(message, offered.armored, signer.public)
    except signing.BadSignature:
        return uncounted(Why.MISMATCH, f"{signer.principal}'s signature does not match {what} (it signed another)")
    if signer.principal in counted:
        first = counted[signer.principal].label
        return uncounted(Why.AGAIN, f"{signer.principal} counted already ({first}): a key counts once")
    return Counted(signer.principal, fingerprint, label)
