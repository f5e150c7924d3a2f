"""`publish`, `yank`, and `verify` of a channel: the distribution's own package index."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from curator.cli.common import Parser, emit_json, shown
from curator.errors import EXIT_OK

if TYPE_CHECKING:
    from curator.channel.publish import Change
    from curator.signing import PublicKey, SigningKey


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


def _channel_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", type=Path, required=True, metavar="DIR", help="the channel's folder")


def _key_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        type=Path,
        action="append",
        default=[],
        metavar="KEY",
        help="an OpenSSH ed25519 private key that signs the log entry (repeatable: one signature each)",
    )


def _keys(args: argparse.Namespace) -> tuple[SigningKey, ...]:
    from curator import signing
    from curator.cli.releasing import load_key

    return tuple(load_key(signing.read_key_file(path), str(path)) for path in args.key)


def cmd_publish(args: argparse.Namespace, console: Console) -> int:
    """`curator publish`: verify the bundle, then add it to the channel."""
    from curator.channel.publish import PublishRequest, publish

    change = publish(PublishRequest(args.bundle, args.channel, _keys(args), args.allow_unsigned))
    if args.format == "json":
        emit_json("publish", _json(change, "publish"))
        return EXIT_OK
    _recovered(change, console)
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
    else:
        console.print(f"bundle signed by {change.bundle_fingerprint}")
    _said(change, console)
    return EXIT_OK


def cmd_yank(args: argparse.Namespace, console: Console) -> int:
    """`curator yank`: withdraw a release."""
    from curator.channel.publish import yank

    change = yank(args.channel, args.version, args.reason, _keys(args))
    if args.format == "json":
        emit_json("yank", _json(change, "yank"))
        return EXIT_OK
    _recovered(change, console)
    name = f"{change.distribution} {change.version}"
    if not change.changed:
        console.print(f"{escape(name)} is already yanked ({escape(change.reason or '')}): nothing changed")
        return EXIT_OK
    console.print(f"yanked {escape(name)} from {escape(shown(change.channel))}: {escape(change.reason or '')}")
    _said(change, console)
    return EXIT_OK


def _recovered(change: Change, console: Console) -> None:
    for done in change.recovered:
        console.print(f"[yellow]recovered[/]: {escape(done)}")


def _said(change: Change, console: Console) -> None:
    signed = ", ".join(change.signed_by) if change.signed_by else "nobody (no --key)"
    console.print(f"log entry signed by: {escape(signed)}")
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
        **({"added": change.added, "shared": change.shared} if command == "publish" else {"reason": change.reason}),
    }


def verify_channel(args: argparse.Namespace, pubkey: PublicKey | None, console: Console) -> int:
    """`curator verify DIR` of a channel's folder."""
    from curator.channel.verify import verify_channel as check
    from curator.errors import VerifyMismatch

    try:
        result = check(args.bundle, pubkey)
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
                "stable": result.stable,
                "head": result.head,
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
    if result.unsigned_releases:
        console.print(f"[bold yellow]UNSIGNED[/] release(s): {escape(', '.join(result.unsigned_releases))}")
    if result.trusted_key:
        console.print("every signed release: signature [green]good[/], by the key you trust")
    console.print(f"stable: {escape(result.stable or 'none')}")
    console.print(f"head: {result.head}")
    console.print("[green]verified[/]")
    return EXIT_OK
