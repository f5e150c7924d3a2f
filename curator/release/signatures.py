"""A governed bundle's signatures: `signatures/<principal>.sig`, one SSH signature of `SHA256SUMS`
per maintainer, and the record of who may sign (`allowed_signers`, release.json's `governance`).

`SHA256SUMS` lists every file of a bundle but itself and its signatures: a signature cannot be in
what it signs, and a maintainer who adds one (`curator sign`) must not change what the others
signed. The signers a release was cut for are listed, though — `allowed_signers` and release.json
are in `SHA256SUMS` — so every signature also vouches for who else may sign.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from curator.host.layout import BundleLayout
from curator.model import codec
from curator.release import archive as files
from curator.release.contents import Contents
from curator.release.governance import NAMESPACE, PRINCIPAL_RE, Presented, Signer, Signers

RELEASE_JSON = BundleLayout(Path()).release_json.name
FOLDER = BundleLayout.SIGNATURES
SIGNERS_FILE = BundleLayout.ALLOWED_SIGNERS
SUFFIX = ".sig"


@dataclass(frozen=True)
class GovernanceRecord:
    """release.json's `governance`: the signers the release was cut for and how many must sign."""

    threshold: int
    signers: tuple[Signer, ...]
    signers_file: str = SIGNERS_FILE
    signatures: str = f"{FOLDER}/<principal>{SUFFIX}"
    namespace: str = NAMESPACE

    @classmethod
    def of(cls, signers: Signers) -> GovernanceRecord:
        """The record of `signers`."""
        return cls(threshold=signers.threshold, signers=signers.signers)


def member(principal: str) -> str:
    """`signatures/<principal>.sig`, as a member name inside the bundle."""
    return f"{FOLDER}/{principal}{SUFFIX}"


def principal_of(name: str) -> str | None:
    """The principal a member named `signatures/<principal>.sig` is the signature of; None for any
    other name (a folder below `signatures/`, another suffix, a name no principal can have)."""
    path = PurePosixPath(name)
    if str(path.parent) != FOLDER or path.suffix != SUFFIX:
        return None
    return path.stem if PRINCIPAL_RE.fullmatch(path.stem) else None


def recorded(contents: Contents) -> GovernanceRecord | None:
    """release.json's governance record; None for a bundle cut without governance (or one whose
    release.json cannot be read: verify names that on its own). A record that does not have its
    shape is a `codec.CodecError`."""
    try:
        document = json.loads(contents.read(RELEASE_JSON) or b"")
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("governance") is None:
        return None
    return codec.from_json(GovernanceRecord, document["governance"], "release.json governance")


def release_epoch(contents: Contents) -> int | None:
    """The release's date (release.json `date`) as seconds: every mtime of its tarball."""
    try:
        document = json.loads(contents.read(RELEASE_JSON) or b"")
        return int(dt.datetime.fromisoformat(document["date"]).timestamp())
    except (ValueError, KeyError, TypeError):
        return None


def presented(contents: Contents) -> tuple[list[Presented], list[str]]:
    """The signatures in `signatures/` (each claiming the principal its name gives), and the names
    there that are not `signatures/<principal>.sig` files."""
    found: list[Presented] = []
    odd: list[str] = []
    for name in contents.files():
        if not name.startswith(f"{FOLDER}/"):
            continue
        principal = principal_of(name)
        data = contents.read(name) if principal is not None else None  # a tarball keeps only these
        if principal is None or data is None:
            odd.append(name)
            continue
        found.append(Presented(name, data.decode("utf-8", errors="replace"), principal))
    return found, odd


def readable(name: str) -> bool:
    """The members this module reads whole (the rest are only hashed)."""
    return name in (RELEASE_JSON, SIGNERS_FILE, files.SUMS, files.SIGNATURE) or principal_of(name) is not None
