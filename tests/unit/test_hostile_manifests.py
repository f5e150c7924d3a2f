"""Manifest values found by fuzzing to crash `curator check`: each is now a located, one-line error.

Every case is met as a user meets it — `curator plan MANIFEST` (which parses exactly as `check`
does, without looking for interpreters) — and must give exit status 2 and exactly one line,
`curator: error: FILE:LINE:COL: message`, with any echoed value quoted and cut.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from curator import manifest
from curator.cli import main
from curator.model.errors import ManifestError
from tests.conftest import WriteManifest

BASE = 'distribution: demo\nversion: "1.0"\npython: ["3.11"]\npackages:\n  numpy: ["1.26.4"]\n'
EXPECTED = "policy:\n  expected_failures:\n    - when: {numpy: '>=1'}\n      reason: r\n      expires: "
SUITE = "suites:\n  s:\n    path: "


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CASES = [
    # impossible dates and YAML tags whose constructor fails
    ("impossible-date", EXPECTED + "2027-02-30\n", 10, 16, "expires: '2027-02-30' is not a valid date"),
    ("tag-int", "policy:\n  timeout: !!int abc\n", 7, 12, "policy.timeout: 'abc' is not a valid whole number"),
    ("tag-bool", "index:\n  no_index: !!bool maybe\n", 7, 13, "index.no_index: 'maybe' is not a valid true or false"),
    ("tag-timestamp", EXPECTED + "!!timestamp soon\n", 10, 16, "expires: 'soon' is not a valid date"),
    ("tag-float", "policy:\n  timeout: !!float fast\n", 7, 12, "policy.timeout: 'fast' is not a valid number"),
    (
        "tag-unknown",
        "policy:\n  retries: !custom 5\n",
        7,
        12,
        "could not determine a constructor for the tag '!custom'",
    ),
    ("tag-python", "policy:\n  timeout: !!python/name:os.system ''\n", 7, 12, "could not determine a constructor"),
    # numbers: Python's int-string limit, overflow to float, non-finite values, absurd sizes
    ("int-past-4300-digits", "policy:\n  retries: " + "9" * 5000 + "\n", 7, 12, "a whole number of 5,000 digits"),
    ("huge-int-timeout", "policy:\n  timeout: 1" + "0" * 400 + "\n", 7, 12, "policy.timeout must be at most 604,800"),
    (
        "float-overflow",
        "policy:\n  timeout: 1.0e+400\n",
        7,
        12,
        "policy.timeout must be a finite number, not '1.0e+400'",
    ),
    ("nan-timeout", "policy:\n  timeout: .nan\n", 7, 12, "policy.timeout must be a finite number, not '.nan'"),
    ("inf-timeout", "policy:\n  timeout: .inf\n", 7, 12, "policy.timeout must be a finite number, not '.inf'"),
    ("retries-too-many", "policy:\n  retries: 101\n", 7, 12, "policy.retries must be at most 100, not '101'"),
    ("max-cells-too-many", "matrix:\n  max_cells: 10000001\n", 7, 14, "matrix.max_cells must be at most 1,000,000"),
    # paths the operating system cannot take
    ("path-too-long", SUITE + "x" * 5000 + "\n", 8, 11, "… (5,000 characters) cannot be used (file name too long)"),
    ("path-nul", SUITE + '"suites/\\0s"\n', 8, 11, "suites.s.path must not hold a NUL character: 'suites/\\x00s'"),
    ("path-surrogate", SUITE + '"suites/\\ud800"\n', 8, 11, "holds a lone surrogate, which is not text"),
    ("find-links-too-long", "index:\n  find_links: [" + "y" * 5000 + "]\n", 7, 16, "(file name too long)"),
    ("find-links-nul", 'index:\n  find_links: ["a\\0b"]\n', 7, 16, "index.find_links must not hold a NUL character"),
    ("find-links-surrogate", 'index:\n  find_links: ["\\udc80"]\n', 7, 16, "holds a lone surrogate"),
    # suites outside the manifest's folder
    ("path-root", SUITE + "/\n", 8, 11, "suite path '/' leads outside the manifest's folder (to '/'); move the suite"),
    ("path-up", SUITE + "..\n", 8, 11, "suite path '..' leads outside the manifest's folder"),
    ("allow-outside-not-bool", SUITE + "..\n    allow_outside: maybe\n", 9, 20, "must be true or false, not 'maybe'"),
    # nesting past the stack, in flow and block style
    ("nested-500-flow", "x: " + _nested(500) + "\n", 6, 67, "the manifest is nested deeper than 64 levels"),
    ("nested-500-block", "".join(f"{'  ' * i}k:\n" for i in range(500)), 69, 127, "nested deeper than 64 levels"),
    # echoed values: one line, and short
    (
        "newline-in-value",
        'matrix:\n  strategy: "pairs\\nfull"\n',
        7,
        13,
        "matrix.strategy 'pairs\\nfull' is not one of",
    ),
    ("newline-in-key", '"ver\\nsion": 1\n', 6, 1, "unknown key 'ver\\nsion' in the manifest"),
    ("megabyte-value", 'matrix:\n  strategy: "' + "a" * 2**20 + '"\n', 7, 13, "'… (1,048,576 characters) is not one"),
    ("control-character", "policy:\n  timeout: 1\x07\n", 7, 13, "YAML does not allow the character U+0007 here"),
    ("suite-name-newline", 'suites:\n  "s\\n":\n    path: .\n', 7, 3, "suite name 's\\n' may only hold letters"),
    ("requirement-caret", 'test_requires: ["pytest ["]\n', 6, 17, "'pytest [' is not a valid requirement: Expected"),
    # the matrix's include and exclude, the environment's variables
    (
        "env-nul",
        'environment:\n  env:\n    A: "x\\0y"\n',
        8,
        8,
        "environment.env.A must not hold a NUL character: 'x\\x00y'",
    ),
    ("env-name-newline", 'environment:\n  env:\n    "A\\nB": x\n', 8, 5, "environment variable 'A\\nB' may only hold"),
    ("env-surrogate", 'environment:\n  env:\n    A: "\\udc80"\n', 8, 8, "environment.env.A holds a lone surrogate"),
    (
        "exclude-megabyte-specifier",
        'matrix:\n  exclude:\n    - {numpy: "' + "a" * 2**20 + '"}\n',
        8,
        15,
        "'… (1,048,576 characters) is not a version specifier",
    ),
    (
        "include-long-number",
        'matrix:\n  include:\n    - pins: {numpy: "1.' + "9" * 5000 + '"}\n',
        8,
        21,
        "holds a number of 5,000 digits; at most 100",
    ),
]


@pytest.mark.parametrize(("case", "text", "line", "column", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_value_is_one_located_line_with_exit_2(
    write_manifest: WriteManifest,
    capsys: pytest.CaptureFixture[str],
    case: str,
    text: str,
    line: int,
    column: int,
    message: str,
) -> None:
    path = write_manifest(BASE + text)
    assert main(["plan", str(path), "--strategy", "baseline"]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.count("\n") == 1, captured.err[:500]
    assert captured.err.startswith(f"curator: error: {path}:{line}:{column}: "), captured.err[:300]
    assert message in captured.err
    assert len(captured.err) < 400  # values are cut, never echoed whole


def test_a_suite_outside_the_manifest_folder_is_allowed_when_asked(write_manifest: WriteManifest) -> None:
    path = write_manifest(BASE + SUITE + "..\n    allow_outside: true\n")
    (suite,) = manifest.load(path).suites
    assert suite.path == path.parent.parent.resolve()


def test_a_suite_folder_below_the_manifest_by_a_link_outside_is_refused(
    write_manifest: WriteManifest, tmp_path: Path
) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "elsewhere").symlink_to(tmp_path.parent)
    with pytest.raises(ManifestError, match="leads outside the manifest's folder"):
        manifest.load(write_manifest(BASE + SUITE + "suites/elsewhere\n"))


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder", "over-16-MiB"])
def test_a_manifest_that_is_no_regular_small_file_is_refused_without_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    match kind:
        case "dev-zero":
            path, reason = Path("/dev/zero"), "not a regular file (it is a character device)"
        case "fifo":
            path, reason = tmp_path / "distribution.yaml", "not a regular file (it is a FIFO)"
            os.mkfifo(path)  # opening it for reading would block until a writer came
            unblock = threading.Timer(10, _open_for_writing, [path])  # so a regression fails, not hangs
            unblock.start()
        case "folder":
            path, reason = tmp_path, "not a regular file (it is a folder)"
        case _:
            path, reason = tmp_path / "distribution.yaml", "larger than 16 MiB"
            with path.open("wb") as handle:
                handle.truncate(manifest.MAX_BYTES + 1)
    try:
        assert main(["check", str(path)]) == 2
    finally:
        if kind == "fifo":
            unblock.cancel()
    err = capsys.readouterr().err
    assert err == f"curator: error: {path}:1:1: cannot read the manifest: {reason}" + (
        ", too large to be what curator expects here\n" if kind == "over-16-MiB" else "\n"
    )


def _open_for_writing(fifo: Path) -> None:
    with contextlib.suppress(OSError):  # no reader waiting: nothing to unblock
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
