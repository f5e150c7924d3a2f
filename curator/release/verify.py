"""`curator verify`: is a bundle exactly what was signed? Offline, file by file.

Every file against `SHA256SUMS` (changed, missing, extra — an empty folder is extra too), the
bundle's name against what `release.json` says it is (a renamed folder or tarball top is not the
release it claims to be), the signatures of `SHA256SUMS`, and every file of `wheels/` against the
locks' hashes (every platform's), both ways.

A bundle cut without governance carries one signature, `SHA256SUMS.sig`: checked against a key the
user trusts, or else the bundle's own key — which proves integrity, not origin. `release.json`,
itself listed in `SHA256SUMS`, records whether the bundle was signed, so a signature deleted is
missing, not absent. A bundle cut with governance carries `signatures/<principal>.sig`, and is
good when its threshold of distinct signers' signatures verify (`governance.tally`): against a
signers file the user trusts (`--signers`), or else the bundle's own `allowed_signers`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from curator.host.inputs import quoted
from curator.host.layout import BundleLayout
from curator.model import codec
from curator.model.errors import UsageError, VerifyMismatch
from curator.release import archive as files
from curator.release import governance, signatures, signing, wheelhouse
from curator.release.contents import Contents, open_bundle
from curator.release.governance import Signer, Signers, Tally
from curator.release.signatures import GovernanceRecord
from curator.resolve.lock import Pin, parse_requirements

RELEASE_JSON = BundleLayout(Path()).release_json.name  # not from release.bundle: verifying needs no report code


@dataclass(frozen=True)
class Trust:
    """What the person verifying trusts: a public key (`--pubkey`), or a signers file (`--signers`)
    and the number of its signers that must sign (`--threshold`). Nothing: the bundle's own key or
    signers, which show that the files are intact, not who made them."""

    pubkey: signing.PublicKey | None = None
    signers: tuple[Signer, ...] | None = None
    signers_from: str = ""  # how to name them: `--signers maintainers.allowed_signers`
    threshold: int | None = None

    @property
    def origin(self) -> bool:
        """Whether the signatures are checked against keys from outside the bundle."""
        return self.pubkey is not None or self.signers is not None


@dataclass(frozen=True)
class Verification:
    """What was checked in a bundle, how far its signatures can be trusted, and what does not hold."""

    bundle: Path
    files: int
    wheels: int
    signed: bool
    fingerprint: str | None
    trusted_key: bool  # checked against keys the user gave (origin), not the bundle's own (integrity)
    tally: Tally | None = None  # a governed bundle (or one checked with --signers): who signed, who is missing
    signers_from: str | None = None  # what the signatures were counted against
    threshold_from: str | None = None  # where the threshold came from: --threshold, release.json, --pubkey, default
    problems: tuple[str, ...] = ()  # files that do not hold (the count of signatures aside)

    @property
    def shortfall(self) -> tuple[str, ...]:
        """Fewer signers signed than the threshold: the count, then each signature that did not count."""
        if self.tally is None or self.tally.met:
            return ()
        return (
            f"{signatures.FOLDER}: {self.tally.summary}",
            *(f"{u.label}: does not count: {u.reason}" for u in self.tally.uncounted),
        )

    @property
    def all_problems(self) -> tuple[str, ...]:
        """Everything that keeps the bundle from verifying."""
        return self.problems + self.shortfall


def _reads(name: str) -> bool:
    """The files verify reads whole; every other file is only hashed."""
    return (
        name in (files.SUMS, files.SIGNATURE, files.PUBLIC_KEY, RELEASE_JSON)
        or BundleLayout.lock_python(name) is not None
        or BundleLayout.lock_target(name) is not None
        or signatures.readable(name)
    )


def verify(bundle: Path, pubkey: signing.PublicKey | None = None, *, trust: Trust | None = None) -> Verification:
    """Check `bundle` (a folder, or a tarball read without unpacking it) completely;
    `VerifyMismatch` lists every file that does not hold, and a governed bundle's missing signers."""
    return verified(opened(bundle), bundle, trust if trust is not None else Trust(pubkey=pubkey))


