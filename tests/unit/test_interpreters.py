"""Interpreter discovery, with a fake probe: which places are tried, in which order."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from curator.model.errors import InterpreterNotFound, UsageError
from curator.resolve.interpreters import Finder, Probe, parse_overrides


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_pyenv_versions_are_found_when_the_shim_refuses(tmp_path: Path) -> None:
    shim = _exe(tmp_path / "shims" / "python3.12")
    real = _exe(tmp_path / "pyenv" / "versions" / "3.12.1" / "bin" / "python3.12")
    _exe(tmp_path / "pyenv" / "versions" / "3.12.0" / "bin" / "python3.12")
    _exe(tmp_path / "pyenv" / "versions" / "3.11.7" / "bin" / "python3.11")
    answers: dict[Path, Probe | str] = {
        shim: "pyenv: python3.12: command not found",
        real: Probe("3.12.1", real, "cpython"),
    }
    finder = Finder(
        env={"PATH": str(shim.parent), "PYENV_ROOT": str(tmp_path / "pyenv")},
        probe=lambda p: answers.get(p, "not asked"),
        home=tmp_path,
    )
    found = finder.find("3.12")
    assert (found.path, found.full_version, found.source) == (real, "3.12.1", "pyenv")


def test_path_comes_first_and_a_lying_name_is_not_trusted(tmp_path: Path) -> None:
    liar = _exe(tmp_path / "bin1" / "python3.12")
    good = _exe(tmp_path / "bin2" / "python3")
    answers = {liar: Probe("3.11.9", liar, "cpython"), good: Probe("3.12.4", good, "cpython")}
    finder = Finder(
        env={"PATH": os.pathsep.join([str(liar.parent), str(good.parent)])},
        probe=lambda p: answers.get(p, "no"),
        home=tmp_path,
    )
    assert finder.find("3.12").path == good


def test_uv_managed_interpreters(tmp_path: Path) -> None:
    uv_python = _exe(tmp_path / "uvpy" / "cpython-3.13.1-linux-x86_64-gnu" / "bin" / "python3.13")
    finder = Finder(
        env={"PATH": "", "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uvpy")},
        probe=lambda p: Probe("3.13.1", p, "cpython"),
        home=tmp_path,
    )
    found = finder.find("3.13")
    assert (found.path, found.source) == (uv_python, "uv")


def test_explicit_override_wins_and_is_checked(tmp_path: Path) -> None:
    given = _exe(tmp_path / "opt" / "python")
    finder = Finder({"3.12": given}, env={"PATH": ""}, probe=lambda p: Probe("3.11.2", p, "cpython"), home=tmp_path)
    with pytest.raises(InterpreterNotFound, match=r"is cpython 3\.11\.2"):
        finder.find("3.12")


def test_missing_interpreter_says_where_it_looked_and_how_to_fix(tmp_path: Path) -> None:
    finder = Finder(env={"PATH": str(tmp_path)}, probe=lambda p: "no", home=tmp_path)
    with pytest.raises(InterpreterNotFound) as caught:
        finder.find("3.14")
    message = str(caught.value)
    assert "Python 3.14 not found" in message
    assert "PATH (python3.14" in message and ".pyenv/versions/3.14.*" in message and "uv-managed" in message
    assert "uv python install 3.14" in message and "--python 3.14=" in message
    assert caught.value.exit_code == 2


def test_override_syntax() -> None:
    assert parse_overrides(["3.12=/opt/py/bin/python"]) == {"3.12": Path("/opt/py/bin/python")}
    with pytest.raises(UsageError, match=r"X\.Y=PATH"):
        parse_overrides(["python3.12"])


def test_a_worker_finds_the_exact_build_the_key_was_computed_with(tmp_path: Path) -> None:
    on_path = _exe(tmp_path / "bin" / "python3.12")
    pyenv = _exe(tmp_path / "pyenv" / "versions" / "3.12.1" / "bin" / "python3.12")
    hint = _exe(tmp_path / "pyenv" / "versions" / "3.12.1-other" / "bin" / "python3.12")
    elsewhere = _exe(tmp_path / "opt" / "python3.12")
    answers: dict[Path, Probe | str] = {
        on_path: Probe("3.12.3", on_path, "cpython", "3.12.3 (main) linux"),
        pyenv: Probe("3.12.1", pyenv, "cpython", "3.12.1 (main) linux"),
        hint: Probe("3.12.1", hint, "cpython", "3.12.1 (other build) linux"),
        elsewhere: Probe("3.12.1", elsewhere, "cpython", "3.12.1 (main) linux"),
    }
    asked: list[Path] = []

    def probe(path: Path) -> Probe | str:
        asked.append(path)
        return answers.get(path, "not asked")

    finder = Finder(
        env={"PATH": str(on_path.parent), "PYENV_ROOT": str(tmp_path / "pyenv")}, probe=probe, home=tmp_path
    )
    # the first 3.12 on PATH is another version, and the hint another build: the search goes on to pyenv's
    found = finder.find_exact("3.12", "3.12.1", "3.12.1 (main) linux", hint=hint)
    assert (found.path, found.source) == (pyenv, "pyenv")
    # where the hint is the very build, one probe answers
    asked.clear()
    found = finder.find_exact("3.12", "3.12.1", "3.12.1 (other build) linux", hint=hint)
    assert (found.path, found.source, asked) == (hint, "hint", [hint])
    # a hint outside the places this machine searches is not taken: it finds its Pythons itself
    found = finder.find_exact("3.12", "3.12.1", "3.12.1 (main) linux", hint=elsewhere)
    assert (found.path, found.source) == (pyenv, "pyenv")
    with pytest.raises(InterpreterNotFound, match=r"Python 3\.12\.1 \(a build\) not found: looked in PATH") as caught:
        finder.find_exact("3.12", "3.12.1", "a build")
    assert f"{on_path}: is 3.12.3 (3.12.3 (main) linux)" in str(caught.value)


class _Asked:
    """A stand-in for asking a candidate (a process): counts the questions."""

    def __init__(self, answer: Probe | str, lasting: bool = True) -> None:
        self.answer, self.lasting, self.times = answer, lasting, 0

    def __call__(self, path: Path) -> tuple[Probe | str, bool]:
        self.times += 1
        return self.answer, self.lasting


def _answers_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asked: _Asked) -> None:
    from curator.resolve import interpreters

    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(interpreters, "_ask", asked)
    monkeypatch.setattr(interpreters.Answers, "_loaded", {})


def _again(path: Path) -> Probe | str:
    """`probe` as a new process would call it (its in-process memory cleared; the cache kept)."""
    from curator.resolve import interpreters

    interpreters.probe.cache_clear()
    interpreters.Answers._loaded.clear()
    return interpreters.probe(path)


def test_an_interpreters_answer_is_remembered_until_its_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "bin" / "python3.12"
    binary.parent.mkdir()
    binary.write_bytes(b"\x7fELF one build")
    asked = _Asked(Probe("3.12.1", binary, "cpython", "3.12.1 (main) linux"))
    _answers_in(tmp_path, monkeypatch, asked)
    assert _again(binary) == _again(binary) == asked.answer
    assert asked.times == 1  # the second process read the answer from curator's cache
    binary.write_bytes(b"\x7fELF another build, rebuilt in place")
    assert _again(binary) == asked.answer and asked.times == 2


def test_a_pyenv_shim_is_asked_again_when_pyenvs_selection_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pyenv"
    shim = _exe(root / "shims" / "python3.12")
    _exe(root / "libexec" / "pyenv")
    (root / "versions" / "3.12.1").mkdir(parents=True)
    real = _exe(root / "versions" / "3.12.1" / "bin" / "python3.12")
    asked = _Asked(Probe("3.12.1", real, "cpython"))
    _answers_in(tmp_path, monkeypatch, asked)
    monkeypatch.chdir(tmp_path)
    _again(shim)
    _again(shim)
    assert asked.times == 1
    (tmp_path / ".python-version").write_text("3.12.1\n")  # `pyenv local` in the current folder
    _again(shim)
    monkeypatch.setenv("PYENV_VERSION", "system")
    _again(shim)
    (root / "versions" / "3.12.2").mkdir()  # another version installed
    _again(shim)
    assert asked.times == 4


def test_scripts_that_are_not_pyenv_shims_and_timeouts_are_asked_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapper = _exe(tmp_path / "bin" / "python3.12")  # a shell script: it may answer anything
    asked = _Asked(Probe("3.12.1", wrapper, "cpython"))
    _answers_in(tmp_path, monkeypatch, asked)
    _again(wrapper)
    _again(wrapper)
    binary = tmp_path / "bin" / "python3.13"
    binary.write_bytes(b"\x7fELF")
    slow = _Asked("timed out", lasting=False)
    _answers_in(tmp_path, monkeypatch, slow)
    _again(binary)
    _again(binary)
    assert (asked.times, slow.times) == (2, 2)


def test_a_remembered_interpreter_that_was_replaced_is_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "bin" / "python3"
    target = tmp_path / "opt" / "python3.12"
    target.parent.mkdir()
    target.write_bytes(b"\x7fELF")
    link.parent.mkdir()
    link.write_bytes(b"\x7fELF launcher")  # the candidate stays as it was; what it runs is replaced
    asked = _Asked(Probe("3.12.1", target, "cpython"))
    _answers_in(tmp_path, monkeypatch, asked)
    _again(link)
    target.write_bytes(b"\x7fELF 3.12.2 now")
    _again(link)
    assert asked.times == 2


def test_the_answers_of_candidates_that_are_gone_are_not_carried_along(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curator.resolve import interpreters

    kept, gone = tmp_path / "bin" / "python3.12", tmp_path / "old-venv" / "bin" / "python3.12"
    for binary in (kept, gone):
        binary.parent.mkdir(parents=True)
        binary.write_bytes(b"\x7fELF")
    asked = _Asked(Probe("3.12.1", kept, "cpython"))
    _answers_in(tmp_path, monkeypatch, asked)
    _again(kept)
    _again(gone)
    gone.unlink()  # an environment removed since
    cache = tmp_path / "cache" / interpreters.Answers.NAME
    assert str(gone) in cache.read_text()
    other = kept.with_name("python3")
    other.write_bytes(b"\x7fELF another")
    _again(other)  # a new answer: the file is written again
    assert str(gone) not in cache.read_text() and str(kept) in cache.read_text()
