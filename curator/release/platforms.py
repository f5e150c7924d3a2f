"""A release's platforms: each platform's locks, as shipped, and what `release.json` says of them.

A manifest that names platforms has a baseline cell per Python on each; its lock was resolved for
that platform (`uv pip compile --python-platform`), so it holds the hashes of that platform's
wheels only. The bundle ships each as `locks/py<X.Y>-<platform>.txt` (without the test runner)
with its pylock, and `locks/py<X.Y>.txt` stays the primary platform's (the first tested), so a
user or a tool that knows only that name installs as before. `release.json` lists the platforms:
whether each is tested or only locked, whether the gating run tested it, and its files per Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from curator.host.layout import BundleLayout
from curator.model import codec
from curator.model.distribution import Distribution
from curator.model.errors import GateNotMet
from curator.model.ids import Platform, PyVersion
from curator.resolve.lock import Lock
from curator.results.gate import Coverage, PlatformState, Role

Target = tuple[PyVersion, Platform]
"""One lock of a release: a Python on a platform."""


@dataclass(frozen=True)
class PlatformLock:
    """One Python's files on one platform, as `release.json` names them."""

    lock: str  # `locks/py3.12-x86_64-pc-windows-msvc.txt`
    pylock: str  # `locks/pylock.py312-x86_64-pc-windows-msvc.toml`
    packages: Mapping[str, str]  # name → version


@dataclass(frozen=True)
class ShippedPlatform:
    """A platform of the release (`release.json` `platforms`): asked to be tested or only locked, what
    the gating run did there ("tested" or "locked, not tested"), and its locks per Python."""

    platform: Platform
    role: Role
    coverage: Coverage
    pythons: Mapping[PyVersion, PlatformLock]


def label(target: Target) -> str:
    """`3.12-x86_64-pc-windows-msvc`: a platform's lock where a name is wanted (wheelhouse, messages)."""
    python, platform = target
    return f"{python}-{platform}"


V = TypeVar("V")


def by_label(per_python: Mapping[PyVersion, V], per_target: Mapping[Target, V]) -> dict[str, V]:
    """The primary locks' values by Python (`3.12`) and every platform's by `label`, in one mapping."""
    return {str(python): value for python, value in per_python.items()} | {
        label(target): value for target, value in per_target.items()
    }


def shipped(
    distribution: Distribution, platform_locks: Mapping[Target, Lock], cells: Mapping[Target, str]
) -> dict[Target, Lock]:
    """Every platform's baseline lock without the test runner, for every Python, in the manifest's
    order; `GateNotMet` when one does not hold the whole blessed set (`cells` names each lock's cell)."""
    if distribution.platforms is None:
        return {}
    found: dict[Target, Lock] = {}
    for python in distribution.python:
        for platform in distribution.platforms.every:
            lock = platform_locks[python, platform].closure(distribution.package_names)
            missing = [f"{n}=={v}" for n, v in distribution.blessed.items() if lock.versions.get(n) != v]
            if missing:
                raise GateNotMet(
                    f"{cells[python, platform]} did not install {', '.join(missing)} on {platform} "
                    "(matrix.scope: involved?): its baseline did not test the distribution as it would ship"
                )
            found[python, platform] = lock
    return found


def lock_text(distribution: Distribution, target: Target, lock: Lock, cell: str, run: str) -> str:
    """A platform's `locks/py<X.Y>-<platform>.txt`: a header saying what it is, then the lock."""
    python, platform = target
    name = BundleLayout(Path()).lock(python, platform).name
    return (
        f"# {distribution.name} {distribution.version} for Python {python} on {platform}: "
        f"pip install --require-hashes -r {name} (on that platform)\n"
        f"# the lock of cell {cell} of run {run}, resolved for {platform}, without the test runner\n" + lock.text
    )


def record(states: tuple[PlatformState, ...], locks: Mapping[Target, Lock]) -> list[object]:
    """The `platforms` part of `release.json`: one `ShippedPlatform` per platform, as JSON."""
    layout = BundleLayout(Path())
    shipped_platforms = [
        ShippedPlatform(
            platform=state.platform,
            role=state.role,
            coverage=state.coverage,
            pythons={
                python: PlatformLock(
                    lock=layout.lock(python, platform).as_posix(),
                    pylock=layout.pylock(python, platform).as_posix(),
                    packages={str(pin.name): str(pin.version) for pin in lock.pins},
                )
                for (python, platform), lock in locks.items()
                if platform == state.platform
            },
        )
        for state in states
    ]
    return [codec.to_json(entry) for entry in shipped_platforms]
