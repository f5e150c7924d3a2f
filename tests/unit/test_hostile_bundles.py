"""Crafted bundle tarballs given to `curator verify` and `curator diff`: refused in one line, nothing written.

Each archive is built here, member by member. Whatever it holds, curator must answer with exit
status 2 and one line naming the member at fault, and must write nothing at all: every file
under the test's folder (where the temporary folder is pointed too) is the same afterwards,
and a sentinel file the archive aims at keeps its content. Last, bundles that are well formed but
not what they say they are (renamed, an empty folder added): exit 1, naming it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from curator.cli import main
from curator.model.errors import UsageError
from curator.release import archive as files
from curator.release import contents

Member = tuple[str, bytes, bytes | None, str]  # (name, tar type, content, link target)
Craft = Callable[[Path], list[Member]]

SENTINEL = b"the original content\n"
STEPS = "abcdefghijklmnop"  # the CVE-2025-4517 chain: 16 short links, each to a 247-character folder


def _dir(name: str) -> Member:
    return (name, tarfile.DIRTYPE, None, "")


def _file(name: str, content: bytes = b"pwned\n") -> Member:
    return (name, tarfile.REGTYPE, content, "")


def _link(name: str, kind: bytes, target: str) -> Member:
    return (name, kind, None, target)


def _write(archive: Path, members: list[Member], *, pax: dict[str, str] | None = None) -> Path:
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, content, target in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            if kind == tarfile.CHRTYPE:
                info.devmajor, info.devminor = 1, 3
            if pax and name == members[-1][0]:
                info.pax_headers = pax
            if content is not None:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.addfile(info)
    return archive


def _cve_2025_4517_chain(outside: Path) -> list[Member]:
    """Links whose real path runs past PATH_MAX, so a non-strict realpath (what tarfile's "data"
    filter relied on) stops resolving and judges the final link's target to lie inside the
    destination, while the kernel follows it three folders up and into `outside`."""
    long_folder = "d" * 247
    members = [_dir("top")]
    through = "top"
    for step in STEPS:
        members += [_dir(f"{through}/{long_folder}"), _link(f"{through}/{step}", tarfile.SYMTYPE, long_folder)]
        through = f"{through}/{step}"
    deep_link = f"{through}/{'l' * 254}"
    members.append(_link(deep_link, tarfile.SYMTYPE, "../" * len(STEPS)))
    # from top/: up to the extraction folder, the temporary folder, the test's folder; then outside/
    escape = f"{deep_link.removeprefix('top/')}/../../../{outside.name}"
    members += [_link("top/escape", tarfile.SYMTYPE, escape), _file("top/escape/sentinel.txt")]
    return members


CRAFTED: dict[str, tuple[Craft, str]] = {
    "path-traversal": (
        lambda out: [_dir("top"), _file("top/../../sentinel.txt")],
        "member 'top/../../sentinel.txt' leads outside the bundle ('..')",
    ),
    "absolute-path": (
        lambda out: [_dir("top"), _file(str(out / "sentinel.txt"))],
        "has an absolute name",
    ),
    "symlink-escape": (
        lambda out: [_dir("top"), _link("top/link", tarfile.SYMTYPE, str(out)), _file("top/link/sentinel.txt")],
        "member 'top/link' is a symbolic link; a bundle holds only files and folders",
    ),
    "hardlink-escape": (
        lambda out: [_dir("top"), _link("top/hard", tarfile.LNKTYPE, str(out / "sentinel.txt")), _file("top/hard")],
        "member 'top/hard' is a hard link; a bundle holds only files and folders",
    ),
    "device": (
        lambda out: [_dir("top"), _link("top/null", tarfile.CHRTYPE, "")],
        "member 'top/null' is a character device",
    ),
    "fifo": (
        lambda out: [_dir("top"), _link("top/pipe", tarfile.FIFOTYPE, "")],
        "member 'top/pipe' is a FIFO",
    ),
    "two-top-folders": (
        lambda out: [_dir("top"), _file("top/SHA256SUMS", b""), _dir("other"), _file("other/x")],
        "it holds more than one top folder ('top' and 'other'); a bundle tarball holds exactly one",
    ),
    "file-twice": (
        lambda out: [_dir("top"), _file("top/SHA256SUMS", b""), _file("top/SHA256SUMS", b"again")],
        "member 'top/SHA256SUMS' appears twice",
    ),
    "cve-2025-4517-symlink-chain": (
        _cve_2025_4517_chain,
        f"member 'top/{STEPS[0]}' is a symbolic link",
    ),
}


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` (links not followed), with a file's sha256 or a link's target."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path)] = f"-> {path.readlink()}"
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[str(path)] = "folder"
    return found


@pytest.fixture
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`tmp_path` with `outside/sentinel.txt`, and the temporary folder moved inside it (so that
    anything an extraction wrote, inside the temporary folder or out of it, would show)."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "sentinel.txt").write_bytes(SENTINEL)
    (tmp_path / "t").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    return tmp_path


@pytest.mark.parametrize("command", ["verify", "diff", "sign", "publish"])
@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_tarball_is_refused_in_one_line_and_writes_nothing(
    guarded: Path, capsys: pytest.CaptureFixture[str], case: str, command: str
) -> None:
    """`sign` copies a tarball out member by member (to sign it and make it again): a crafted one is
    refused the same way, and the copy it began is gone."""
    craft, message = CRAFTED[case]
    archive = _write(guarded / "crafted.tar.gz", craft(guarded / "outside"))
    (guarded / "offered.sig").write_text("-----BEGIN SSH SIGNATURE-----\n")
    before = _snapshot(guarded)
    argv = {
        "verify": ["verify", str(archive)],
        "diff": ["diff", str(archive), str(archive)],
        "sign": ["sign", str(archive), "--signature", str(guarded / "offered.sig")],
        "publish": ["publish", str(archive), "--channel", str(guarded / "channel")],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"curator: error: {archive}: not a bundle tarball: ")
    assert message in err
    assert (guarded / "outside" / "sentinel.txt").read_bytes() == SENTINEL
    assert _snapshot(guarded) == before


@pytest.mark.parametrize("case", list(CRAFTED))
def test_unpacking_a_crafted_tarball_writes_nothing_outside_its_folder(guarded: Path, case: str) -> None:
    """`curator publish` unpacks a bundle tarball only after verify read it; should the file change in
    between, `unpack` holds the same line on its own: nothing lands outside its target, no link is made."""
    craft, message = CRAFTED[case]
    archive = _write(guarded / "crafted.tar.gz", craft(guarded / "outside"))
    target = guarded / "target"
    target.mkdir()
    before = _snapshot(guarded)
    with pytest.raises(UsageError, match=re.escape(message)):
        contents.unpack(archive, target)
    assert (guarded / "outside" / "sentinel.txt").read_bytes() == SENTINEL
    after = _snapshot(guarded)
    inside = str(target) + "/"
    assert {k: v for k, v in after.items() if not k.startswith(inside)} == before
    assert not [p for p in target.rglob("*") if p.is_symlink()]


def _bundle(folder: Path) -> Path:
    """A small unsigned bundle folder, as `curator release --unsigned` lays one out."""
    (folder / "locks").mkdir(parents=True)
    (folder / "locks" / "py3.12.txt").write_text("cfx-base==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    record = {"distribution": "eco", "version": "1.0", "signature": {"signed": False}}
    (folder / "release.json").write_text(json.dumps(record))
    (folder / files.SUMS).write_text(files.render_sums(folder))
    return folder


def test_a_good_tarball_verifies_without_being_unpacked(
    guarded: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _bundle(guarded / "src" / "eco-1.0")
    archive = guarded / "eco-1.0.tar.gz"
    files.write_tarball(folder, "eco-1.0", archive, 1_700_000_000)
    before = _snapshot(guarded)
    assert main(["verify", str(archive)]) == 0
    assert "2 files match SHA256SUMS" in capsys.readouterr().out
    assert _snapshot(guarded) == before

    (folder / "locks" / "py3.12.txt").write_text("cfx-base==2.0\n")  # tampered after signing
    files.write_tarball(folder, "eco-1.0", archive, 1_700_000_000)
    assert main(["verify", str(archive)]) == 1
    assert "locks/py3.12.txt: changed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("bound", "value", "message"),
    [
        pytest.param("MAX_MEMBERS", 2, "more than 2 members", id="member-count"),
        pytest.param("MAX_MEMBER_BYTES", 100, "member 'eco-1.0/SHA256SUMS' is larger than 100 bytes", id="size"),
        pytest.param("MAX_TOTAL_BYTES", 150, "its files add up to more than 150 bytes", id="total-size"),
    ],
)
def test_tarballs_past_the_bounds_are_refused(
    guarded: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bound: str,
    value: int,
    message: str,
) -> None:
    folder = _bundle(guarded / "src" / "eco-1.0")
    archive = guarded / "eco-1.0.tar.gz"
    files.write_tarball(folder, "eco-1.0", archive, 1_700_000_000)
    monkeypatch.setattr(contents, bound, value)
    assert main(["verify", str(archive)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_an_oversized_extended_header_is_refused_before_it_is_read(
    guarded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _write(
        guarded / "big-header.tar.gz", [_dir("top"), _file("top/SHA256SUMS", b"")], pax={"comment": "x" * 2**21}
    )
    assert main(["verify", str(archive)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable .tar.gz (an extended header of" in err


def test_garbage_is_not_a_readable_tarball(guarded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = guarded / "junk.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 100)
    assert main(["verify", str(archive)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable .tar.gz" in err


# ----------------------------------------------------------------------- bundles that are not what they say


@pytest.mark.parametrize("form", ["folder", "tarball"])
def test_a_bundle_named_for_another_release_does_not_verify(
    guarded: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    """Found under attack: `rzdist-1` renamed `rzdist-2` (inside its tarball too) verified, exit 0."""
    folder = _bundle(guarded / "src" / "eco-1.0")
    if form == "folder":
        bundle = folder.rename(guarded / "src" / "eco-2.0")
    else:
        bundle = guarded / "eco-2.0.tar.gz"
        files.write_tarball(folder, "eco-2.0", bundle, 1_700_000_000)
    assert main(["verify", str(bundle)]) == 1
    err = capsys.readouterr().err
    assert "'eco-2.0': the bundle's folder is named so, but release.json says it is 'eco-1.0'" in err


@pytest.mark.parametrize("form", ["folder", "tarball"])
def test_an_empty_folder_is_extra(guarded: Path, capsys: pytest.CaptureFixture[str], form: str) -> None:
    """Found under attack: an added empty folder passed "none extra". Only the outermost is named."""
    folder = _bundle(guarded / "src" / "eco-1.0")
    (folder / "locks" / "later").mkdir()
    (folder / "spare" / "inner").mkdir(parents=True)
    bundle = folder
    if form == "tarball":
        bundle = guarded / "eco-1.0.tar.gz"
        files.write_tarball(folder, "eco-1.0", bundle, 1_700_000_000)
    assert main(["verify", str(bundle)]) == 1
    err = capsys.readouterr().err
    assert "does not verify (2 problem(s))" in err, err
    assert "  locks/later/: extra (a folder holding nothing SHA256SUMS lists)\n" in err
    assert "  spare/: extra (a folder holding nothing SHA256SUMS lists)\n" in err


def test_a_bundle_that_does_not_say_what_it_is_does_not_verify(
    guarded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _bundle(guarded / "src" / "eco-1.0")
    (folder / "release.json").write_text(json.dumps({"signature": {"signed": False}}))
    (folder / files.SUMS).write_text(files.render_sums(folder))
    assert main(["verify", str(folder)]) == 1
    assert "release.json: missing or unreadable, so nothing says which distribution and version this is" in (
        capsys.readouterr().err
    )
