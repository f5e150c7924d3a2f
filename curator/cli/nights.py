"""`nightly` and `propose`: the newest upstream releases against the blessed set, and the manifest change
a clean night supports (docs/nightly.md)."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from curator.cli import ci
from curator.cli.common import (
    Parser,
    accept_lost_runs_arg,
    cancelled_by_signals,
    emit_json,
    executor_args,
    executor_words,
    load_manifest,
    manifest_arg,
    observed,
    open_executor,
    output_args,
    positive_int,
    preloading,
    python_arg,
    python_axis,
    run_arguments,
    shown,
)
from curator.model import codec
from curator.model.errors import EXIT_OK, EXIT_UNEXPECTED, UsageError

if TYPE_CHECKING:
    from curator.nightly.night import Night
    from curator.nightly.runner import NightlyResult


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add these commands to the parser."""
    nightly = commands.add_parser(
        "nightly", help="test the newest upstream releases against the blessed set; name culprits"
    )
    manifest_arg(nightly)
    python_arg(nightly)
    nightly.add_argument(
        "--as-of", metavar="TIME", help="the upstream snapshot: a date or RFC 3339 time (default: now)"
    )
    executor_args(nightly)
    nightly.add_argument("--out", type=Path, help="the run folder (default: a new folder under reports/)")
    nightly.add_argument("--store", type=Path, help="the results store (default: reports/curator.sqlite)")
    nightly.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted nightly")
    accept_lost_runs_arg(nightly)
    nightly.add_argument(
        "--max-probes", type=positive_int, metavar="N", help="probe cells per culprit search (default: 4·⌈log2 n⌉)"
    )
    output_args(nightly, "the night (nightly.json's content) on stdout, progress on stderr")
    nightly.set_defaults(handler=cmd_nightly)

    propose = commands.add_parser("propose", help="the manifest update a clean nightly supports, with its evidence")
    manifest_arg(propose)
    propose.add_argument("--from", dest="night", required=True, metavar="NIGHTLY_RUN", help="a nightly's folder or id")
    propose.add_argument("--store", type=Path, help="the results store (default: the run folder's, else reports/)")
    propose.add_argument("--out", type=Path, help="write the updated manifest here (default: update MANIFEST)")
    propose.add_argument("--summary", type=Path, help="write the Markdown summary here (default: print it)")
    propose.set_defaults(handler=cmd_propose)


def cmd_nightly(args: argparse.Namespace, console: Console) -> int:
    """`curator nightly`: newest releases → cells → culprits → categories; exit 1 on a regression."""
    import datetime as dt

    from curator.nightly import runner
    from curator.report.markdown import night_markdown
    from curator.resolve.interpreters import Finder
    from curator.resolve.upstream import parse_as_of
    from curator.store.db import Store

    distribution = load_manifest(args)
    versions, overrides = python_axis(args, distribution)
    if args.resume and (args.python or args.as_of):
        raise UsageError("--resume finishes the stored nightly as it began; leave out --python and --as-of")
    as_of = parse_as_of(args.as_of) if args.as_of else None
    if as_of is not None and as_of > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
        raise UsageError(f"--as-of {args.as_of}: that is in the future; a nightly cannot see releases not made yet")
    store_path = run_arguments(args, distribution)
    # the run folder is held until the report is written (`held`)
    with (
        cancelled_by_signals() as cancel,
        Store(store_path, accept_lost_runs=args.accept_lost_runs) as store,
        open_executor(args, distribution) as executor,
        contextlib.ExitStack() as held,
    ):
        if args.resume:
            versions = list(store.run(args.resume).pythons)
        request = runner.NightlyRequest(
            distribution=distribution,
            interpreters=Finder(overrides).find_all(versions),
            today=dt.date.today(),
            as_of=as_of,
            out_dir=args.out,
            resume=args.resume,
            max_probes=args.max_probes,
        )
        with observed(args, console) as observer, preloading():
            result = runner.run(request, store, executor, observer, cancel, held=held)
        from curator.report.publish import publish

        data = publish(store, result.run_id, distribution, today=request.today, interrupted=result.interrupted)
    ci.publish(args, data, sections=[night_markdown(result.night)] if result.night is not None else [])
    if args.format == "json":
        if result.night is None:
            emit_json("nightly", {"run": result.run_id, "interrupted": True})
            return 130
        emit_json("nightly", codec.to_json(result.night))
        return EXIT_UNEXPECTED if result.night.regressions else EXIT_OK
    return _finish(console, args, result, data.summary.cells, data.summary.reused_cells)


