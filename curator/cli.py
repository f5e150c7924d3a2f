"""Command line: argv → the pipeline stages → exit status. The only place that prints or exits."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from curator import __version__
from curator.errors import EXIT_OK, CuratorError, UsageError
from curator.manifest import DEFAULT_MANIFEST, Distribution, Strategy

if TYPE_CHECKING:
    from curator.graph import DependencyGraph
    from curator.results import RunSummary
    from curator.signing import SigningKey

Handler = Callable[[argparse.Namespace, Console], int]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as a `UsageError` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one curator command; returns the exit status (0 ok, 1 unexpected, 2 bad input)."""
    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        args = _parser().parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
        )
        handler: Handler = args.handler
        return handler(args, console)
    except CuratorError as exc:
        errors.print(f"curator: error: {escape(str(exc))}")
        return exc.exit_code
    except KeyboardInterrupt:
        errors.print("curator: interrupted")
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="curator", description="Integration-testing distribution curator.")
    parser.add_argument("--version", action="version", version=f"curator {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command curator runs")
    parser.set_defaults(handler=lambda _args, _console: _usage(parser))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser("check", help="validate the manifest and say what it means")
    _manifest_arg(check)
    _python_arg(check)
    check.add_argument(
        "--resolve",
        action="store_true",
        help="also resolve the blessed set on each Python (network)",
    )
    check.set_defaults(handler=_cmd_check)

    graph = commands.add_parser("graph", help="the resolved dependency graph")
    _manifest_arg(graph)
    _python_arg(graph)
    graph.add_argument("--format", choices=("text", "json", "dot", "svg"), default="text")
    graph.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    graph.set_defaults(handler=_cmd_graph)

    plan = commands.add_parser("plan", help="the cells a run would build, with their keys")
    _manifest_arg(plan)
    _python_arg(plan)
    _strategy_arg(plan)
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.set_defaults(handler=_cmd_plan)

    run = commands.add_parser("run", help="build and test the plan; write results, matrices, report")
    _manifest_arg(run)
    _python_arg(run)
    _strategy_arg(run)
    run.add_argument("--jobs", "-j", type=_positive_int, help="cells at a time (default: the CPU count)")
    run.add_argument("--out", type=Path, help="the run folder (default: a new folder under reports/)")
    run.add_argument("--store", type=Path, help="the results store (default: reports/curator.sqlite)")
    run.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    run.add_argument("--rerun", action="store_true", help="run every cell, even those with a stored outcome")
    run.add_argument("--executor", choices=("local",), default="local", help="where cells run")
    run.add_argument("--plain", action="store_true", help="plain lines instead of a live display")
    run.set_defaults(handler=_cmd_run)

    report = commands.add_parser("report", help="re-render a run's report (and cells.csv, matrices, run.json)")
    report.add_argument("run_ref", metavar="RUN_DIR_OR_ID", help="a run folder (holding run.json) or a run id")
    report.add_argument("--store", type=Path, help="the results store (default: the run folder's, else reports/)")
    report.add_argument(
        "--manifest", type=Path, help=f"the manifest (default: the one the run used, else ./{DEFAULT_MANIFEST})"
    )
    report.add_argument(
        "--format", choices=("html", "json"), default="html", help="html: write the reports; json: print the summary"
    )
    report.set_defaults(handler=_cmd_report)
    _release_parsers(commands)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_OK


def _manifest_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "manifest",
        nargs="?",
        type=Path,
        default=Path(DEFAULT_MANIFEST),
        metavar="MANIFEST",
        help=f"the distribution manifest (default: ./{DEFAULT_MANIFEST})",
    )


def _python_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="X.Y[=PATH]",
        help="only these Pythons of the manifest; =PATH says which interpreter to use",
    )


def _strategy_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strategy",
        type=Strategy,
        choices=list(Strategy),
        metavar="{" + ",".join(Strategy) + "}",
        help="which cells to plan (default: the manifest's matrix.strategy)",
    )


# ----------------------------------------------------------------------- shared steps


def _load(args: argparse.Namespace) -> Distribution:
    from curator import manifest

    return manifest.load(args.manifest)


