"""Hashing a suite folder for the cells' keys: in chunks, and never into caches or VCS folders. What a
suite prints: its log keeps the head and the tail, bounded at every moment, and outlives its folder."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

from curator.execute.harness import protocol
from curator.execute.harness.suite_runner import BoundedLog
from curator.plan.cells import suite_digest


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


# ----------------------------------------------------------------------- what a suite prints

HEAD, TAIL = 1_000, 4_000


def _log(path: Path) -> BoundedLog:
    def notice(cut: int, total: int) -> bytes:
        return protocol.cut_notice(cut, total, HEAD, TAIL)

    return BoundedLog(path, HEAD, TAIL, notice)


def test_a_log_keeps_head_and_tail_and_is_bounded_while_it_is_written(tmp_path: Path) -> None:
    """A suite killed midway (its cell timed out) leaves a log bounded too, not only a finished one."""
    path = tmp_path / "suite.log"
    log = _log(path)
    lines = [f"line {i:06d} {'x' * 40}\n".encode() for i in range(20_000)]  # 1 MB: 250 times the tail
    largest = 0
    for line in lines:
        log.write(line)
        largest = max(largest, path.stat().st_size)
    log.close()
    assert largest <= HEAD + 2 * TAIL + 4096 + 200, largest
    data = path.read_bytes()
    assert data.startswith(b"".join(lines)[:HEAD])
    assert data.endswith(lines[-1])
    text = data.decode()
    (notice,) = [line for line in text.splitlines() if "cut here" in line]
    kept = len(data) - len(f"\n{notice}\n".encode())
    total = sum(map(len, lines))
    assert notice == (
        f"… {protocol.size(total - kept)} cut here … [curator: the output was {protocol.size(total)}; "
        "its first 1.0 kB and last 4.0 kB are kept]"
    )
    tail = text.split(notice + "\n", 1)[1]
    assert tail.startswith("line ") and len(tail.encode()) <= TAIL  # from a line's start


def test_a_short_log_is_kept_as_printed(tmp_path: Path) -> None:
    path = tmp_path / "suite.log"
    log = _log(path)
    printed = b"".join(f"line {i}\n".encode() for i in range(500))  # 4.4 kB: within head and tail
    log.write(printed)
    log.close()
    assert path.read_bytes() == printed


def test_a_log_whose_folder_the_suite_deleted_is_written_again(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "cell" / "suite.log"
    path.parent.mkdir(parents=True)
    log = _log(path)
    log.write(b"before\n")
    (path.parent / "suite.log").unlink()
    path.parent.rmdir()
    log.write(b"after\n")
    log.close()
    assert path.read_bytes() == b"before\nafter\n"
