"""`publish`, `yank`, `signers`, and `verify` of a channel: the distribution's own package index."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from curator.cli.common import Parser, emit_json, load_key, positive_int, shown
from curator.model.errors import EXIT_OK

if TYPE_CHECKING:
    from curator.channel.trust import Approval
    from curator.channel.updates import Change
    from curator.release.governance import Signers
    from curator.release.signing import SigningKey
    from curator.release.verify import Trust


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add these commands to the parser."""
    publish = commands.add_parser("publish", help="verify a release bundle, then add it to a channel")
    publish.add_argument("bundle", type=Path, metavar="BUNDLE", help="a bundle folder or its .tar.gz")
    _channel_arg(publish)
    publish.add_argument(
        "--allow-unsigned", action="store_true", help="publish a bundle cut with --unsigned (it says so everywhere)"
    )
    _key_arg(publish)
    publish.add_argument("--format", choices=("text", "json"), default="text", help="json: docs/json.md")
    publish.set_defaults(handler=cmd_publish)

    yank = commands.add_parser("yank", help="withdraw a release: it leaves stable, its files are marked yanked")
    yank.add_argument("version", metavar="VERSION", help="the release to yank")
    _channel_arg(yank)
    yank.add_argument("--reason", required=True, help="why (pip and uv show it to whoever installs a yanked file)")
    _key_arg(yank)
    yank.add_argument("--format", choices=("text", "json"), default="text", help="json: docs/json.md")
    yank.set_defaults(handler=cmd_yank)

    signers = commands.add_parser(
        "signers", help="give a channel a new signer set, signed by the threshold of the old set and of the new"
    )
    signers.add_argument("channel", type=Path, metavar="DIR", help="the channel's folder")
    signers.add_argument(
        "--set",
        dest="set_file",
        type=Path,
        required=True,
        metavar="FILE",
        help="the new signers: an OpenSSH allowed_signers file (one principal and ed25519 key a line)",
    )
    signers.add_argument(
        "--threshold", type=positive_int, required=True, metavar="K", help="signatures of the new set each change needs"
    )
    signers.add_argument(
        "--distribution", metavar="NAME", help="start a new channel of NAME whose first entry is this signer set"
    )
    _key_arg(signers)
    signers.add_argument("--format", choices=("text", "json"), default="text", help="json: docs/json.md")
    signers.set_defaults(handler=cmd_signers)


def _channel_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", type=Path, required=True, metavar="DIR", help="the channel's folder")


def _key_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        type=Path,
        action="append",
        default=[],
        metavar="KEY",
        help="an OpenSSH ed25519 private key that signs the log entry (repeatable: one signature each; a governed "
        "channel needs its threshold of distinct signers)",
    )


def _keys(args: argparse.Namespace) -> tuple[SigningKey, ...]:
    from curator.release import signing

    return tuple(load_key(signing.read_key_file(path), str(path)) for path in args.key)


def cmd_publish(args: argparse.Namespace, console: Console) -> int:
    """`curator publish`: verify the bundle, then add it to the channel."""
    from curator.channel.updates import PublishRequest, publish

    change = publish(PublishRequest(args.bundle, args.channel, _keys(args), args.allow_unsigned))
    if args.format == "json":
        emit_json("publish", _json(change, "publish"))
        return EXIT_OK
    _recovered(change.recovered, console)
    name = f"{change.distribution} {change.version}"
    if not change.changed:
        console.print(f"{escape(name)} is already published in {escape(shown(change.channel))}: nothing changed")
        return EXIT_OK
    console.print(
        f"published {escape(name)} to {escape(shown(change.channel))}: {change.added} new file(s), "
        f"{change.shared} already stored"
    )
    if not change.bundle_signed:
        console.print("[bold yellow]UNSIGNED[/] bundle (published with --allow-unsigned): nothing shows who made it")
    elif change.bundle_tally is not None:
        console.print(f"bundle signed by its maintainers: {escape(change.bundle_tally.summary)}")
    else:
        console.print(f"bundle signed by {change.bundle_fingerprint}")
    if change.installed and change.signers is not None:
        console.print(
            f"the channel's first signers are the bundle's: {escape(change.signers.describe())} "
            f"(log.jsonl: a signers entry before the publish); each change now needs {change.signers.threshold}"
        )
    _said(change, console)
    return EXIT_OK


