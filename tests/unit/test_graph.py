"""The dependency graph: edges from uv's annotations, specifiers from metadata, renderings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from curator import manifest
from curator.resolve.graph import DependencyGraph
from curator.resolve.lock import ROOT, parse_requirements
from tests.conftest import WriteManifest

# top → left → base, top → right → base (a diamond), plus a cycle c1 ↔ c2 under right.
LOCK = """\
base==2.0 \\
    --hash=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    # via
    #   left
    #   right
c1==1.0
    # via
    #   c2
    #   right
c2==1.0
    # via c1
left==1.0
    # via top
right==1.0
    # via top
top==1.0
    # via -r requirements.in
"""

REQUIRES = {
    "top": [Requirement("left>=1.0"), Requirement("right"), Requirement("pytest; extra == 'test'")],
    "left": [Requirement("base>=1.0,<3")],
    "right": [
        Requirement("base>=1; python_version >= '3.8'"),
        Requirement("c1"),
        Requirement("base<1; python_version < '3'"),
    ],
    "c1": [Requirement("c2")],
    "c2": [Requirement("c1")],
}


@pytest.fixture
def graph(write_manifest: WriteManifest) -> DependencyGraph:
    dist = manifest.load(
        write_manifest(
            "distribution: d\nversion: '1'\npython: ['3.12']\npackages:\n"
            "  top: ['1.0']\n  base: ['1.0', '2.0']\n  left: ['1.0']\n"
        )
    )
    return DependencyGraph.build(dist, parse_requirements("3.12", LOCK), REQUIRES)


def test_edges_carry_specifiers_with_markers_honoured(graph: DependencyGraph) -> None:
    edges = {(a, b): d["specifier"] for a, b, d in graph.graph.edges(data=True)}
    assert edges[("top", "left")] == ">=1.0"
    assert edges[("left", "base")] == "<3,>=1.0"
    assert edges[("right", "base")] == ">=1"  # the python < 3 entry does not apply
    assert edges[("top", "right")] == ""
    assert ("top", "pytest") not in edges


def test_dependents_and_dependencies(graph: DependencyGraph) -> None:
    assert graph.dependents("base") == {"left", "right", "top"}
    assert graph.dependents("base", transitive=False) == {"left", "right"}
    assert graph.dependencies("top") == {"left", "right", "base", "c1", "c2"}
    assert graph.dependents("unknown") == set()


def test_manifest_edges_include_indirect_needs(graph: DependencyGraph) -> None:
    edges = {(e.dependent, e.dependency, e.direct) for e in graph.manifest_edges()}
    assert edges == {("top", "left", True), ("top", "base", False), ("left", "base", True)}


def test_cycles_and_layers(graph: DependencyGraph) -> None:
    assert graph.cycles() == [["c1", "c2"]]
    layers = graph.layers()
    assert layers[0] == ["top"]
    position = {name: depth for depth, layer in enumerate(layers) for name in layer}
    assert position["c1"] == position["c2"]  # a cycle stays on one layer
    for a, b in graph.graph.edges:
        if {a, b} != {"c1", "c2"}:
            assert position[a] < position[b]


def test_renderings(graph: DependencyGraph) -> None:
    data = json.loads(json.dumps(graph.to_json()))
    assert {n["name"] for n in data["nodes"] if n["manifest"]} == {"top", "base", "left"}
    assert {"from": "left", "to": "base", "specifier": "<3,>=1.0"} in data["edges"]
    dot = graph.to_dot()
    assert dot.startswith('digraph "d 1" {') and '"left" -> "base" [label="<3,>=1.0"];' in dot
    text = graph.to_text()
    assert "top 1.0  [manifest: 1.0; blessed 1.0]" in text and "Cycles: c1 ↔ c2" in text
    svg = graph.to_svg(failing=[("left", "base")])
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "#c0392b" in svg  # the failing edge is drawn in red


def test_root_annotations_are_not_edges() -> None:
    lock = parse_requirements("3.12", LOCK)
    assert (ROOT, "top") in lock.edges()
    assert lock.closure(["left"]).versions == {"left": lock.versions["left"], "base": lock.versions["base"]}


def test_the_graphs_of_several_pythons_may_fetch_the_same_metadata_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the graphs of 3.11 and 3.12 resolve in parallel and share every pure-Python wheel: both
    # threads wrote the same temporary file, and the second rename found it gone (a crashed run)
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from curator.resolve import metadata

    together = threading.Barrier(4)
    raw = b"Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n"

    def fetch(url: str) -> bytes:
        together.wait(timeout=10)
        return raw

    monkeypatch.setattr(metadata, "_fetch_metadata", fetch)
    url = "https://files.example/six-1.16.0-py2.py3-none-any.whl"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: metadata._cached_metadata(url, tmp_path), range(4)))
    assert answers == [raw] * 4
    left = sorted(p.name for p in (tmp_path / "metadata").iterdir())
    assert len(left) == 1 and left[0].endswith(".METADATA")  # no temporary file left behind
