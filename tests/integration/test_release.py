"""`curator release`, `verify` and `diff` end to end: real runs of the fixture ecosystem, real keys, real pip."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from curator import manifest
from curator.cli import main
from curator.release import archive as files
from curator.resolve.interpreters import Finder
from curator.resolve.lock import uv_binary
from tests.conftest import manifest_writer
from tests.integration.conftest import eco_manifest_factory

SIDES = "import cfx_top\n\ndef test_sides():\n    assert cfx_top.SIDES == ('left', 'right')\n"
WRONG_SIDES = "import cfx_top\n\ndef test_sides():\n    assert cfx_top.SIDES == ('right', 'left')\n"
BASE_1 = '  cfx-top: ["1.0"]\n  cfx-base: {versions: ["1.0", "2.0"], blessed: "1.0"}\n'
BASE_2 = '  cfx-top: ["1.0"]\n  cfx-base: ["1.0", "2.0"]\n'


@dataclass(frozen=True)
class World:
    """Two passing runs (eco 1.0 on cfx-base 1.0, eco 1.1 on 2.0), a failing one, keys, and two releases."""

    base: Path
    key: Path
    other_key: Path
    old_manifest: Path
    old_run: Path
    new_manifest: Path
    new_run: Path
    bad_manifest: Path
    bad_run: Path
    dist: Path

    @property
    def bundle(self) -> Path:
        return self.dist / "eco-1.0"


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path) -> World:
    base = tmp_path_factory.mktemp("release")

    def run(name: str, packages: str, version: str, suite: str) -> tuple[Path, Path, int]:
        folder = base / name
        path = eco_manifest_factory(manifest_writer(folder), wheelhouse, runner_wheels)(
            packages, suites={"sides": (["cfx-top"], suite)}, extra="matrix:\n  strategy: baseline\n"
        )
        path.write_text(path.read_text().replace('version: "1.0"', f'version: "{version}"'))
        out = folder / "run"
        return path, out, main(["run", str(path), "--out", str(out), "--plain"])

    old_manifest, old_run, old_code = run("old", BASE_1, "1.0", SIDES)
    new_manifest, new_run, new_code = run("new", BASE_2, "1.1", SIDES)
    bad_manifest, bad_run, bad_code = run("bad", BASE_2, "1.2", WRONG_SIDES)
    assert (old_code, new_code, bad_code) == (0, 0, 1)
    key, other = _keygen(base / "release_key"), _keygen(base / "other_key")
    dist = base / "dist"
    for path, out in ((old_manifest, old_run), (new_manifest, new_run)):
        argv = ["release", str(path), "--run", str(out), "--key", str(key), "--out", str(dist), "--wheelhouse"]
        assert main(argv) == 0
    return World(base, key, other, old_manifest, old_run, new_manifest, new_run, bad_manifest, bad_run, dist)


def _copy(world: World, tmp_path: Path) -> Path:
    target = tmp_path / "eco-1.0"
    shutil.copytree(world.bundle, target)
    return target


def test_bundle_holds_what_the_contract_promises(world: World) -> None:
    bundle = world.bundle
    for name in ("manifest.yaml", "locks/py3.12.txt", "locks/pylock.py312.toml", "sbom.cdx.json", "CHANGES.md"):
        assert (bundle / name).is_file(), name
    for name in ("report/cells.csv", "report/run.json", "SHA256SUMS", "SHA256SUMS.sig", "SHA256SUMS.pub"):
        assert (bundle / name).is_file(), name
    assert (world.dist / "eco-1.0.tar.gz").is_file()
    lock = (bundle / "locks" / "py3.12.txt").read_text()
    assert "cfx-base==1.0" in lock and "cfx-left==1.0" in lock and "--hash=sha256:" in lock
    assert "pytest" not in lock  # the test runner does not ship
    pinned = manifest.parse((bundle / "manifest.yaml").read_bytes(), world.old_manifest)
    assert {p.name: [str(v) for v in p.versions] for p in pinned.packages} == {"cfx-top": ["1.0"], "cfx-base": ["1.0"]}
    listed = {line.split("  ", 1)[1] for line in (bundle / "SHA256SUMS").read_text().splitlines()}
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert listed == on_disk - {"SHA256SUMS", "SHA256SUMS.sig"}
    record = json.loads((bundle / "release.json").read_text())
    assert record["signature"]["signed"] is True
    assert (
        record["signature"]["fingerprint"]
        in subprocess.run(["ssh-keygen", "-lf", f"{world.key}.pub"], capture_output=True, text=True, check=True).stdout
    )


def test_sbom_lists_every_shipped_package_with_purl_hash_and_licence(world: World, wheelhouse: Path) -> None:
    sbom = json.loads((world.bundle / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    components = {c["name"]: c for c in sbom["components"]}
    assert sorted(components) == ["cfx-base", "cfx-left", "cfx-right", "cfx-top"]
    top = components["cfx-top"]
    assert top["version"] == "1.0" and top["purl"] == "pkg:pypi/cfx-top@1.0"
    assert top["licenses"] == [{"license": {"id": "Apache-2.0", "acknowledgement": "declared"}}]
    wheel = hashlib.sha256((wheelhouse / "cfx_top-1.0-py3-none-any.whl").read_bytes()).hexdigest()
    assert top["hashes"] == [{"alg": "SHA-256", "content": wheel}]
    assert components["cfx-base"]["licenses"][0]["license"]["id"] == "MIT"


def test_verify_passes_on_the_folder_and_the_tarball(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(world.bundle)]) == 0
    printed = capsys.readouterr().out
    assert "4 wheels match the locks" in printed
    assert "not who made them" in printed  # the bundled key proves integrity only
    assert main(["verify", str(world.dist / "eco-1.0.tar.gz"), "--pubkey", f"{world.key}.pub"]) == 0
    assert "by the key you trust" in capsys.readouterr().out


def test_the_signature_verifies_with_ssh_keygen(world: World, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'eco namespaces="curator" {Path(f"{world.key}.pub").read_text()}')
    command = ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "eco", "-n", "curator", "-s", "SHA256SUMS.sig"]
    sums = (world.bundle / "SHA256SUMS").read_bytes()
    done = subprocess.run(command, input=sums, capture_output=True, cwd=world.bundle, check=False)
    assert done.returncode == 0, done.stderr
    assert b'Good "curator" signature for eco' in done.stdout
    tampered = subprocess.run(command, input=sums + b"\n", capture_output=True, cwd=world.bundle, check=False)
    assert tampered.returncode != 0


def _change_a_byte(bundle: Path, other_key: Path) -> str:
    lock = bundle / "locks" / "py3.12.txt"
    data = bytearray(lock.read_bytes())
    data[-2] ^= 1
    lock.write_bytes(bytes(data))
    return "locks/py3.12.txt: changed"


def _remove_a_file(bundle: Path, other_key: Path) -> str:
    (bundle / "report" / "run.json").unlink()
    return "report/run.json: missing"


def _add_a_file(bundle: Path, other_key: Path) -> str:
    (bundle / "wheels" / "evil-1.0-py3-none-any.whl").write_bytes(b"PK")
    return "wheels/evil-1.0-py3-none-any.whl: extra"


def _resign_with_another_key(bundle: Path, other_key: Path) -> str:
    (bundle / "SHA256SUMS.sig").unlink()
    sign = ["ssh-keygen", "-Y", "sign", "-q", "-f", str(other_key), "-n", "curator", "SHA256SUMS"]
    subprocess.run(sign, cwd=bundle, check=True)
    return "SHA256SUMS.sig: bad signature of SHA256SUMS: made with key SHA256:"


def _swap_key_and_signature(bundle: Path, other_key: Path) -> str:
    """An attacker who replaces the bundled key too is caught: the key is listed in SHA256SUMS."""
    _resign_with_another_key(bundle, other_key)
    shutil.copyfile(f"{other_key}.pub", bundle / "SHA256SUMS.pub")
    return "SHA256SUMS.pub: changed"


def _add_an_empty_folder(bundle: Path, other_key: Path) -> str:
    """Found under attack: an added empty folder passed "none extra"."""
    (bundle / "report" / "later").mkdir()
    return "report/later/: extra (a folder holding nothing SHA256SUMS lists)"


def _delete_the_signature(bundle: Path, other_key: Path) -> str:
    (bundle / "SHA256SUMS.sig").unlink()
    return "SHA256SUMS.sig: missing (the bundle says it was signed)"


def _delete_signature_and_key_and_remake_the_sums(bundle: Path, other_key: Path) -> str:
    """As if it had never been signed; but release.json, listed in the sums, says it was."""
    (bundle / "SHA256SUMS.sig").unlink()
    (bundle / "SHA256SUMS.pub").unlink()
    (bundle / "SHA256SUMS").write_text(files.render_sums(bundle))
    return "SHA256SUMS.sig: missing (the bundle says it was signed)"


@pytest.mark.parametrize(
    "tamper",
    [
        _change_a_byte,
        _remove_a_file,
        _add_a_file,
        _add_an_empty_folder,
        _resign_with_another_key,
        _swap_key_and_signature,
        _delete_the_signature,
        _delete_signature_and_key_and_remake_the_sums,
    ],
)
def test_verify_names_what_was_tampered_with(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], tamper: Callable[[Path, Path], str]
) -> None:
    bundle = _copy(world, tmp_path)
    problem = tamper(bundle, world.other_key)
    assert main(["verify", str(bundle)]) == 1
    err = capsys.readouterr().err
    assert problem in err, err
    assert "Traceback" not in err


def _retop(source: Path, target: Path, top: str) -> Path:
    """The tarball `source` with its top folder renamed `top`, member by member, contents unchanged."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            handle = old.extractfile(member) if member.isfile() else None
            member.name = "/".join([top, *member.name.split("/")[1:]])
            new.addfile(member, handle)
    return target


