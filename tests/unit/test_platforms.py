"""Platforms (`platforms.tested`, `platforms.locked`): uv's targets, this machine's, the manifest
field and its mistakes at their lines, the cells and keys per platform, and the gate per platform."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from curator import manifest
from curator.host import targets as platforms
from curator.model.distribution import Platforms, Strategy
from curator.model.errors import ManifestError
from curator.model.ids import CellId, Platform, PyVersion, RunId, SuiteName
from curator.model.outcome import NOT_TESTED, CellOutcome, Status, SuiteOutcome
from curator.model.pins import Pins
from curator.plan import cells as plan
from curator.results.gate import Coverage, Role, evaluate
from curator.store.db import CellRecord
from tests.conftest import WriteManifest

WINDOWS, LINUX = Platform("x86_64-pc-windows-msvc"), Platform("x86_64-manylinux_2_28")
GLIBC_236 = ["linux_x86_64", *(f"manylinux_2_{m}_x86_64" for m in range(36, 4, -1)), "manylinux2014_x86_64"]


# ---------------------------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("target", "tag"),
    [
        ("x86_64-pc-windows-msvc", "win_amd64"),
        ("i686-pc-windows-msvc", "win32"),
        ("x86_64-manylinux_2_28", "manylinux_2_28_x86_64"),
        ("x86_64-manylinux2014", "manylinux_2_17_x86_64"),
        ("x86_64-unknown-linux-gnu", "manylinux_2_28_x86_64"),  # as uv 0.13 resolves it
        ("aarch64-apple-darwin", "macosx_13_0_arm64"),
        ("x86_64-unknown-linux-musl", "musllinux_1_2_x86_64"),
        ("wasm32-pyodide2024", None),
    ],
)
def test_each_target_stands_for_one_wheel_platform_tag(target: str, tag: str | None) -> None:
    assert target in platforms.TARGETS
    assert platforms.tag(target) == tag


def test_a_machine_serves_the_targets_whose_wheels_it_installs() -> None:
    assert platforms.serves("x86_64-manylinux_2_28", GLIBC_236)
    assert platforms.serves("x86_64-manylinux_2_36", GLIBC_236)
    assert platforms.serves("x86_64-unknown-linux-gnu", GLIBC_236)
    assert not platforms.serves("x86_64-manylinux_2_38", GLIBC_236)  # newer glibc than this machine's
    assert not platforms.serves("x86_64-pc-windows-msvc", GLIBC_236)
    assert not platforms.serves("aarch64-manylinux_2_28", GLIBC_236)


@pytest.mark.parametrize(
    ("tags", "target"),
    [
        (GLIBC_236, "x86_64-manylinux_2_36"),
        # glibc 2.30: uv has no 2_29 or 2_30 target, so the newest below it
        (["linux_x86_64", *(f"manylinux_2_{m}_x86_64" for m in range(30, 4, -1))], "x86_64-manylinux_2_28"),
        (["linux_aarch64", *(f"manylinux_2_{m}_aarch64" for m in range(39, 16, -1))], "aarch64-manylinux_2_39"),
        (["win_amd64"], "x86_64-pc-windows-msvc"),
        (["macosx_14_0_arm64", "macosx_14_0_universal2", "macosx_13_0_arm64"], "aarch64-apple-darwin"),
        (["macosx_12_0_arm64", "macosx_11_0_arm64"], None),  # older than the macOS uv resolves for
        (["linux_x86_64", "musllinux_1_2_x86_64", "musllinux_1_1_x86_64"], "x86_64-unknown-linux-musl"),
        (["linux_ppc64le", "manylinux_2_36_ppc64le"], None),
    ],
)
def test_this_machine_is_its_most_specific_target(tags: list[str], target: str | None) -> None:
    assert platforms.target_of(tags) == target
    if target is not None:
        assert platforms.serves(target, tags)  # a machine always serves the target it is named for


def test_this_machine_has_a_target_it_serves() -> None:
    here = platforms.here()
    assert here is not None and platforms.served_here(here)


# ---------------------------------------------------------------------------------- the manifest

BASE = """\
distribution: demo
version: "1"
python: ["3.12"]
packages:
  numpy: ["1.26.4", "2.1.3"]
