"""Put a bundle's folder and its tarball in place as one step, as far as a filesystem allows.

Two renames cannot be one atomic step, so the pair is placed through a staging folder beside
them (`DIR/.<name>.partial-*/`) that says what was going on:

1. the new folder and tarball are written into the staging folder;
2. `PLACING` is written there: from now on the staging folder may hold what is in place;
3. the bundle already there (with `--force`), folder then tarball, is moved into the staging
   folder (`old-<name>`, `old-<name>.tar.gz`);
4. the new folder, then the new tarball, are renamed into place;
5. the staging folder, with the old pair, is removed.

A release killed at any point leaves the staging folder. The next `curator release` into the
same folder (holding its lock, so no live release is disturbed) recovers it before anything
else: without `PLACING` it is removed (nothing was placed); with it, unless both new items are
in place, every new item is taken back and every old one put back — the bundle is as it was
before the interrupted release, and the release can simply be cut again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from curator.host.layout import fsync
from curator.model.errors import UsageError

MARKER = "PLACING"
_STAGING = re.compile(r"\.(?P<name>.+)\.partial-[A-Za-z0-9_]+")


def stage(out: Path, name: str) -> Path:
    """A new staging folder for bundle `name` in `out`."""
    return Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=out))


def _items(name: str) -> tuple[str, str]:
    """The pair, in the order it is placed: the folder, then the tarball."""
    return name, f"{name}.tar.gz"


def place(staging: Path, out: Path, name: str) -> None:
    """Move the staged pair `name` (already complete in `staging`) into `out`, replacing what is
    there; then remove the staging folder. On an error the pair is rolled back (`abandon`)."""
    items = _items(name)
    for item in items:
        if not (staging / item).exists():
            raise FileNotFoundError(staging / item)  # pragma: no cover - the caller staged both
    marker = staging / MARKER
    tmp = staging / f".{MARKER}.tmp"
    tmp.write_text(json.dumps({"name": name}) + "\n", encoding="utf-8")
    fsync(tmp)
    _rename(tmp, marker)
    fsync(staging)
    for item in items:
        if os.path.lexists(out / item):
            _rename(out / item, staging / f"old-{item}")
    for item in items:
        _rename(staging / item, out / item)
    fsync(out)
    shutil.rmtree(staging, ignore_errors=True)


def abandon(staging: Path) -> str | None:
    """Undo a release that stopped in `staging` (see the module's docstring); what was done, or
    None when the folder was only temporary files."""
    if not staging.exists():
        return None
    legacy = _legacy_name(staging)
    if not (staging / MARKER).is_file() and legacy is None:
        shutil.rmtree(staging, ignore_errors=True)
        return None
    name = legacy or _marked_name(staging)
    out = staging.parent
    items = _items(name)
    try:
        if not any((staging / item).exists() for item in items):
            done = f"finished placing {name} (a release stopped after its last rename)"
        else:
            for item in items:
                new, target = staging / item, out / item
                old = next((staging / f"{prefix}-{item}" for prefix in ("old", "replaced")
                            if os.path.lexists(staging / f"{prefix}-{item}")), None)  # fmt: skip
                if not new.exists() and os.path.lexists(target):  # placed: take it back
                    _rename(target, new)
                if old is not None:
                    _rename(old, target)
            fsync(out)
            done = f"rolled back an interrupted release of {name}: {out / name} is as it was before it"
    except OSError as exc:
        raise UsageError(
            f"{staging}: cannot undo the interrupted release it holds ({exc.strerror}: {exc.filename}); "
            f"put {name} and {name}.tar.gz back by hand from it, then remove it"
        ) from None
    shutil.rmtree(staging, ignore_errors=True)
    return done


def _legacy_name(staging: Path) -> str | None:
    """The bundle a staging folder of a curator before `PLACING` was placing, when it had begun: the
    old folder moved aside as `replaced-<name>` (that curator replaced the old tarball in one rename)."""
    match = _STAGING.fullmatch(staging.name)
    if match is None or (staging / MARKER).exists():
        return None
    name = match["name"]
    return name if (staging / f"replaced-{name}").is_dir() else None


def recover(out: Path) -> list[str]:
    """Recover every interrupted release in `out` (call it holding `out`'s lock); what was done."""
    done = []
    for staging in sorted(out.glob(".*.partial-*")):
        if staging.is_dir() and not staging.is_symlink() and _STAGING.fullmatch(staging.name):
            said = abandon(staging)
            if said is not None:
                done.append(said)
    return done


def _marked_name(staging: Path) -> str:
    """The bundle a marked staging folder places: its marker's word, which must match its own name."""
    match = _STAGING.fullmatch(staging.name)
    try:
        data = json.loads((staging / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    name = data.get("name") if isinstance(data, dict) else None
    if match is None or name != match["name"]:
        raise UsageError(f"{staging}: not a staging folder curator wrote (its {MARKER} does not match); remove it")
    return str(name)


def _rename(source: Path, target: Path) -> None:
    """One rename (the step a kill can fall between)."""
    source.replace(target)
