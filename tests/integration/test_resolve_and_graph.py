"""Resolution with real uv against the fixture folder index; graph and plan from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.version import Version

from curator import manifest
from curator.cli import main
from curator.resolve.interpreters import Finder
from curator.resolve.lock import Resolver, Unresolvable
from tests.integration.conftest import EcoManifest

PACKAGES = """\
  cfx-top: ["1.0"]
  cfx-base: ["1.0", "2.0"]
  cfx-user: ["1.0", "1.1"]
  cfx-capped: ["1.0"]
"""


def test_resolution_pins_every_file_by_hash(eco_manifest: EcoManifest) -> None:
    dist = manifest.load(eco_manifest(PACKAGES))
    python = Finder().find("3.12")
    lock = Resolver(dist.index).resolve(["cfx-top==1.0", "cfx-base==2.0"], python)
    assert not isinstance(lock, Unresolvable)
    assert lock.versions == {
        "cfx-base": Version("2.0"),
        "cfx-left": Version("1.0"),
        "cfx-right": Version("1.0"),
        "cfx-top": Version("1.0"),
    }
    assert all(len(pin.hashes) == 1 for pin in lock.pins)
    base = next(p for p in lock.pins if p.name == "cfx-base")
    assert set(base.required_by) == {"<requirements>", "cfx-left", "cfx-right"}


def test_an_upper_bound_is_an_unresolvable_value_with_uvs_reason(eco_manifest: EcoManifest) -> None:
    dist = manifest.load(eco_manifest(PACKAGES))
    result = Resolver(dist.index).resolve(["cfx-capped==1.0", "cfx-base==2.0"], Finder().find("3.12"))
    assert isinstance(result, Unresolvable)
    assert "cfx-base<2" in result.reason and "unsatisfiable" in result.reason


def test_fixture_packages_never_come_from_the_public_index(eco_manifest: EcoManifest) -> None:
    dist = manifest.load(eco_manifest(PACKAGES))
    result = Resolver(dist.index).resolve(["six==1.16.0"], Finder().find("3.12"))
    assert isinstance(result, Unresolvable)  # no_index: only the wheelhouse is consulted


def test_graph_json_from_the_fixture_index(eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]) -> None:
    path = eco_manifest(PACKAGES.replace('  cfx-capped: ["1.0"]\n', ""))
    assert main(["graph", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    edges = {(e["from"], e["to"]): e["specifier"] for e in data["edges"]}
    assert edges[("cfx-top", "cfx-left")] == ">=1.0"
    assert edges[("cfx-user", "cfx-base")] == ">=1.0"
    assert {(e["dependent"], e["dependency"]) for e in data["manifest_edges"]} == {
        ("cfx-top", "cfx-base"),
        ("cfx-user", "cfx-base"),
    }


def test_pairs_plan_gives_the_matrix_along_the_edges(
    eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest(PACKAGES.replace('  cfx-capped: ["1.0"]\n', "") + '  cfx-crash: ["0.9", "1.0"]\n')
    assert main(["plan", str(path), "--strategy", "pairs", "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)["cells"]
    combos = {(c["pins"]["cfx-user"], c["pins"]["cfx-base"]) for c in cells}
    assert combos == {("1.0", "1.0"), ("1.0", "2.0"), ("1.1", "1.0"), ("1.1", "2.0")}
    crash = [c for c in cells if c["changes"].get("cfx-crash")]
    assert [c["changes"] for c in crash] == [{"cfx-crash": "0.9"}]  # on no edge: tried once, alone
    assert len(cells) == 5


def test_blessed_set_that_cannot_install_is_bad_input(
    eco_manifest: EcoManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eco_manifest(PACKAGES)  # cfx-capped needs base<2, base 2.0 is blessed
    assert main(["graph", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:7:1: the blessed versions cannot be installed together on Python 3.12" in err
    assert "cfx-base<2" in err


def test_check_finds_the_interpreters_of_the_default_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    assert main(["check", str(root / "distribution.yaml")]) == 0
    out = capsys.readouterr().out
    assert "pydata-core 2026.11" in out
    for version in ("3.11", "3.12"):
        line = next(x for x in out.splitlines() if x.strip().startswith(f"Python {version}:"))
        assert f"/python{version} ({version}." in line
    assert "cover" in out and "baseline  2" in out


def test_svg_graph_is_written_to_a_file(eco_manifest: EcoManifest, tmp_path: Path) -> None:
    path = eco_manifest(PACKAGES.replace('  cfx-capped: ["1.0"]\n', ""))
    target = tmp_path / "graph.svg"
    assert main(["graph", str(path), "--format", "svg", "-o", str(target)]) == 0
    svg = target.read_text()
    assert svg.lstrip().startswith("<?xml") and "cfx-top" in svg


def test_a_cached_refusal_reads_as_uv_words_it_for_the_order_asked(
    wheelhouse: Path, runner_wheels: Path, tmp_path: Path
) -> None:
    """uv explains a refusal after the order of its requirements; a refusal cached for one order
    must not stand in for another (the report would split one conflict into two findings)."""
    from curator.model.distribution import Index

    index = Index(find_links=(wheelhouse, runner_wheels), no_index=True, exclude_newer="2026-11-01")
    python = Finder().find("3.12")
    one, other = ["cfx-esc==1.0", "cfx-tmpl==3.0", "pytest"], ["cfx-tmpl==3.0", "cfx-esc==1.0", "pytest"]
    fresh = Resolver(index).resolve(other, python)  # no cache: uv's own words for this order
    cached = Resolver(index, cache=tmp_path)
    cached.resolve(one, python)
    again = cached.resolve(other, python)
    assert isinstance(fresh, Unresolvable) and isinstance(again, Unresolvable)
    assert again.reason == fresh.reason
