"""Unit tests are pure logic: any attempt to start a process fails the test."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest


class _NoProcesses(subprocess.Popen):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"unit tests must not start processes: {args[0] if args else kwargs}")


@pytest.fixture(autouse=True)
def _no_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "Popen", _NoProcesses)
