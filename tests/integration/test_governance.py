"""Three maintainers, threshold two: a release signed by one, `curator sign` by another, every signature
checked by `ssh-keygen -Y verify`, and every way to fake the count refused (docs/governance.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from curator.cli import main
from curator.release import archive as files
from curator.release import governance
from tests.conftest import manifest_writer
from tests.integration.conftest import eco_manifest_factory

SIDES = "import cfx_top\n\ndef test_sides():\n    assert cfx_top.SIDES == ('left', 'right')\n"
PACKAGES = '  cfx-top: ["1.0"]\n  cfx-base: ["1.0"]\n'
MAINTAINERS = ("alice", "bob", "carol")


@dataclass(frozen=True)
class World:
    """A passing run of a governed manifest, three maintainers and an outsider, and two releases
    of it: one signed by alice (`dist/`), one cut with no signature yet (`unsigned/`)."""

    base: Path
    manifest: Path
    run: Path
    keys: dict[str, Path]
    signers: Path
    dist: Path
    unsigned: Path

    def key(self, name: str) -> Path:
        return self.keys[name]

    @property
    def bundle(self) -> Path:
        return self.dist / "eco-1.0"


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True)
    return path


def _public(key: Path) -> str:
    return " ".join(Path(f"{key}.pub").read_text().split()[:2])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path) -> World:
    base = tmp_path_factory.mktemp("governance")
    keys = {name: _keygen(base / f"{name}.key") for name in (*MAINTAINERS, "mallory")}
    signers = base / "project" / "maintainers.allowed_signers"
    signers.parent.mkdir()
    signers.write_text(
        "# the maintainers of eco, one line each\n"
        + "".join(f'{name} namespaces="curator" {_public(keys[name])} {name}\n' for name in MAINTAINERS)
    )
    governed = "matrix:\n  strategy: baseline\ngovernance:\n  signers: maintainers.allowed_signers\n  threshold: 2\n"
    manifest = eco_manifest_factory(manifest_writer(base / "project"), wheelhouse, runner_wheels)(
        PACKAGES, suites={"sides": (["cfx-top"], SIDES)}, extra=governed
    )
    run = base / "project" / "run"
    assert main(["run", str(manifest), "--out", str(run), "--plain"]) == 0
    dist, unsigned = base / "dist", base / "unsigned"
    release = ["release", str(manifest), "--run", str(run), "--wheelhouse"]
    assert main([*release, "--key", str(keys["alice"]), "--out", str(dist)]) == 0
    assert main([*release, "--unsigned", "--out", str(unsigned)]) == 0
    return World(base, manifest, run, keys, signers, dist, unsigned)


def _copy(source: Path, tmp_path: Path, name: str = "copy") -> Path:
    """The bundle folder `source` and its tarball, copied side by side into `tmp_path/name/`."""
    target = tmp_path / name
    target.mkdir()
    shutil.copytree(source, target / source.name)
    shutil.copyfile(f"{source}.tar.gz", target / f"{source.name}.tar.gz")
    return target / source.name


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ssh_verify(allowed: Path, principal: str, signature: Path, message: bytes) -> subprocess.CompletedProcess[bytes]:
    command = ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", "curator", "-s", str(signature)]
    return subprocess.run(command, input=message, capture_output=True, check=False)


def _ssh_sign(key: Path, message: Path, namespace: str = "curator") -> Path:
    """`ssh-keygen -Y sign`, as a maintainer with OpenSSH alone signs: MESSAGE.sig beside MESSAGE."""
    Path(f"{message}.sig").unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(key), "-n", namespace, str(message)], check=True)
    return Path(f"{message}.sig")


# ------------------------------------------------------------------------------------ must show


def test_one_signature_of_two_needed_then_a_second_maintainer_signs(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _copy(world.bundle, tmp_path)
    tarball = Path(f"{bundle}.tar.gz")
    assert sorted(p.name for p in (bundle / "signatures").iterdir()) == ["alice.sig"]
    for target in (bundle, tarball):
        assert main(["verify", str(target), "--signers", str(world.signers)]) == 1
        err = capsys.readouterr().err
        assert "signatures: 1 of 2 signatures: alice; 1 more needed from bob, carol" in err, err

    assert main(["sign", str(bundle), "--key", str(world.key("bob"))]) == 0
    out = capsys.readouterr().out
    assert "signed as bob" in out and "2 of 2 signatures: alice, bob" in out
    for target in (bundle, tarball):
        assert main(["verify", str(target), "--signers", str(world.signers)]) == 0
        out = capsys.readouterr().out
        assert "signatures: 2 of 2 signatures: alice, bob" in out and "the signers you trust" in out

    sums = (bundle / "SHA256SUMS").read_bytes()
    for principal in ("alice", "bob"):
        done = _ssh_verify(world.signers, principal, bundle / "signatures" / f"{principal}.sig", sums)
        assert done.returncode == 0, done.stderr
        assert f'Good "curator" signature for {principal}'.encode() in done.stdout
        other = "carol" if principal == "alice" else "alice"  # -I checks the name as well as the key
        assert _ssh_verify(world.signers, other, bundle / "signatures" / f"{principal}.sig", sums).returncode != 0
    assert _ssh_verify(world.signers, "bob", bundle / "signatures" / "bob.sig", sums + b"\n").returncode != 0


def test_the_tarball_is_the_same_whoever_signs_second(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signatures are deterministic and the tarball a function of the folder: alice then bob, bob then
    alice, signing folders or tarballs, and the release signed by alice then bob, all give one tarball."""
    orders = {"alice-bob": ("alice", "bob"), "bob-alice": ("bob", "alice")}
    tarballs: dict[str, bytes] = {}
    for label, order in orders.items():
        folder = _copy(world.unsigned / "eco-1.0", tmp_path, f"folder-{label}")
        alone = tmp_path / f"tarball-{label}"
        alone.mkdir()
        tarball = Path(shutil.copyfile(world.unsigned / "eco-1.0.tar.gz", alone / "eco-1.0.tar.gz"))
        for name in order:
            assert main(["sign", str(folder), "--key", str(world.key(name))]) == 0
            assert main(["sign", str(tarball), "--key", str(world.key(name))]) == 0
        tarballs[f"folder {label}"] = Path(f"{folder}.tar.gz").read_bytes()
        tarballs[f"tarball {label}"] = tarball.read_bytes()
        assert sorted(p.name for p in alone.iterdir()) == ["eco-1.0.tar.gz"]  # nothing left behind
    released = _copy(world.bundle, tmp_path, "released")
    assert main(["sign", str(released), "--key", str(world.key("bob"))]) == 0
    tarballs["released by alice, signed by bob"] = Path(f"{released}.tar.gz").read_bytes()
    capsys.readouterr()
    assert len({hashlib.sha256(t).hexdigest() for t in tarballs.values()}) == 1, {
        k: hashlib.sha256(t).hexdigest()[:12] for k, t in tarballs.items()
    }
    assert tarballs["folder alice-bob"] != (world.unsigned / "eco-1.0.tar.gz").read_bytes()


