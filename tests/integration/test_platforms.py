"""Platforms end to end, hermetically: a package with wheels per platform (`cfx-mark`: Linux x86-64,
Windows, Apple Silicon) in a folder index, real uv resolving it for each target, real runs on this
machine and on a dask cluster whose workers advertise platforms, a release with every platform's
locks and wheels, and `curator verify` on it."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from curator.cli import main
from curator.host import targets as platforms
from curator.resolve.lock import parse_requirements, uv_binary
from tests.conftest import WriteManifest, manifest_writer
from tests.ecosystem import build_wheel, platform_dists

WINDOWS = "x86_64-pc-windows-msvc"
HERE = platforms.here() or ""
PAGE_SUITE = (
    "import cfx_mark, cfx_page\n\n"
    "def test_render():\n"
    "    assert cfx_page.render('x') == 'x'\n"
    "    assert cfx_mark.PLATFORM.startswith('manylinux')  # this machine's own wheel was installed\n"
)

Write = Callable[..., Path]


@pytest.fixture(scope="module")
def platform_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("platform-wheels")
    for dist in platform_dists():
        build_wheel(dist, folder)
    return folder


def _manifest(
    write_manifest: WriteManifest,
    wheels: Path,
    runner: Path,
    platforms_yaml: str,
    *,
    python: str = '["3.12"]',
    packages: str = '  cfx-page: ["1.0"]\n  cfx-mark: ["1.0"]\n',
) -> Path:
    """A manifest of cfx-page and cfx-mark (no index), its baseline, with `platforms` as given."""
    return write_manifest(
        "distribution: plat\n"
        'version: "1"\n'
        f"python: {python}\n"
        "index:\n"
        f"  find_links: [{wheels}, {runner}]\n"
        "  no_index: true\n"
        f"packages:\n{packages}"
        + ("suites:\n  page:\n    path: suites/page\n    requires: [cfx-page]\n" if "cfx-page" in packages else "")
        + "matrix:\n  strategy: baseline\n"
        + "policy:\n  retries: 0\n"
        + platforms_yaml,
        suites={"suites/page": PAGE_SUITE},
    )


@pytest.fixture
def write(write_manifest: WriteManifest, platform_wheels: Path, runner_wheels: Path) -> Write:
    """`_manifest` in this test's folder."""

    def make(platforms_yaml: str, python: str = '["3.12"]', packages: str = "") -> Path:
        chosen = {"packages": packages} if packages else {}
        return _manifest(write_manifest, platform_wheels, runner_wheels, platforms_yaml, python=python, **chosen)

    return make


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "cells.csv").open() as handle:
        return {row["cell"]: row for row in csv.DictReader(handle)}


