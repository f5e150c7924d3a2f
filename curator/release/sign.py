"""`curator sign`: one maintainer adds their signature to a governed bundle, on their own machine.

The bundle is checked first, as `curator verify` checks it: a maintainer signs only a bundle whose
files hold. The signature of its `SHA256SUMS` — made here with the maintainer's key, or made
elsewhere (`ssh-keygen -Y sign`) and handed in — must count: by a key of the bundle's own
`allowed_signers` (which `SHA256SUMS` lists, so the signature vouches for it too), in namespace
`curator`, over this `SHA256SUMS`. It becomes `signatures/<principal>.sig`, and the tarball is
made again from the folder. ed25519 signatures are deterministic and the tarball is a function of
the folder, so the same signatures give the same tarball, byte for byte, whoever signed in
whatever order.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curator.host.layout import BundleLayout, atomic_write
from curator.host.locking import FolderLock
from curator.model.errors import NotASigner, UsageError, VerifyMismatch
from curator.release import archive as files
from curator.release import governance, signatures
from curator.release.contents import Folder, unpack
from curator.release.governance import Presented, Signers, Tally
from curator.release.verify import Trust, check, opened

Offer = Callable[[bytes], Presented]  # SHA256SUMS → the signature offered for it


@dataclass(frozen=True)
class Signed:
    """A signature added to a bundle (or found there already), and the bundle's signatures now."""

    bundle: Path
    tarball: Path
    sha256: str  # the tarball's
    principal: str
    fingerprint: str
    added: bool  # False: this signer's signature was there and counted already
    replaced: bool  # a signature of this signer that did not count was replaced
    tally: Tally  # every signature of the bundle, against its own signers


def sign(bundle: Path, offer: Offer) -> Signed:
    """Add the signature `offer` makes of `bundle`'s SHA256SUMS (a folder: into it, and its tarball
    beside it made again; a tarball: made again in place). `NotASigner` when it would count for
    nothing, `VerifyMismatch` when the bundle does not hold; either way nothing is written."""
    if bundle.is_dir():
        folder = bundle.resolve()
        tarball = folder.parent / f"{folder.name}.tar.gz"
        with FolderLock.take(folder.parent, command="sign", what=f"the folder {folder.parent}"):
            return _sign(folder, tarball, offer, bundle)
    if not (bundle.is_file() and bundle.name.endswith((".tar.gz", ".tgz"))):
        raise UsageError(f"{bundle}: not a release bundle (give its folder or its .tar.gz)")
    tarball = bundle.resolve()
    with FolderLock.take(tarball.parent, command="sign", what=f"the folder {tarball.parent}"):
        staging = Path(tempfile.mkdtemp(prefix=f".{tarball.name}.sign-", dir=tarball.parent))
        try:
            copy = staging / "bundle"
            folder = copy.rename(staging / unpack(tarball, copy))
            return _sign(folder, tarball, offer, bundle)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _sign(folder: Path, tarball: Path, offer: Offer, shown: Path) -> Signed:
    before = check(opened(folder), folder, Trust())
    if before.problems:
        lines = "\n".join(f"  {p}" for p in before.problems)
        raise VerifyMismatch(
            f"{shown} does not verify, so it was not signed ({len(before.problems)} problem(s)):\n{lines}",
            before.problems,
        )
    record = signatures.recorded(Folder(folder))
    if record is None or before.tally is None:
        raise UsageError(
            f"{shown} was cut without governance: it names no signers, and its one signature is "
            f"{files.SIGNATURE}; add `governance` to the manifest to release for several signers"
        )
    layout = BundleLayout(folder)
    signers = Signers(governance.parse(layout.allowed_signers.read_bytes(), layout.allowed_signers), record.threshold)
    sums = (folder / files.SUMS).read_bytes()
    offered = offer(sums)
    judged = governance.tally(sums, [offered], signers, what=files.SUMS)
    if not judged.signed:
        (why,) = judged.uncounted
        raise NotASigner(
            f"{offered.label}: {why.reason} ({shown} names {', '.join(signers.principals)}): "
            "it would count for nothing, so nothing was written"
        )
    (counted,) = judged.signed
    target = layout.signature(counted.principal)
    added = counted.principal not in {c.principal for c in before.tally.signed}
    replaced = added and target.exists()
    if added:
        atomic_write(target, offered.armored)
    epoch = signatures.release_epoch(Folder(folder))
    assert epoch is not None  # release.json was read when the bundle verified
    digest = _remake(folder, tarball, epoch)
    # only signatures/ changed since the bundle verified: count them again, without hashing it all again
    after = governance.tally(sums, signatures.presented(Folder(folder))[0], signers, what=files.SUMS)
    return Signed(
        bundle=shown,
        tarball=tarball,
        sha256=digest,
        principal=counted.principal,
        fingerprint=counted.fingerprint,
        added=added,
        replaced=replaced,
        tally=after,
    )


def _remake(folder: Path, tarball: Path, epoch: int) -> str:
    """Write the tarball of `folder` again, in place of `tarball`, as one rename."""
    partial = tarball.with_name(f".{tarball.name}.{os.getpid()}.partial")
    try:
        digest = files.write_tarball(folder, folder.name, partial, epoch)
        partial.replace(tarball)
    finally:
        partial.unlink(missing_ok=True)
    return digest