def cmd_yank(args: argparse.Namespace, console: Console) -> int:
    """`curator yank`: withdraw a release."""
    from curator.channel.updates import yank

    change = yank(args.channel, args.version, args.reason, _keys(args))
    if args.format == "json":
        emit_json("yank", _json(change, "yank"))
        return EXIT_OK
    _recovered(change.recovered, console)
    name = f"{change.distribution} {change.version}"
    if not change.changed:
        console.print(f"{escape(name)} is already yanked ({escape(change.reason or '')}): nothing changed")
        return EXIT_OK
    console.print(f"yanked {escape(name)} from {escape(shown(change.channel))}: {escape(change.reason or '')}")
    _said(change, console)
    return EXIT_OK


def cmd_signers(args: argparse.Namespace, console: Console) -> int:
    """`curator signers`: a new signer set for a channel."""
    from curator.channel import trust
    from curator.channel.updates import SignersRequest, change_signers

    proposal = trust.from_file(args.set_file, args.threshold)
    change = change_signers(SignersRequest(args.channel, proposal, _keys(args), args.distribution))
    if args.format == "json":
        emit_json(
            "signers",
            {
                "channel": str(change.channel),
                "distribution": change.distribution,
                "changed": change.changed,
                "created": change.created,
                "head": change.head,
                "signers": _set_json(change.signers),
                "replaced": _set_json(change.replaced),
                "signed_by": list(change.signed_by),
                "approvals": _approvals_json(change.approvals),
            },
        )
        return EXIT_OK
    _recovered(change.recovered, console)
    where = escape(shown(change.channel))
    if not change.changed:
        console.print(f"{escape(change.signers.describe())} sign {where} already: nothing changed")
        return EXIT_OK
    if change.created:
        console.print(f"started the channel of {escape(change.distribution)} in {where}")
    if change.replaced is None:
        console.print(f"first signers of {where}: {escape(change.signers.describe())}")
    else:
        console.print(
            f"signers of {where}: {escape(change.signers.describe())}, replacing {escape(change.replaced.describe())}"
        )
    console.print(f"log entry signed by: {escape(', '.join(change.signed_by))}")
    _print_approvals(change.approvals, console)
    console.print(f"head {change.head}")
    return EXIT_OK


def _set_json(signers: Signers | None) -> dict[str, object] | None:
    if signers is None:
        return None
    return {"threshold": signers.threshold, "principals": list(signers.principals)}


def _approvals_json(approvals: tuple[Approval, ...]) -> list[object]:
    from curator.model import codec

    return [codec.to_json(approval) for approval in approvals]


def _print_approvals(approvals: tuple[Approval, ...], console: Console) -> None:
    for approval in approvals:
        console.print(f"  [green]{escape(approval.said)}[/]")


def _recovered(recovered: tuple[str, ...], console: Console) -> None:
    for done in recovered:
        console.print(f"[yellow]recovered[/]: {escape(done)}")


def _said(change: Change, console: Console) -> None:
    signed = ", ".join(change.signed_by) if change.signed_by else "nobody (no --key)"
    console.print(f"log entry signed by: {escape(signed)}")
    _print_approvals(change.approvals, console)
    if change.signers is None:
        console.print("the channel has no signers: its entries are not counted (`curator signers` gives it some)")
    stable = change.stable or "none (every release is yanked)"
    console.print(f"stable: {escape(stable)}; head {change.head}")


