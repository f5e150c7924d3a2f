"""One process at a time in a run folder (or a release folder): the second is told who holds it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from curator.cli import main
from curator.host.locking import LOCK_NAME, FolderLock
from curator.model.distribution import Strategy
from curator.model.errors import Busy, UsageError
from curator.model.ids import PyVersion, RunId
from curator.model.outcome import RunKind, RunStatus
from curator.store.db import RunRecord, Store
from tests.conftest import WriteManifest

MANIFEST = 'distribution: demo\nversion: "1.0"\npython: ["3.11"]\npackages:\n  numpy: ["1.26.4"]\n'


def test_a_held_folder_is_refused_naming_its_holder(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    with FolderLock.take(folder, command="run", run="20261123-201503-3fa2") as lock:
        with pytest.raises(Busy) as refused:
            FolderLock.take(folder, command="report", what="the folder of run x")
        message = str(refused.value)
        assert message.startswith("the folder of run x is in use by curator run of run 20261123-201503-3fa2 (pid ")
        assert f"pid {os.getpid()} on {socket.gethostname()}, since " in message
        lock.note("20261124-000000-0000")
        with pytest.raises(Busy, match="of run 20261124-000000-0000"):
            FolderLock.take(folder, command="run")
    assert not (folder / LOCK_NAME).exists()  # released, and nothing left behind
    FolderLock.take(folder, command="run").release()


def test_a_lock_file_someone_else_wrote_is_described_without_trusting_it(tmp_path: Path) -> None:
    with FolderLock.take(tmp_path, command="run") as lock:
        assert lock.folder == tmp_path
        (tmp_path / LOCK_NAME).write_text('{"command": "rm -rf /", "pid": 1}\n\x1b[31m')
        with pytest.raises(Busy, match=r"is in use by another curator process; let it finish"):
            FolderLock.take(tmp_path, command="run")
        (tmp_path / LOCK_NAME).write_text('{"command": "run", "pid": 7, "host": "a\\nb", "run": "[/]"}')
        with pytest.raises(Busy, match=r"curator run of run '\[/\]' \(pid 7 on 'a\\nb'\)"):
            FolderLock.take(tmp_path, command="run")


def test_a_link_planted_as_the_lock_file_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / LOCK_NAME).symlink_to(target)
    with pytest.raises(UsageError, match="cannot open the lock file"):
        FolderLock.take(folder, command="run")
    assert target.read_text() == "keep me"


def test_report_refuses_a_folder_a_run_holds(
    tmp_path: Path, write_manifest: WriteManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_manifest(MANIFEST)
    folder = tmp_path / "run"
    with Store(tmp_path / "curator.sqlite") as store:
        store.create_run(
            RunRecord(
                id=RunId("20261123-201503-3fa2"),
                kind=RunKind.RUN,
                distribution="demo",
                version="1.0",
                manifest_path=str(manifest),
                manifest_sha256="0",
                strategy=Strategy.BASELINE,
                pythons=(PyVersion("3.11"),),
                out_dir=str(folder),
                started=1.0,
                status=RunStatus.RUNNING,
                plan='{"strategy": "baseline", "cells": []}',
            )
        )
    argv = ["report", "20261123", "--store", str(tmp_path / "curator.sqlite"), "--manifest", str(manifest)]
    with FolderLock.take(folder, command="run", run="20261123-201503-3fa2"):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"the folder {folder} of run 20261123-201503-3fa2 is in use by curator run of run 2026" in err
        assert not (folder / "index.html").exists()
    assert main(argv) == 1  # free again: written (the run is unfinished, so its verdict is not a pass)
    assert (folder / "index.html").is_file() and not (folder / LOCK_NAME).exists()