def _pythons(args: argparse.Namespace, distribution: Distribution) -> tuple[list[str], dict[str, Path]]:
    """The Python axis after `--python` narrowing, and the interpreter paths given."""
    from curator.interpreters import parse_overrides

    selected: list[str] = []
    for value in args.python:
        version = value.partition("=")[0]
        if version not in distribution.python:
            raise UsageError(
                f"--python {version}: not in the python axis of {distribution.where('python')} "
                f"({', '.join(distribution.python)})"
            )
        if version not in selected:
            selected.append(version)
    overrides = parse_overrides([v for v in args.python if "=" in v])
    return (selected or list(distribution.python)), overrides


def _graphs(
    args: argparse.Namespace, distribution: Distribution, versions: Sequence[str] | None = None
) -> dict[str, DependencyGraph]:
    from curator.graph import resolve_graph
    from curator.interpreters import Finder
    from curator.resolve import Resolver, cache_dir

    selected, overrides = _pythons(args, distribution)
    finder = Finder(overrides)
    resolver = Resolver(distribution.index, cache=cache_dir())
    return {
        version: resolve_graph(distribution, finder.find(version), resolver, cache_dir())
        for version in (versions or selected)
    }


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write: {exc.strerror}") from None


# ----------------------------------------------------------------------- commands


def _cmd_check(args: argparse.Namespace, console: Console) -> int:
    from curator import plan as planning
    from curator.interpreters import Finder

    distribution = _load(args)
    versions, overrides = _pythons(args, distribution)
    found = Finder(overrides).find_all(versions)
    graphs = _graphs(args, distribution, versions) if args.resolve else None

    console.print(f"[bold]{escape(distribution.name)} {escape(distribution.version)}[/] — {distribution.path} is valid")
    console.print(f"Packages from: {escape(distribution.index.describe())}")
    console.print("Interpreters:")
    for version, interpreter in found.items():
        console.print(f"  Python {version}: {interpreter.path} ({interpreter.full_version}, {interpreter.source})")

    table = Table(title="Packages", title_justify="left")
    for column in ("package", "candidates", "blessed", "own tests"):
        table.add_column(column)
    for package in distribution.packages:
        table.add_row(
            package.name,
            ", ".join(str(v) for v in package.versions),
            str(package.blessed),
            "; ".join(package.tests) or "—",
        )
    console.print(table)
    if distribution.suites:
        console.print("Suites:")
        for suite in distribution.suites:
            relative = os.path.relpath(suite.path, distribution.root)
            console.print(f"  {suite.name}: {relative} (needs {', '.join(sorted(suite.requires)) or 'nothing'})")
    policy = distribution.policy
    console.print(
        f"Policy: timeout {policy.timeout:g}s per cell, {policy.retries} retr{'y' if policy.retries == 1 else 'ies'}, "
        f"{len(policy.expected_failures)} expected failure(s)"
    )
    if graphs:
        for version, graph in graphs.items():
            edges = ", ".join(f"{e.dependent}→{e.dependency}" for e in graph.manifest_edges()) or "none"
            console.print(f"Resolved on Python {version}: {graph.graph.number_of_nodes()} packages; edges: {edges}")
    counts = planning.counts(distribution, graphs)
    console.print(
        f"Cells per strategy ({len(distribution.python)} Python{'s' if len(distribution.python) > 1 else ''}; "
        f"max_cells {distribution.matrix.max_cells}, default '{distribution.matrix.strategy}'):"
    )
    for strategy, count in counts.items():
        shown = str(count) if count is not None else "needs the graph (curator check --resolve)"
        flag = "  (over max_cells)" if count is not None and count > distribution.matrix.max_cells else ""
        console.print(f"  {strategy:<9} {shown}{flag}")
    return EXIT_OK


