"""Cell environments on disk: which one a new cell is copied from, what a copy takes along, and the
check that an environment holds exactly its lock. Real folders, no processes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from curator.execute import envs
from curator.execute.harness.protocol import PYCACHE
from curator.model.ids import PyVersion
from curator.resolve.interpreters import Interpreter

PY = Interpreter(PyVersion("3.12"), "3.12.1", Path("/opt/py/bin/python3.12"), "PATH")
OTHER = Interpreter(PyVersion("3.12"), "3.12.2", Path("/opt/py2/bin/python3.12"), "PATH")
BASE = {"numpy": "2.1.3 aaa", "pandas": "2.2.3 bbb", "pytest": "8.3.0 ccc", "six": "1.16.0 ddd"}


def _ready(root: Path, key: str, packages: dict[str, str], interpreter: Interpreter = PY) -> Path:
    folder = root / key
    folder.mkdir(parents=True)
    record = envs.Record(str(interpreter.path), interpreter.full_version, f"lock-{key}", "env", packages)
    (folder / envs.RECORD_NAME).write_text(record.text())
    return folder


def test_a_cell_is_copied_from_the_ready_environment_nearest_to_its_lock(tmp_path: Path) -> None:
    _ready(tmp_path, "far", {**BASE, "numpy": "1.26.4 eee", "pandas": "2.1.1 fff"})
    near = _ready(tmp_path, "near", {**BASE, "numpy": "1.26.4 eee"})
    _ready(tmp_path, "other-python", BASE, OTHER)  # identical packages, another interpreter: never
    (tmp_path / "unfinished").mkdir()  # no record: not verified, never copied
    assert envs.nearest(tmp_path, PY, BASE, exclude=tmp_path / "mine") == near
    assert envs.distance({**BASE, "numpy": "1.26.4 eee"}, BASE) == 1
    assert envs.distance({**BASE, "numpy": "2.1.3 zzz"}, BASE) == 1  # same version, other hashes: other files
    assert envs.nearest(tmp_path, PY, BASE, exclude=near) != near  # never its own folder


def test_nothing_is_copied_when_no_environment_shares_a_package(tmp_path: Path) -> None:
    _ready(tmp_path, "unrelated", {"flask": "3.0.3 f", "jinja2": "3.1.4 j"})
    assert envs.nearest(tmp_path, PY, BASE, exclude=tmp_path / "mine") is None
    assert envs.nearest(tmp_path / "nothing-yet", PY, BASE, exclude=tmp_path / "mine") is None


def _install(site: Path, name: str, version: str, files: dict[str, str]) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    rows = [f"{relative},sha256=x,1" for relative in files] + [f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(rows) + "\n")


def _environment(tmp_path: Path) -> tuple[Path, Path]:
    env = tmp_path / "envs" / "key" / "py3-12-baseline"
    site = env / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /opt/py/bin\nrelocatable = true\n")
    (env / "bin").mkdir()
    (env / "bin" / "python").symlink_to("/opt/py/bin/python3.12")
    _install(site, "six", "1.16.0", {"six.py": "X = 1\n"})
    _install(site, "pytest", "8.3.0", {"pytest/__init__.py": "", "_pytest/main.py": "", "../../../bin/pytest": ""})
    (env / "bin" / "pytest").write_text("#!/bin/sh\n'''exec' \"$(dirname -- \"$0\")\"/'python' \"$0\" \"$@\"\n' '''\n")
    return env, site


LOCK = {"six": "1.16.0 h1", "pytest": "8.3.0 h2"}


def test_an_environment_that_holds_exactly_its_lock_passes(tmp_path: Path) -> None:
    env, site = _environment(tmp_path)
    (site / "pandas.libs").mkdir()  # an empty folder a wheel leaves unlisted is nothing
    assert envs.verify(env, LOCK) == []


def test_what_keeps_an_environment_from_its_lock_is_named(tmp_path: Path) -> None:
    env, site = _environment(tmp_path)
    _install(site, "requests", "2.32.0", {"requests/__init__.py": ""})
    (site / "left_behind.py").write_text("")
    (env / "bin" / "tool").write_text("#!/somewhere/else/bin/python\nimport tool\n")
    problems = envs.verify(env, {**LOCK, "six": "1.17.0 h1", "numpy": "2.1.3 h3"})
    assert "six is 1.16.0, the lock says 1.17.0" in problems
    assert "numpy==2.1.3 is not installed" in problems
    assert "requests==2.32.0 is installed but not in the lock" in problems
    assert "site-packages/left_behind.py belongs to no installed distribution" in problems
    assert "bin/tool runs /somewhere/else/bin/python" in problems


def test_a_copy_takes_the_installed_files_and_bytecode_but_not_what_tests_wrote(tmp_path: Path) -> None:
    env, site = _environment(tmp_path)
    (site / "pytest" / "calls.txt").write_text("3")  # a test's counter in its package's folder
    compiled = env / PYCACHE / site.relative_to(site.anchor) / "six.cpython-312.pyc"
    compiled.parent.mkdir(parents=True)
    compiled.write_bytes(b"bytecode")
    copy = tmp_path / "copy"
    shutil.copytree(env, copy, symlinks=True, copy_function=os.link, ignore=envs._unrecorded(env))
    copied_site = copy / site.relative_to(env)
    assert (copied_site / "six.py").stat().st_ino == (site / "six.py").stat().st_ino  # a hardlink
    assert not (copied_site / "pytest" / "calls.txt").exists()
    assert (copy / PYCACHE / site.relative_to(site.anchor) / "six.cpython-312.pyc").exists()
    assert (copy / "bin" / "python").is_symlink()


def test_a_copy_forgets_the_bytecode_of_what_it_replaces_and_a_cell_that_of_its_suites(tmp_path: Path) -> None:
    env, site = _environment(tmp_path)
    cache = env / PYCACHE
    mirror = cache / site.relative_to(site.anchor)
    for pyc in ("six.cpython-312.pyc", "pytest/__init__.cpython-312.pyc", "_pytest/main.cpython-312.pyc"):
        (mirror / pyc).parent.mkdir(parents=True, exist_ok=True)
        (mirror / pyc).write_bytes(b"")
    envs.forget_bytecode(env, ["pytest"])  # pytest is about to be replaced
    assert (mirror / "six.cpython-312.pyc").exists()
    assert not (mirror / "pytest").exists() and not (mirror / "_pytest").exists()

    suite = cache / "work" / "suites" / "pandas_numpy" / "test_x.cpython-312-pytest-8.3.0.pyc"
    stdlib = cache / "opt" / "py" / "lib" / "python3.12" / "json" / "__init__.cpython-312.pyc"
    for compiled in (suite, stdlib):
        compiled.parent.mkdir(parents=True)
        compiled.write_bytes(b"")
    envs.prune_bytecode(env)
    assert not suite.exists() and not (cache / "work").exists()
    assert stdlib.exists() and (mirror / "six.cpython-312.pyc").exists()


def test_the_environment_is_where_nox_keeps_the_session(tmp_path: Path) -> None:
    assert envs.location(tmp_path, "py3.12-numpy@1.26.4") == tmp_path / "py3-12-numpy-1-26-4"
    long_id = "py3.12-" + "-".join(f"package{i}@1.0" for i in range(12))
    assert len(envs.location(tmp_path, long_id).name) == 8  # nox hashes a path that would be too long
