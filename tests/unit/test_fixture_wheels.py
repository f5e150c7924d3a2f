"""The test runner's wheels are packed from the test environment, so the default test run asks no index."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

import pytest

from tests.ecosystem import installed_closure, runner_wheels, wheel_from_installed


def test_a_packed_wheel_holds_what_was_installed_with_a_true_record(tmp_path: Path) -> None:
    wheel = wheel_from_installed("pytest", tmp_path / "a")
    version = importlib.metadata.version("pytest")
    assert wheel.name == f"pytest-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        record = archive.read(f"pytest-{version}.dist-info/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path.endswith("RECORD"):
                continue
            data = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, size) == (f"sha256={expected}", str(len(data))), path
    assert {line.split(",")[0] for line in record} == names
    assert "_pytest/python.py" in names and f"pytest-{version}.dist-info/METADATA" in names
    assert not [n for n in names if n.endswith((".pyc", "/INSTALLER")) or n.startswith("..")]
    assert wheel_from_installed("pytest", tmp_path / "b").read_bytes() == wheel.read_bytes()  # reproducible


def test_the_runner_folder_holds_pytest_and_what_it_needs_here(tmp_path: Path) -> None:
    assert {"pytest", "pluggy", "iniconfig", "packaging"} <= set(installed_closure(["pytest"]))
    names = {p.name.split("-")[0] for p in runner_wheels(tmp_path).glob("*.whl")}
    assert names == set(installed_closure(["pytest"]))


def test_a_distribution_with_compiled_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a pure-Python wheel installation"):
        wheel_from_installed("cryptography", tmp_path)
