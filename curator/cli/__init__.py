"""Command line: argv → the pipeline stages → exit status. The only place that prints or exits.

Each module here holds a few commands and registers them; `main` parses and dispatches, and is
the one place that turns a `CuratorError` into a message and an exit status.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from curator import __version__
from curator.cli import channels, ci, explore, releasing, running, stores
from curator.cli import nights as nightly
from curator.cli.common import Handler, Parser
from curator.host.inputs import one_line
from curator.model.errors import EXIT_OK, CuratorError, ManifestError, UsageError


def main(argv: Sequence[str] | None = None) -> int:
    """Run one curator command; returns the exit status (0 ok, 1 unexpected, 2 bad input)."""
    _tolerant_streams()
    console = Console(highlight=False, soft_wrap=True, emoji=False)
    errors = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    log = logging.getLogger("curator")
    to_stderr = logging.StreamHandler()
    to_stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.addHandler(to_stderr)  # curator's own logger only: a program calling main() keeps its logging
    try:
        args = _parser().parse_args(argv)
        log.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
        handler: Handler = args.handler
        return handler(args, console)
    except CuratorError as exc:
        message = one_line(str(exc)) if isinstance(exc, UsageError) else str(exc)  # bad input: one line
        errors.print(f"curator: error: {escape(message)}")
        if isinstance(exc, ManifestError) and ci.annotations_wanted(None, list(argv or sys.argv[1:])):
            ci.annotate_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        errors.print("curator: interrupted")
        return 130
    finally:
        log.removeHandler(to_stderr)


def _tolerant_streams() -> None:
    """Let stdout and stderr print any character: one the terminal's encoding lacks (`—` under
    PYTHONIOENCODING=ascii, a surrogate-escaped byte of a file name) is shown escaped, not a crash."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors in ("strict", "surrogateescape"):
            stream.reconfigure(errors="backslashreplace")


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="curator", description="Integration-testing distribution curator.")
    parser.add_argument("--version", action="version", version=f"curator {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command curator runs")
    parser.set_defaults(handler=lambda _args, _console: _usage(parser))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    explore.register(commands)
    running.register(commands)
    releasing.register(commands)
    channels.register(commands)
    nightly.register(commands)
    stores.register(commands)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_OK
