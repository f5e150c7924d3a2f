"""What every command shares: argument helpers, loading the manifest, choosing Pythons."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console

from curator.host.inputs import text_name, writable_folder
from curator.model.distribution import DEFAULT_MANIFEST, Distribution, Strategy
from curator.model.errors import UsageError
from curator.model.ids import Platform, PyVersion

if TYPE_CHECKING:
    from curator.execute.executors.interface import Executor
    from curator.execute.progress import Observer
    from curator.release.signing import SigningKey
    from curator.resolve.graph import DependencyGraph

Handler = Callable[[argparse.Namespace, Console], int]


class Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as a `UsageError` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def manifest_arg(parser: argparse.ArgumentParser) -> None:
    """The optional MANIFEST positional (default ./distribution.yaml)."""
    parser.add_argument(
        "manifest",
        nargs="?",
        type=Path,
        default=Path(DEFAULT_MANIFEST),
        metavar="MANIFEST",
        help=f"the distribution manifest (default: ./{DEFAULT_MANIFEST})",
    )


def accept_lost_runs_arg(parser: argparse.ArgumentParser) -> None:
    """`--accept-lost-runs`: go on with a store that lost runs it once held (docs/running.md)."""
    parser.add_argument(
        "--accept-lost-runs",
        action="store_true",
        help="go on with a results store that lost runs it held (emptied, replaced, its -wal deleted)",
    )


def python_arg(parser: argparse.ArgumentParser) -> None:
    """`--python X.Y[=PATH]`, repeatable."""
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="X.Y[=PATH]",
        help="only these Pythons of the manifest; =PATH says which interpreter to use",
    )


def strategy_arg(parser: argparse.ArgumentParser) -> None:
    """`--strategy`, one of the five strategies."""
    parser.add_argument(
        "--strategy",
        type=_strategy,
        metavar="{" + ",".join(Strategy) + "}",
        help="which cells to plan (default: the manifest's matrix.strategy)",
    )


def output_args(parser: argparse.ArgumentParser, json_help: str) -> None:
    """`--plain`, `--format text|json` and the CI outputs (`--junit`, `--summary` …) of a run or a nightly."""
    from curator.cli import ci

    parser.add_argument("--plain", action="store_true", help="plain lines instead of a live display")
    parser.add_argument("--format", choices=("text", "json"), default="text", help=f"json: {json_help} (docs/json.md)")
    ci.add_arguments(parser)


def ready_to_report() -> None:
    """Import what writing a run's report needs (pandas, jinja2, matplotlib: about 1 s on a small
    machine), compile its templates and draw a first picture."""
    from curator.report import charts, html

    html.warm()
    charts.warm()


@contextlib.contextmanager
def preloading(load: Callable[[], object] = ready_to_report) -> Iterator[None]:
    """Run `load` on a thread of its own while the body runs — a run's coordinator mostly waits for
    its cells — so the report after it starts warm. On a normal exit it is waited for; an exception
    leaves it to finish (or not) behind it."""

    def quietly() -> None:
        with contextlib.suppress(Exception):  # what fails here fails again, and is reported, where it is needed
            load()

    thread = threading.Thread(target=quietly, name="curator-preload", daemon=True)
    thread.start()
    yield
    thread.join()


@contextlib.contextmanager
def observed(args: argparse.Namespace, console: Console) -> Iterator[Observer]:
    """How a run shows its progress: a live display on a terminal, plain lines otherwise (`--plain`),
    and on stderr when stdout carries `--format json`."""
    from curator.cli.terminal import LiveObserver, PlainObserver

    progress = console
    if args.format == "json":
        progress = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    if progress.is_terminal and not args.plain:
        with LiveObserver(progress) as live:
            yield live
    else:
        yield PlainObserver(progress)


def executor_args(parser: argparse.ArgumentParser) -> None:
    """`--jobs`, `--executor local|dask` and `--scheduler ADDRESS`: where cells run."""
    parser.add_argument(
        "--jobs", "-j", type=positive_int, help="cells at a time, or a LocalCluster's workers (default: the CPU count)"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where cells run: this machine, or a dask.distributed cluster (pip install 'curator[dask]')",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: a running scheduler (tcp://HOST:8786); default: a LocalCluster of --jobs workers",
    )


@contextlib.contextmanager
def open_executor(args: argparse.Namespace, distribution: Distribution | None = None) -> Iterator[Executor]:
    """The executor the arguments ask for, ready for as long as the context lasts (a LocalCluster's
    workers advertising the platforms of `distribution` this machine serves)."""
    if args.executor == "local":
        if args.scheduler:
            raise UsageError(f"--scheduler {args.scheduler}: a scheduler is for --executor dask")
        from curator.execute.executors.local import LocalExecutor

        yield LocalExecutor(args.jobs)
        return
    from curator.execute.executors import dask

    here: list[Platform] = []
    if distribution is not None and distribution.platforms is not None:
        from curator.host import targets as platforms

        here = [p for p in distribution.platforms.every if platforms.served_here(p)]
    with dask.connect(args.scheduler, args.jobs, here) as executor:
        yield executor


def executor_words(args: argparse.Namespace) -> list[str]:
    """The executor arguments again, as a command to repeat them (`--resume`) writes them."""
    words = ["--executor", args.executor] if args.executor != "local" else []
    return words + (["--scheduler", args.scheduler] if args.scheduler else [])


def _strategy(text: str) -> Strategy:
    try:
        return Strategy(text)
    except ValueError:
        hint = difflib.get_close_matches(text, list(Strategy), n=1)
        close = f"did you mean '{hint[0]}'? " if hint else ""
        raise argparse.ArgumentTypeError(f"'{text}' is not a strategy; {close}choose {', '.join(Strategy)}") from None


@contextlib.contextmanager
def cancelled_by_signals() -> Iterator[threading.Event]:
    """An event the first Ctrl-C (or SIGTERM) sets, so running cells stop cleanly and finished ones
    are kept; a second one stops at once (`KeyboardInterrupt`). The handlers are restored after."""
    cancel = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield cancel
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def load_manifest(args: argparse.Namespace) -> Distribution:
    """The parsed manifest named by the arguments."""
    from curator import manifest

    return manifest.load(args.manifest)


def python_axis(args: argparse.Namespace, distribution: Distribution) -> tuple[list[PyVersion], dict[str, Path]]:
    """The Python axis after `--python` narrowing, and the interpreter paths given."""
    from curator.resolve.interpreters import parse_overrides

    selected: list[PyVersion] = []
    for value in args.python:
        version = PyVersion(value.partition("=")[0])
        if version not in distribution.python:
            raise UsageError(
                f"--python {version}: not in the python axis of {distribution.where('python')} "
                f"({', '.join(distribution.python)})"
            )
        if version not in selected:
            selected.append(version)
    overrides = parse_overrides([v for v in args.python if "=" in v])
    return (selected or list(distribution.python)), overrides


def resolve_graphs(
    args: argparse.Namespace,
    distribution: Distribution,
    versions: Sequence[PyVersion] | None = None,
    *,
    with_runner: bool = False,
) -> dict[PyVersion, DependencyGraph]:
    """Each selected Python's dependency graph, from its resolved baseline (network); with
    `with_runner`, the baseline is also resolved as a run resolves it (`graph.check_runner`)."""
    from curator.host.layout import cache_dir
    from curator.resolve.graph import check_runner, resolve_graph
    from curator.resolve.interpreters import Finder
    from curator.resolve.lock import Resolver

    selected, overrides = python_axis(args, distribution)
    finder = Finder(overrides)
    resolver = Resolver(distribution.index, cache=cache_dir())
    graphs = {}
    for version in versions or selected:
        interpreter = finder.find(version)
        graphs[version] = resolve_graph(distribution, interpreter, resolver, cache_dir())
        if with_runner:
            check_runner(distribution, interpreter, resolver)
    return graphs


SCHEMA_VERSION = 1
"""The version of every `--format json` document (docs/json.md); bumped on an incompatible change."""


def emit_json(command: str, data: dict[str, object], output: Path | None = None) -> None:
    """A `--format json` document: `schema_version` and `command` first, then the command's fields."""
    emit(json.dumps({"schema_version": SCHEMA_VERSION, "command": command, **data}, indent=2) + "\n", output)