def _json(change: Change, command: str) -> dict[str, object]:
    return {
        "channel": str(change.channel),
        "distribution": change.distribution,
        "version": change.version,
        "changed": change.changed,
        "head": change.head,
        "stable": change.stable,
        "signed_by": list(change.signed_by),
        "signers": _set_json(change.signers),
        "approvals": _approvals_json(change.approvals),
        **(
            {"added": change.added, "installed": change.installed, "shared": change.shared}
            if command == "publish"
            else {"reason": change.reason}
        ),
    }


def verify_channel(args: argparse.Namespace, trust: Trust, console: Console) -> int:
    """`curator verify DIR` of a channel's folder: `--pubkey` checks each release's signature; `--signers`
    (and `--threshold`) are the maintainers the log must be governed by; `--known-head` the head seen last."""
    from curator.channel.audit import Anchor
    from curator.channel.audit import verify_channel as check
    from curator.model.errors import UsageError, VerifyMismatch

    anchor = None
    if trust.signers is not None:
        anchor = Anchor(trust.signers, str(args.signers), trust.threshold)
    elif trust.threshold is not None:
        raise UsageError("curator verify: --threshold counts the signers of --signers FILE; pass that file too")
    try:
        result = check(args.bundle, trust.pubkey, known_head=args.known_head, anchor=anchor)
    except VerifyMismatch as mismatch:
        if args.format != "json":
            raise
        emit_json("verify", {"channel": str(args.bundle), "verified": False, "problems": list(mismatch.problems)})
        return mismatch.exit_code
    if args.format == "json":
        emit_json(
            "verify",
            {
                "channel": str(args.bundle),
                "verified": True,
                "problems": [],
                "distribution": result.distribution,
                "releases": result.releases,
                "yanked": result.yanked,
                "files": result.files,
                "pages": result.pages,
                "entries": result.entries,
                "signed_entries": result.signed_entries,
                "unsigned_releases": list(result.unsigned_releases),
                "trusted_key": result.trusted_key,
                "signers": _set_json(result.signers),
                "governed_since": result.governed_since,
                "anchored_at": result.anchored_at,
                "known_head": args.known_head,
                "since_known": result.since_known,
                "stable": result.stable,
                "head": result.head,
                "time": result.last_time,
            },
        )
        return EXIT_OK
    where = escape(str(args.bundle))
    yanked = f" ({result.yanked} yanked)" if result.yanked else ""
    console.print(
        f"{where}: channel of {escape(result.distribution)}, {result.releases} release(s){yanked}; "
        f"{result.files} files match their releases' SHA256SUMS; {result.pages} pages and channel.json "
        f"match log.jsonl ({result.entries} entries, {result.signed_entries} signed)"
    )
    if result.signers is not None:
        since = (
            "every entry" if result.governed_since == 1 else f"every entry from log.jsonl:{result.governed_since} on"
        )
        console.print(
            f"signers: {escape(result.signers.describe())}; {since} carries the threshold then in force "
            "(a change of signers: the old set's and the new set's)"
        )
    else:
        console.print(
            "[bold yellow]no signers[/]: an ungoverned channel, its entries' signatures are checked but not counted "
            "(`curator signers` gives it some)"
        )
    if result.anchored_at is not None:
        console.print(
            f"governed by the signers you trust ({escape(str(args.signers))}): {escape(result.anchored_at)} installs "
            "them, and every later change of signers was signed by the set before"
        )
    if result.unsigned_releases:
        console.print(f"[bold yellow]UNSIGNED[/] release(s): {escape(', '.join(result.unsigned_releases))}")
    if result.trusted_key:
        console.print("every signed release: signature [green]good[/], by the key you trust")
    console.print(f"stable: {escape(result.stable or 'none')}")
    if result.since_known is not None:
        console.print(
            f"extends your known head: {result.since_known} entr{'y' if result.since_known == 1 else 'ies'} since"
        )
    console.print(f"head: {result.head} ({result.entries} entries, the last at {result.last_time})")
    console.print("[green]verified[/]")
    return EXIT_OK