def opened(bundle: Path) -> Contents:
    """A bundle opened for `check`: the files it reads are kept (a tarball is read once)."""
    return open_bundle(bundle, _reads)


def verified(contents: Contents, bundle: Path, trust: Trust) -> Verification:
    """`check`, and a `VerifyMismatch` listing every problem when anything does not hold."""
    result = check(contents, bundle, trust)
    problems = result.all_problems
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise VerifyMismatch(f"{bundle} does not verify ({len(problems)} problem(s)):\n{lines}", problems)
    return result


def check(contents: Contents, bundle: Path, trust: Trust) -> Verification:
    """Everything `verify` checks of a bundle already opened (a channel's release folder is one, seen
    through its files), as a value: what does not hold is in `problems` (and `shortfall`)."""
    present = contents.files()
    if files.SUMS not in present and RELEASE_JSON not in present:
        raise UsageError(f"{bundle}: not a release bundle (no {files.SUMS} or {RELEASE_JSON} in it)")
    problems: list[str] = []
    listed = _listed(contents, problems)
    problems += [f"{name}: not a regular file (links are not allowed in a bundle)" for name in contents.odd()]
    on_hand = set(present)
    for name, digest in sorted(listed.items()):
        if name not in on_hand:
            problems.append(f"{name}: missing (listed in {files.SUMS})")
        elif contents.sha256(name) != digest:
            problems.append(f"{name}: changed (its sha256 differs from {files.SUMS})")
    for name in present:
        if name not in listed and not files.unlisted(name):
            problems.append(f"{name}: extra (not listed in {files.SUMS})")
    record = _record(contents, problems)
    problems += _extra_folders(contents, listed, governed=record is not None)
    problems += _identity(contents, listed)
    counting: _Counting | None = None
    if record is None and trust.signers is None:
        if trust.threshold is not None:
            raise UsageError(
                f"{bundle}: --threshold counts the signers of a signers file; this bundle was cut without "
                "governance (one key, SHA256SUMS.sig): pass --signers FILE too, or drop --threshold"
            )
        signed, fingerprint = _signature(contents, trust.pubkey, problems)
        problems += [
            f"{name}: extra ({bundle.name} was cut without governance: it names no signers, and its one "
            f"signature is {files.SIGNATURE})"
            for name in present
            if name.startswith(f"{signatures.FOLDER}/")
        ]
    else:
        signed, fingerprint = True, None
        counting = _count(contents, record, trust, problems)
    wheels = _wheels(contents, problems) if any(n.startswith("wheels/") for n in present) else 0
    return Verification(
        bundle,
        len(listed),
        wheels,
        signed,
        fingerprint,
        trusted_key=trust.origin,
        tally=counting.tally if counting else None,
        signers_from=counting.signers_from if counting else None,
        threshold_from=counting.threshold_from if counting else None,
        problems=tuple(problems),
    )


@dataclass(frozen=True)
class _Counting:
    tally: Tally | None
    signers_from: str
    threshold_from: str


def _record(contents: Contents, problems: list[str]) -> GovernanceRecord | None:
    try:
        return signatures.recorded(contents)
    except codec.CodecError as exc:
        problems.append(f"{RELEASE_JSON}: its governance record is unreadable ({exc})")
        return None


def _bundled_signers(contents: Contents, record: GovernanceRecord, problems: list[str]) -> tuple[Signer, ...] | None:
    """The bundle's own allowed_signers, checked against what release.json records."""
    data = contents.read(signatures.SIGNERS_FILE)
    if data is None:
        problems.append(f"{signatures.SIGNERS_FILE}: missing (release.json says the bundle has signers)")
        return None
    try:
        found = governance.parse(data, signatures.SIGNERS_FILE)
    except UsageError as exc:
        problems.append(f"{signatures.SIGNERS_FILE}: unreadable ({exc})")
        return None
    if [(s.principal, s.key) for s in found] != [(s.principal, s.key) for s in record.signers]:
        problems.append(f"{signatures.SIGNERS_FILE}: names other signers than {RELEASE_JSON} records")
    return found