def _cmd_graph(args: argparse.Namespace, console: Console) -> int:
    distribution = _load(args)
    versions, _ = _pythons(args, distribution)
    if len(args.python) > 1:
        raise UsageError("curator graph draws one Python at a time: give --python once")
    graph = _graphs(args, distribution, versions[:1])[versions[0]]
    match args.format:
        case "json":
            _emit(json.dumps(graph.to_json(), indent=2) + "\n", args.output)
        case "dot":
            _emit(graph.to_dot(), args.output)
        case "svg":
            _emit(graph.to_svg(), args.output)
        case _:
            _emit(graph.to_text(), args.output)
    if args.output is not None:
        console.print(f"wrote {args.output}")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace, console: Console) -> int:
    from curator import plan as planning

    distribution = _load(args)
    strategy = args.strategy or distribution.matrix.strategy
    versions, _ = _pythons(args, distribution)
    graphs = _graphs(args, distribution, versions) if strategy is Strategy.PAIRS else None
    result = planning.build(distribution, strategy, pythons=versions, graphs=graphs)
    if args.format == "json":
        _emit(json.dumps(result.to_json(), indent=2) + "\n", None)
        return EXIT_OK
    table = Table(title=f"{len(result.cells)} cells — strategy '{strategy}'", title_justify="left")
    for column in ("cell", "python", "changes", "suites", "key"):
        table.add_column(column, overflow="fold")
    for cell in result.cells:
        changes = " ".join(f"{n}=={v}" for n, v in cell.changes) or "(baseline)"
        table.add_row(cell.id, cell.python, changes, str(len(cell.suites)), cell.key)
    console.print(table)
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    import signal
    import threading

    from curator.executors.local import LocalExecutor
    from curator.interpreters import Finder
    from curator.run import Coordinator, RunRequest, default_store
    from curator.terminal import LiveObserver, PlainObserver

    distribution = _load(args)
    versions, overrides = _pythons(args, distribution)
    if args.resume and args.python:
        raise UsageError("--resume runs the stored plan; leave out --python")
    if args.resume:
        versions = list(distribution.python)
    interpreters = Finder(overrides).find_all(versions)
    store = args.store or default_store(distribution)
    request = RunRequest(
        distribution=distribution,
        interpreters=interpreters,
        store_path=store,
        strategy=args.strategy,
        out_dir=args.out,
        rerun=args.rerun,
        resume=args.resume,
    )
    cancel = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    executor = LocalExecutor(args.jobs)
    try:
        if console.is_terminal and not args.plain:
            with LiveObserver(console) as observer:
                summary = Coordinator(request, executor, observer, cancel).execute()
        else:
            summary = Coordinator(request, executor, PlainObserver(console), cancel).execute()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _print_summary(console, summary, args)
    if summary.interrupted:
        return 130
    return EXIT_OK if summary.ok else 1


def _print_summary(console: Console, summary: RunSummary, args: argparse.Namespace) -> None:
    from curator.outcome import Status
    from curator.terminal import style

    counts = "  ".join(f"[{style(Status(k))}]{k}[/] {v}" for k, v in summary.counts.items())
    console.print(f"\n{summary.cells} cells ({summary.reused_cells} reused from earlier runs); suites: {counts}")
    for problem in summary.expired:
        console.print(f"[bold red]expired policy exception[/]: {escape(problem)}")
    gate = (
        "[green]holds[/]"
        if summary.gate_holds
        else f"[bold red]does not hold[/] ({', '.join(summary.failing_baseline) or 'no baseline cell'})"
    )
    console.print(f"release gate (baseline cells): {gate}")
    folder = os.path.relpath(summary.out_dir)
    console.print(f"results: {folder}/cells.csv, {folder}/matrices/, {folder}/run.json")
    console.print(f"report: {folder}/index.html")
    if summary.interrupted:
        parts = ["curator", "run", str(args.manifest), "--resume", summary.run_id]
        if args.store:
            parts += ["--store", str(args.store)]
        console.print(f"[yellow]interrupted[/]: finished cells are kept; continue with: [bold]{' '.join(parts)}[/]")
        return
    verdict = "[green]passed[/]" if summary.ok else "[bold red]failed[/]"
    console.print(f"verdict: {verdict}")


# ----------------------------------------------------------------------- release, verify, diff


def _release_parsers(commands: argparse._SubParsersAction[_Parser]) -> None:
    release = commands.add_parser("release", help="cut the signed, versioned bundle of a run whose gate holds")
    _manifest_arg(release)
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
    release.set_defaults(handler=_cmd_release)

    verify = commands.add_parser("verify", help="re-check every checksum, hash and the signature of a bundle")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE", help="a bundle folder or its .tar.gz")
    verify.add_argument("--pubkey", type=Path, help="the public key you trust (default: the bundle's own)")
    verify.set_defaults(handler=_cmd_verify)

    diff = commands.add_parser("diff", help="what changed between two releases (or two runs)")
    diff.add_argument("old", metavar="OLD", help="a bundle (folder or .tar.gz), a run folder or a run id")
    diff.add_argument("new", metavar="NEW", help="the same kinds as OLD")
    diff.add_argument("--store", type=Path, help="where to look up run ids (default: reports/curator.sqlite)")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.set_defaults(handler=_cmd_diff)


def _signing_key(args: argparse.Namespace) -> SigningKey | None:
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