def test_a_signature_made_with_ssh_keygen_alone_counts(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A maintainer with OpenSSH only: `ssh-keygen -Y sign -n curator SHA256SUMS`, moved into signatures/,
    or handed to `curator sign --signature` (which makes the tarball again)."""
    bundle = _copy(world.bundle, tmp_path)
    made = _ssh_sign(world.key("carol"), bundle / "SHA256SUMS")
    kept = shutil.move(made, tmp_path / "carol.sig")
    assert main(["sign", str(bundle), "--signature", str(kept)]) == 0
    assert "signed as carol" in capsys.readouterr().out
    assert (bundle / "signatures" / "carol.sig").read_bytes() == Path(kept).read_bytes()
    assert main(["verify", f"{bundle}.tar.gz", "--signers", str(world.signers)]) == 0
    assert "2 of 2 signatures: alice, carol" in capsys.readouterr().out

    by_hand = _copy(world.bundle, tmp_path, "by-hand")
    shutil.move(_ssh_sign(world.key("bob"), by_hand / "SHA256SUMS"), by_hand / "signatures" / "bob.sig")
    assert main(["verify", str(by_hand), "--signers", str(world.signers)]) == 0
    curator_made = _copy(world.bundle, tmp_path, "curator-made")
    assert main(["sign", str(curator_made), "--key", str(world.key("bob"))]) == 0
    # byte for byte what ssh-keygen makes, so the tarball is the same however a maintainer signed
    assert (curator_made / "signatures" / "bob.sig").read_bytes() == (by_hand / "signatures" / "bob.sig").read_bytes()


# ------------------------------------------------------------------------------------ attacks


def _remove_a_signature(bundle: Path, world: World) -> str:
    (bundle / "signatures" / "bob.sig").unlink()
    return "signatures: 1 of 2 signatures: alice; 1 more needed from bob, carol"


def _one_signature_under_two_names(bundle: Path, world: World) -> str:
    """alice's signature copied as carol's: one key, two files."""
    (bundle / "signatures" / "bob.sig").unlink()
    shutil.copyfile(bundle / "signatures" / "alice.sig", bundle / "signatures" / "carol.sig")
    return "signatures/carol.sig: does not count: presented as 'carol''s but made by 'alice''s key"


def _an_outsiders_signature(bundle: Path, world: World) -> str:
    made = _ssh_sign(world.key("mallory"), bundle / "SHA256SUMS")
    shutil.move(made, bundle / "signatures" / "bob.sig")
    return "signatures/bob.sig: does not count: by key SHA256:"


def _an_outsider_under_an_own_name(bundle: Path, world: World) -> str:
    (bundle / "signatures" / "bob.sig").unlink()
    shutil.move(_ssh_sign(world.key("mallory"), bundle / "SHA256SUMS"), bundle / "signatures" / "mallory.sig")
    return "signatures/mallory.sig: does not count: by key SHA256:"


def _a_signature_of_another_sha256sums(bundle: Path, world: World) -> str:
    other = bundle.parent / "SHA256SUMS"
    other.write_bytes((bundle / "SHA256SUMS").read_bytes().replace(b"  CHANGES.md", b"  CHANGES.txt"))
    shutil.move(_ssh_sign(world.key("bob"), other), bundle / "signatures" / "bob.sig")
    return "signatures/bob.sig: does not count: bob's signature does not match SHA256SUMS"


def _a_signature_in_another_namespace(bundle: Path, world: World) -> str:
    made = _ssh_sign(world.key("bob"), bundle / "SHA256SUMS", namespace="git")
    shutil.move(made, bundle / "signatures" / "bob.sig")
    return "signatures/bob.sig: does not count: made for namespace 'git', not 'curator'"


def _a_changed_file(bundle: Path, world: World) -> str:
    lock = bundle / "locks" / "py3.12.txt"
    lock.write_text(lock.read_text() + "\n")
    return "locks/py3.12.txt: changed"


def _the_sums_made_again(bundle: Path, world: World) -> str:
    """A changed file and SHA256SUMS made again to match: no maintainer signed those sums."""
    lock = bundle / "locks" / "py3.12.txt"
    lock.write_text(lock.read_text() + "\n")
    (bundle / "SHA256SUMS").write_text(files.render_sums(bundle))
    return "signatures: 0 of 2 signatures; 2 more needed from alice, bob, carol"


def _the_signers_file_swapped(bundle: Path, world: World) -> str:
    """The bundle's own signers file replaced (and SHA256SUMS made again): release.json disagrees."""
    (bundle / "allowed_signers").write_text(f"mallory {_public(world.key('mallory'))}\n")
    (bundle / "SHA256SUMS").write_text(files.render_sums(bundle))
    return "allowed_signers: names other signers than release.json records"


def _a_stray_file_among_the_signatures(bundle: Path, world: World) -> str:
    (bundle / "signatures" / "notes.txt").write_text("hello")
    return "signatures/notes.txt: extra (signatures/ holds only <principal>.sig signatures)"


def _a_single_key_signature_beside_them(bundle: Path, world: World) -> str:
    shutil.copyfile(bundle / "signatures" / "alice.sig", bundle / "SHA256SUMS.sig")
    return "SHA256SUMS.sig: this bundle was cut with governance; its signatures are signatures/<principal>.sig"


@pytest.mark.parametrize(
    "attack",
    [
        _remove_a_signature,
        _one_signature_under_two_names,
        _an_outsiders_signature,
        _an_outsider_under_an_own_name,
        _a_signature_of_another_sha256sums,
        _a_signature_in_another_namespace,
        _a_changed_file,
        _the_sums_made_again,
        _the_signers_file_swapped,
        _a_stray_file_among_the_signatures,
        _a_single_key_signature_beside_them,
    ],
)
@pytest.mark.parametrize("form", ["folder", "tarball"])
def test_every_attack_on_the_signatures_is_refused(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], attack: Callable[[Path, World], str], form: str
) -> None:
    bundle = _copy(world.bundle, tmp_path)
    assert main(["sign", str(bundle), "--key", str(world.key("bob"))]) == 0
    assert main(["verify", str(bundle), "--signers", str(world.signers)]) == 0
    capsys.readouterr()
    problem = attack(bundle, world)
    target = bundle
    if form == "tarball":  # the attacked folder packed as curator packs one
        date = json.loads((world.bundle / "release.json").read_text())["date"]
        target = tmp_path / "attacked" / "eco-1.0.tar.gz"
        target.parent.mkdir()
        files.write_tarball(bundle, bundle.name, target, int(dt.datetime.fromisoformat(date).timestamp()))
    assert main(["verify", str(target), "--signers", str(world.signers)]) == 1
    err = capsys.readouterr().err
    assert problem in err, err
    assert "Traceback" not in err


