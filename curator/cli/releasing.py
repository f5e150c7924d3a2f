"""`release`, `sign`, `verify`, `diff`: the signed bundle a distribution ships, and checking it."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from curator.host.inputs import quoted
from curator.model.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from curator.model.distribution import Distribution
    from curator.release.governance import Tally
    from curator.release.signing import SigningKey
    from curator.release.verify import Trust, Verification

from curator.cli.common import (
    Parser,
    emit_json,
    load_key,
    load_manifest,
    manifest_arg,
    positive_int,
    shown,
    store_file,
)
from curator.host.inputs import writable_folder

MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z
MAX_SIGNATURE_BYTES = 64 * 2**10  # an armored ed25519 SSH signature is under 400 bytes


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

    sign = commands.add_parser(
        "sign", help="add your signature to a bundle cut with governance, and make its tarball again"
    )
    sign.add_argument("bundle", type=Path, metavar="BUNDLE", help="a bundle folder or its .tar.gz")
    how = sign.add_mutually_exclusive_group()
    how.add_argument(
        "--key",
        type=Path,
        help="your OpenSSH ed25519 private key (default: $CURATOR_SIGNING_KEY, a path or the key itself)",
    )
    how.add_argument(
        "--signature",
        type=Path,
        metavar="SIG",
        help="a signature of the bundle's SHA256SUMS made elsewhere (`ssh-keygen -Y sign -n curator`), added as it is",
    )
    sign.set_defaults(handler=cmd_sign, unsigned=False)

    verify = commands.add_parser(
        "verify", help="re-check every checksum, hash and signature of a bundle, or of a whole channel"
    )
    verify.add_argument(
        "bundle", type=Path, metavar="BUNDLE|CHANNEL", help="a bundle folder or its .tar.gz, or a channel's folder"
    )
    trust = verify.add_mutually_exclusive_group()
    trust.add_argument("--pubkey", type=Path, help="the public key you trust (default: the bundle's own)")
    trust.add_argument(
        "--signers",
        type=Path,
        metavar="FILE",
        help="the maintainers you trust: an OpenSSH allowed_signers file (default: the bundle's own); for a channel, "
        "an entry of its log must install them",
    )
    verify.add_argument(
        "--threshold",
        type=positive_int,
        metavar="K",
        help="signatures needed from distinct signers (default: what the bundle's release.json records, else 1; "
        "with --signers, at least a majority of them, for a bundle and for the threshold a channel's log gives them)",
    )
    verify.add_argument(
        "--known-head",
        type=_sha256,
        metavar="H",
        help="a channel: the head you saw last (`head` of an earlier verify); a log that does not extend it "
        "(rolled back, forked) is refused",
    )
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


def _sha256(text: str) -> str:
    """An argparse type: a sha256, 64 hexadecimal digits (a channel's head)."""
    value = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a channel's head (64 hexadecimal digits: the `head` an earlier verify printed)"
        )
    return value