def _cmd_release(args: argparse.Namespace, console: Console) -> int:
    from curator.interpreters import Finder, parse_overrides
    from curator.release.bundle import ReleaseRequest, cut
    from curator.resolve import cache_dir
    from curator.run import default_store

    distribution = _load(args)
    key = _signing_key(args)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and not epoch.isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r}: must be a whole number of seconds")
    request = ReleaseRequest(
        distribution=distribution,
        store_path=args.store or default_store(distribution),
        run=args.run,
        out_dir=args.out or distribution.root / "dist",
        finder=Finder(parse_overrides(args.python)),
        cache=cache_dir(),
        key=key,
        wheelhouse=args.wheelhouse,
        force=args.force,
        epoch=int(epoch) if epoch is not None else None,
    )
    release = cut(request)
    evidence = release.evidence
    gate = ", ".join(f"{c.cell_id} ({c.describe()})" for c in evidence.baseline.values())
    console.print(f"release gate: [green]holds[/] in run {evidence.run.id}: {escape(gate)}")
    folder = _shown(release.folder)
    wheels = f", {release.wheels} wheels" if args.wheelhouse else ""
    size = f"{release.size / 1e6:.1f} MB" if release.size >= 1e5 else f"{release.size / 1e3:.1f} kB"
    console.print(f"wrote {folder}/ ({release.files} files{wheels}, {size})")
    console.print(f"      {_shown(release.tarball)}  sha256 {release.sha256}")
    since = f"changes since {release.previous}" if release.previous else "first release in this folder"
    console.print(f"{since}: {folder}/CHANGES.md")
    if release.fingerprint is None:
        console.print("[bold yellow]UNSIGNED[/]: cut with --unsigned; SHA256SUMS shows integrity, not who made it")
    else:
        console.print(f"signed SHA256SUMS with ed25519 key {release.fingerprint} (namespace curator)")
    console.print(f"check it with: curator verify {_shown(release.tarball)}")
    return EXIT_OK


def _shown(path: Path) -> str:
    """A path as a person would type it: relative below the working folder, else absolute."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _cmd_verify(args: argparse.Namespace, console: Console) -> int:
    from curator import signing
    from curator.release.verify import verify

    pubkey = None
    if args.pubkey is not None:
        pubkey = signing.load_public_key(signing.read_key_file(args.pubkey).decode("utf-8", "replace"), args.pubkey)
    result = verify(args.bundle, pubkey)
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


def _cmd_diff(args: argparse.Namespace, console: Console) -> int:
    from curator.release.diff import diff

    store = args.store or Path("reports") / "curator.sqlite"
    result = diff(args.old, args.new, store)
    if args.format == "json":
        _emit(json.dumps(result.to_json(), indent=2) + "\n", None)
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


# ----------------------------------------------------------------------- report


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    import datetime as dt

    from curator import manifest
    from curator.report.html import REPORT_NAME, render_index, render_run
    from curator.report.locate import locate, manifest_for
    from curator.results import frame, summarize, write_outputs
    from curator.store import Store

    where = locate(args.run_ref, store=args.store, manifest=args.manifest)
    with Store(where.store) as store:
        record = store.run(where.run_id)
        distribution = manifest.load(manifest_for(record, args.manifest))
        out_dir = (where.out_dir or Path(record.out_dir)).resolve()
        today = dt.date.fromtimestamp(record.started)  # judge expiry as on the day the run ran
        interrupted = record.status != "finished"
        if args.format == "json":
            planned = len(json.loads(record.plan)["cells"])
            table = frame(store, record.id)
            summary = summarize(
                table, record.id, out_dir, distribution, today, planned=planned, interrupted=interrupted
            )
            data = {
                "distribution": record.distribution,
                "version": record.version,
                **summary.to_json(),
                "report": str(out_dir / REPORT_NAME),
            }
            _emit(json.dumps(data, indent=2) + "\n", None)
            return EXIT_OK if summary.ok else 1
        summary = write_outputs(store, record.id, distribution, out_dir, today, interrupted=interrupted)
        report = render_run(store, record.id, distribution, out_dir, today=today, summary=summary)
        index = render_index(store)
    console.print(f"report: {os.path.relpath(report)}")
    console.print(f"all runs: {os.path.relpath(index)}")
    verdict = "[green]passed[/]" if summary.ok else f"[bold red]{summary.verdict}[/]"
    console.print(f"verdict: {verdict}")
    return EXIT_OK if summary.ok else 1
