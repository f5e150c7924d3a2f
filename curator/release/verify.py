"""`curator verify`: is a bundle exactly what was signed? Offline, file by file.

Every file against `SHA256SUMS` (changed, missing, extra — an empty folder is extra too), the
bundle's name against what `release.json` says it is (a renamed folder or tarball top is not the
release it claims to be), the signature of `SHA256SUMS` (against a key the user trusts, or else
the bundle's own key — which proves integrity, not origin; `release.json`, itself listed in
`SHA256SUMS`, records whether the bundle was signed, so a signature deleted is missing, not
absent), and every file of `wheels/` against the locks' hashes (every platform's), both ways.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from curator import signing
from curator.errors import UsageError, VerifyMismatch
from curator.inputs import quoted
from curator.layout import BundleLayout
from curator.release import files, wheelhouse
from curator.release.bundle import RELEASE_JSON
from curator.release.contents import Contents, open_bundle
from curator.resolve import Pin, parse_requirements


@dataclass(frozen=True)
class Verification:
    """A bundle that verified: what was checked, and how far the signature can be trusted."""

    bundle: Path
    files: int
    wheels: int
    signed: bool
    fingerprint: str | None
    trusted_key: bool  # checked against a key the user gave (origin), not the bundled one (integrity)


def _reads(name: str) -> bool:
    """The files verify reads whole; every other file is only hashed."""
    return (
        name in (files.SUMS, files.SIGNATURE, files.PUBLIC_KEY, RELEASE_JSON)
        or BundleLayout.lock_python(name) is not None
        or BundleLayout.lock_target(name) is not None
    )


def verify(bundle: Path, pubkey: signing.PublicKey | None = None) -> Verification:
    """Check `bundle` (a folder, or a tarball read without unpacking it) completely;
    `VerifyMismatch` lists every file that does not hold."""
    contents = open_bundle(bundle, _reads)
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
        if name not in listed and name not in files.UNLISTED:
            problems.append(f"{name}: extra (not listed in {files.SUMS})")
    problems += _extra_folders(contents, listed)
    problems += _identity(contents, listed)
    signed, fingerprint = _signature(contents, pubkey, problems)
    wheels = _wheels(contents, problems) if any(n.startswith("wheels/") for n in present) else 0
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise VerifyMismatch(f"{bundle} does not verify ({len(problems)} problem(s)):\n{lines}", tuple(problems))
    return Verification(bundle, len(listed), wheels, signed, fingerprint, trusted_key=pubkey is not None)


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


def _extra_folders(contents: Contents, listed: dict[str, str]) -> list[str]:
    """Each folder nothing listed lies in (an empty one, say), the outermost only."""
    holding = {str(p) for name in listed for p in PurePosixPath(name).parents}
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