def signing_key(args: argparse.Namespace, command: str = "release") -> SigningKey | None:
    """The key from --key or $CURATOR_SIGNING_KEY; None only with --unsigned."""
    from curator.release import signing

    source = os.environ.get("CURATOR_SIGNING_KEY", "")
    if args.key is not None and args.unsigned:
        raise UsageError(f"curator {command}: --key and --unsigned contradict each other; drop one")
    if args.key is not None:
        text, where = signing.read_key_file(args.key), str(args.key)
    elif args.unsigned:
        return None  # the flag on the command line wins over a key in the environment
    elif source.strip().startswith("-----BEGIN"):
        text, where = source.encode(), "$CURATOR_SIGNING_KEY"
    elif source:
        text, where = signing.read_key_file(Path(source).expanduser()), source
    elif command == "sign":
        raise UsageError(
            "curator sign: no signing key; pass --key KEY (your ed25519 key from `ssh-keygen -t ed25519`) or set "
            "CURATOR_SIGNING_KEY, or pass --signature SIG (a signature made with `ssh-keygen -Y sign -n curator`)"
        )
    else:
        raise UsageError(
            "curator release: no signing key; pass --key KEY (an ed25519 key from `ssh-keygen -t ed25519`) "
            "or set CURATOR_SIGNING_KEY, or pass --unsigned to cut an unsigned release"
        )
    return load_key(text, where)


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
    from curator.host.layout import cache_dir, default_store
    from curator.release import governance
    from curator.release.bundle import ReleaseRequest, cut
    from curator.resolve.interpreters import Finder, parse_overrides

    epoch = source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH"))
    distribution = load_manifest(args)
    signers = governance.of_distribution(distribution)
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
        signers=signers,
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
    if release.tally is not None:
        tarball = escape(shown(release.tarball))
        if release.tally.signed:
            (first,) = release.tally.signed
            console.print(f"signed SHA256SUMS as {escape(first.principal)} ({first.fingerprint}, namespace curator)")
        _print_tally(console, release.tally)
        if not release.tally.met:
            console.print(f"each of {escape(', '.join(release.tally.missing))} may add theirs:")
            console.print(f"  curator sign {tarball} --key THEIR_KEY")
        console.print(f"check it with: curator verify {tarball} --signers {escape(shown(_signers_file(distribution)))}")
        return EXIT_OK
    if release.fingerprint is None:
        console.print("[bold yellow]UNSIGNED[/]: cut with --unsigned; SHA256SUMS shows integrity, not who made it")
    else:
        console.print(f"signed SHA256SUMS with ed25519 key {release.fingerprint} (namespace curator)")
    console.print(f"check it with: curator verify {escape(shown(release.tarball))}")
    return EXIT_OK


def _signers_file(distribution: Distribution) -> Path:
    """The manifest's governance signers file (a governed distribution's)."""
    assert distribution.governance is not None
    return distribution.governance.signers


def _print_tally(console: Console, tally: Tally) -> None:
    """Who signed, and who is missing; each signature that did not count, and why."""
    colour = "green" if tally.met else "yellow"
    console.print(f"signatures: [{colour}]{escape(tally.summary)}[/]")
    for uncounted in tally.uncounted:
        console.print(f"  {escape(uncounted.label)} does not count: {escape(uncounted.reason)}")


def cmd_sign(args: argparse.Namespace, console: Console) -> int:
    """`curator sign`: add one maintainer's signature to a governed bundle; make its tarball again."""
    from curator.release import signing
    from curator.release.governance import Presented
    from curator.release.sign import sign

    if args.signature is not None:
        detached = Presented(str(args.signature), _signature_text(args.signature))
        signed = sign(args.bundle, lambda _sums: detached)
    else:
        key = signing_key(args, "sign")
        assert key is not None  # sign has no --unsigned
        signed = sign(args.bundle, lambda sums: Presented(key.source, signing.sign(sums, key)))
    who = f"{escape(signed.principal)} ({signed.fingerprint})"
    if not signed.added:
        console.print(f"{who} has signed {escape(str(args.bundle))} already: nothing added")
    elif signed.replaced:
        console.print(f"signed as {who}, in place of a signature of {escape(signed.principal)} that did not count")
    else:
        console.print(f"signed as {who}: {_member(signed.principal)}")
    _print_tally(console, signed.tally)
    console.print(f"{escape(shown(signed.tarball))}  sha256 {signed.sha256}")
    return EXIT_OK


def _signature_text(path: Path) -> str:
    """An armored SSH signature handed to `curator sign --signature` (a small regular file)."""
    from curator.host.inputs import Unreadable, read_regular

    try:
        return read_regular(path, MAX_SIGNATURE_BYTES).decode("utf-8", "replace")
    except FileNotFoundError:
        raise UsageError(f"{path}: cannot read the signature (no such file)") from None
    except Unreadable as exc:
        raise UsageError(f"{path}: cannot read the signature: {exc}") from None


