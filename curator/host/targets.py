"""Platforms: uv's `--python-platform` targets, the one this machine is, and which it can run.

A distribution names its platforms (`platforms.tested`, `platforms.locked`) as uv's targets, so a
name in the manifest is exactly what uv is given. Each target stands for one wheel platform tag
(`x86_64-pc-windows-msvc` is `win_amd64`, `x86_64-manylinux_2_28` is `manylinux_2_28_x86_64`, as
uv defines them); a machine *serves* a target when that tag is among the tags it installs, so a
glibc 2.36 machine runs the cells of `x86_64-manylinux_2_28`, whose locks hold only wheels it can
install. This machine's own target is the most specific one that describes it
(`x86_64-manylinux_2_36` on glibc 2.36): the default of `platforms.tested`.

Pure: the tags of the running interpreter are read through `packaging.tags`, never a process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

TARGETS: tuple[str, ...] = (
    "x86_64-pc-windows-msvc",
    "aarch64-pc-windows-msvc",
    "i686-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "aarch64-unknown-linux-musl",
    "x86_64-unknown-linux-musl",
    "riscv64-unknown-linux",
    "x86_64-manylinux2014",
    "x86_64-manylinux_2_17",
    "x86_64-manylinux_2_28",
    "x86_64-manylinux_2_31",
    "x86_64-manylinux_2_32",
    "x86_64-manylinux_2_33",
    "x86_64-manylinux_2_34",
    "x86_64-manylinux_2_35",
    "x86_64-manylinux_2_36",
    "x86_64-manylinux_2_37",
    "x86_64-manylinux_2_38",
    "x86_64-manylinux_2_39",
    "x86_64-manylinux_2_40",
    "aarch64-manylinux2014",
    "aarch64-manylinux_2_17",
    "aarch64-manylinux_2_28",
    "aarch64-manylinux_2_31",
    "aarch64-manylinux_2_32",
    "aarch64-manylinux_2_33",
    "aarch64-manylinux_2_34",
    "aarch64-manylinux_2_35",
    "aarch64-manylinux_2_36",
    "aarch64-manylinux_2_37",
    "aarch64-manylinux_2_38",
    "aarch64-manylinux_2_39",
    "aarch64-manylinux_2_40",
    "aarch64-linux-android",
    "x86_64-linux-android",
    "wasm32-pyodide2024",
    "wasm32-pyodide2025",
    "arm64-apple-ios",
    "arm64-apple-ios-simulator",
    "x86_64-apple-ios-simulator",
)
"""Every target `uv pip compile --python-platform` accepts (uv 0.13; its aliases in `ALIASES`).
tests/integration/test_platforms.py checks this list against the uv curator runs."""

ALIASES: dict[str, str] = {
    "windows": "x86_64-pc-windows-msvc",
    "linux": "x86_64-unknown-linux-gnu",
    "macos": "aarch64-apple-darwin",
}
"""uv's short names. A manifest writes the target itself: it names lock files and dask resources,
and `linux` says neither the architecture nor the glibc."""

_GNU = {"x86_64": "manylinux_2_28", "aarch64": "manylinux_2_28"}  # `<arch>-unknown-linux-gnu` as uv 0.13 reads it
_MANYLINUX = re.compile(r"^(?P<arch>x86_64|aarch64)-manylinux(?:_2_(?P<minor>\d+)|2014)$")
_WINDOWS = {
    "x86_64-pc-windows-msvc": "win_amd64",
    "i686-pc-windows-msvc": "win32",
    "aarch64-pc-windows-msvc": "win_arm64",
}
_MACOS = {"aarch64-apple-darwin": "macosx_13_0_arm64", "x86_64-apple-darwin": "macosx_13_0_x86_64"}
_MUSL = {"x86_64-unknown-linux-musl": "musllinux_1_2_x86_64", "aarch64-unknown-linux-musl": "musllinux_1_2_aarch64"}


def tag(target: str) -> str | None:
    """The wheel platform tag a target stands for, as uv resolves it (`win_amd64`,
    `manylinux_2_28_x86_64`, `macosx_13_0_arm64` — uv's default macOS); None for targets no
    machine here is taken to serve (Android, iOS, Pyodide, riscv64)."""
    if target in _WINDOWS:
        return _WINDOWS[target]
    if target in _MACOS:
        return _MACOS[target]
    if target in _MUSL:
        return _MUSL[target]
    arch, _, rest = target.partition("-")
    if rest == "unknown-linux-gnu" and arch in _GNU:
        return f"{_GNU[arch]}_{arch}"
    if match := _MANYLINUX.match(target):
        return f"manylinux_2_{match['minor'] or 17}_{match['arch']}"
    return None


def serves(target: str, machine_tags: Iterable[str]) -> bool:
    """Whether a machine that installs wheels of `machine_tags` (its platform tags) can run the cells
    of `target`: their locks hold only wheels of the target's tag (or pure ones), which it installs."""
    wanted = tag(target)
    return wanted is not None and wanted in set(machine_tags)


def target_of(machine_tags: Sequence[str]) -> str | None:
    """The uv target that describes a machine best, from its platform tags (most specific first, as
    `packaging.tags.platform_tags()` gives them): glibc Linux is the newest `manylinux_2_N` uv knows
    that the machine installs; None for a machine no target describes."""
    found = set(machine_tags)
    for target, wanted in (*_WINDOWS.items(), *_MUSL.items()):
        if wanted in found:
            return target
    for platform_tag in machine_tags:
        if platform_tag.startswith("macosx_") and platform_tag.endswith(("_arm64", "_x86_64")):
            target = "aarch64-apple-darwin" if platform_tag.endswith("_arm64") else "x86_64-apple-darwin"
            return target if serves(target, found) else None  # older than the macOS uv resolves for
    manylinux = [t for t in TARGETS if _MANYLINUX.match(t) and "2014" not in t and serves(t, found)]
    return max(manylinux, key=lambda t: int(t.rsplit("_", 1)[1]), default=None)


@cache
def machine_tags() -> tuple[str, ...]:
    """This machine's platform tags, most specific first (the interpreter running curator)."""
    from packaging import tags

    return tuple(tags.platform_tags())


def here() -> str | None:
    """This machine's target (`x86_64-manylinux_2_36`), or None when no uv target describes it."""
    return target_of(machine_tags())


def served_here(target: str) -> bool:
    """Whether this machine runs the cells of `target` (a cell of no platform, one of a manifest
    that names none, runs anywhere)."""
    return not target or serves(target, machine_tags())


def resource(target: str) -> str:
    """The dask resource a worker advertises to receive the cells of `target`: `platform:<target>`."""
    return f"platform:{target}"