def _count(contents: Contents, record: GovernanceRecord | None, trust: Trust, problems: list[str]) -> _Counting:
    """Tally the bundle's signatures against what the user trusts (else the bundle's own signers)."""
    offered, odd = signatures.presented(contents)
    bundled = _bundled_signers(contents, record, problems) if record is not None else None
    if record is not None:
        problems += [f"{name}: extra ({signatures.FOLDER}/ holds only <principal>.sig signatures)" for name in odd]
        if files.SIGNATURE in contents.files():
            problems.append(
                f"{files.SIGNATURE}: this bundle was cut with governance; its signatures are "
                f"{signatures.FOLDER}/<principal>.sig"
            )
    else:  # a one-key bundle, checked against --signers: its one signature is SHA256SUMS.sig
        problems += [f"{p.label}: extra (a bundle cut without governance names no signers)" for p in offered]
        problems += [f"{name}: extra (a bundle cut without governance names no signers)" for name in odd]
        signature = contents.read(files.SIGNATURE)
        offered = (
            [] if signature is None else [governance.Presented(files.SIGNATURE, signature.decode("utf-8", "replace"))]
        )
    pool: tuple[Signer, ...] | None
    if trust.signers is not None:
        pool, signers_from = trust.signers, trust.signers_from
    elif trust.pubkey is not None:
        known = next((s for s in bundled or () if s.public.blob == trust.pubkey.blob), None)
        principal = known.principal if known is not None else "pubkey"
        pool = (Signer(principal, signing.PublicKey(trust.pubkey.key).openssh()),)
        signers_from = f"--pubkey ({principal}, {trust.pubkey.fingerprint})"
    else:
        pool, signers_from = bundled, f"the bundle's own {signatures.SIGNERS_FILE}"
    threshold, threshold_from = _threshold(trust, record, pool, signers_from)
    if pool is None:
        return _Counting(None, signers_from, threshold_from)
    if not 1 <= threshold <= len(pool):  # a release.json cut by hand may say anything
        problems.append(
            f"{signatures.FOLDER}: {threshold} signatures needed ({threshold_from}), but the "
            f"{len(pool)} signer(s) of {signers_from} can give from 1 to {len(pool)}"
        )
        return _Counting(None, signers_from, threshold_from)
    sums = contents.read(files.SUMS) or b""
    tally = governance.tally(sums, offered, Signers(pool, threshold), what=files.SUMS)
    return _Counting(tally, signers_from, threshold_from)


def _threshold(
    trust: Trust, record: GovernanceRecord | None, pool: tuple[Signer, ...] | None, signers_from: str
) -> tuple[int, str]:
    """How many signatures must count, and where that number came from."""
    if trust.threshold is not None:
        return trust.threshold, "--threshold"
    if trust.pubkey is not None:
        return 1, "--pubkey"
    if trust.signers is not None and pool is not None:
        # the bundle's own word on its threshold is the signer's: a stolen key could record 1. What the
        # person verifying trusts is their signers file, so a majority of it is the least that counts.
        majority = len(pool) // 2 + 1
        recorded = record.threshold if record is not None else 1
        return max(recorded, majority), RELEASE_JSON if recorded >= majority else f"a majority of {signers_from}"
    if record is not None:
        return record.threshold, RELEASE_JSON
    return 1, "default"