def _member(principal: str) -> str:
    """`signatures/<principal>.sig`."""
    from curator.release.signatures import member

    return escape(member(principal))


def cmd_verify(args: argparse.Namespace, console: Console) -> int:
    """`curator verify`: every checksum, the signatures, nothing missing or extra."""
    from curator.model import codec
    from curator.model.errors import EXIT_UNEXPECTED, VerifyMismatch
    from curator.release.verify import check, opened

    trust = _trust(args)
    if args.bundle.is_dir():
        from curator.host.layout import ChannelLayout

        if ChannelLayout(args.bundle).holds_channel():
            from curator.cli.channels import verify_channel

            return verify_channel(args, trust, console)
    if args.known_head is not None:
        raise UsageError(f"curator verify: --known-head is a channel's head; {args.bundle} is a bundle, not a channel")
    result = check(opened(args.bundle), args.bundle, trust)
    problems = result.all_problems
    if args.format == "json":
        document: dict[str, object] = {"bundle": str(args.bundle), "verified": not problems, "problems": list(problems)}
        if not problems:
            document |= {
                "files": result.files,
                "wheels": result.wheels,
                "signed": result.signed,
                "fingerprint": result.fingerprint,
                "trusted_key": result.trusted_key,
            }
        document |= {
            "signatures": codec.to_json(result.tally) if result.tally is not None else None,
            "signers": result.signers_from,
            "threshold_from": result.threshold_from,
        }
        emit_json("verify", document)
        return EXIT_UNEXPECTED if problems else EXIT_OK
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise VerifyMismatch(f"{args.bundle} does not verify ({len(problems)} problem(s)):\n{lines}", problems)
    wheels = f"; {result.wheels} wheels match the locks" if result.wheels else ""
    console.print(f"{escape(str(args.bundle))}: {result.files} files match SHA256SUMS, none missing or extra{wheels}")
    if result.tally is not None:
        _print_counted(console, result)
    elif not result.signed:
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


def _trust(args: argparse.Namespace) -> Trust:
    """What the person verifying trusts: --pubkey, or --signers and --threshold (else the bundle's own)."""
    from curator.release import governance, signing
    from curator.release.verify import Trust

    if args.pubkey is not None:
        if args.threshold is not None:
            raise UsageError("curator verify: --threshold counts the signers of --signers FILE, not one --pubkey")
        key = signing.load_public_key(signing.read_key_file(args.pubkey).decode("utf-8", "replace"), args.pubkey)
        return Trust(pubkey=key)
    if args.signers is None:
        return Trust(threshold=args.threshold)
    if args.threshold is None:
        signers = governance.read(args.signers)
    else:  # the same check, and words, as a manifest's and `curator signers`' threshold
        signers = governance.load(args.signers, args.threshold, threshold_from="--threshold").signers
    return Trust(signers=signers, signers_from=f"--signers {args.signers}", threshold=args.threshold)


def _print_counted(console: Console, result: Verification) -> None:
    """A governed bundle's signatures: who signed, against whose list, and how far that shows origin."""
    assert result.tally is not None
    _print_tally(console, result.tally)
    against = escape(result.signers_from or "")
    if result.trusted_key:
        console.print(f"counted against {against}, the signers you trust")
    else:
        console.print(
            f"counted against {against}: this shows the files are intact and who signed them by the bundle's own "
            "account, not that they are the distribution's maintainers; pass --signers FILE (the signers the "
            "distribution publishes)"
        )
    if result.threshold_from == "release.json":
        console.print(
            f"threshold {result.tally.threshold}, as the bundle's release.json records it; pass --threshold K to "
            "require your own"
        )


def cmd_diff(args: argparse.Namespace, console: Console) -> int:
    """`curator diff`: what changed between two bundles or runs."""
    from curator.host.layout import default_store
    from curator.model import codec
    from curator.model.distribution import DEFAULT_MANIFEST
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
