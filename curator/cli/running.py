"""`run` and `report`: build and test the plan; render what a run found."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from curator.host.layout import REPORT_NAME, RunLayout
from curator.model.distribution import DEFAULT_MANIFEST
from curator.model.errors import EXIT_OK, EXIT_UNEXPECTED, UsageError

if TYPE_CHECKING:
    from curator.results.rows import RunSummary

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
    preloading,
    python_arg,
    python_axis,
    run_arguments,
    strategy_arg,
)


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add these commands to the parser."""
    run = commands.add_parser("run", help="build and test the plan; write results, matrices, report")
    manifest_arg(run)
    python_arg(run)
    strategy_arg(run)
    executor_args(run)
    run.add_argument("--out", type=Path, help="the run folder (default: a new folder under reports/)")
    run.add_argument("--store", type=Path, help="the results store (default: reports/curator.sqlite)")
    run.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    accept_lost_runs_arg(run)
    run.add_argument("--rerun", action="store_true", help="run every cell, even those with a stored outcome")
    run.add_argument(
        "--split-unresolvable",
        action="store_true",
        help="retry the suites of each refused cell in minimal cells (also: matrix.split_unresolvable)",
    )
    output_args(run, "the summary as JSON on stdout, progress on stderr")
    run.set_defaults(handler=cmd_run)

    report = commands.add_parser("report", help="re-render a run's report (and cells.csv, matrices, run.json)")
    report.add_argument("run_ref", metavar="RUN_DIR_OR_ID", help="a run folder (holding run.json) or a run id")
    report.add_argument("--store", type=Path, help="the results store (default: the run folder's, else reports/)")
    report.add_argument(
        "--manifest", type=Path, help=f"the manifest (default: the one the run used, else ./{DEFAULT_MANIFEST})"
    )
    report.add_argument(
        "--format", choices=("html", "json"), default="html", help="html: write the reports; json: print the summary"
    )
    report.set_defaults(handler=cmd_report)


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """`curator run`: build and test the plan, with progress; Ctrl-C stops cleanly."""
    import contextlib
    import datetime as dt

    from curator.execute.coordinator import Coordinator, RunRequest
    from curator.resolve.interpreters import Finder
    from curator.store.db import Store

    distribution = load_manifest(args)
    versions, overrides = python_axis(args, distribution)
    if args.resume and args.python:
        raise UsageError("--resume runs the stored plan; leave out --python")
    if args.resume:
        versions = list(distribution.python)
    store = run_arguments(args, distribution)
    interpreters = Finder(overrides).find_all(versions)
    request = RunRequest(
        distribution=distribution,
        interpreters=interpreters,
        strategy=args.strategy,
        out_dir=args.out,
        rerun=args.rerun,
        resume=args.resume,
        split_unresolvable=args.split_unresolvable,
    )
    # the coordinator holds the run folder until the report is written: no other run, resume or
    # report writes into it meanwhile
    with (
        cancelled_by_signals() as cancel,
        open_executor(args, distribution) as executor,
        Store(store, accept_lost_runs=args.accept_lost_runs) as results,
        contextlib.ExitStack() as held,
    ):
        with observed(args, console) as observer, preloading():
            result = held.enter_context(Coordinator(request, results, executor, observer, cancel)).execute()
        from curator.report.data import summary_json
        from curator.report.publish import publish

        data = publish(results, result.run_id, distribution, today=dt.date.today(), interrupted=result.interrupted)
    summary = data.summary
    ci.publish(args, data)
    if args.format == "json":
        emit_json("run", summary_json(data))
    else:
        print_summary(console, summary, data.layout.root, args, lost=result.lost)
    if result.lost:
        return EXIT_UNEXPECTED
    if summary.interrupted:
        return 130
    return EXIT_OK if summary.ok else 1


def print_summary(
    console: Console, summary: RunSummary, folder: Path, args: argparse.Namespace, *, lost: str = ""
) -> None:
    """The end of a run: counts, the gate, where the results are, the verdict."""
    from curator.cli.terminal import style
    from curator.model.outcome import Status

    counts = "  ".join(f"[{style(Status(k))}]{k}[/] {v}" for k, v in summary.counts.items())
    console.print(f"\n{summary.cells} cells ({summary.reused_cells} reused from earlier runs); suites: {counts}")
    for problem in summary.expired:
        console.print(f"[bold red]expired policy exception[/]: {escape(problem)}")
    if summary.gate.holds:
        gate = "[green]holds[/]"
    elif summary.gate.missing_pythons and not summary.gate.failing_baseline_cells and not summary.interrupted:
        missing = ", ".join(f"Python {p}" for p in summary.gate.missing_pythons)
        gate = f"[yellow]cannot gate a release[/]: {missing} not in this run (run every Python of the manifest)"
    else:
        gate = f"[bold red]does not hold[/] ({escape('; '.join(summary.gate.problems))})"
    console.print(f"release gate (baseline cells): {gate}")
    if summary.gate.platforms:
        states = ", ".join(escape(state.describe()) for state in summary.gate.platforms)
        console.print(f"platforms: {states}")
    if summary.untested_cells:
        many = summary.untested_cells != 1
        console.print(
            f"{summary.untested_cells} cell{'s' if many else ''} locked, not tested "
            f"(no executor serves {'their' if many else 'its'} platform)"
        )
    layout = RunLayout(Path(os.path.relpath(folder)))
    console.print(f"results: {escape(f'{layout.cells_csv}, {layout.matrices}/, {layout.run_json}')}")
    console.print(f"report: {escape(str(layout.report))}")
    if summary.interrupted:
        parts = ["curator", "run", str(args.manifest), "--resume", summary.run_id, *executor_words(args)]
        if args.store:
            parts += ["--store", str(args.store)]
        what = f"[bold red]error[/]: {escape(lost)}" if lost else "[yellow]interrupted[/]"
        console.print(f"{what}: finished cells are kept; continue with: [bold]{escape(' '.join(parts))}[/]")
        return
    verdict = "[green]passed[/]" if summary.ok else "[bold red]failed[/]"
    console.print(f"verdict: {verdict}")


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    """`curator report`: re-render a run's report from the store, or print its summary."""
    import datetime as dt

    from curator import manifest
    from curator.host.locking import FolderLock
    from curator.report import data as report_data
    from curator.report.locate import locate, manifest_for
    from curator.report.publish import rerender
    from curator.store.db import Store

    where = locate(args.run_ref, store=args.store, manifest=args.manifest)
    with Store(where.store) as store:
        record = where.record(store)
        distribution = manifest.load(manifest_for(record, args.manifest))
        today = dt.date.fromtimestamp(record.started)  # judge expiry as on the day the run ran
        if args.format == "json":
            data = report_data.build(store, record.id, distribution, today=today, folder=where.out_dir)
            emit_json("report", report_data.summary_json(data))
            return EXIT_OK if data.summary.ok else 1
        folder = (where.out_dir or Path(record.out_dir)).resolve()
        with FolderLock.take(folder, command="report", run=record.id, what=f"the folder {folder} of run {record.id}"):
            data = rerender(store, record.id, distribution, today=today, folder=folder)
    summary, layout = data.summary, data.layout
    console.print(f"report: {escape(os.path.relpath(layout.report))}")
    console.print(f"all runs: {escape(os.path.relpath(where.store.parent / REPORT_NAME))}")
    verdict = "[green]passed[/]" if summary.ok else f"[bold red]{summary.verdict}[/]"
    console.print(f"verdict: {verdict}")
    return EXIT_OK if summary.ok else 1
