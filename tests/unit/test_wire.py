"""The wire format of a cell sent to a dask worker: path-free, content-addressed, JSON both ways."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from curator.execute.cell import CellTask, SuiteSpec
from curator.execute.executors.wire import (
    RUN,
    WIRE_VERSION,
    WireError,
    WireResult,
    WireTask,
    folder_blob,
    pack,
    pack_logs,
    suite_placeholder,
    unpack,
    unpack_folder,
)
from curator.host.layout import RunLayout
from curator.model import codec
from curator.model.ids import CellId, PyVersion, SuiteName
from curator.model.outcome import CellOutcome, Counts, Status, SuiteOutcome, TestCase
from curator.model.pins import Pins
from curator.plan.cells import Cell, suite_digest
from curator.resolve.interpreters import Interpreter


def _task(tmp_path: Path) -> tuple[CellTask, Path, Path]:
    suites = tmp_path / "suites"
    user, user2 = suites / "user", suites / "user2"  # one folder's path is a prefix of the other's
    for folder in (user, user2):
        folder.mkdir(parents=True)
        (folder / "test_it.py").write_text(f"def test_{folder.name}():\n    pass\n")
    (user / "__pycache__").mkdir()
    (user / "__pycache__" / "x.pyc").write_bytes(b"not content")
    layout = RunLayout(tmp_path / "run")
    cell = Cell(CellId("py3.12-a@1.0"), PyVersion("3.12"), Pins.parse("a==1.0"), Pins.parse("a==1.0"), (), "plankey")
    layout.lock(cell.id).parent.mkdir(parents=True)
    layout.lock(cell.id).write_text("a==1.0 --hash=sha256:00\n")
    specs = (
        SuiteSpec(
            SuiteName("user"),
            ("python", "-m", "pytest", str(user), f"--rootdir={user}", "-c", str(layout.pytest_ini)),
            str(user),
            junit=True,
        ),
        SuiteSpec(SuiteName("user2"), ("python", "-m", "pytest", str(user2)), str(user2), junit=True),
        SuiteSpec(SuiteName("a:tests"), ("pytest", "--pyargs", "a"), str(layout.scratch), junit=True),
    )
    task = CellTask(
        cell=cell,
        interpreter=Interpreter(PyVersion("3.12"), "3.12.1", Path("/opt/py/bin/python3.12"), "PATH", "3.12.1 (main)"),
        install_args=("--no-index", "--find-links", "/srv/wheels", "--find-links", "https://example.org/w/"),
        suites=specs,
        layout=layout,
        env_dir=tmp_path / "env",
        outcome_key="okey",
        lock_key="lkey",
        timeout=30.0,
        retries=1,
        env={"SECRET_TOKEN": "coordinator only"},
    )
    return task, user, user2


def test_a_task_carries_content_and_no_coordinator_paths(tmp_path: Path) -> None:
    task, user, user2 = _task(tmp_path)
    folders = {user: folder_blob(user)[0], user2: folder_blob(user2)[0]}
    wire = pack(task, folders)
    text = json.dumps(wire.to_json())
    assert str(tmp_path) not in text  # no path of this machine travels
    assert "SECRET_TOKEN" not in text  # nor the coordinator's own environment
    assert wire.lock_text == "a==1.0 --hash=sha256:00\n"
    assert (wire.outcome_key, wire.lock_key) == ("okey", "lkey")
    assert (wire.python, wire.full_version, wire.build) == ("3.12", "3.12.1", "3.12.1 (main)")
    assert wire.suites[0].cwd == suite_placeholder(folders[user])
    assert wire.suites[0].argv[-1] == f"{RUN}/pytest.ini"
    assert wire.suites[1].argv[-1] == suite_placeholder(folders[user2])  # not user's placeholder + "2"
    assert wire.suites[2].cwd == f"{RUN}/scratch"
    assert sorted(wire.folders) == sorted(folders.values())
    assert wire.local_folders() == ["/srv/wheels"]
    assert WireTask.from_json(json.loads(text)) == wire


def test_the_worker_puts_its_own_paths_back(tmp_path: Path) -> None:
    task, user, user2 = _task(tmp_path)
    folders = {user: folder_blob(user)[0], user2: folder_blob(user2)[0]}
    wire = pack(task, folders)
    root = tmp_path / "worker-run"
    there = {folders[user]: tmp_path / "cache" / "u", folders[user2]: tmp_path / "cache" / "u2"}
    specs = unpack(wire, root, there)
    assert specs[0].cwd == str(tmp_path / "cache" / "u")
    assert specs[0].argv == (
        "python", "-m", "pytest", str(there[folders[user]]), f"--rootdir={there[folders[user]]}", "-c",
        str(root / "pytest.ini"),
    )  # fmt: skip
    assert specs[2].cwd == str(root / "scratch")


def test_a_suite_folder_travels_by_digest_without_caches(tmp_path: Path) -> None:
    _, user, _ = _task(tmp_path)
    digest, blob = folder_blob(user)
    assert digest == suite_digest(user)
    assert folder_blob(user) == (digest, blob)  # deterministic: equal content, equal bytes
    unpack_folder(blob, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["test_it.py"]
    assert suite_digest(tmp_path / "out") == digest


def test_another_wire_version_is_refused_by_name() -> None:
    with pytest.raises(WireError, match=f"wire version 0, this curator speaks {WIRE_VERSION}"):
        WireTask.from_json({"wire": 0})
    with pytest.raises(WireError, match="another shape"):
        WireTask.from_json({"wire": WIRE_VERSION, "cell": {}})


def test_an_outcome_comes_back_whole() -> None:
    suite = SuiteOutcome(
        SuiteName("user"), Status.FLAKY, Status.FLAKY, "failed, then passed", "AssertionError: x", Counts(1, 0, 0, 2),
        1.25, 2, "logs/c/user.log", (TestCase("t", "a", "passed", 0.5, ""), TestCase("t", "b", "skipped")), "", "tail",
    )  # fmt: skip
    outcome = CellOutcome(CellId("c"), (suite,), 3.5, "lk", "ok", None, "logs/c/cell.log", "nox -s c", "tcp://w:1")
    assert codec.loads(CellOutcome, codec.dumps(outcome)) == outcome
    result = WireResult(CellId("c"), "tcp://w:1", outcome, b"tar", ("cell.log",))
    assert WireResult.from_json(result.to_json()) == result


def test_logs_over_the_budget_keep_their_head_and_tail_and_say_so(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "small.xml").write_text("<testsuite/>")
    (folder / "cell.log").write_text("".join(f"line {i}\n" for i in range(20_000)))
    blob, truncated = pack_logs(folder, budget=4_000, note="tcp://w:1")
    assert truncated == ("cell.log",)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        small = archive.extractfile("small.xml")
        log = archive.extractfile("cell.log")
        assert small is not None and log is not None
        assert small.read() == b"<testsuite/>"
        text = log.read().decode()
    assert text.startswith("line 0\nline 1\n") and text.endswith("line 19999\n") and len(text.encode()) <= 4_000
    (notice,) = [line for line in text.splitlines() if "cut here" in line]
    assert notice.startswith("… ") and "[curator: the output was 208.9 kB;" in notice, notice
    assert notice.endswith("are kept; cut to travel back from tcp://w:1]"), notice
