"""Typed errors; `cli.main` is the one place that turns them into messages and exit statuses."""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2


class CuratorError(Exception):
    """Base of every error curator reports to a user; `exit_code` is the process status."""

    exit_code: int = EXIT_UNEXPECTED


class UsageError(CuratorError):
    """Bad arguments or bad input: a one-line message, exit status 2."""

    exit_code = EXIT_BAD_INPUT


class ManifestError(UsageError):
    """A mistake in a manifest, located as `FILE:LINE:COL: message`."""

    def __init__(self, path: Path | str, line: int, column: int, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"{self.path}:{line}:{column}: {message}")


class SignersError(UsageError):
    """A mistake in an OpenSSH allowed_signers file, located as `FILE:LINE: message` (exit 2)."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}")


class InterpreterNotFound(UsageError):
    """A Python version the manifest asks for is not on this machine."""


class PlanTooLarge(UsageError):
    """A plan has more cells than `matrix.max_cells` allows."""


class CoverTooLarge(PlanTooLarge):
    """The covering array would take more than its step budget to build."""


class UpstreamError(UsageError):
    """The package index (or a find-links folder) could not be read: the nightly cannot tell what is
    new, and says so instead of reporting "nothing new" (exit status 2, naming the index)."""


class StoreDamaged(UsageError):
    """A results store SQLite reports as damaged (a malformed page, a header that is not SQLite's):
    one line naming the store and `curator store check`, exit status 2."""


class StoreLost(UsageError):
    """A results store that holds fewer runs than it once did (emptied, replaced, or its `-wal` file
    lost): refused rather than silently started over, exit status 2."""


class Busy(UsageError):
    """A run folder (or a release folder) another curator process holds: exit status 2, naming the
    folder and its holder."""


class ToolError(CuratorError):
    """An external tool (uv, nox) failed for a reason that is not the user's input."""


class ExecutorLost(CuratorError):
    """The executor itself went away mid-run (a dask scheduler that closed): the cells recorded
    so far are kept and the run can be resumed (exit 1)."""


class GateNotMet(CuratorError):
    """The release gate does not hold (exit 1)."""


class NotASigner(CuratorError):
    """A key (or a signature) that is not one of the signers a bundle names, or whose signature
    would count for nothing: refused, nothing written (exit 1)."""


class ThresholdNotMet(CuratorError):
    """A change of a channel signed by fewer of its signers than a threshold it needs: refused,
    nothing written (exit 1); `shortfall` says each count that falls short."""

    def __init__(self, message: str, shortfall: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.shortfall = shortfall


class VerifyMismatch(CuratorError):
    """A bundle does not match its checksums or signature (exit 1); `problems` names each file."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems
