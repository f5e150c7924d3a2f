"""Hashing a suite folder for the cells' keys: in chunks, and never into caches or VCS folders."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

from curator.plan import suite_digest


def _digest(folder: Path) -> str:
    return suite_digest(folder)


def test_a_large_file_is_hashed_in_chunks_not_read_whole(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    with (tmp_path / "data.bin").open("wb") as handle:
        handle.truncate(64 * 2**20)  # sparse: 64 MiB that cost no disk
    tracemalloc.start()
    try:
        _digest(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.0f} MiB while hashing a 64 MiB file"


def test_caches_vcs_folders_fifos_and_dangling_links_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    clean = _digest(tmp_path)
    for folder in (".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox"):
        (tmp_path / folder / "deep").mkdir(parents=True)
        (tmp_path / folder / "deep" / "file").write_text("changes all the time")
    for folder in (".nox", ".venv", "node_modules"):
        (tmp_path / "sub" / folder).mkdir(parents=True)
        (tmp_path / "sub" / folder / "file").write_text("changes all the time")
    os.mkfifo(tmp_path / "pipe")  # reading it would block
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert _digest(tmp_path) == clean
    (tmp_path / "sub" / "test_y.py").write_text("def test_y():\n    pass\n")
    assert _digest(tmp_path) != clean  # what the suite holds still counts
