"""A channel governed by three maintainers at threshold two: publish, yank and a change of signers
each refused below the threshold with nothing written; `curator verify DIR` replaying the log and
naming every attack on it; `--known-head` refusing a channel rolled back or forked; every entry's
signatures checked with jq and ssh-keygen alone (docs/governance.md, docs/channel.md)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from curator.channel import log, releases, render
from curator.channel.records import Action, Entry, Signer
from curator.cli import main
from curator.host.layout import ChannelLayout
from curator.model import codec
from curator.release import archive as files
from curator.release import signing
from tests.conftest import manifest_writer
from tests.integration.conftest import eco_manifest_factory

SIDES = "import cfx_top\n\ndef test_sides():\n    assert cfx_top.SIDES == ('left', 'right')\n"
PACKAGES = '  cfx-top: ["1.0"]\n  cfx-base: ["1.0"]\n'
MAINTAINERS = ("alice", "bob", "carol")
DOCS = Path(__file__).resolve().parents[2] / "docs"


@dataclass(frozen=True)
class World:
    """Keys of three maintainers, a newcomer (dave) and an outsider (mallory); signers files; and
    three bundles: eco 1.0 signed by one key (cut without governance), eco 1.1 governed and signed
    by alice and bob, and another eco 1.1 (cut again at another date), signed by them too."""

    base: Path
    keys: dict[str, Path]
    maintainers: Path  # alice, bob, carol
    rotated: Path  # bob, carol, dave
    one_key: Path  # dist/eco-1.0
    governed: Path  # governed/eco-1.1
    again: Path  # again/eco-1.1

    def key(self, *names: str) -> list[str]:
        """`--key K` for each maintainer named."""
        return [arg for name in names for arg in ("--key", str(self.keys[name]))]


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True)
    return path


def _public(key: Path) -> str:
    return " ".join(Path(f"{key}.pub").read_text().split()[:2])


def _signers_file(path: Path, keys: dict[str, Path], names: tuple[str, ...]) -> Path:
    path.write_text("# maintainers\n" + "".join(f"{name} {_public(keys[name])}\n" for name in names))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path) -> World:
    base = tmp_path_factory.mktemp("chgov")
    keys = {name: _keygen(base / f"{name}.key") for name in (*MAINTAINERS, "dave", "mallory")}
    maintainers = _signers_file(base / "maintainers.allowed_signers", keys, MAINTAINERS)
    rotated = _signers_file(base / "rotated.allowed_signers", keys, ("bob", "carol", "dave"))

    def project(name: str, version: str, extra: str = "") -> tuple[Path, Path]:
        folder = base / name
        folder.mkdir()
        manifest = eco_manifest_factory(manifest_writer(folder), wheelhouse, runner_wheels)(
            PACKAGES, suites={"sides": (["cfx-top"], SIDES)}, extra="matrix:\n  strategy: baseline\n" + extra
        )
        manifest.write_text(manifest.read_text().replace('version: "1.0"', f'version: "{version}"'))
        assert main(["run", str(manifest), "--out", str(folder / "run"), "--plain"]) == 0
        return manifest, folder / "run"

    manifest, run = project("one-key", "1.0")
    release = ["release", str(manifest), "--run", str(run), "--wheelhouse"]
    assert main([*release, "--key", str(keys["alice"]), "--out", str(base / "dist")]) == 0

    shutil.copyfile(maintainers, base / "maintainers.copy")
    governance = f"governance:\n  signers: {base / 'maintainers.copy'}\n  threshold: 2\n"
    manifest, run = project("governed-project", "1.1", governance)
    release = ["release", str(manifest), "--run", str(run), "--wheelhouse", "--key", str(keys["alice"])]
    assert main([*release, "--out", str(base / "governed")]) == 0
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "1767225600"  # 2026-01-01: the same release cut again, at another date
    try:
        assert main([*release, "--out", str(base / "again")]) == 0
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before
    for bundle in (base / "governed" / "eco-1.1", base / "again" / "eco-1.1"):
        assert main(["sign", str(bundle), "--key", str(keys["bob"])]) == 0
    world = World(
        base, keys, maintainers, rotated, base / "dist" / "eco-1.0", base / "governed" / "eco-1.1",
        base / "again" / "eco-1.1",
    )  # fmt: skip
    assert (world.governed / files.SUMS).read_bytes() != (world.again / files.SUMS).read_bytes()
    return world


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _head(root: Path) -> str:
    return hashlib.sha256((root / "log.jsonl").read_bytes().splitlines()[-1]).hexdigest()


@dataclass(frozen=True)
class Channels:
    """eco 1.0 published into an ungoverned channel, which `curator signers` then gives the three
    maintainers (`signed_in`); and that channel after alice and carol publish 1.1 (`full`)."""

    signed_in: Path
    full: Path


@pytest.fixture(scope="module")
def channels(world: World, tmp_path_factory: pytest.TempPathFactory) -> Channels:
    base = tmp_path_factory.mktemp("channels")
    root = base / "eco"
    assert main(["publish", str(world.one_key), "--channel", str(root)]) == 0
    command = ["signers", str(root), "--set", str(world.maintainers), "--threshold", "2"]
    assert main([*command, *world.key("alice", "bob")]) == 0
    signed_in = shutil.copytree(root, base / "signed-in")
    assert main(["publish", str(world.governed), "--channel", str(root), *world.key("alice", "carol")]) == 0
    return Channels(signed_in, root)


def _copy(source: Path, tmp_path: Path, name: str = "eco") -> Path:
    return shutil.copytree(source, tmp_path / name)


# ------------------------------------------------------------------------------------ must show


def test_a_channel_refuses_to_publish_or_yank_with_fewer_than_two_signatures(
    world: World, channels: Channels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy(channels.signed_in, tmp_path)
    shutil.copyfile(world.keys["alice"], tmp_path / "alice-again.key")  # one key in two files
    before = _snapshot(root)
    publish = ["publish", str(world.governed), "--channel", str(root)]
    yank = ["yank", "1.0", "--channel", str(root), "--reason", "superseded"]
    refusals = [
        ([*publish, *world.key("alice")], "1 of 2 signatures: alice; 1 more needed from bob, carol"),
        (publish, "0 of 2 signatures; 2 more needed from alice, bob, carol"),
        ([*publish, *world.key("alice", "alice")], "1 of 2 signatures: alice; 1 more needed from bob, carol"),
        ([*publish, *world.key("alice"), "--key", str(tmp_path / "alice-again.key")], "1 of 2 signatures: alice;"),
        ([*yank, *world.key("bob")], "1 of 2 signatures: bob; 1 more needed from alice, carol"),
        ([*yank], "0 of 2 signatures"),
    ]
    for argv, said in refusals:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert f"{said}" in err and "(the signers in force)" in err and "nothing was written" in err, err
        assert _snapshot(root) == before  # no entry, no page, no file, no lock left
    for argv in ([*publish, *world.key("alice", "mallory")], [*yank, *world.key("mallory", "bob", "carol")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert f"--key {world.keys['mallory']}" in err and "is no signer of" in err and "alice, bob, carol" in err
        assert _snapshot(root) == before

    assert main([*publish, *world.key("alice", "carol")]) == 0
    out = capsys.readouterr().out
    assert "log entry signed by: alice, carol" in out
    assert "2 of 2 signatures: alice, carol (the signers in force)" in out
    assert main([*yank, *world.key("bob", "carol", "alice")]) == 0
    assert "3 signatures (2 needed): alice, bob, carol (the signers in force)" in capsys.readouterr().out
    assert main(["verify", str(root)]) == 0
    out = capsys.readouterr().out
    assert "signers: 2 of alice, bob, carol; every entry from log.jsonl:2 on carries the threshold then in force" in out
    assert f"head: {_head(root)} (4 entries, the last at " in out


def test_a_change_of_signers_needs_the_threshold_of_the_old_set_and_of_the_new(
    world: World, channels: Channels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """To bob, carol and dave: alice leaves, dave joins (as TUF rotates its root)."""
    root = _copy(channels.signed_in, tmp_path)
    before = _snapshot(root)
    rotate = ["signers", str(root), "--set", str(world.rotated), "--threshold", "2"]
    old = "(the signers it replaces)"
    new = "(the signers it installs)"
    refusals = [
        (
            ("bob",),
            f"1 of 2 signatures: bob; 1 more needed from alice, carol {old}",
            f"1 of 2 signatures: bob; 1 more needed from carol, dave {new}",
        ),
        (
            ("alice", "dave"),
            f"1 of 2 signatures: alice; 1 more needed from bob, carol {old}",
            f"1 of 2 signatures: dave; 1 more needed from bob, carol {new}",
        ),
        (("carol", "dave"), f"1 of 2 signatures: carol; 1 more needed from alice, bob {old}", None),
        (("alice", "carol"), None, f"1 of 2 signatures: carol; 1 more needed from bob, dave {new}"),
    ]
    for keys, short_old, short_new in refusals:
        assert main([*rotate, *world.key(*keys)]) == 1, keys
        err = capsys.readouterr().err
        for said in (short_old, short_new):
            assert said is None or said in err, (said, err)
        assert (old in err) == (short_old is not None) and (new in err) == (short_new is not None)
        assert "nothing was written" in err
        assert _snapshot(root) == before
    assert main([*rotate, *world.key("bob", "carol", "mallory")]) == 1
    assert "is no signer of" in capsys.readouterr().err
    assert _snapshot(root) == before

    assert main([*rotate, *world.key("bob", "carol")]) == 0
    out = capsys.readouterr().out
    assert "signers of" in out and "2 of bob, carol, dave, replacing 2 of alice, bob, carol" in out
    assert f"2 of 2 signatures: bob, carol {old}" in out and f"2 of 2 signatures: bob, carol {new}" in out
    record = json.loads((root / "channel.json").read_text())
    assert ([s["principal"] for s in record["signers"]], record["threshold"]) == (["bob", "carol", "dave"], 2)
    publish = ["publish", str(world.governed), "--channel", str(root)]
    assert main([*publish, *world.key("alice", "bob")]) == 1  # alice has left
    assert "is no signer of" in capsys.readouterr().err
    assert main([*publish, *world.key("bob", "dave")]) == 0
    capsys.readouterr()
    assert main(["verify", str(root)]) == 0
    assert "signers: 2 of bob, carol, dave" in capsys.readouterr().out
    for trusted, installed in ((world.maintainers, "log.jsonl:2"), (world.rotated, "log.jsonl:3")):
        assert main(["verify", str(root), "--signers", str(trusted)]) == 0  # an old file still anchors the log
        assert f"{installed} installs them" in capsys.readouterr().out
    assert main([*rotate, *world.key("bob")]) == 0  # the set in force already: nothing to sign
    assert "2 of bob, carol, dave sign" in capsys.readouterr().out


def test_a_governed_bundle_gives_a_new_channel_its_signers(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "eco"
    publish = ["publish", str(world.governed), "--channel", str(root)]
    assert main([*publish, *world.key("alice")]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 signatures: alice; 1 more needed from bob, carol (the signers it installs)" in err, err
    assert not root.exists()  # nothing written, not even the folder
    assert main([*publish, *world.key("alice", "bob"), "--format", "json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert (said["installed"], said["signers"]) == (True, {"threshold": 2, "principals": list(MAINTAINERS)})
    assert [(a["signers"], a["tally"]["count"]) for a in said["approvals"]] == [("in-force", 2)]
    lines = [json.loads(line) for line in (root / "log.jsonl").read_text().splitlines()]
    assert [line["action"] for line in lines] == ["signers", "publish"]
    assert lines[0]["threshold"] == 2 and [s["principal"] for s in lines[0]["signers"]] == list(MAINTAINERS)
    assert sorted(lines[0]["signatures"]) == sorted(lines[1]["signatures"]) == ["alice", "bob"]
    assert main(["verify", str(root), "--signers", str(world.maintainers)]) == 0
    out = capsys.readouterr().out
    assert "governed by the signers you trust" in out and "log.jsonl:1 installs them" in out
    assert "signers: 2 of alice, bob, carol; every entry carries the threshold then in force" in out
    page = (root / "index.html").read_text()
    assert "each change signed by 2 of its 3 maintainers: alice, bob, carol" in page
    assert 'href="releases/1.1/signatures/">its maintainers</a>' in page


def test_a_new_channel_can_start_with_its_signers(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "eco"
    start = ["signers", str(root), "--set", str(world.maintainers), "--threshold", "2", *world.key("alice", "bob")]
    assert main(start) == 2
    assert "not a channel yet; to start one whose first entry names its signers, pass --distribution" in (
        capsys.readouterr().err
    )
    assert not root.exists()
    assert main([*start, "--distribution", "eco"]) == 0
    out = capsys.readouterr().out
    assert "started the channel of eco" in out and "first signers of" in out
    assert main(["verify", str(root), "--format", "json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert (said["releases"], said["entries"], said["stable"]) == (0, 1, None)
    assert said["signers"] == {"threshold": 2, "principals": list(MAINTAINERS)}
    assert main(["publish", str(world.one_key), "--channel", str(root), *world.key("carol")]) == 1
    capsys.readouterr()
    assert main(["publish", str(world.one_key), "--channel", str(root), *world.key("carol", "bob")]) == 0
    capsys.readouterr()
    assert main(["verify", str(root)]) == 0


def _malformed(world: World, tmp_path: Path) -> tuple[list[str], str]:
    bad = tmp_path / "bad.allowed_signers"
    bad.write_text(world.maintainers.read_text() + f"dave ssh-rsa {_public(world.keys['dave']).split()[1]}\n")
    return ["--set", str(bad), "--threshold", "2"], f"{bad}:5: key type 'ssh-rsa' is not supported"


def _above_the_set(world: World, tmp_path: Path) -> tuple[list[str], str]:
    said = "--threshold: threshold 4 is more than the 3 signer(s)"
    return ["--set", str(world.maintainers), "--threshold", "4"], said


def _zero(world: World, tmp_path: Path) -> tuple[list[str], str]:
    return ["--set", str(world.maintainers), "--threshold", "0"], "argument --threshold: '0' must be at least 1"


def _timed(world: World, tmp_path: Path) -> tuple[list[str], str]:
    timed = tmp_path / "timed.allowed_signers"
    lines = world.maintainers.read_text().splitlines(keepends=True)
    timed.write_text("".join([lines[0], lines[1].replace("alice ", 'alice valid-before="20300101Z" '), *lines[2:]]))
    return ["--set", str(timed), "--threshold", "2"], f"{timed}:2: valid-after/valid-before: a channel's signers change"


def _another_distribution(world: World, tmp_path: Path) -> tuple[list[str], str]:
    return ["--set", str(world.rotated), "--threshold", "2", "--distribution", "other"], "is the channel of eco"


def _no_such_file(world: World, tmp_path: Path) -> tuple[list[str], str]:
    return ["--set", str(tmp_path / "nope"), "--threshold", "2"], "no such signers file"


@pytest.mark.parametrize("bad", [_malformed, _above_the_set, _zero, _timed, _another_distribution, _no_such_file])
def test_bad_input_to_signers_is_exit_2_and_writes_nothing(
    world: World,
    channels: Channels,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bad: Callable[[World, Path], tuple[list[str], str]],
) -> None:
    root = _copy(channels.signed_in, tmp_path)
    before = _snapshot(root)
    argv, said = bad(world, tmp_path)
    assert main(["signers", str(root), *argv, *world.key("alice", "bob", "carol")]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert _snapshot(root) == before


# ------------------------------------------------------------------------------------ attacks on the log


def _lines(root: Path) -> list[bytes]:
    return (root / "log.jsonl").read_bytes().splitlines()


def _write(root: Path, lines: list[bytes], *, rederive: bool = True) -> None:
    """A mirror's edit of the log; with `rederive`, it writes channel.json, the page and the indexes
    again from the edited log, as a careful attacker would, so only the log's own checks can tell."""
    (root / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    if rederive:
        history = log.read(root)
        assert history.record is not None
        views = {r.version: releases.load(r.version, ChannelLayout(root).path) for r in history.record.releases}
        for relative, content in render.derived(history.record, views).items():
            ChannelLayout(root).path(relative).write_bytes(content)


def _key(world: World, name: str) -> signing.SigningKey:
    return signing.load_signing_key(world.keys[name].read_bytes(), name)


def _signatures(world: World, root: Path, number: int, edit: Callable[[dict[str, str], bytes], object]) -> None:
    """Edit the signatures of line `number` (from 1): `edit(signatures, signed bytes)`."""
    lines = _lines(root)
    data = json.loads(lines[number - 1])
    edit(data["signatures"], log.signed_bytes(data))
    lines[number - 1] = log.canonical(data)
    _write(root, lines)


def _a_signature_removed(world: World, root: Path) -> str:
    _signatures(world, root, 3, lambda signatures, _: signatures.pop("carol"))
    return "log.jsonl:3 (publish 1.1): 1 of 2 signatures: alice; 1 more needed from bob, carol (the signers in force)"


def _one_signature_under_two_names(world: World, root: Path) -> str:
    _signatures(world, root, 3, lambda signatures, _: signatures.update(carol=signatures["alice"]))
    return "log.jsonl:3 (publish 1.1): 1 of 2 signatures: alice; 1 more needed from bob, carol (the signers in force)"


def _one_key_twice(world: World, root: Path) -> str:
    fingerprint = _key(world, "alice").public.fingerprint

    def twice(signatures: dict[str, str], _: bytes) -> None:
        del signatures["carol"]
        signatures[fingerprint] = signatures["alice"]

    _signatures(world, root, 3, twice)
    return "log.jsonl:3 (publish 1.1): 1 of 2 signatures: alice; 1 more needed from bob, carol (the signers in force)"


def _an_outsider_for_a_signer(world: World, root: Path) -> str:
    mallory = _key(world, "mallory")
    _signatures(world, root, 3, lambda signatures, signed: signatures.update(carol=signing.sign(signed, mallory)))
    return "log.jsonl:3 (publish 1.1): 1 of 2 signatures: alice; 1 more needed from bob, carol (the signers in force)"


def _an_outsider_beside_them(world: World, root: Path) -> str:
    mallory = _key(world, "mallory")
    fingerprint = mallory.public.fingerprint
    _signatures(world, root, 3, lambda sigs, signed: sigs.update({fingerprint: signing.sign(signed, mallory)}))
    return f"log.jsonl:3 (publish 1.1): the signature of '{fingerprint}' counts for nothing: by key {fingerprint}"


def _a_rotation(world: World, root: Path, into: tuple[str, ...], signed_by: tuple[str, ...]) -> None:
    history = log.read(root)
    entry = history.next_entry(
        Action.SIGNERS,
        "eco",
        log.now(),
        signers=tuple(Signer(name, _public(world.keys[name])) for name in into),
        threshold=2,
    )
    assert history.record is not None
    signers = (*history.record.signers, *(entry.signers or ()))
    entry = log.sign(entry, [_key(world, name) for name in signed_by], signers)
    _write(root, [*_lines(root), log.line(entry)])


def _a_rotation_by_too_few_of_the_old(world: World, root: Path) -> str:
    _a_rotation(world, root, ("alice", "mallory"), ("alice", "mallory"))
    return "log.jsonl:4 (signers): 1 of 2 signatures: alice; 1 more needed from bob, carol (the signers it replaces)"


def _a_rotation_by_too_few_of_the_new(world: World, root: Path) -> str:
    _a_rotation(world, root, ("alice", "mallory"), ("alice", "bob"))
    return "log.jsonl:4 (signers): 1 of 2 signatures: alice; 1 more needed from mallory (the signers it installs)"


def _an_edited_line(world: World, root: Path) -> str:
    lines = _lines(root)
    lines[1] = lines[1].replace(b'"threshold":2', b'"threshold":1')  # one signature would do, says the line now
    _write(root, lines)
    return "log.jsonl:3 (publish 1.1): its `previous` is not the sha256 of the line before it"


def _an_edited_line_signed_again(world: World, root: Path) -> str:
    """Two maintainers rewrite history: the entry's signatures hold, its successor's `previous` does not."""
    lines = _lines(root)
    data = json.loads(lines[1])
    data["threshold"] = 1
    entry = codec.from_json(Entry, {**data, "signatures": {}})
    signed = log.sign(entry, [_key(world, "alice"), _key(world, "bob")], entry.signers or ())
    lines[1] = log.line(signed)
    _write(root, lines)
    return "log.jsonl:3 (publish 1.1): its `previous` is not the sha256 of the line before it"


def _the_last_line_edited(world: World, root: Path) -> str:
    lines = _lines(root)
    lines[-1] = lines[-1].replace(b'"pythons":["3.12"]', b'"pythons":["3.13"]')
    _write(root, lines)
    return "log.jsonl:3 (publish 1.1): the signature of 'alice' counts for nothing: alice's signature does not match"


def _a_dropped_line(world: World, root: Path) -> str:
    lines = _lines(root)
    _write(root, [lines[0], lines[2]], rederive=False)
    return "log.jsonl:2 (publish 1.1): its seq is 2, not 1"


def _reordered_lines(world: World, root: Path) -> str:
    lines = _lines(root)
    _write(root, [lines[0], lines[2], lines[1]], rederive=False)
    return "log.jsonl:2 (publish 1.1): its seq is 2, not 1"


def _a_release_folder_replaced(world: World, root: Path) -> str:
    """Another 1.1, cut and signed by the maintainers too, in place of the one the log published."""
    folder = root / "releases" / "1.1"
    owned = {name: folder / name for name in releases.CHANNEL_OWNED}
    kept = tmp = root.parent / "owned"
    tmp.mkdir()
    for name, path in owned.items():
        path.rename(kept / name)
    shutil.rmtree(folder)
    shutil.copytree(world.again, folder, ignore=shutil.ignore_patterns("wheels"))
    for name in owned:
        (kept / name).rename(folder / name)
    return "releases/1.1/SHA256SUMS: changed (its sha256 is not the one log.jsonl:3 published)"


def _release_files_changed_and_sums_remade(world: World, root: Path) -> str:
    folder = root / "releases" / "1.1"
    changes = folder / "CHANGES.md"
    changes.write_text(changes.read_text() + "\nnothing to see here\n")
    sums = files.parse_sums((folder / files.SUMS).read_text())
    sums["CHANGES.md"] = files.sha256_file(changes)
    (folder / files.SUMS).write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())))
    return "releases/1.1/SHA256SUMS: changed (its sha256 is not the one log.jsonl:3 published)"


