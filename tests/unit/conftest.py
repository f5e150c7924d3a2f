"""Unit tests are pure logic: any attempt to start a process fails the test."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest


class _NoProcesses(subprocess.Popen):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"unit tests must not start processes: {args[0] if args else kwargs}")


@pytest.fixture(scope="session", autouse=True)
def _fonts_known() -> None:
    """matplotlib asks fontconfig (a process) for the system fonts once per machine; let it do so
    before the guard against processes goes up, whichever unit test draws first."""
    from matplotlib import font_manager

    assert font_manager.fontManager.ttflist


@pytest.fixture(autouse=True)
def _no_subprocesses(monkeypatch: pytest.MonkeyPatch, _fonts_known: None) -> None:
    monkeypatch.setattr(subprocess, "Popen", _NoProcesses)