def _finish(console: Console, args: argparse.Namespace, result: NightlyResult, cells: int, reused: int) -> int:
    """The end of a nightly: what it found, where it wrote it, the exit status."""
    console.print(f"\n{cells} cells ({reused} reused from earlier runs)")
    if result.night is None:
        parts = ["curator", "nightly", str(args.manifest), "--resume", result.run_id, *executor_words(args)]
        if args.store:
            parts += ["--store", str(args.store)]
        command = escape(" ".join(parts))
        console.print(f"[yellow]interrupted[/]: finished cells are kept; continue with: [bold]{command}[/]")
        return 130
    print_night(console, result.night)
    console.print(f"results: {shown(result.layout.nightly_json)}, {shown(result.layout.cells_csv)}")
    console.print(f"report: {shown(result.layout.report)}")
    regressed = len(result.night.regressions)
    console.print(f"verdict: {'[bold red]regressed[/] (' + str(regressed) + ')' if regressed else '[green]passed[/]'}")
    return EXIT_UNEXPECTED if regressed else EXIT_OK


def print_night(console: Console, night: Night) -> None:
    """What a maintainer reads first: what is new, the categories, each regression and its culprit."""
    from curator.nightly.night import Category

    moved = [f"{name} {version}" for name, version in night.newest.items() if version is not None]
    console.print(f"newest as of {night.as_of}: {escape(', '.join(moved))}")
    compared = f"nightly {night.compared_to.nightly}" if night.compared_to.nightly else "the blessed baseline"
    counts = "  ".join(f"{category} {n}" for category, n in night.counts.items())
    console.print(f"compared with {compared}: {counts}")
    for result in night.results:
        if result.category not in (Category.REGRESSED, Category.FIXED, Category.SPURIOUS, Category.STILL_FAILING):
            continue
        colour = {"regressed": "bold red", "fixed": "green", "still-failing": "red"}.get(result.category, "yellow")
        culprits = (
            f" — culprit: [bold]{escape(' + '.join(result.culprits.requirements()))}[/]" if result.culprits else ""
        )
        console.print(
            f"  [{colour}]{result.category:<14}[/] py{result.python} {escape(result.suite)} "
            f"({result.status}){culprits}: {escape(result.reason)}"
        )
        if result.reproduce and result.category is not Category.FIXED:
            console.print(f"                 reproduce: [bold]{escape(result.reproduce)}[/]")
    for bisection in night.bisections:
        if bisection.method == "bisection":
            short = " [yellow](cut short by the bound)[/]" if bisection.cut_short else ""
            console.print(
                f"  bisected {escape(bisection.suite)} on {bisection.python}: "
                f"{bisection.used} probe(s) of at most {bisection.bound}{short}"
            )
    for flaky in night.flaky:
        console.print(
            f"  [yellow]flaky[/]          py{flaky.python} {escape(flaky.suite)}: failed on {flaky.failing_nights} "
            f"of {flaky.nights} night(s) ({flaky.rate:.0%})"
        )
    for stale in night.stale_exceptions:
        console.print(f"  [yellow]stale exception[/] {escape(stale.rule)} (line {stale.line}): {escape(stale.why)}")


def cmd_propose(args: argparse.Namespace, console: Console) -> int:
    """`curator propose`: bless every newest release whose evidence is clean; print the PR's text."""
    import sys

    from curator.host.layout import atomic_write
    from curator.model.outcome import RunKind
    from curator.nightly.night import Night
    from curator.nightly.propose import propose
    from curator.report.locate import locate
    from curator.store.db import Store

    distribution = load_manifest(args)
    where = locate(args.night, store=args.store, manifest=args.manifest)
    with Store(where.store) as store:
        record = where.record(store)
        row = store.nightly(record.id)
        if record.kind is not RunKind.NIGHTLY or row is None:
            raise UsageError(f"run {record.id} is not a finished nightly; give the run of `curator nightly`")
        if record.manifest_sha256 != distribution.sha256:
            raise UsageError(
                f"{distribution.path}: changed since nightly {record.id} tested it; run a new nightly first"
            )
        records = store.cells(record.id)
    night = codec.loads(Night, row.document, "nightly.json")
    original = distribution.path.read_text(encoding="utf-8")
    proposal = propose(distribution, original, night, records)
    target = args.out or distribution.path
    if proposal.moves or args.out is not None:
        atomic_write(target, proposal.text)
    if args.summary is not None:
        atomic_write(args.summary, proposal.summary)
    else:
        sys.stdout.write(proposal.summary)
        sys.stdout.flush()
    moved = ", ".join(f"{m.package} {m.old} → {m.new}" for m in proposal.moves) or "nothing"
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    errors.print(f"proposed: {escape(moved)}; held back: {len(proposal.held)}; manifest: {shown(target)}")
    return EXIT_OK