ATTACKS = [
    _a_signature_removed,
    _one_signature_under_two_names,
    _one_key_twice,
    _an_outsider_for_a_signer,
    _an_outsider_beside_them,
    _a_rotation_by_too_few_of_the_old,
    _a_rotation_by_too_few_of_the_new,
    _an_edited_line,
    _an_edited_line_signed_again,
    _the_last_line_edited,
    _a_dropped_line,
    _reordered_lines,
    _a_release_folder_replaced,
    _release_files_changed_and_sums_remade,
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_verify_names_each_attack_on_a_governed_channel(
    world: World,
    channels: Channels,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    attack: Callable[[World, Path], str],
) -> None:
    root = _copy(channels.full, tmp_path)
    problem = attack(world, root)
    assert main(["verify", str(root)]) == 1
    err = capsys.readouterr().err
    assert problem in err, err
    assert "Traceback" not in err
    assert main(["publish", str(world.again), "--channel", str(root), *world.key("alice", "bob")]) != 0
    capsys.readouterr()  # nothing builds on a channel that does not verify


# ------------------------------------------------------------------------------------ rollback, fork


@pytest.fixture
def forked(world: World, channels: Channels, tmp_path: Path) -> Path:
    """The channel as it was before 1.1 was published, then changed otherwise: 1.0 yanked."""
    root = _copy(channels.signed_in, tmp_path, "forked")
    assert main(["yank", "1.0", "--channel", str(root), "--reason", "a fork", *world.key("bob", "carol")]) == 0
    return root


def test_known_head_refuses_a_channel_rolled_back_or_forked(
    channels: Channels, forked: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rolled_back = _copy(channels.signed_in, tmp_path, "rolled-back")  # a copy from before the last publish
    seen = _head(channels.full)
    for root in (rolled_back, forked):
        assert main(["verify", str(root)]) == 0  # consistent on its own: only the client's memory tells
        capsys.readouterr()
        assert main(["verify", str(root), "--known-head", seen]) == 1
        err = capsys.readouterr().err
        assert f"log.jsonl: does not extend your known head {seen}" in err, err
        assert "rolled back (your head is past its end) or forked" in err
        assert main(["verify", str(root), "--known-head", seen, "--format", "json"]) == 1
        assert json.loads(capsys.readouterr().out)["verified"] is False

    assert main(["verify", str(channels.full), "--known-head", _head(channels.signed_in).upper()]) == 0
    assert "extends your known head: 1 entry since" in capsys.readouterr().out
    assert main(["verify", str(channels.full), "--known-head", seen, "--format", "json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert (said["head"], said["known_head"], said["since_known"]) == (seen, seen, 0)
    assert main(["verify", str(channels.full), "--known-head", "abc"]) == 2
    assert "'abc' is not a channel's head" in capsys.readouterr().err


def _client_snippet() -> str:
    text = (DOCS / "channel.md").read_text()
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    (script,) = [b for b in blocks if "--known-head" in b and "KNOWN=" in b]
    return script


def test_the_documented_client_keeps_the_head_and_refuses_a_rollback(channels: Channels, tmp_path: Path) -> None:
    known = tmp_path / "config" / "pip" / "eco.head"
    rolled_back = _copy(channels.signed_in, tmp_path, "rolled-back")

    def client(mirror: Path) -> subprocess.CompletedProcess[str]:
        script = _client_snippet().replace("MIRROR", str(mirror))
        script = re.sub(r"^KNOWN=.*$", f"KNOWN={known}", script, flags=re.MULTILINE)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False, env=env)

    first = client(channels.full)  # first use: nothing known yet, the head is kept
    assert first.returncode == 0, first
    assert known.read_text().strip() == _head(channels.full)
    refused = client(rolled_back)
    assert refused.returncode != 0 and "does not extend your known head" in refused.stderr, refused
    assert known.read_text().strip() == _head(channels.full)  # what was seen is kept


# ------------------------------------------------------------------------------------ the signers you trust


def test_verify_signers_refuses_a_channel_not_governed_by_them(
    world: World, channels: Channels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(channels.full), "--signers", str(world.maintainers)]) == 0
    assert "log.jsonl:2 installs them" in capsys.readouterr().out
    assert main(["verify", str(channels.full), "--signers", str(world.rotated)]) == 1
    err = capsys.readouterr().err
    assert "no entry installs the signers of" in err and "(bob, carol, dave)" in err
    # a mirror's own channel: every entry good, by keys the mirror holds
    forged = tmp_path / "forged"
    mallory = _signers_file(tmp_path / "mallory.allowed_signers", world.keys, ("mallory",))
    assert main(["signers", str(forged), "--set", str(mallory), "--threshold", "1", "--distribution", "eco",
                 *world.key("mallory")]) == 0  # fmt: skip
    assert main(["publish", str(world.governed), "--channel", str(forged), *world.key("mallory")]) == 0
    capsys.readouterr()
    assert main(["verify", str(forged)]) == 0
    capsys.readouterr()
    assert main(["verify", str(forged), "--signers", str(world.maintainers)]) == 1
    assert "this channel is not governed by the maintainers you trust" in capsys.readouterr().err
    # one stolen key: alice's channel of the three maintainers at threshold 1, signed by her alone
    stolen = tmp_path / "stolen"
    assert main(["signers", str(stolen), "--set", str(world.maintainers), "--threshold", "1", "--distribution",
                 "eco", *world.key("alice")]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["verify", str(stolen), "--signers", str(world.maintainers)]) == 1
    err = capsys.readouterr().err
    assert "at a threshold of at least 2 (a majority of them) (log.jsonl:1 installs them at threshold 1)" in err
    assert main(["verify", str(stolen), "--signers", str(world.maintainers), "--threshold", "1"]) == 0


# ------------------------------------------------------------------------------------ OpenSSH alone


def _entry_check() -> str:
    text = (DOCS / "governance.md").read_text()
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    (script,) = [b for b in blocks if "log.jsonl" in b and "ssh-keygen -Y verify" in b]
    return script


def test_each_entry_checks_with_jq_and_ssh_keygen_alone(world: World, channels: Channels, tmp_path: Path) -> None:
    """The by-hand check of docs/governance.md, on every entry of a channel that was given signers,
    rotated them and published under the new set; and on an entry short of its threshold."""
    root = _copy(channels.full, tmp_path)
    rotate = ["signers", str(root), "--set", str(world.rotated), "--threshold", "2", *world.key("bob", "carol")]
    assert main(rotate) == 0
    assert main(["yank", "1.1", "--channel", str(root), "--reason", "r", *world.key("dave", "carol")]) == 0
    script = _entry_check()

    def check(number: int) -> subprocess.CompletedProcess[str]:
        numbered = re.sub(r"^N=\d+", f"N={number}", script, flags=re.MULTILINE)
        return subprocess.run(["bash", "-c", numbered], cwd=root, capture_output=True, text=True, check=False)

    said = [check(number) for number in range(1, 6)]
    assert [r.returncode for r in said] == [0, 0, 0, 0, 0], said
    assert [r.stdout for r in said] == [
        "0 of 0 signatures of the signers in force\n",  # publish 1.0, before the channel had signers
        "0 of 0 signatures of the signers it replaces\n2 of 2 signatures of the signers it installs\n",
        "2 of 2 signatures of the signers in force\n",
        "2 of 2 signatures of the signers it replaces\n2 of 2 signatures of the signers it installs\n",
        "2 of 2 signatures of the signers in force\n",  # the yank, by dave and carol
    ]
    lines = _lines(root)
    data = json.loads(lines[4])
    del data["signatures"]["carol"]
    lines[4] = log.canonical(data)
    _write(root, lines)
    short = check(5)
    assert (short.returncode, short.stdout) == (1, "1 of 2 signatures of the signers in force\n"), short
