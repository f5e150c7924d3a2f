"""Command-line arguments and environment that gave tracebacks: each is one line and exit 2, before any work.

These run without a single process: the checks come before curator looks for interpreters,
opens a store or resolves anything, so a bad argument costs nothing and leaves nothing behind.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from curator.cli import main
from curator.model.distribution import Strategy
from curator.model.errors import UsageError
from curator.model.ids import PyVersion, RunId
from curator.model.outcome import RunKind, RunStatus
from curator.store.db import RunRecord, Store
from tests.conftest import WriteManifest

MANIFEST = 'distribution: demo\nversion: "1.0"\npython: ["3.11"]\npackages:\n  numpy: ["1.26.4"]\n'


@pytest.fixture
def manifest(write_manifest: WriteManifest) -> Path:
    return write_manifest(MANIFEST)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A file where a results store is expected (its content is never reached by these tests)."""
    path = tmp_path / "curator.sqlite"
    path.touch()
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("curator: error: ")
    return captured.err.strip()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        pytest.param("file", "--out {tmp}/a-file: exists and is not a folder", id="out-is-a-file"),
        pytest.param("proc", "--out /proc/curator-out: cannot create a folder there (", id="out-in-proc"),
        pytest.param(
            "under-file", "--out {tmp}/a-file/run: cannot create a folder there (Not a directory)", id="under"
        ),
    ],
)
def test_run_refuses_an_out_folder_it_cannot_make(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    out = {"file": tmp_path / "a-file", "proc": Path("/proc/curator-out"), "under-file": tmp_path / "a-file" / "run"}
    assert main(["run", str(manifest), "--out", str(out[where]), "--plain"]) == 2
    assert message.format(tmp=tmp_path) in _one_line_error(capsys)
    assert not (tmp_path / "reports").exists()  # the default store's folder was probed, and not left behind


@pytest.mark.parametrize(
    ("where", "message"),
    [
        pytest.param(
            "under-file", "--store {tmp}/a-file/s.sqlite: its folder {tmp}/a-file: exists and is not a folder"
        ),
        pytest.param(
            "proc", "--store /proc/curator/s.sqlite: its folder /proc/curator: cannot create a folder there ("
        ),
        pytest.param("folder", "--store {tmp}: not a results store (not a regular file)"),
    ],
)
def test_run_refuses_a_store_it_cannot_make(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    stores = {
        "under-file": tmp_path / "a-file" / "s.sqlite",
        "proc": Path("/proc/curator/s.sqlite"),
        "folder": tmp_path,
    }
    assert main(["run", str(manifest), "--store", str(stores[where]), "--plain"]) == 2
    assert message.format(tmp=tmp_path) in _one_line_error(capsys)


def test_release_refuses_an_out_that_is_a_file(
    manifest: Path, store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dist").write_text("not a folder")
    argv = ["release", str(manifest), "--run", "r", "--store", str(store), "--out", str(tmp_path / "dist")]
    assert main([*argv, "--unsigned"]) == 2
    assert _one_line_error(capsys) == f"curator: error: --out {tmp_path / 'dist'}: exists and is not a folder"


def test_release_refuses_a_missing_store_instead_of_creating_one(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", str(manifest), "--run", "r", "--unsigned"]) == 2
    assert "no results store there" in _one_line_error(capsys)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("epoch", ["99999999999999999", "-5", "abc", "1e3", " 5", "\u0661\u0662", "9" * 5000, ""])
def test_release_refuses_a_source_date_epoch_out_of_range(
    manifest: Path, store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, epoch: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    assert main(["release", str(manifest), "--run", "r", "--store", str(store), "--unsigned"]) == 2
    error = _one_line_error(capsys)
    assert error.startswith("curator: error: SOURCE_DATE_EPOCH=")
    assert error.endswith("must be a whole number of seconds since 1970, from 0 to 253402300799")
    assert len(error) < 250


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "too-large"])
def test_a_key_that_is_no_small_regular_file_is_refused_without_reading_it(
    manifest: Path, store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    key = {"dev-zero": Path("/dev/zero"), "fifo": tmp_path / "key", "too-large": tmp_path / "key"}[kind]
    if kind == "fifo":
        os.mkfifo(key)
    elif kind == "too-large":
        with key.open("wb") as handle:
            handle.truncate(2**20 + 1)
    argv = ["release", str(manifest), "--run", "r", "--store", str(store), "--key", str(key)]
    assert main(argv) == 2
    reason = {"dev-zero": "it is a character device", "fifo": "it is a FIFO", "too-large": "larger than 1 MiB"}[kind]
    error = _one_line_error(capsys)
    assert error.startswith(f"curator: error: {key}: cannot read the key: ") and reason in error
    assert main(["verify", str(tmp_path), "--pubkey", str(key)]) == 2  # and as the public key to trust
    assert reason in _one_line_error(capsys)
    assert main(["sign", str(tmp_path), "--key", str(key)]) == 2  # a maintainer's key
    assert reason in _one_line_error(capsys)
    for argv, what in (
        (["verify", str(tmp_path), "--signers", str(key)], "cannot read the signers file: "),
        (["sign", str(tmp_path), "--signature", str(key)], "cannot read the signature: "),
    ):
        assert main(argv) == 2
        error = _one_line_error(capsys)
        assert error.startswith(f"curator: error: {key}: {what}")
        assert (reason if kind != "too-large" else "larger than") in error


def _run_record(run_id: str) -> RunRecord:
    return RunRecord(
        id=RunId(run_id),
        kind=RunKind.RUN,
        distribution="demo",
        version="1.0",
        manifest_path="/nowhere/distribution.yaml",
        manifest_sha256="0",
        strategy=Strategy.BASELINE,
        pythons=(PyVersion("3.11"),),
        out_dir="/nowhere/run",
        started=1.0,
        status=RunStatus.FINISHED,
        plan='{"strategy": "baseline", "cells": []}',
    )


@pytest.mark.parametrize("ref", ["%", "_", "2026%", "2026112_-"])
def test_run_ids_are_not_like_patterns(tmp_path: Path, capsys: pytest.CaptureFixture[str], ref: str) -> None:
    with Store(tmp_path / "curator.sqlite") as store:
        store.create_run(_run_record("20261123-201503-3fa2"))
        assert store.run("20261123").id == "20261123-201503-3fa2"  # a real prefix still works
        with pytest.raises(UsageError, match="is not a run in"):
            store.run(ref)
        with pytest.raises(UsageError, match="is not a run in"):
            store.run("")
    assert main(["report", ref, "--store", str(tmp_path / "curator.sqlite")]) == 2
    assert f"run {ref!r} is not a run in" in _one_line_error(capsys)


def test_errors_print_on_an_ascii_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """PYTHONIOENCODING=ascii: a character the stream cannot encode is escaped, not a crash."""
    raw = io.BytesIO()
    err = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["check", "caf\u00e9 \u2014 \u00d7.yaml"]) == 2
    err.flush()
    assert raw.getvalue() == b"curator: error: caf\\xe9 \\u2014 \\xd7.yaml:1:1: no such manifest file\n"


def test_a_missing_manifest_with_markup_in_its_path_is_named_as_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "[bold]" / "[/]x.yaml"
    assert main(["check", str(path)]) == 2
    assert _one_line_error(capsys) == f"curator: error: {path}:1:1: no such manifest file"


# Found under attack (issue 19): each was refused only once the run was under way, or not at all.


def _everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("command", ["run", "nightly"])
@pytest.mark.parametrize("option", ["manifest", "--out", "--store", "--junit", "--summary"])
def test_a_name_that_is_not_utf8_is_refused_before_anything_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, option: str
) -> None:
    """A byte that is not UTF-8 in `--out` gave a `UnicodeEncodeError` traceback once the run was
    recorded, and left an empty store behind."""
    folder = tmp_path / "m"
    folder.mkdir()
    name = os.fsdecode(b"bad\xff")  # what Python makes of such an argument: a lone surrogate
    manifest = folder / (f"{name}.yaml" if option == "manifest" else "distribution.yaml")
    manifest.write_text(MANIFEST)
    before = _everything_under(tmp_path)
    argv = [command, str(manifest), "--plain"]
    if option != "manifest":
        argv += [option, str(tmp_path / name)]
    assert main(argv) == 2
    error = _one_line_error(capsys)
    assert "bad\\udcff" in error and "the name holds bytes that are not UTF-8 (b'\\xff')" in error, error
    assert _everything_under(tmp_path) == before  # no store, no run folder


@pytest.mark.parametrize("command", ["run", "nightly"])
@pytest.mark.parametrize("resume", ["", "  "])
def test_an_empty_resume_is_refused_not_taken_for_a_new_run(
    manifest: Path, capsys: pytest.CaptureFixture[str], command: str, resume: str
) -> None:
    assert main([command, str(manifest), "--resume", resume, "--plain"]) == 2
    assert _one_line_error(capsys) == "curator: error: --resume: give the id of the run to finish (it is empty)"
    assert not (manifest.parent / "reports").exists()


@pytest.mark.parametrize("command", ["run", "nightly"])
@pytest.mark.parametrize(
    ("option", "where", "message"),
    [
        pytest.param("--junit", "folder", "--junit {tmp}/a-folder: is a folder; name a file", id="junit-folder"),
        pytest.param("--junit", "/dev/null", "--junit /dev/null: exists and is not a regular file", id="junit-device"),
        pytest.param(
            "--junit",
            "/proc/curator/j.xml",
            "--junit /proc/curator/j.xml: its folder /proc/curator: cannot create",
            id="junit-unwritable",
        ),
        pytest.param(
            "--junit",
            "under-file",
            "--junit {tmp}/a-file/j.xml: its folder {tmp}/a-file: exists and is not a folder",
            id="junit-under-a-file",
        ),
        pytest.param("--summary", "folder", "--summary {tmp}/a-folder: is a folder; name a file", id="summary-folder"),
        pytest.param(
            "--summary",
            "nowhere",
            "--summary {tmp}/nowhere/s.md: its folder {tmp}/nowhere does not exist",
            id="summary-no-folder",
        ),
        pytest.param(
            "GITHUB_STEP_SUMMARY",
            "folder",
            "$GITHUB_STEP_SUMMARY {tmp}/a-folder: is a folder; name a file",
            id="step-summary-folder",
        ),
    ],
)
def test_a_junit_or_summary_file_that_cannot_be_written_is_refused_before_any_work(
    manifest: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    option: str,
    where: str,
    message: str,
) -> None:
    """Refused only after the whole run, before; now before an interpreter is probed (no process
    starts in a unit test) and before anything is created."""
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    places = {"folder": tmp_path / "a-folder", "under-file": tmp_path / "a-file" / "j.xml"}
    places["nowhere"] = tmp_path / "nowhere" / "s.md"
    target = places.get(where, Path(where))
    argv = [command, str(manifest), "--plain"]
    if option == "GITHUB_STEP_SUMMARY":
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    else:
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        argv += [option, str(target)]
    assert main(argv) == 2
    assert message.format(tmp=tmp_path) in _one_line_error(capsys)
    assert not (manifest.parent / "reports").exists()
    assert not (tmp_path / "nowhere").exists()
