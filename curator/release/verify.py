"""`curator verify`: is a bundle exactly what was signed? Offline, file by file.

Every file against `SHA256SUMS` (changed, missing, extra), the signature of `SHA256SUMS`
(against a key the user trusts, or else the bundle's own key — which proves integrity, not
origin), and every file of `wheels/` against the locks' hashes, both ways.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curator import signing
from curator.errors import UsageError, VerifyMismatch
from curator.release import files, wheelhouse
from curator.release.bundle import RELEASE_JSON
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


@contextmanager
def opened(bundle: Path) -> Iterator[Path]:
    """A bundle's folder: the folder itself, or a .tar.gz unpacked into a temporary folder."""
    if bundle.is_dir():
        yield bundle
    elif bundle.is_file() and bundle.name.endswith((".tar.gz", ".tgz")):
        with tempfile.TemporaryDirectory(prefix="curator-bundle-") as tmp:
            yield files.extract_bundle(bundle, Path(tmp))
    else:
        raise UsageError(f"{bundle}: not a release bundle (give its folder or its .tar.gz)")


def verify(bundle: Path, pubkey: signing.PublicKey | None = None) -> Verification:
    """Check `bundle` completely; `VerifyMismatch` lists every file that does not hold."""
    with opened(bundle) as root:
        if not (root / files.SUMS).is_file() and not (root / RELEASE_JSON).is_file():
            raise UsageError(f"{bundle}: not a release bundle (no {files.SUMS} or {RELEASE_JSON} in it)")
        problems: list[str] = []
        listed = _listed(root, problems)
        present, odd = files.walk(root)
        problems += [f"{name}: not a regular file (links are not allowed in a bundle)" for name in odd]
        for name, digest in sorted(listed.items()):
            path = root / name
            if not path.is_file() or path.is_symlink():
                problems.append(f"{name}: missing (listed in {files.SUMS})")
            elif files.sha256_file(path) != digest:
                problems.append(f"{name}: changed (its sha256 differs from {files.SUMS})")
        for name in present:
            if name not in listed and name not in files.UNLISTED:
                problems.append(f"{name}: extra (not listed in {files.SUMS})")
        signed, fingerprint = _signature(root, pubkey, problems)
        wheels = _wheels(root, problems) if (root / "wheels").is_dir() else 0
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise VerifyMismatch(f"{bundle} does not verify ({len(problems)} problem(s)):\n{lines}")
    return Verification(bundle, len(listed), wheels, signed, fingerprint, trusted_key=pubkey is not None)


def _listed(root: Path, problems: list[str]) -> dict[str, str]:
    try:
        return files.parse_sums((root / files.SUMS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{files.SUMS}: missing")
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{files.SUMS}: unreadable ({exc})")
    return {}


def _claims_signed(root: Path) -> bool:
    try:
        return bool(json.loads((root / RELEASE_JSON).read_text())["signature"]["signed"])
    except (OSError, ValueError, KeyError, TypeError):
        return True  # without a readable record, assume the stronger claim


def _signature(root: Path, pubkey: signing.PublicKey | None, problems: list[str]) -> tuple[bool, str | None]:
    """(signed, fingerprint of the key it verified with); what is wrong goes to `problems`."""
    sig_path, sums_path = root / files.SIGNATURE, root / files.SUMS
    if not sig_path.is_file():
        if pubkey is not None:
            problems.append(
                f"{files.SIGNATURE}: missing, so nothing shows the bundle was signed by {pubkey.fingerprint}"
            )
        elif _claims_signed(root) or (root / files.PUBLIC_KEY).exists():
            problems.append(f"{files.SIGNATURE}: missing (the bundle says it was signed)")
        return False, None
    trusted = pubkey
    if trusted is None:
        try:
            trusted = signing.load_public_key((root / files.PUBLIC_KEY).read_text(), files.PUBLIC_KEY)
        except (OSError, UsageError):
            problems.append(f"{files.SIGNATURE}: no public key to check it with ({files.PUBLIC_KEY} is missing or bad)")
            return True, None
    if not sums_path.is_file():
        return True, None
    try:
        signing.verify(sums_path.read_bytes(), sig_path.read_text(encoding="utf-8", errors="replace"), trusted)
    except signing.BadSignature as exc:
        problems.append(f"{files.SIGNATURE}: bad signature of {files.SUMS}: {exc}")
        return True, None
    return True, trusted.fingerprint


def _wheels(root: Path, problems: list[str]) -> int:
    """Every file in wheels/ is allowed by some lock, and every lock's every pin has its file."""
    pins: list[tuple[str, Pin]] = []
    for lock_path in sorted((root / "locks").glob("py*.txt")):
        python = lock_path.name.removeprefix("py").removesuffix(".txt")
        pins += [(lock_path.name, pin) for pin in parse_requirements(python, lock_path.read_text()).pins]
    digests: dict[str, str] = {}
    for path in sorted((root / "wheels").iterdir()):
        if not path.is_file():
            continue
        name = f"wheels/{path.name}"
        project = wheelhouse.identify(path.name)
        digest = digests[name] = files.sha256_file(path)
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
