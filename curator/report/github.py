"""GitHub Actions annotations: a problem shown on the manifest line it is about.

Workflow commands (`::error file=…,line=…,col=…,title=…::message`) are plain lines on stdout;
GitHub turns them into annotations on the pull request's changed files. A manifest mistake is
annotated where it is; an unexpected outcome on the line of the package its cell changed (or,
for a baseline cell, of the suite, or of the package whose own tests failed); an expired
exception on its rule's line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from curator.model.errors import ManifestError
from curator.model.outcome import expired_rules
from curator.model.pins import Pins
from curator.report.data import RunData

MAX_ANNOTATIONS = 50  # GitHub shows at most 10 errors per step in the UI and 50 per run


@dataclass(frozen=True)
class Annotation:
    """One workflow command."""

    level: str  # error | warning | notice
    file: str
    line: int
    col: int
    title: str
    message: str

    def render(self) -> str:
        """The `::level file=…::message` line, escaped as the workflow-command syntax requires."""
        properties = ",".join(
            f"{name}={_property(value)}"
            for name, value in (
                ("file", self.file),
                ("line", str(self.line)),
                ("col", str(self.col)),
                ("title", self.title),
            )
        )
        return f"::{self.level} {properties}::{_data(self.message)}"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def shown_path(path: Path) -> str:
    """A file as GitHub names it: relative to the workspace (the checkout) when it is inside it."""
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd()).resolve()
    resolved = path.resolve()
    return resolved.relative_to(workspace).as_posix() if resolved.is_relative_to(workspace) else str(resolved)


def for_manifest_error(error: ManifestError) -> Annotation:
    """A manifest mistake, where it is."""
    return Annotation("error", shown_path(error.path), error.line, error.column, "curator: bad manifest", error.message)


def for_run(data: RunData) -> list[Annotation]:
    """An annotation per unexpected outcome (one per cell and cause) and per expired exception."""
    dist = data.distribution
    file = shown_path(dist.path)
    found: list[Annotation] = []
    seen: set[tuple[int, str]] = set()
    cells = {r.cell_id: r for r in data.records}
    for item in data.summary.unexpected:
        record = cells[item.cell]
        key = _anchor(record.changes, item.suite)
        line, col = dist.locations.get(key, (1, 1))
        cause = item.signature or item.reason
        if (line, cause) in seen:
            continue
        seen.add((line, cause))
        title = f"curator: {item.status} in {item.cell}"
        message = f"{item.suite}: {cause}"
        if record.outcome.reproduce:
            message += f"\nreproduce: {record.outcome.reproduce} -- {item.suite}"
        found.append(Annotation("error", file, line, col, title, message))
    for rule in expired_rules(dist.policy, data.today):
        found.append(
            Annotation(
                "error",
                file,
                rule.line,
                1,
                "curator: expired exception",
                f"'{rule.describe()}' expired on {rule.expires}: renew it with a new date, or remove it",
            )
        )
    return found[:MAX_ANNOTATIONS]


def _anchor(changes: Pins, suite: str) -> str:
    """The manifest key an outcome is about: the first package its cell changed, else the package
    whose own tests it is, else its suite."""
    if changes:
        return f"packages.{next(iter(changes))}"
    if suite.endswith(":tests"):
        return f"packages.{suite.removesuffix(':tests')}"
    return f"suites.{suite}"
