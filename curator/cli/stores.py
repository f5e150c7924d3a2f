"""`store`: look after the results store: `store check` it, `store recover` what a damaged one still holds."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from curator.cli.common import Parser, emit_json, shown
from curator.host.inputs import writable_folder
from curator.model.errors import EXIT_OK, EXIT_UNEXPECTED, UsageError


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add the `store` command group to the parser."""
    group = commands.add_parser("store", help="look after the results store (check it, recover a damaged one)")
    group.set_defaults(handler=lambda _args, _console: _usage(group))
    actions = group.add_subparsers(title="store commands", metavar="STORE_COMMAND", parser_class=Parser)

    check = actions.add_parser(
        "check", help="SQLite's integrity and foreign-key checks, and the store's history; exit 1 when damaged"
    )
    check.add_argument(
        "--store", type=Path, help="the results store (default: reports/curator.sqlite beside ./distribution.yaml)"
    )
    check.add_argument(
        "--quick", action="store_true", help="quick_check instead of integrity_check: faster, skips index contents"
    )
    check.add_argument("--format", choices=("text", "json"), default="text", help="json: docs/json.md")
    check.set_defaults(handler=cmd_store_check)

    recover = actions.add_parser(
        "recover", help="copy what SQLite can still read of a damaged store into a new one, consistent"
    )
    recover.add_argument(
        "--store", type=Path, help="the damaged store (default: reports/curator.sqlite beside ./distribution.yaml)"
    )
    recover.add_argument(
        "--to", type=Path, required=True, metavar="NEW", help="the new store to write (must not exist)"
    )
    recover.set_defaults(handler=cmd_store_recover)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_OK


def cmd_store_check(args: argparse.Namespace, console: Console) -> int:
    """`curator store check`: exit 0 healthy, 1 damaged (with how to recover), 2 not a store."""
    from curator.host.layout import default_store
    from curator.model.distribution import DEFAULT_MANIFEST
    from curator.store import file as storefile
    from curator.store.db import APPLICATION_ID, SCHEMA_VERSION

    path = args.store or default_store(Path(DEFAULT_MANIFEST).resolve().parent)
    health = storefile.check(path, quick=args.quick, application_id=APPLICATION_ID, schema_version=SCHEMA_VERSION)
    if args.format == "json":
        emit_json(
            "store check",
            {
                "store": str(path),
                "healthy": health.ok,
                "check": health.check,
                "schema": health.schema,
                "runs": health.runs,
                "cells": health.cells,
                "problems": list(health.problems),
                "more_problems": health.more,
                "recovery": [] if health.ok else [step.replace("STORE", str(path)) for step in storefile.RECOVERY],
            },
        )
        return EXIT_OK if health.ok else EXIT_UNEXPECTED
    name = escape(shown(path))
    if health.ok:
        console.print(
            f"{name}: [green]healthy[/] ({health.check}, foreign_key_check and its history agree): "
            f"schema {health.schema}, {health.runs} runs, {health.cells} cells"
        )
        return EXIT_OK
    console.print(f"{name}: [bold red]DAMAGED[/]")
    for problem in health.problems:
        console.print(f"  {escape(problem)}")
    if health.more:
        console.print(f"  … and {health.more} more")
    console.print("to recover:")
    for number, step in enumerate(storefile.RECOVERY, 1):
        console.print(f"  {number}. {escape(step.replace('STORE', shown(path)))}")
    return EXIT_UNEXPECTED


def cmd_store_recover(args: argparse.Namespace, console: Console) -> int:
    """`curator store recover`: a new, consistent store from what a damaged one still holds."""
    from curator.host.layout import default_store
    from curator.model.distribution import DEFAULT_MANIFEST
    from curator.store import salvage
    from curator.store.file import mark_path

    source = args.store or default_store(Path(DEFAULT_MANIFEST).resolve().parent)
    if not source.is_file():
        raise UsageError(f"--store {source}: no results store there; give --store PATH")
    writable_folder(args.to.parent, f"--to {args.to}: its folder {args.to.parent}")
    done = salvage.recover(source, args.to)
    copied = ", ".join(f"{n} {table}" for table, n in done.copied.items())
    console.print(f"copied into {escape(shown(done.target))}: {copied}")
    lost = {t: n for t, n in done.unreadable.items() if n}
    if lost:
        said = ", ".join(f"{table} (rowids in unreadable ranges: {n})" for table, n in lost.items())
        console.print(f"[yellow]could not read[/]: {said}")
    if done.dropped:
        said = ", ".join(f"{n} {table}" for table, n in done.dropped.items())
        console.print(f"dropped to stay consistent (their run, cell or suites were lost): {said}")
    for run_id in done.reopened:
        console.print(f"run {run_id} lost cells: marked interrupted; `curator run --resume {run_id}` runs them again")
    old, new = escape(shown(source)), escape(shown(done.target))
    console.print(
        f"next: check it (curator store check --store {new}), stop every curator using {old}, move {old}* aside, "
        f"and move {new} and {escape(shown(mark_path(done.target)))} in its place"
    )
    return EXIT_OK