def test_uv_accepts_exactly_the_targets_curator_knows() -> None:
    """The manifest is checked against `platforms.TARGETS` without running uv; this is where that list
    is held to the uv curator runs (its own `--help` lists the values it accepts)."""
    done = subprocess.run(
        [str(uv_binary()), "pip", "compile", "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    text = " ".join(done.stdout.split())
    listed = re.search(r"--python-platform <PYTHON_PLATFORM> .*?\[possible values: ([^\]]+)\]", text)
    assert listed is not None, "uv's help no longer lists its platforms"
    accepted = [value.strip() for value in listed[1].split(",")]
    assert [v for v in accepted if v not in platforms.ALIASES] == list(platforms.TARGETS)
    assert set(platforms.ALIASES) <= set(accepted)


@dataclass(frozen=True)
class WindowsRelease:
    """A run of a distribution locked for Windows on this machine, and its release with wheels."""

    manifest: Path
    run: Path
    dist: Path
    wheels: Path  # the folder index

    @property
    def bundle(self) -> Path:
        return self.dist / "plat-1"


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory, platform_wheels: Path, runner_wheels: Path) -> WindowsRelease:
    base = tmp_path_factory.mktemp("windows")
    path = _manifest(manifest_writer(base), platform_wheels, runner_wheels, f"platforms:\n  locked: [{WINDOWS}]\n")
    out, dist = base / "run", base / "dist"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 0
    assert main(["release", str(path), "--run", str(out), "--unsigned", "--wheelhouse", "--out", str(dist)]) == 0
    return WindowsRelease(path, out, dist, platform_wheels)


def test_a_cell_of_a_platform_no_executor_serves_is_locked_not_tested(windows: WindowsRelease) -> None:
    rows = _rows(windows.run)
    here, untested = rows[f"py3.12-{HERE}-baseline"], rows[f"py3.12-{WINDOWS}-baseline"]
    assert (here["status"], here["platform"], here["tested"]) == ("passed", HERE, "True")
    assert (untested["status"], untested["platform"], untested["tested"], untested["worker"]) == (
        "skipped",
        WINDOWS,
        "False",
        "",
    )
    assert untested["signature"] == "locked, not tested"
    assert f"no executor serves platform {WINDOWS}" in untested["reason"]
    run = json.loads((windows.run / "run.json").read_text())
    assert run["untested_cells"] == 1 and run["counts"] == {"passed": 1}  # the untested cell is in no count
    assert run["gate"]["holds"] is True and run["verdict"] == "passed"
    assert [(p["platform"], p["role"], p["coverage"]) for p in run["gate"]["platforms"]] == [
        (HERE, "tested", "tested"),
        (WINDOWS, "locked", "locked, not tested"),
    ]
    report = (windows.run / "index.html").read_text()
    assert f'data-platform="{WINDOWS}" data-coverage="locked, not tested"' in report
    assert f"{WINDOWS}: locked, not tested" in report  # its cell, in the cells table


def test_the_windows_lock_holds_the_windows_wheels_hashes_only(windows: WindowsRelease) -> None:
    lock = parse_requirements(
        "3.12", (windows.run / _rows(windows.run)[f"py3.12-{WINDOWS}-baseline"]["lock"]).read_text()
    )
    assert set(lock.versions) >= {"cfx-mark", "cfx-page", "colorama"}  # pytest's Windows-only need too
    mark = next(p for p in lock.pins if p.name == "cfx-mark")
    assert mark.hashes == (_sha256(next(windows.wheels.glob("*cp312-cp312-win_amd64.whl"))),)


def test_the_bundle_ships_every_platforms_locks_wheels_and_components(windows: WindowsRelease) -> None:
    bundle = windows.bundle
    assert sorted(p.name for p in (bundle / "locks").iterdir()) == [
        f"py3.12-{HERE}.txt",
        f"py3.12-{WINDOWS}.txt",
        "py3.12.txt",
        f"pylock.py312-{HERE}.toml",
        f"pylock.py312-{WINDOWS}.toml",
        "pylock.py312.toml",
    ]
    shipped = parse_requirements("3.12", (bundle / "locks" / f"py3.12-{WINDOWS}.txt").read_text())
    assert {str(k): str(v) for k, v in shipped.versions.items()} == {"cfx-mark": "1.0", "cfx-page": "1.0"}
    default = parse_requirements("3.12", (bundle / "locks" / "py3.12.txt").read_text())
    assert default.key == parse_requirements("3.12", (bundle / "locks" / f"py3.12-{HERE}.txt").read_text()).key
    win_wheel = _sha256(next(windows.wheels.glob("*cp312-cp312-win_amd64.whl")))
    pylock = tomllib.loads((bundle / "locks" / f"pylock.py312-{WINDOWS}.toml").read_text())
    assert {p["name"]: p["wheels"][0]["hashes"]["sha256"] for p in pylock["packages"]}["cfx-mark"] == win_wheel
    assert sorted(p.name for p in (bundle / "wheels").iterdir()) == [
        "cfx_mark-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "cfx_mark-1.0-cp312-cp312-win_amd64.whl",
        "cfx_page-1.0-py3-none-any.whl",
    ]
    with zipfile.ZipFile(bundle / "wheels" / "cfx_mark-1.0-cp312-cp312-win_amd64.whl") as archive:
        assert "PLATFORM = 'win_amd64'" in archive.read("cfx_mark/__init__.py").decode()
    record = json.loads((bundle / "release.json").read_text())
    assert [(p["platform"], p["role"], p["coverage"]) for p in record["platforms"]] == [
        (HERE, "tested", "tested"),
        (WINDOWS, "locked", "locked, not tested"),
    ]
    assert record["platforms"][1]["pythons"]["3.12"]["lock"] == f"locks/py3.12-{WINDOWS}.txt"
    sbom = json.loads((bundle / "sbom.cdx.json").read_text())
    mark = next(c for c in sbom["components"] if c["name"] == "cfx-mark")
    assert win_wheel in {h["content"] for h in mark["hashes"]}
    assert {"name": "curator:platform", "value": f"{HERE} {WINDOWS}"} in mark["properties"]
    assert f"`{WINDOWS}` (locked): locked, not tested" in (bundle / "CHANGES.md").read_text()


def test_verify_passes_and_names_a_lost_windows_wheel(
    windows: WindowsRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(windows.dist / "plat-1.tar.gz")]) == 0
    assert "3 wheels match the locks" in capsys.readouterr().out
    bundle = shutil.copytree(windows.bundle, tmp_path / "plat-1")
    (bundle / "wheels" / "cfx_mark-1.0-cp312-cp312-win_amd64.whl").unlink()  # lost, and unlisted to hide it
    sums = (bundle / "SHA256SUMS").read_text().splitlines(keepends=True)
    (bundle / "SHA256SUMS").write_text("".join(line for line in sums if "win_amd64" not in line))
    assert main(["verify", str(bundle)]) == 1
    assert f"wheels/: no file for cfx-mark==1.0 of locks/py3.12-{WINDOWS}.txt" in capsys.readouterr().err