def test_a_renamed_bundle_is_not_the_release_it_is_named_for(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found under attack: `rzdist-1` renamed `rzdist-2`, also inside its tarball, verified with exit 0
    although its release.json names version 1."""
    folder = shutil.copytree(world.bundle, tmp_path / "eco-2.0")
    tarball = _retop(world.dist / "eco-1.0.tar.gz", tmp_path / "eco-2.0.tar.gz", "eco-2.0")
    for bundle in (folder, tarball):
        assert main(["verify", str(bundle), "--pubkey", f"{world.key}.pub"]) == 1
        err = capsys.readouterr().err
        assert "'eco-2.0': the bundle's folder is named so, but release.json says it is 'eco-1.0'" in err, err
    assert main(["verify", str(_retop(tarball, tmp_path / "again.tar.gz", "eco-1.0"))]) == 0  # named back: whole


def test_an_unsigned_bundle_checks_every_wheel_against_the_locks(
    world: World, wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unsigned bundle's SHA256SUMS can be made again by anyone; the locks' hashes (which the
    gate vouched for) still tell a swapped wheel."""
    argv = ["release", str(world.old_manifest), "--run", str(world.old_run), "--out", str(tmp_path), "--unsigned"]
    assert main([*argv, "--wheelhouse"]) == 0
    bundle = tmp_path / "eco-1.0"
    wheel = bundle / "wheels" / "cfx_base-1.0-py3-none-any.whl"
    assert main(["verify", str(bundle)]) == 0
    capsys.readouterr()
    shutil.copyfile(wheelhouse / "cfx_base-2.0-py3-none-any.whl", wheel)  # another wheel, under the blessed name
    (bundle / "SHA256SUMS").write_text(files.render_sums(bundle))
    assert main(["verify", str(bundle)]) == 1
    err = capsys.readouterr().err
    assert "wheels/cfx_base-1.0-py3-none-any.whl: its sha256 is not one that locks/ allow for cfx-base==1.0" in err
    assert "wheels/: no file for cfx-base==1.0 of locks/py3.12.txt" in err


def test_verify_against_another_trusted_key_fails(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(world.bundle), "--pubkey", f"{world.other_key}.pub"]) == 1
    assert "not the trusted key" in capsys.readouterr().err