def test_one_key_under_two_principals_in_the_trusted_file_is_refused(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doubled = tmp_path / "doubled.allowed_signers"
    doubled.write_text(world.signers.read_text() + f"alice2 {_public(world.key('alice'))}\n")
    assert main(["verify", str(world.bundle), "--signers", str(doubled)]) == 2
    assert f"{doubled}:5: 'alice2' has the key of 'alice' (line 2): a key counts once" in capsys.readouterr().err


def test_an_outsider_cannot_sign_and_nothing_is_written(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _copy(world.bundle, tmp_path)
    before = _sha(Path(f"{bundle}.tar.gz"))
    assert main(["sign", str(bundle), "--key", str(world.key("mallory"))]) == 1
    err = capsys.readouterr().err
    assert "which is not one of the signers" in err and "nothing was written" in err
    assert sorted(p.name for p in (bundle / "signatures").iterdir()) == ["alice.sig"]
    assert _sha(Path(f"{bundle}.tar.gz")) == before
    out = tmp_path / "refused"
    release = ["release", str(world.manifest), "--run", str(world.run), "--key", str(world.key("mallory"))]
    assert main([*release, "--out", str(out)]) == 1
    assert "is not one of the signers (alice, bob, carol)" in capsys.readouterr().err
    assert not out.exists()


def test_signing_twice_adds_nothing(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _copy(world.bundle, tmp_path)
    before = _sha(Path(f"{bundle}.tar.gz"))
    assert main(["sign", str(bundle), "--key", str(world.key("alice"))]) == 0
    out = capsys.readouterr().out
    assert "has signed" in out and "already: nothing added" in out and "1 of 2 signatures: alice;" in out
    assert _sha(Path(f"{bundle}.tar.gz")) == before


def test_a_bundle_that_does_not_hold_is_not_signed(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _copy(world.bundle, tmp_path)
    _a_changed_file(bundle, world)
    assert main(["sign", str(bundle), "--key", str(world.key("bob"))]) == 1
    assert "does not verify, so it was not signed" in capsys.readouterr().err
    assert not (bundle / "signatures" / "bob.sig").exists()


def test_a_stolen_key_cannot_lower_the_threshold_it_is_checked_against(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whoever holds alice's key alone can cut a bundle whose release.json says threshold 1. Against the
    signers the user trusts, the threshold is never below a majority of them (2 of 3), so one signature
    does not verify; `--threshold 1` (the verifier's own, explicit word) would accept it
    (docs/governance.md, the threat model)."""
    forged = tmp_path / "forged" / "eco-1.0"
    shutil.copytree(world.bundle, forged)
    record = json.loads((forged / "release.json").read_text())
    record["governance"]["threshold"] = 1
    (forged / "release.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    (forged / "SHA256SUMS").write_text(files.render_sums(forged))
    shutil.move(_ssh_sign(world.key("alice"), forged / "SHA256SUMS"), forged / "signatures" / "alice.sig")
    assert main(["verify", str(forged), "--signers", str(world.signers)]) == 1
    assert "1 of 2 signatures: alice; 1 more needed from bob, carol" in capsys.readouterr().err
    assert main(["verify", str(forged), "--signers", str(world.signers), "--threshold", "1"]) == 0


def test_the_bundles_own_signers_show_integrity_only(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mirror that swaps in its own signers file, sums and signatures passes a check against the bundle's
    own signers (integrity only, and verify says so) and fails against the signers the user trusts."""
    bundle = _copy(world.bundle, tmp_path)
    assert main(["sign", str(bundle), "--key", str(world.key("bob"))]) == 0
    assert main(["verify", str(bundle)]) == 0
    assert "not that they are the distribution's maintainers" in capsys.readouterr().out
    mirror = _keygen(tmp_path / "mirror.key")
    (bundle / "allowed_signers").write_text(f"alice {_public(mirror)}\nbob {_public(world.key('bob'))}\n")
    record = json.loads((bundle / "release.json").read_text())
    record["governance"]["signers"] = [
        {"principal": s.principal, "key": s.key}
        for s in governance.parse((bundle / "allowed_signers").read_bytes(), "allowed_signers")
    ]
    record["governance"]["threshold"] = 1
    (bundle / "release.json").write_text(json.dumps(record))
    (bundle / "SHA256SUMS").write_text(files.render_sums(bundle))
    shutil.move(_ssh_sign(mirror, bundle / "SHA256SUMS"), bundle / "signatures" / "alice.sig")
    (bundle / "signatures" / "bob.sig").unlink()
    assert main(["verify", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["verify", str(bundle), "--signers", str(world.signers), "--threshold", "2"]) == 1
    err = capsys.readouterr().err
    assert "0 of 2 signatures; 2 more needed from alice, bob, carol" in err
    assert "signatures/alice.sig: does not count: by key SHA256:" in err


def test_verify_json_says_who_signed_and_who_is_missing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(world.bundle), "--signers", str(world.signers), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["verified"] is False
    assert document["problems"] == ["signatures: 1 of 2 signatures: alice; 1 more needed from bob, carol"]
    signatures = document["signatures"]
    assert [s["principal"] for s in signatures["signed"]] == ["alice"]
    assert signatures["missing"] == ["bob", "carol"]
    assert (signatures["threshold"], signatures["count"], signatures["needed"], signatures["met"]) == (2, 1, 1, False)
    assert document["signers"] == f"--signers {world.signers}" and document["threshold_from"] == "release.json"


def test_pubkey_still_checks_one_trusted_key(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(world.bundle), "--pubkey", f"{world.key('alice')}.pub"]) == 0
    assert "1 of 1 signature: alice" in capsys.readouterr().out
    assert main(["verify", str(world.bundle), "--pubkey", f"{world.key('bob')}.pub"]) == 1
    assert "0 of 1 signature; 1 more needed from bob" in capsys.readouterr().err


def test_the_bundle_records_its_signers(world: World) -> None:
    bundle = world.bundle
    record = json.loads((bundle / "release.json").read_text())
    assert record["signature"] == {
        "signed": True,
        "format": "sshsig",
        "namespace": "curator",
        "file": "signatures/<principal>.sig",
    }
    governed = record["governance"]
    assert governed["threshold"] == 2 and [s["principal"] for s in governed["signers"]] == list(MAINTAINERS)
    assert governed["signers"][0]["key"] == _public(world.key("alice"))
    assert governed["signers"][0]["namespaces"] == "curator"
    listed = {line.split("  ", 1)[1] for line in (bundle / "SHA256SUMS").read_text().splitlines()}
    assert "allowed_signers" in listed and "release.json" in listed
    assert not any(name.startswith("signatures/") for name in listed)
    assert not (bundle / "SHA256SUMS.sig").exists() and not (bundle / "SHA256SUMS.pub").exists()
    assert "2 of alice, bob, carol sign `SHA256SUMS`" in (bundle / "CHANGES.md").read_text()
    unsigned = world.unsigned / "eco-1.0"
    assert not (unsigned / "signatures").exists()
    assert json.loads((unsigned / "release.json").read_text())["governance"] == governed


# ------------------------------------------------------------------------------------ the file, as ssh-keygen reads it

ALLOWED_SIGNERS_FORMS = {
    "plain": "alice {alice}\nbob {bob}\n",
    "quoted, commented, tabs and CRLF": '# maintainers\r\n  "alice" {alice} alice@laptop\r\nbob\t{bob}\r\n',
    "namespace patterns": 'alice namespaces="cur*" {alice}\nbob namespaces="git,curator" {bob}\n',
    "valid now": 'alice valid-after="20200101Z" {alice}\nbob valid-before="20990101" {bob}\n',
    "expired and not yet valid": 'alice valid-before="20200101Z" {alice}\nbob valid-after="20990101Z" {bob}\n',
    "options in any case": 'alice NAMESPACES="curator",Valid-After="20200101" {alice}\nbob namespaces="*" {bob}\n',
}


@pytest.mark.parametrize("form", list(ALLOWED_SIGNERS_FORMS))
def test_curator_counts_exactly_whom_ssh_keygen_verifies(tmp_path: Path, form: str) -> None:
    """Each form of allowed_signers curator reads, with signatures by each key (and one in another
    namespace): curator counts a signer for a signature exactly when `ssh-keygen -Y verify -I` that
    signer says it is good."""
    keys = {name: _keygen(tmp_path / name) for name in ("alice", "bob")}
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(ALLOWED_SIGNERS_FORMS[form].format(**{n: _public(k) for n, k in keys.items()}))
    signers = governance.Signers(governance.read(allowed), 1)
    message = tmp_path / "SHA256SUMS"
    message.write_bytes(b"0" * 64 + b"  release.json\n")
    made = {
        "alice": shutil.move(_ssh_sign(keys["alice"], message), tmp_path / "alice.sig"),
        "bob": shutil.move(_ssh_sign(keys["bob"], message), tmp_path / "bob.sig"),
        "bob for git": shutil.move(_ssh_sign(keys["bob"], message, namespace="git"), tmp_path / "bob-git.sig"),
    }
    agreed = []
    for label, signature in made.items():
        tally = governance.tally(
            message.read_bytes(), [governance.Presented(label, Path(signature).read_text())], signers
        )
        for principal in signers.principals:
            ssh_keygen = _ssh_verify(allowed, principal, Path(signature), message.read_bytes()).returncode == 0
            curator = [c.principal for c in tally.signed] == [principal]
            assert curator == ssh_keygen, (form, label, principal, tally.uncounted)
            agreed.append((label, principal, curator))
    expected_good = {"alice", "bob"} if form != "expired and not yet valid" else set()
    assert {label for label, principal, good in agreed if good and label == principal} == expected_good


def _documented_check() -> str:
    """The verification with OpenSSH alone that docs/governance.md prints."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "governance.md").read_text()
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    (script,) = [b for b in blocks if "TRUSTED=" in b]
    return script


def test_the_documented_openssh_check_counts_as_curator_does(world: World, tmp_path: Path) -> None:
    script = _documented_check()
    script = re.sub(r"^TRUSTED=.*$", f"TRUSTED={world.signers}", script, flags=re.MULTILINE)
    assert re.search(r"^K=2 ", script, flags=re.MULTILINE)
    bundle = _copy(world.bundle, tmp_path)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", script], cwd=bundle, capture_output=True, text=True, check=False)

    once = run()
    assert (once.returncode, once.stdout) == (1, "1 of 2 signatures\n"), once
    assert main(["sign", str(bundle), "--key", str(world.key("bob"))]) == 0
    twice = run()
    assert (twice.returncode, twice.stdout) == (0, "2 of 2 signatures\n"), twice
    shutil.copyfile(bundle / "signatures" / "bob.sig", bundle / "signatures" / "carol.sig")  # one key, two names
    assert run().stdout == "2 of 2 signatures\n"


def test_check_reads_the_signers_file_and_names_its_mistakes(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(world.manifest)]) == 0
    assert "Governance: 2 of alice, bob, carol sign a release (maintainers.allowed_signers)" in capsys.readouterr().out
    assert main(["check", str(world.manifest), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["governance"] == {
        "signers": str(world.signers),
        "threshold": 2,
        "principals": list(MAINTAINERS),
    }
    manifest = tmp_path / "distribution.yaml"
    manifest.write_text(world.manifest.read_text())
    shutil.copytree(world.manifest.parent / "suites", tmp_path / "suites")
    (tmp_path / "maintainers.allowed_signers").write_text(
        world.signers.read_text() + f"*@example.org {_public(world.key('mallory'))}\n"
    )
    assert main(["check", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert "maintainers.allowed_signers:5: principal pattern '*@example.org'" in err, err