def test_a_compiled_package_alone_ships_its_wheel_for_each_platform_and_verifies(
    write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MarkupSafe's shape: one package, a wheel per platform, no pairs to draw (so no matrices)."""
    path = write(f"platforms:\n  locked: [{WINDOWS}, aarch64-apple-darwin]\n", packages='  cfx-mark: ["1.0"]\n')
    out, dist = tmp_path / "run", tmp_path / "dist"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 0
    assert main(["release", str(path), "--run", str(out), "--unsigned", "--wheelhouse", "--out", str(dist)]) == 0
    assert sorted(p.name for p in (dist / "plat-1" / "wheels").iterdir()) == [
        "cfx_mark-1.0-cp312-cp312-macosx_11_0_arm64.whl",
        "cfx_mark-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "cfx_mark-1.0-cp312-cp312-win_amd64.whl",
    ]
    capsys.readouterr()
    assert main(["verify", str(dist / "plat-1.tar.gz")]) == 0, capsys.readouterr().err


def test_a_platform_without_wheels_is_a_finding_naming_it_and_blocks_the_release(
    write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cfx-mark has no wheel for Linux on ARM: that platform cannot be locked, which is a finding (not a
    crash), fails the run, and refuses the release — a platform that cannot be locked cannot be shipped."""
    path = write(f"platforms:\n  locked: [{WINDOWS}, aarch64-unknown-linux-gnu]\n")
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1
    capsys.readouterr()
    arm = _rows(out)["py3.12-aarch64-unknown-linux-gnu-baseline"]
    assert arm["status"] == "unresolvable"
    assert arm["reason"].startswith("on aarch64-unknown-linux-gnu: ")
    assert "cfx-mark" in arm["reason"] and "manylinux_2_28_aarch64" in arm["reason"]  # uv's own reason
    run = json.loads((out / "run.json").read_text())
    assert run["gate"]["holds"] is False
    assert any("cannot be locked for aarch64-unknown-linux-gnu" in p for p in run["gate"]["problems"])
    assert run["gate"]["platforms"][2]["coverage"] == "not locked"
    assert any(u["cell"] == "py3.12-aarch64-unknown-linux-gnu-baseline" for u in run["unexpected"])
    assert "on aarch64-unknown-linux-gnu: Because cfx-mark" in (out / "index.html").read_text()  # a finding
    dist = tmp_path / "dist"
    assert main(["release", str(path), "--run", str(out), "--unsigned", "--out", str(dist)]) == 1
    assert "cannot be locked for aarch64-unknown-linux-gnu" in capsys.readouterr().err
    assert not dist.exists()


def test_a_tested_platform_no_executor_serves_fails_the_run_and_the_gate(
    write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(f"platforms:\n  tested: [{HERE}, {WINDOWS}]\n")
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1
    printed = " ".join(capsys.readouterr().out.split())
    assert "does not hold" in printed and f"platforms: {HERE}: tested, {WINDOWS}: locked, not tested" in printed
    assert "1 cell locked, not tested (no executor serves its platform)" in printed
    run = json.loads((out / "run.json").read_text())
    assert run["gate"]["failing_baseline_cells"] == [f"py3.12-{WINDOWS}-baseline"]
    assert "a tested platform must pass" in run["gate"]["problems"][0]
    assert [u["cell"] for u in run["unexpected"]] == [f"py3.12-{WINDOWS}-baseline"]
    assert main(["release", str(path), "--run", str(out), "--unsigned", "--out", str(tmp_path / "dist")]) == 1


# ------------------------------------------------------------------------------ dask workers per platform


@pytest.fixture
def two_platform_cluster() -> Iterator[tuple[str, dict[str, str]]]:
    """A scheduler and two worker processes: one advertising platform:x86_64-manylinux_2_28, one
    platform:x86_64-manylinux_2_17 (both this machine, which serves both)."""
    distributed = pytest.importorskip("distributed")
    specs = {
        name: {"cls": distributed.Nanny, "options": {"nthreads": 1, "resources": {platforms.resource(target): 1}}}
        for name, target in (("new", "x86_64-manylinux_2_28"), ("old", "x86_64-manylinux_2_17"))
    }
    cluster = distributed.SpecCluster(
        scheduler={"cls": distributed.Scheduler, "options": {"dashboard_address": ":0"}},
        workers=specs,
        silence_logs=50,
    )
    try:
        addresses = {
            "x86_64-manylinux_2_28": str(cluster.workers["new"].worker_address),
            "x86_64-manylinux_2_17": str(cluster.workers["old"].worker_address),
        }
        yield str(cluster.scheduler_address), addresses
    finally:
        cluster.close()


def test_a_dask_worker_gets_only_the_cells_of_the_platform_it_advertises(
    write: Write, tmp_path: Path, two_platform_cluster: tuple[str, dict[str, str]]
) -> None:
    if not all(platforms.served_here(t) for t in ("x86_64-manylinux_2_28", "x86_64-manylinux_2_17")):
        pytest.skip("this machine does not install manylinux_2_28 x86-64 wheels")
    scheduler, workers = two_platform_cluster
    path = write(
        f"platforms:\n  tested: [x86_64-manylinux_2_28, x86_64-manylinux_2_17]\n  locked: [{WINDOWS}]\n",
        python='["3.11", "3.12"]',
    )
    out = tmp_path / "run"
    argv = ["run", str(path), "--out", str(out), "--plain", "--executor", "dask", "--scheduler", scheduler]
    # a process of its own with a time limit: a cell sent to a platform no worker advertises would wait forever
    command = [sys.executable, "-m", "curator", *argv]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(out).values()
    ran = {(r["platform"], r["worker"]) for r in rows if r["tested"] == "True"}
    assert ran == {(platform, address) for platform, address in workers.items()}
    for platform in workers:
        assert sum(1 for r in rows if r["platform"] == platform and r["status"] == "passed") == 2  # both Pythons
    untested = [r for r in rows if r["tested"] == "False"]
    assert {r["platform"] for r in untested} == {WINDOWS} and len(untested) == 2
    assert all(r["worker"] == "" for r in untested)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