"""


def test_platforms_become_a_model_tested_first(write_manifest: WriteManifest) -> None:
    text = (
        BASE
        + "platforms:\n  tested: [x86_64-manylinux_2_28]\n  locked: [x86_64-pc-windows-msvc, aarch64-apple-darwin]\n"
    )
    dist = manifest.load(write_manifest(text))
    assert dist.platforms == Platforms(tested=(LINUX,), locked=(WINDOWS, Platform("aarch64-apple-darwin")))
    assert dist.platforms.primary == LINUX
    assert dist.platforms.every == (LINUX, WINDOWS, "aarch64-apple-darwin")
    assert manifest.load(write_manifest(BASE)).platforms is None


def test_tested_defaults_to_this_machine(write_manifest: WriteManifest) -> None:
    dist = manifest.load(write_manifest(BASE + "platforms:\n  locked: [x86_64-pc-windows-msvc]\n"))
    assert dist.platforms is not None
    assert dist.platforms.tested == (platforms.here(),)


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        pytest.param(
            "platforms:\n  locked: [x86_64-pc-windos-msvc]\n",
            7,
            12,
            "platforms.locked: 'x86_64-pc-windos-msvc' is not a platform uv resolves for; "
            "did you mean 'x86_64-pc-windows-msvc'?",
            id="typo",
        ),
        pytest.param(
            "platforms:\n  tested:\n    - x86_64-manylinux_2_28\n    - aarch64-apple-darwn\n",
            9,
            7,
            "did you mean 'aarch64-apple-darwin'?",
            id="typo-in-a-block-list",
        ),
        pytest.param(
            "platforms:\n  locked: [windows]\n",
            7,
            12,
            "platforms.locked: 'windows' is uv's short name for x86_64-pc-windows-msvc; write the target itself",
            id="alias",
        ),
        pytest.param(
            "platforms:\n  tested: [x86_64-manylinux_2_28]\n"
            "  locked: [x86_64-pc-windows-msvc, x86_64-manylinux_2_28]\n",
            8,
            36,
            "platform x86_64-manylinux_2_28 is under both platforms.tested and platforms.locked",
            id="both",
        ),
        pytest.param(
            "platforms:\n  locked: [x86_64-pc-windows-msvc, x86_64-pc-windows-msvc]\n",
            7,
            36,
            "platforms.locked: platform x86_64-pc-windows-msvc is listed twice",
            id="twice",
        ),
        pytest.param(
            "platforms:\n  tested: []\n", 7, 11, "platforms.tested needs at least one platform", id="none-tested"
        ),
        pytest.param(
            "platforms:\n  test: [x86_64-manylinux_2_28]\n",
            7,
            3,
            "unknown key 'test' in platforms; did you mean 'tested'? (allowed: tested, locked)",
            id="unknown-key",
        ),
        pytest.param("platforms:\n", 6, 11, "platforms needs `tested` and/or `locked`", id="empty"),
        pytest.param("platforms: {}\n", 6, 12, "platforms needs `tested` and/or `locked`", id="empty-mapping"),
        pytest.param(
            "platforms:\n  locked: [3]\n",
            7,
            12,
            "platforms.locked: '3' is not a platform uv resolves for (names are uv's --python-platform targets",
            id="not-a-target",
        ),
    ],
)
def test_a_platform_mistake_is_reported_at_its_line(
    write_manifest: WriteManifest, text: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(ManifestError) as caught:
        manifest.load(write_manifest(BASE + text))
    error = caught.value
    assert message in str(error)
    assert (error.line, error.column) == (line, column), str(error)


# ---------------------------------------------------------------------------------- cells and keys

PLATFORMS = "platforms:\n  tested: [x86_64-manylinux_2_28, x86_64-manylinux_2_17]\n  locked: [x86_64-pc-windows-msvc]\n"


def test_tested_platforms_get_every_cell_and_locked_ones_the_baseline(write_manifest: WriteManifest) -> None:
    dist = manifest.load(write_manifest(BASE.replace('["3.12"]', '["3.11", "3.12"]') + PLATFORMS))
    cells = plan.build(dist, Strategy.UPGRADES).cells
    by_platform: dict[str, list[str]] = {}
    for cell in cells:
        by_platform.setdefault(cell.platform, []).append(cell.id)
    assert by_platform == {
        "x86_64-manylinux_2_28": [
            "py3.11-x86_64-manylinux_2_28-baseline",
            "py3.11-x86_64-manylinux_2_28-numpy@1.26.4",
            "py3.12-x86_64-manylinux_2_28-baseline",
            "py3.12-x86_64-manylinux_2_28-numpy@1.26.4",
        ],
        "x86_64-manylinux_2_17": [
            "py3.11-x86_64-manylinux_2_17-baseline",
            "py3.11-x86_64-manylinux_2_17-numpy@1.26.4",
            "py3.12-x86_64-manylinux_2_17-baseline",
            "py3.12-x86_64-manylinux_2_17-numpy@1.26.4",
        ],
        "x86_64-pc-windows-msvc": ["py3.11-x86_64-pc-windows-msvc-baseline", "py3.12-x86_64-pc-windows-msvc-baseline"],
    }
    assert len({cell.key for cell in cells}) == len(cells)  # the platform is in every key
    counted = plan.counts(dist)
    assert counted[Strategy.UPGRADES] == len(cells) and counted[Strategy.BASELINE] == 6


def test_a_plan_json_names_each_cells_platform(write_manifest: WriteManifest) -> None:
    from curator.model import codec

    dist = manifest.load(write_manifest(BASE + PLATFORMS))
    data = json.loads(codec.dumps(plan.build(dist, Strategy.BASELINE)))
    assert [c["platform"] for c in data["cells"]] == list(dist.platforms.every if dist.platforms else ())


def test_a_manifest_without_platforms_keeps_its_keys_and_ids(write_manifest: WriteManifest) -> None:
    """The platform joins a key only when the manifest names platforms: a key is the hash of exactly
    what it was before platforms existed, and an id has no platform in it."""
    dist = manifest.load(write_manifest(BASE))
    cell = plan.build(dist, Strategy.BASELINE).cells[0]
    assert cell.id == "py3.12-baseline" and cell.platform == ""
    inputs = plan.KeyInputs.of(dist)
    payload = {"python": "3.12", "pins": str(cell.pins), "suites": {"install": []}, **inputs.common}
    assert cell.key == hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
    named = manifest.load(write_manifest(BASE + "platforms:\n  tested: [x86_64-manylinux_2_28]\n"))
    on_linux = plan.build(named, Strategy.BASELINE).cells[0]
    assert on_linux.id == "py3.12-x86_64-manylinux_2_28-baseline"
    assert on_linux.key != cell.key


def test_a_split_cell_keeps_its_platform(write_manifest: WriteManifest) -> None:
    from curator.resolve.graph import DependencyGraph
    from curator.resolve.lock import Lock, Pin

    text = BASE + "  scipy: ['1.0', '2.0']\nsuites:\n  sc:\n    path: suites/sc\n    requires: [scipy]\n" + PLATFORMS
    dist = manifest.load(write_manifest(text, suites={"suites/sc": "def test_a():\n    pass\n"}))
    pins = tuple(Pin(p.name, p.blessed, ("a" * 64,), ("<requirements>",)) for p in dist.packages)
    graph = DependencyGraph.build(dist, Lock("3.12", pins, ""))
    refused = next(
        c
        for c in plan.build(dist, Strategy.FULL).cells
        if c.platform == "x86_64-manylinux_2_17" and c.changes and len(c.changes) == 2
    )
    split = plan.split(dist, refused, graph)
    assert split and {c.platform for c in split} == {"x86_64-manylinux_2_17"}
    assert all("x86_64-manylinux_2_17" in c.id for c in split)


# ---------------------------------------------------------------------------------- the gate

PY = PyVersion("3.12")
RUN = "20261124-030001-4f2a"


def _baseline(platform: Platform, status: Status, *, tested: bool = True, locked: bool = True) -> CellRecord:
    cell_id = CellId(f"py3.12-{platform}-baseline")
    reason = f"{NOT_TESTED}: no executor" if not tested else "why"
    suite = SuiteOutcome(SuiteName("app"), status, status, reason)
    outcome = CellOutcome(cell_id, (suite,), lock_key="L" * 64 if locked else "", tested=tested)
    return CellRecord(RunId(RUN), cell_id, PY, "3.12.1 /py", Pins(), Pins(), True, "key", outcome, platform=platform)


DECLARED = Platforms(tested=(LINUX,), locked=(WINDOWS,))


def test_a_locked_platform_nobody_tested_holds_the_gate_and_says_so() -> None:
    records = [_baseline(LINUX, Status.PASSED), _baseline(WINDOWS, Status.SKIPPED, tested=False)]
    gate = evaluate(records, (PY,), finished=True, platforms=DECLARED)
    assert gate.holds, gate.problems(RUN)
    assert [(s.platform, s.role, s.coverage) for s in gate.platforms] == [
        (LINUX, Role.TESTED, Coverage.TESTED),
        (WINDOWS, Role.LOCKED, Coverage.NOT_TESTED),
    ]
    assert gate.baseline == {PY: records[0]}  # the primary platform's: the bundle's default locks


def test_a_tested_platform_nobody_tested_shuts_the_gate() -> None:
    records = [_baseline(LINUX, Status.SKIPPED, tested=False), _baseline(WINDOWS, Status.SKIPPED, tested=False)]
    gate = evaluate(records, (PY,), finished=True, platforms=DECLARED)
    assert not gate.holds and gate.failing == ("py3.12-x86_64-manylinux_2_28-baseline",)
    (problem,) = gate.problems(RUN)
    assert "locked, not tested: no executor serves platform x86_64-manylinux_2_28" in problem
    assert "--resources platform:x86_64-manylinux_2_28=1" in problem


def test_a_locked_platform_that_cannot_be_locked_shuts_the_gate_naming_it() -> None:
    unlocked = _baseline(WINDOWS, Status.UNRESOLVABLE, locked=False)
    gate = evaluate([_baseline(LINUX, Status.PASSED), unlocked], (PY,), finished=True, platforms=DECLARED)
    assert not gate.holds and gate.failing == (unlocked.cell_id,)
    assert "cannot be locked for x86_64-pc-windows-msvc" in gate.problems(RUN)[0]
    assert gate.platforms[1].coverage is Coverage.NOT_LOCKED


def test_a_locked_platform_that_was_tested_must_pass() -> None:
    """A worker of a locked-only platform ran its baseline, and it failed: a failure seen is never shipped."""
    failed = _baseline(WINDOWS, Status.FAILED)
    gate = evaluate([_baseline(LINUX, Status.PASSED), failed], (PY,), finished=True, platforms=DECLARED)
    assert not gate.holds
    assert gate.problems(RUN) == [f"{failed.cell_id} (app failed on {WINDOWS} (locked only: tested, so it must pass))"]
    passed = _baseline(WINDOWS, Status.PASSED)
    gate = evaluate([_baseline(LINUX, Status.PASSED), passed], (PY,), finished=True, platforms=DECLARED)
    assert gate.holds and gate.platforms[1].coverage is Coverage.TESTED


def test_an_expected_skip_never_opens_the_gate_for_an_untested_platform() -> None:
    untested = _baseline(LINUX, Status.SKIPPED, tested=False)
    excused = replace(untested.outcome.suites[0], rule="expected skip: app")  # as a policy rule would judge it
    assert excused.expected_skip
    untested = replace(untested, outcome=replace(untested.outcome, suites=(excused,)))
    assert not evaluate([untested], (PY,), finished=True, platforms=Platforms(tested=(LINUX,))).holds


# ---------------------------------------------------------------------------------- the bundle


def test_a_bundle_names_each_platforms_lock_and_reads_the_names_back() -> None:
    from curator.host.layout import BundleLayout

    bundle = BundleLayout(Path("b"))
    assert bundle.lock("3.12").as_posix() == "b/locks/py3.12.txt"  # the primary platform's, as ever
    assert bundle.lock("3.12", WINDOWS).as_posix() == "b/locks/py3.12-x86_64-pc-windows-msvc.txt"
    assert bundle.pylock("3.12", WINDOWS).as_posix() == "b/locks/pylock.py312-x86_64-pc-windows-msvc.toml"
    assert BundleLayout.lock_target("locks/py3.12-x86_64-pc-windows-msvc.txt") == ("3.12", WINDOWS)
    assert BundleLayout.lock_target("locks/py3.12.txt") is None
    assert BundleLayout.lock_python("locks/py3.12-x86_64-pc-windows-msvc.txt") is None  # not a Python's default
    assert BundleLayout.lock_target("report/py3.12-x86_64-pc-windows-msvc.txt") is None
