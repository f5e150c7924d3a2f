"""The two faces of progress: a live rich display in a terminal, plain lines in CI."""

from __future__ import annotations

import time
from collections import Counter

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from curator.model.outcome import CURATOR_FAILED, NOT_TESTED, CellOutcome, Status
from curator.plan.cells import Cell
from curator.resolve.lock import mentioned

STYLES = {
    Status.PASSED: "green",
    Status.FLAKY: "yellow",
    Status.EXPECTED_FAIL: "cyan",
    Status.SKIPPED: "dim",
    Status.UNRESOLVABLE: "magenta",
    Status.UNEXPECTED_PASS: "bold yellow",
}


def style(status: Status) -> str:
    """The colour a status is shown in."""
    return STYLES.get(status, "bold red")


def describe(cell: Cell, outcome: CellOutcome, *, reused: bool) -> str:
    """One line about a finished cell (rich markup)."""
    status = outcome.status
    if not outcome.tested:
        return (
            f"[dim]{NOT_TESTED:<15}[/] {escape(cell.id)}: no executor serves {escape(cell.platform)}; its lock is kept"
        )
    suites = ", ".join(
        f"{escape(s.suite)} [{style(s.status)}]{s.status}[/]" for s in outcome.suites if s.status is not Status.PASSED
    )
    detail = suites or f"{len(outcome.suites)} suite{'s' if len(outcome.suites) != 1 else ''} passed"
    where = " (reused)" if reused else f" in {outcome.duration:.1f}s"
    line = f"[{style(status)}]{status:<15}[/] {escape(cell.id)}{where}: {detail}"
    refusals = [s.reason for s in outcome.suites if s.status is Status.UNRESOLVABLE]
    if refusals and (named := mentioned(refusals[0], cell.pins)):
        line += f" (the resolver names {escape(', '.join(named))})"
    if broken := next((s.reason for s in outcome.suites if s.reason.startswith(CURATOR_FAILED)), ""):
        line += f"\n                {escape(broken)}"
    if status.is_failure or status in (Status.TIMEOUT, Status.INSTALL_ERROR):
        line += f"\n                reproduce: [bold]{escape(outcome.reproduce)}[/]" if outcome.reproduce else ""
    return line


class PlainObserver:
    """One line per finished cell, for logs and CI."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = 0
        self.done = 0

    def phase(self, name: str, total: int) -> None:
        """Announce a phase."""
        self.total, self.done = total, 0
        if total:
            self.console.print(f"{name} {total} cell{'s' if total != 1 else ''}")

    def step(self, name: str, detail: str) -> None:
        """A line for a step worth reading (a split); resolving is quick and says nothing."""
        if name != "resolving":
            self.console.print(f"  {escape(detail)}")

    def cell_started(self, cell: Cell) -> None:
        """Nothing: CI logs want results, not chatter."""

    def cell_note(self, cell: Cell, text: str) -> None:
        """A line: what a cell waits for is worth seeing in a CI log too."""
        self.console.print(f"      {escape(cell.id)}: {escape(text)}")

    def cell_finished(self, cell: Cell, outcome: CellOutcome, *, reused: bool) -> None:
        """A line for the cell."""
        self.done += 1
        self.console.print(f"[{self.done}/{max(self.total, self.done)}] {describe(cell, outcome, reused=reused)}")


class LiveObserver:
    """A rich live display: overall bar with ETA, counts by status, the cells running now."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}
        self.running: dict[str, float] = {}
        self.counts: Counter[Status] = Counter()
        self.live = Live(self.view(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveObserver:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self.view())
        self.live.__exit__(None, None, None)

    def view(self) -> Group:
        """What the display shows now."""
        counts = Text(
            "  ".join(f"{status}: {n}" for status, n in sorted(self.counts.items(), key=lambda i: i[0].severity))
        )
        running = Table.grid(padding=(0, 2))
        for cell_id, since in sorted(self.running.items(), key=lambda item: item[1]):
            running.add_row(Text(f"  running {cell_id}"), Text(f"{time.monotonic() - since:.0f}s", style="dim"))
        return Group(self.progress, counts, running)

    def phase(self, name: str, total: int) -> None:
        """A new bar."""
        self.tasks[name] = self.progress.add_task(name, total=total)
        self.live.update(self.view())

    def step(self, name: str, detail: str) -> None:
        """Advance the phase's bar (and print a step worth reading: a split)."""
        self.progress.advance(self.tasks[name])
        if name != "resolving":
            self.console.print(escape(detail))

    def cell_started(self, cell: Cell) -> None:
        """Show it as running."""
        self.running[cell.id] = time.monotonic()
        self.live.update(self.view())

    def cell_note(self, cell: Cell, text: str) -> None:
        """A line above the display."""
        self.console.print(f"[dim]{escape(cell.id)}: {escape(text)}[/]")

    def cell_finished(self, cell: Cell, outcome: CellOutcome, *, reused: bool) -> None:
        """Count it, print its line above the display, advance the bar."""
        self.running.pop(cell.id, None)
        for suite in outcome.suites if outcome.tested else ():
            self.counts[suite.status] += 1
        self.console.print(describe(cell, outcome, reused=reused))
        if "testing" in self.tasks:
            self.progress.advance(self.tasks["testing"])
        self.live.update(self.view())
