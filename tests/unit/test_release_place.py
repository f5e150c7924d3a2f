"""A bundle's folder and tarball are placed as one step: a release killed between any two renames
is undone by the next one, and what is left always verifies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from curator.model.errors import UsageError
from curator.release import archive as files
from curator.release import place
from curator.release.verify import verify

NAME = "demo-1.0"


class Killed(BaseException):
    """What kill -9 does to the release: it stops, and nothing of it runs afterwards."""


def _stage(out: Path, words: str) -> Path:
    """A complete, unsigned bundle pair in a new staging folder (as `bundle.cut` leaves it)."""
    staging = place.stage(out, NAME)
    root = staging / NAME
    root.mkdir()
    (root / "CHANGES.md").write_text(f"{words}\n")
    record = {"distribution": "demo", "version": "1.0", "signature": {"signed": False}}
    (root / "release.json").write_text(json.dumps(record))
    (root / files.SUMS).write_text(files.render_sums(root))
    files.write_tarball(root, NAME, staging / f"{NAME}.tar.gz", 0)
    return staging


def _release(out: Path, words: str) -> None:
    place.place(_stage(out, words), out, NAME)


def _says(out: Path) -> str | None:
    """Which release is in place (folder and tarball both verified), or None when none is."""
    folder, tarball = out / NAME, out / f"{NAME}.tar.gz"
    assert folder.exists() == tarball.exists(), "half a release"
    if not folder.exists():
        return None
    verify(folder)
    verify(tarball)
    return (folder / "CHANGES.md").read_text().strip()


def _kill_after(monkeypatch: pytest.MonkeyPatch, renames: int) -> None:
    done = 0
    rename = place._rename

    def killing(source: Path, target: Path) -> None:
        nonlocal done
        if done == renames:
            raise Killed
        done += 1
        rename(source, target)

    monkeypatch.setattr(place, "_rename", killing)


@pytest.mark.parametrize(
    ("before", "renames"),
    # the renames: the marker, [the old folder aside, the old tarball aside,] the new folder, the new tarball
    [pytest.param(None, n, id=f"first-release-killed-after-{n}-renames") for n in range(3)]
    + [pytest.param("old", n, id=f"force-killed-after-{n}-renames") for n in range(5)],
)
def test_a_release_killed_between_renames_is_rolled_back_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str | None, renames: int
) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    if before:
        _release(out, before)
    with monkeypatch.context() as patch:
        _kill_after(patch, renames)
        with pytest.raises(Killed):
            _release(out, "new")
    assert len(list(out.glob(".*.partial-*"))) == 1  # the killed release left its staging folder
    done = place.recover(out)
    assert _says(out) == before  # as it was before the interrupted release
    assert not list(out.glob(".*"))
    if renames == 0:
        assert done == []  # nothing had been placed yet: only temporary files went
    else:
        assert done == [f"rolled back an interrupted release of {NAME}: {out / NAME} is as it was before it"]
    _release(out, "again")  # and the next release goes through
    assert _says(out) == "again"


def test_a_release_killed_after_its_last_rename_is_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    _release(out, "old")

    def killed(*_: object, **__: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(shutil, "rmtree", killed)
        with pytest.raises(Killed):
            _release(out, "new")
    assert place.recover(out) == [f"finished placing {NAME} (a release stopped after its last rename)"]
    assert _says(out) == "new"
    assert not list(out.glob(".*"))


def test_a_staging_folder_whose_marker_names_another_bundle_is_not_touched(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    _release(out, "old")
    staging = _stage(out, "new")
    (staging / place.MARKER).write_text(json.dumps({"name": "../elsewhere"}))
    with pytest.raises(UsageError, match="not a staging folder curator wrote"):
        place.recover(out)
    assert _says(out) == "old" and staging.is_dir()


def test_what_a_curator_before_placing_markers_left_is_rolled_back_too(tmp_path: Path) -> None:
    """That curator moved the old folder aside as `replaced-NAME`, renamed the new folder into place,
    then replaced the tarball; killed between, it left a new folder beside the old tarball."""
    out = tmp_path / "dist"
    out.mkdir()
    _release(out, "old")
    staging = _stage(out, "new")
    (out / NAME).replace(staging / f"replaced-{NAME}")
    (staging / NAME).replace(out / NAME)
    assert (out / NAME / "CHANGES.md").read_text() == "new\n"  # beside the old tarball: a pair that does not match
    assert place.recover(out) == [f"rolled back an interrupted release of {NAME}: {out / NAME} is as it was before it"]
    assert _says(out) == "old"
    assert not list(out.glob(".*"))