def _listed(contents: Contents, problems: list[str]) -> dict[str, str]:
    data = contents.read(files.SUMS)
    if data is None:
        problems.append(f"{files.SUMS}: missing")
        return {}
    try:
        return files.parse_sums(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{files.SUMS}: unreadable ({exc})")
    return {}


def _extra_folders(contents: Contents, listed: dict[str, str], *, governed: bool) -> list[str]:
    """Each folder nothing listed lies in (an empty one, say), the outermost only; a governed
    bundle's `signatures/` holds what cannot be listed."""
    holding = {str(p) for name in listed for p in PurePosixPath(name).parents}
    if governed:
        holding.add(signatures.FOLDER)
    return [
        f"{folder}/: extra (a folder holding nothing {files.SUMS} lists)"
        for folder in contents.folders()
        if folder not in holding and str(PurePosixPath(folder).parent) in holding
    ]


def _identity(contents: Contents, listed: dict[str, str]) -> list[str]:
    """The bundle's folder (a tarball's top folder) is named for the distribution and version
    `release.json` says it is: `rzdist-1` renamed `rzdist-2` is not release 2."""
    try:
        record = json.loads(contents.read(RELEASE_JSON) or b"")
        distribution, version = record["distribution"], record["version"]
    except (ValueError, KeyError, TypeError):
        distribution = version = None
    if not isinstance(distribution, str) or not isinstance(version, str):
        if RELEASE_JSON in listed and RELEASE_JSON not in contents.files():
            return []  # said once, as missing
        return [f"{RELEASE_JSON}: missing or unreadable, so nothing says which distribution and version this is"]
    expected = f"{distribution}-{version}"
    if contents.name == expected:
        return []
    return [
        f"{quoted(contents.name)}: the bundle's folder is named so, but {RELEASE_JSON} says it is "
        f"{quoted(expected)} (a bundle renamed is not the release it names)"
    ]


def _claims_signed(contents: Contents) -> bool:
    try:
        return bool(json.loads(contents.read(RELEASE_JSON) or b"")["signature"]["signed"])
    except (ValueError, KeyError, TypeError):
        return True  # without a readable record, assume the stronger claim


def _signature(contents: Contents, pubkey: signing.PublicKey | None, problems: list[str]) -> tuple[bool, str | None]:
    """(signed, fingerprint of the key it verified with); what is wrong goes to `problems`."""
    signature, sums = contents.read(files.SIGNATURE), contents.read(files.SUMS)
    if signature is None:
        if pubkey is not None:
            problems.append(
                f"{files.SIGNATURE}: missing, so nothing shows the bundle was signed by {pubkey.fingerprint}"
            )
        elif _claims_signed(contents) or files.PUBLIC_KEY in contents.files():
            problems.append(f"{files.SIGNATURE}: missing (the bundle says it was signed)")
        return False, None
    trusted = pubkey
    if trusted is None:
        bundled = contents.read(files.PUBLIC_KEY)
        try:
            if bundled is None:
                raise UsageError(f"{files.PUBLIC_KEY}: missing")
            trusted = signing.load_public_key(bundled.decode("utf-8", "replace"), files.PUBLIC_KEY)
        except UsageError:
            problems.append(f"{files.SIGNATURE}: no public key to check it with ({files.PUBLIC_KEY} is missing or bad)")
            return True, None
    if sums is None:
        return True, None
    try:
        signing.verify(sums, signature.decode("utf-8", errors="replace"), trusted)
    except signing.BadSignature as exc:
        problems.append(f"{files.SIGNATURE}: bad signature of {files.SUMS}: {exc}")
        return True, None
    return True, trusted.fingerprint


def _wheels(contents: Contents, problems: list[str]) -> int:
    """Every file in wheels/ is allowed by some lock, and every lock's every pin has its file (each
    platform's lock too: the wheelhouse holds every platform's wheels)."""
    pins: list[tuple[str, Pin]] = []
    for name in contents.files():
        target = BundleLayout.lock_target(name)
        python = BundleLayout.lock_python(name) or (target[0] if target else None)
        if python is None:
            continue
        lock_name = PurePosixPath(name).name
        text = (contents.read(name) or b"").decode("utf-8", errors="replace")
        try:
            pins += [(lock_name, pin) for pin in parse_requirements(python, text).pins]
        except ValueError as exc:  # a version that is not PEP 440: a lock that was tampered with
            problems.append(f"{name}: unreadable ({exc})")
    digests: dict[str, str] = {}
    for name in contents.files():
        path = PurePosixPath(name)
        if str(path.parent) != "wheels":
            continue
        project = wheelhouse.identify(path.name)
        digest = digests[name] = contents.sha256(name)
        matches = [p for _, p in pins if project is not None and (p.name, p.version) == project]
        if not matches:
            problems.append(f"{name}: not a file of any package in locks/")
        elif not any(digest in p.hashes for p in matches):
            problems.append(
                f"{name}: its sha256 is not one that locks/ allow for {matches[0].name}=={matches[0].version}"
            )
    for lock_name, pin in pins:
        if not any(d in pin.hashes for d in digests.values()):
            problems.append(f"wheels/: no file for {pin.name}=={pin.version} of locks/{lock_name}")
    return len(digests)
