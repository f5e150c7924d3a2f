"""`release`, `verify`, `diff`: the signed bundle a distribution ships, and checking it."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from curator.errors import EXIT_OK, UsageError
from curator.inputs import quoted

if TYPE_CHECKING:
    from curator.signing import SigningKey

from curator.cli.common import (
    Parser,
    emit_json,
    load_manifest,
    manifest_arg,
    shown,
    store_file,
    writable_folder,
)

MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add these commands to the parser."""
    release = commands.add_parser("release", help="cut the signed, versioned bundle of a run whose gate holds")
    manifest_arg(release)
    release.add_argument("--run", required=True, metavar="RUN", help="the gating run: its folder or its id")
    release.add_argument("--store", type=Path, help="the results store (default: reports/curator.sqlite)")
    release.add_argument(
        "--key",
        type=Path,
        help="OpenSSH ed25519 private key to sign with (default: $CURATOR_SIGNING_KEY, a path or the key itself)",
    )
    release.add_argument("--unsigned", action="store_true", help="cut the release without a signature, and say so")
    release.add_argument("--out", type=Path, help="where bundles go (default: dist/ beside the manifest)")
    release.add_argument("--wheelhouse", action="store_true", help="also ship every wheel, for offline installs")
    release.add_argument("--force", action="store_true", help="replace a bundle of the same version")
    release.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="X.Y=PATH",
        help="the interpreter to ask uv about for Python X.Y (default: found as for `curator run`)",
    )
    release.set_defaults(handler=cmd_release)

    verify = commands.add_parser("verify", help="re-check every checksum, hash and the signature of a bundle")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE", help="a bundle folder or its .tar.gz")
    verify.add_argument("--pubkey", type=Path, help="the public key you trust (default: the bundle's own)")
    verify.add_argument("--format", choices=("text", "json"), default="text", help="json: docs/json.md")
    verify.set_defaults(handler=cmd_verify)

    diff = commands.add_parser("diff", help="what changed between two releases (or two runs)")
    diff.add_argument("old", metavar="OLD", help="a bundle (folder or .tar.gz), a run folder or a run id")
    diff.add_argument("new", metavar="NEW", help="the same kinds as OLD")
    diff.add_argument(
        "--store",
        type=Path,
        help="where to look up run ids (default: reports/curator.sqlite beside ./distribution.yaml)",
    )
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.set_defaults(handler=cmd_diff)


def signing_key(args: argparse.Namespace) -> SigningKey | None:
    """The key from --key or $CURATOR_SIGNING_KEY; None only with --unsigned."""
    import getpass

    from curator import signing

    source = os.environ.get("CURATOR_SIGNING_KEY", "")
    if args.key is not None and args.unsigned:
        raise UsageError("curator release: --key and --unsigned contradict each other; drop one")
    if args.key is not None:
        text, where = signing.read_key_file(args.key), str(args.key)
    elif args.unsigned:
        return None  # the flag on the command line wins over a key in the environment
    elif source.strip().startswith("-----BEGIN"):
        text, where = source.encode(), "$CURATOR_SIGNING_KEY"
    elif source:
        text, where = signing.read_key_file(Path(source).expanduser()), source
    else:
        raise UsageError(
            "curator release: no signing key; pass --key KEY (an ed25519 key from `ssh-keygen -t ed25519`) "
            "or set CURATOR_SIGNING_KEY, or pass --unsigned to cut an unsigned release"
        )
    passphrase = os.environ.get("CURATOR_SIGNING_PASSPHRASE")
    if passphrase is None and signing.key_needs_passphrase(text) and sys.stdin.isatty():
        passphrase = getpass.getpass(f"passphrase for {where}: ")
    return signing.load_signing_key(text, where, passphrase.encode() if passphrase is not None else None)


def source_date_epoch(value: str | None) -> int | None:
    """SOURCE_DATE_EPOCH as seconds: digits only, up to the last second of the year 9999
    (the latest moment a release date can name)."""
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", value) or int(value) > MAX_EPOCH:
        raise UsageError(
            f"SOURCE_DATE_EPOCH={quoted(value)}: must be a whole number of seconds since 1970, from 0 to {MAX_EPOCH}"
        )
    return int(value)