def emit(text: str, output: Path | None) -> None:
    """Machine output: to stdout, or to `output` when one is given."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write: {exc.strerror}") from None


def store_file(path: Path, option: str, *, must_exist: bool) -> None:
    """Bad input, before any work starts: `path` cannot be (or, with `must_exist`, is not) a results store."""
    text_name(path, f"{option} {path}")
    try:
        exists = os.path.lexists(path)
        if exists and not path.is_file():
            raise UsageError(f"{option} {path}: not a results store (not a regular file)")
    except (OSError, ValueError):
        raise UsageError(f"{option} {path}: not a usable file name") from None
    if exists:
        return
    if must_exist:
        raise UsageError(f"{option} {path}: no results store there; give --store PATH (the curator.sqlite a run wrote)")
    writable_folder(path.parent, f"{option} {path}: its folder {path.parent}")


def run_arguments(args: argparse.Namespace, distribution: Distribution) -> Path:
    """Bad input of `run` and `nightly`, refused before any work starts (nothing is probed, resolved
    or created): an empty `--resume`, a manifest, `--out` or `--store` curator could not record or
    write, and a `--junit` or `--summary` it could not write at the end. The store's path."""
    from curator.cli import ci
    from curator.host import layout

    if args.resume is not None and not args.resume.strip():
        raise UsageError("--resume: give the id of the run to finish (it is empty)")
    text_name(distribution.path, str(distribution.path))
    store: Path = args.store or layout.default_store(distribution.root)
    store_file(store, "--store", must_exist=False)
    if args.out is not None:
        writable_folder(args.out, f"--out {args.out}")
    ci.check_outputs(args)
    return store


def shown(path: Path) -> str:
    """A path as a person would type it: relative below the working folder, else absolute."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def load_key(text: bytes, where: str) -> SigningKey:
    """A private key's bytes as a signing key, its passphrase from $CURATOR_SIGNING_PASSPHRASE or,
    on a terminal, asked for."""
    import getpass

    from curator.release import signing

    passphrase = os.environ.get("CURATOR_SIGNING_PASSPHRASE")
    if passphrase is None and signing.key_needs_passphrase(text) and sys.stdin.isatty():
        passphrase = getpass.getpass(f"passphrase for {where}: ")
    return signing.load_signing_key(text, where, passphrase.encode() if passphrase is not None else None)
