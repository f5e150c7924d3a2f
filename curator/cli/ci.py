"""Where CI users look: one JUnit file, the job's summary page, annotations on the manifest.

`--junit FILE` writes the run as JUnit XML; with `$GITHUB_STEP_SUMMARY` set (or `--summary FILE`)
a Markdown summary is appended; with `--github-annotations` (automatic when
`GITHUB_ACTIONS=true`) problems are printed as workflow commands that GitHub shows on the
manifest's lines. Nothing is sent anywhere: these are files and lines on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from curator.host.layout import atomic_write
from curator.model.errors import ManifestError, UsageError

if TYPE_CHECKING:
    from curator.report.data import RunData


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--junit`, `--summary`, `--report-url`, `--github-annotations`."""
    group = parser.add_argument_group("CI")
    group.add_argument("--junit", type=Path, metavar="FILE", help="also write the run as one JUnit XML file")
    group.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="append a Markdown summary to FILE (default: $GITHUB_STEP_SUMMARY when it is set)",
    )
    group.add_argument(
        "--report-url", metavar="URL", help="where the HTML report is published, linked from the summary"
    )
    group.add_argument(
        "--github-annotations",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print problems as GitHub workflow commands (default: on when GITHUB_ACTIONS=true)",
    )


def annotations_wanted(args: argparse.Namespace | None, argv: Sequence[str] = ()) -> bool:
    """Whether to print annotations: the flag when given, else whether this is GitHub Actions."""
    flag = getattr(args, "github_annotations", None) if args is not None else None
    if flag is None and "--github-annotations" in argv:
        flag = True
    if flag is None and "--no-github-annotations" in argv:
        flag = False
    return os.environ.get("GITHUB_ACTIONS") == "true" if flag is None else bool(flag)


def annotate_error(error: ManifestError) -> None:
    """A manifest mistake as an `::error` line."""
    from curator.report.github import for_manifest_error

    _emit([for_manifest_error(error).render()])


def summary_file(args: argparse.Namespace) -> Path | None:
    """Where the Markdown summary goes: `--summary`, else `$GITHUB_STEP_SUMMARY` when it is set."""
    if args.summary is not None:
        return Path(args.summary)
    return Path(os.environ["GITHUB_STEP_SUMMARY"]) if os.environ.get("GITHUB_STEP_SUMMARY") else None


def check_outputs(args: argparse.Namespace) -> None:
    """Bad input, before any work starts: a JUnit file or a summary curator could not write once the
    run is over (a folder, a device, a place it cannot write in) — said now, not after the run."""
    if args.junit is not None:
        _writable_file(args.junit, f"--junit {args.junit}", replaced=True)
    target = summary_file(args)
    if target is not None:
        label = f"--summary {target}" if args.summary is not None else f"$GITHUB_STEP_SUMMARY {target}"
        _writable_file(target, label, replaced=False)


def _writable_file(path: Path, label: str, *, replaced: bool) -> None:
    """`path` can be written: `replaced` (a new file renamed over it, folders made as needed), or
    appended to (an existing file, or a new one in an existing folder)."""
    from curator.host.inputs import text_name, writable_folder

    text_name(path, label)
    try:
        if path.is_dir():
            raise UsageError(f"{label}: is a folder; name a file")
        if os.path.lexists(path):
            if replaced and not path.is_file():
                raise UsageError(f"{label}: exists and is not a regular file (it would be replaced)")
            if not replaced:
                with path.open("a", encoding="utf-8"):
                    pass  # opened to append, nothing written: the test the end of the run will pass
                return
        elif not replaced and not path.parent.is_dir():
            raise UsageError(f"{label}: its folder {path.parent} does not exist")
    except OSError as exc:
        raise UsageError(f"{label}: cannot write it ({exc.strerror})") from None
    except ValueError:
        raise UsageError(f"{label}: not a usable file name") from None
    writable_folder(path.parent, f"{label}: its folder {path.parent}")


def publish(args: argparse.Namespace, data: RunData, *, sections: Sequence[str] = ()) -> list[Path]:
    """The JUnit file, the summary and the annotations this invocation asked for; the files written."""
    from curator.report import github, junit, markdown

    written = []
    if args.junit is not None:
        try:
            atomic_write(args.junit, junit.render(data))
        except OSError as exc:
            raise UsageError(f"--junit {args.junit}: cannot write it ({exc.strerror})") from None
        written.append(args.junit)
    target = summary_file(args)
    if target is not None:
        text = markdown.render(data, report_url=args.report_url, sections=sections)
        try:
            with target.open("a", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as exc:
            raise UsageError(f"{target}: cannot append the summary ({exc.strerror})") from None
        written.append(target)
    if annotations_wanted(args):
        # beside `--format json` on stdout they go to stderr, which the runner reads for commands too
        stream = sys.stderr if getattr(args, "format", "text") == "json" else sys.stdout
        _emit([a.render() for a in github.for_run(data)], stream)
    return written


def _emit(lines: Sequence[str], stream: TextIO | None = None) -> None:
    """Workflow commands are plain lines, never through rich (no wrapping, no markup)."""
    out = stream or sys.stdout
    for line in lines:
        out.write(line + "\n")
    out.flush()