def cmd_release(args: argparse.Namespace, console: Console) -> int:
    """`curator release`: cut the signed bundle of a run whose gate holds."""
    from curator.interpreters import Finder, parse_overrides
    from curator.layout import cache_dir, default_store
    from curator.release.bundle import ReleaseRequest, cut

    epoch = source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH"))
    distribution = load_manifest(args)
    store = args.store or default_store(distribution.root)
    store_file(store, "--store", must_exist=True)
    out_dir = args.out or distribution.root / "dist"
    writable_folder(out_dir, f"--out {out_dir}")
    key = signing_key(args)
    request = ReleaseRequest(
        distribution=distribution,
        store_path=store,
        run=args.run,
        out_dir=out_dir,
        finder=Finder(parse_overrides(args.python)),
        cache=cache_dir(),
        key=key,
        wheelhouse=args.wheelhouse,
        force=args.force,
        epoch=epoch,
    )
    release = cut(request)
    for done in release.recovered:
        console.print(f"[yellow]recovered[/]: {escape(done)}")
    evidence = release.evidence
    if release.report_regenerated:
        console.print(f"the report of run {evidence.run.id} was incomplete: wrote it again from the store")
    gate = ", ".join(f"{c.cell_id} ({c.describe()})" for c in evidence.baseline.values())
    console.print(f"release gate: [green]holds[/] in run {evidence.run.id}: {escape(gate)}")
    if evidence.platforms:
        console.print(f"platforms: {escape(', '.join(state.describe() for state in evidence.platforms))}")
    folder = escape(shown(release.folder))
    wheels = f", {release.wheels} wheels" if args.wheelhouse else ""
    size = f"{release.size / 1e6:.1f} MB" if release.size >= 1e5 else f"{release.size / 1e3:.1f} kB"
    console.print(f"wrote {folder}/ ({release.files} files{wheels}, {size})")
    console.print(f"      {escape(shown(release.tarball))}  sha256 {release.sha256}")
    since = f"changes since {escape(release.previous)}" if release.previous else "first release in this folder"
    console.print(f"{since}: {folder}/CHANGES.md")
    if release.fingerprint is None:
        console.print("[bold yellow]UNSIGNED[/]: cut with --unsigned; SHA256SUMS shows integrity, not who made it")
    else:
        console.print(f"signed SHA256SUMS with ed25519 key {release.fingerprint} (namespace curator)")
    console.print(f"check it with: curator verify {escape(shown(release.tarball))}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace, console: Console) -> int:
    """`curator verify`: every checksum, the signature, nothing missing or extra."""
    from curator import signing
    from curator.errors import VerifyMismatch
    from curator.release.verify import verify

    pubkey = None
    if args.pubkey is not None:
        pubkey = signing.load_public_key(signing.read_key_file(args.pubkey).decode("utf-8", "replace"), args.pubkey)
    try:
        result = verify(args.bundle, pubkey)
    except VerifyMismatch as mismatch:
        if args.format != "json":
            raise
        emit_json("verify", {"bundle": str(args.bundle), "verified": False, "problems": list(mismatch.problems)})
        return mismatch.exit_code
    if args.format == "json":
        emit_json(
            "verify",
            {
                "bundle": str(args.bundle),
                "verified": True,
                "problems": [],
                "files": result.files,
                "wheels": result.wheels,
                "signed": result.signed,
                "fingerprint": result.fingerprint,
                "trusted_key": result.trusted_key,
            },
        )
        return EXIT_OK
    wheels = f"; {result.wheels} wheels match the locks" if result.wheels else ""
    console.print(f"{escape(str(args.bundle))}: {result.files} files match SHA256SUMS, none missing or extra{wheels}")
    if not result.signed:
        console.print(
            "[bold yellow]UNSIGNED[/] bundle: the files are intact, but nothing shows who made them "
            "(it was cut with --unsigned)"
        )
    elif result.trusted_key:
        console.print(f"signature: [green]good[/], by the key you trust ({result.fingerprint})")
    else:
        console.print(
            f"signature: [green]good[/], by the bundle's own key {result.fingerprint} — this shows the files are "
            "intact, not who made them; compare that fingerprint with the one the distribution publishes, "
            "or pass --pubkey KEY.pub"
        )
    console.print("[green]verified[/]")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, console: Console) -> int:
    """`curator diff`: what changed between two bundles or runs."""
    from curator import codec
    from curator.layout import default_store
    from curator.manifest import DEFAULT_MANIFEST
    from curator.release.diff import diff

    store = args.store or default_store(Path(DEFAULT_MANIFEST).resolve().parent)
    result = diff(args.old, args.new, store)
    if args.format == "json":
        emit_json("diff", codec.to_json(result))
        return EXIT_OK
    console.print(f"{escape(result.old.label)} → {escape(result.new.label)}")
    for change in result.packages:
        lines = change.lines()
        summary = f"{len(lines)} change(s), {change.unchanged} unchanged" if lines else "no changes"
        console.print(f"Python {change.python}: {summary}")
        for line in lines:
            console.print(f"  {escape(line)}")
    if result.outcomes is not None:
        console.print(f"outcomes: {len(result.outcomes) or 'no'} change(s)")
        for outcome in result.outcomes:
            console.print(f"  {escape(outcome.describe())}")
    return EXIT_OK