def test_two_releases_of_one_run_are_byte_identical(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = hashlib.sha256((world.dist / "eco-1.0.tar.gz").read_bytes()).hexdigest()
    again = world.base / "again"
    monkeypatch.setenv("CURATOR_SIGNING_KEY", world.key.read_text())  # the key itself, as CI secrets hold it
    release = ["release", str(world.old_manifest), "--run", str(world.old_run), "--wheelhouse"]
    assert main([*release, "--out", str(again)]) == 0
    monkeypatch.delenv("CURATOR_SIGNING_KEY")
    argv = [*release, "--key", str(world.key)]
    assert hashlib.sha256((again / "eco-1.0.tar.gz").read_bytes()).hexdigest() == first
    assert first in capsys.readouterr().out
    assert main([*argv, "--out", str(world.dist)]) == 2  # never silently over an existing release
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--out", str(world.dist), "--force"]) == 0
    assert hashlib.sha256((world.dist / "eco-1.0.tar.gz").read_bytes()).hexdigest() == first
    assert not [p for p in world.dist.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_failing_baseline_is_refused_and_writes_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    out = world.base / "refused"
    argv = ["release", str(world.bad_manifest), "--run", str(world.bad_run), "--key", str(world.key)]
    assert main([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "release gate does not hold" in err and "py3.12-baseline (sides failed)" in err
    assert not out.exists()


# skipped inside the test (pytest exits 0, its report holds one skipped test), where the status table's
# suite in tests/integration/test_run.py skips its whole module (exit 5)
GPU = (
    "import pytest\n\n"
    "def test_kernel():\n    cupy = pytest.importorskip('cupy')\n    assert cupy.ones(3).sum() == 3\n\n"
    "def test_stream():\n    pytest.importorskip('cupy')\n"
)


def test_a_baseline_suite_in_which_no_test_ran_is_refused_until_the_policy_expects_it(
    tmp_path: Path, wheelhouse: Path, runner_wheels: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A suite of `pytest.importorskip` in cells that lack the module tests nothing: `skipped`, no
    evidence, and the release is refused naming it; once the policy says the skip is expected (a rule
    in `policy.expected_skips`), the same evidence, judged again, releases."""
    make = eco_manifest_factory(manifest_writer(tmp_path), wheelhouse, runner_wheels)
    suites = {"sides": (["cfx-top"], SIDES), "gpu": (["cfx-top"], GPU)}
    path = make(BASE_1, suites=suites, extra="matrix:\n  strategy: baseline\n")
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1  # the release would ship gpu untested
    with (out / "cells.csv").open() as handle:
        rows = {row["suite"]: row for row in csv.DictReader(handle)}
    assert (rows["gpu"]["status"], rows["gpu"]["skipped"], rows["sides"]["status"]) == ("skipped", "2", "passed")
    assert "could not import 'cupy'" in rows["gpu"]["reason"]
    dist = tmp_path / "dist"
    assert main(["release", str(path), "--run", str(out), "--unsigned", "--out", str(dist)]) == 1
    err = capsys.readouterr().err
    assert "release gate does not hold" in err
    assert "py3.12-baseline (gpu skipped: no test ran, which is no evidence" in err
    assert "policy.expected_skips rule for suite gpu" in err and "sides" not in err.split("release gate")[1]
    assert not dist.exists()
    # the policy expects it: a new run reuses the outcome, judges it again, and the release goes ahead
    rule = "policy:\n  expected_skips:\n    - suites: [gpu]\n      reason: no GPU on the CI machines\n"
    path.write_text(path.read_text() + rule)
    again = tmp_path / "again"
    assert main(["run", str(path), "--out", str(again), "--plain"]) == 0
    assert "1 cells (1 reused from earlier runs)" in capsys.readouterr().out
    with (again / "cells.csv").open() as handle:
        gpu = next(row for row in csv.DictReader(handle) if row["suite"] == "gpu")
    assert gpu["status"] == "skipped" and gpu["rule"] == "suites gpu: no GPU on the CI machines"
    assert "expected skip: no GPU on the CI machines" in gpu["reason"]
    assert main(["release", str(path), "--run", str(again), "--unsigned", "--out", str(dist)]) == 0
    assert (dist / "eco-1.0" / "SHA256SUMS").is_file()


def test_a_lock_edited_after_the_run_is_refused(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundle ships the lock the store vouches for; a run folder's copy that differs is refused."""
    copy = tmp_path / "run"
    shutil.copytree(world.old_run, copy)
    lock = copy / "locks" / "py3.12-baseline.txt"
    lock.write_text(
        lock.read_text().replace("--hash=sha256:", "--hash=sha256:" + "0" * 64 + " \\\n    --hash=sha256:", 1)
    )
    store = world.old_manifest.parent / "reports" / "curator.sqlite"
    out = tmp_path / "dist"
    argv = ["release", str(world.old_manifest), "--run", str(copy), "--store", str(store), "--unsigned"]
    assert main([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "py3.12-baseline.txt: edited after run" in err and "nothing was written" in err
    assert not out.exists()


def test_a_suite_edited_after_the_run_is_refused(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = world.old_manifest.parent / "suites" / "sides" / "test_suite.py"
    original = suite.read_text()
    suite.write_text(original + "\n\ndef test_added_after_the_run():\n    assert False\n")
    try:
        argv = ["release", str(world.old_manifest), "--run", str(world.old_run), "--unsigned"]
        assert main([*argv, "--out", str(tmp_path / "dist")]) == 1
    finally:
        suite.write_text(original)
    err = capsys.readouterr().err
    assert "py3.12-baseline: its inputs changed since run" in err
    assert not (tmp_path / "dist").exists()


def test_a_run_of_some_pythons_cannot_gate_and_release_agrees(
    tmp_path: Path, wheelhouse: Path, runner_wheels: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest_factory(manifest_writer(tmp_path), wheelhouse, runner_wheels)(
        BASE_1, python='["3.11", "3.12"]', extra="matrix:\n  strategy: baseline\n"
    )
    out = tmp_path / "run"
    assert main(["run", str(path), "--python", "3.12", "--out", str(out), "--plain"]) == 0  # all as expected
    said = capsys.readouterr().out
    assert "release gate (baseline cells): cannot gate a release: Python 3.11 not in this run" in said
    gate = json.loads((out / "run.json").read_text())["gate"]
    assert (gate["holds"], gate["missing_pythons"]) == (False, ["3.11"])
    assert main(["release", str(path), "--run", str(out), "--unsigned", "--out", str(tmp_path / "dist")]) == 1
    assert "py3.11: no baseline cell in run" in capsys.readouterr().err


def test_a_run_of_another_manifest_is_bad_input(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    out = world.base / "mismatch"
    argv = ["release", str(world.new_manifest), "--run", str(world.old_run), "--key", str(world.key)]
    store = world.old_manifest.parent / "reports" / "curator.sqlite"
    assert main([*argv, "--store", str(store), "--out", str(out)]) == 2
    assert "tested another manifest" in capsys.readouterr().err
    assert not out.exists()


def test_unsigned_only_when_asked_and_then_said_everywhere(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CURATOR_SIGNING_KEY", raising=False)
    out = world.base / "unsigned"
    argv = ["release", str(world.old_manifest), "--run", str(world.old_run), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--key" in err and "--unsigned" in err
    assert main([*argv, "--unsigned"]) == 0
    assert "UNSIGNED" in capsys.readouterr().out
    bundle = out / "eco-1.0"
    assert not (bundle / "SHA256SUMS.sig").exists()
    assert json.loads((bundle / "release.json").read_text())["signature"]["signed"] is False
    assert "UNSIGNED RELEASE" in (bundle / "CHANGES.md").read_text()
    assert main(["verify", str(bundle)]) == 0
    assert "UNSIGNED" in capsys.readouterr().out
    assert main(["verify", str(bundle), "--pubkey", f"{world.key}.pub"]) == 1  # origin cannot be shown


def test_the_wheelhouse_installs_with_no_index(world: World, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = Finder().find("3.12").path
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    install = [
        *(sys.executable, "-m", "pip", "--isolated", "--python", str(venv / "bin" / "python"), "install"),
        *("--no-index", "--find-links", "wheels", "--require-hashes", "-r", "locks/py3.12.txt"),
    ]
    done = subprocess.run(install, cwd=world.bundle, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    sides = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import cfx_top, cfx_base; print(cfx_top.SIDES, cfx_base.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sides.stdout.strip() == "('left', 'right') 1.0"


def _offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    return env | {"PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}


def test_the_pylock_names_the_wheelhouse_by_path_and_uv_installs_it_offline(world: World, tmp_path: Path) -> None:
    """A bundle's pylock names each wheel by its path in the bundle (PEP 751), so uv installs from the
    bundle alone: `--offline`, an empty cache, no index, the bundle copied elsewhere (nothing absolute)."""
    bundle = shutil.copytree(world.bundle, tmp_path / "elsewhere" / "eco-1.0")
    text = (bundle / "locks" / "pylock.py312.toml").read_text()
    assert "url =" not in text and 'path = "../wheels/cfx_base-1.0-py3-none-any.whl"' in text
    venv = tmp_path / "venv"
    subprocess.run([str(Finder().find("3.12").path), "-m", "venv", "--without-pip", str(venv)], check=True)
    install = [str(uv_binary()), "pip", "install", "--offline", "--no-index", "--python", str(venv / "bin" / "python")]
    done = subprocess.run(
        [*install, "-r", str(bundle / "locks" / "pylock.py312.toml")],
        cwd=tmp_path,
        env=_offline_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "+ cfx-base==1.0" in done.stderr and "+ cfx-top==1.0" in done.stderr
    assert main(["verify", str(world.bundle)]) == 0


@pytest.mark.network
def test_pip_26_installs_the_bundles_pylock_offline(world: World, tmp_path: Path) -> None:
    """pip reads PEP 751 locks with `-r` since 25.1 (experimental); it fetches the newest pip first."""
    pip = tmp_path / "pip"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(pip), "pip>=26"],
        check=True,
        capture_output=True,
    )
    (wheel,) = pip.glob("pip-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([str(Finder().find("3.12").path), "-m", "venv", "--without-pip", str(venv)], check=True)
    done = subprocess.run(
        [
            *(sys.executable, f"{wheel}/pip", "--isolated", "--python", str(venv / "bin" / "python"), "install"),
            *("--no-index", "--no-cache-dir", "-r", str(world.bundle / "locks" / "pylock.py312.toml")),
        ],
        cwd=tmp_path,
        env=_offline_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully installed cfx-base-1.0" in done.stdout


def test_changes_name_the_upgrade_with_evidence(world: World) -> None:
    notes = (world.dist / "eco-1.1" / "CHANGES.md").read_text()
    assert "## Changes since eco-1.0" in notes
    assert "upgraded cfx-base (blessed) 1.0 → 2.0" in notes
    assert "`py3.12-baseline`: sides passed" in notes
    assert "Signed" in notes


def test_diff_of_two_bundles_shows_the_upgrade(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(world.bundle), str(world.dist / "eco-1.1.tar.gz")]) == 0
    assert "upgraded cfx-base 1.0 → 2.0" in capsys.readouterr().out
    assert main(["diff", str(world.bundle), str(world.dist / "eco-1.1"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pythons"]["3.12"]["upgraded"] == [{"name": "cfx-base", "old": "1.0", "new": "2.0"}]
    assert result["old"]["kind"] == "bundle"


def test_diff_of_two_runs_shows_changed_outcomes(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(world.old_run), str(world.bad_run), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["outcomes"] == [{"cell": "py3.12-baseline", "suite": "sides", "old": "passed", "new": "failed"}]
    assert result["pythons"]["3.12"]["upgraded"][0]["name"] == "cfx-base"
    assert "cfx-base" not in [c["name"] for c in result["pythons"]["3.12"]["added"]]


class Killed(BaseException):
    """kill -9: the release stops where it is, and none of its own clean-up runs."""


def _kill_after_renames(monkeypatch: pytest.MonkeyPatch, renames: int) -> None:
    from curator.release import place

    done = 0
    rename = place._rename

    def killing(source: Path, target: Path) -> None:
        nonlocal done
        if done == renames:
            raise Killed
        done += 1
        rename(source, target)

    monkeypatch.setattr(place, "_rename", killing)
    monkeypatch.setattr(place, "abandon", lambda _staging: None)


def test_a_release_killed_between_folder_and_tarball_is_undone_by_the_next(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = world.base / "killed"
    argv = ["release", str(world.old_manifest), "--run", str(world.old_run), "--unsigned", "--out", str(out)]
    with monkeypatch.context() as patch:
        _kill_after_renames(patch, 2)  # the marker, the folder; not the tarball
        with pytest.raises(Killed):
            main(argv)
    assert (out / "eco-1.0").is_dir() and not (out / "eco-1.0.tar.gz").exists()  # what the old code left for good
    capsys.readouterr()
    assert main(argv) == 0  # no --force needed: the half release is undone first
    assert "recovered: rolled back an interrupted release of eco-1.0" in capsys.readouterr().out
    assert main(["verify", str(out / "eco-1.0")]) == 0
    assert main(["verify", str(out / "eco-1.0.tar.gz")]) == 0
    first = hashlib.sha256((out / "eco-1.0.tar.gz").read_bytes()).hexdigest()

    with monkeypatch.context() as patch:  # --force, killed with the old pair moved aside and the new not in
        _kill_after_renames(patch, 3)
        with pytest.raises(Killed):
            main([*argv, "--force"])
    assert not (out / "eco-1.0").exists() and not (out / "eco-1.0.tar.gz").exists()
    assert main([*argv, "--force"]) == 0
    assert main(["verify", str(out / "eco-1.0.tar.gz")]) == 0
    assert hashlib.sha256((out / "eco-1.0.tar.gz").read_bytes()).hexdigest() == first
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging folder, no lock file


def test_a_release_writes_the_report_its_run_lost_before_shipping_it(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "run"
    shutil.copytree(world.new_run, copy)
    for lost in ("index.html", "cells.csv"):
        (copy / lost).unlink()
    shutil.rmtree(copy / "matrices")
    store = world.new_manifest.parent / "reports" / "curator.sqlite"
    out = tmp_path / "dist"
    argv = ["release", str(world.new_manifest), "--run", str(copy), "--store", str(store), "--unsigned"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "was incomplete: wrote it again from the store" in capsys.readouterr().out
    for name in ("index.html", "cells.csv", "run.json"):
        assert (out / "eco-1.1" / "report" / name).is_file(), name
        assert (copy / name).is_file(), name
    assert (copy / "cells.csv").read_text() == (world.new_run / "cells.csv").read_text()
    assert main(["verify", str(out / "eco-1.1.tar.gz")]) == 0
