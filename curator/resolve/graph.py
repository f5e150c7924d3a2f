"""The dependency graph of a resolved distribution (networkx), and its renderings.

Nodes are packages (manifest packages carry their candidates and blessed version); an
edge A → B means A requires B and carries the requirement's specifier. Later stages ask
it for dependents, for the edges between manifest packages (the `pairs` strategy and the
compatibility matrices) and for cycles.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from curator.model.distribution import Distribution
from curator.model.errors import UsageError
from curator.resolve.interpreters import Interpreter
from curator.resolve.lock import ROOT, Lock, Resolver, Unresolvable
from curator.resolve.metadata import requires_dist


@dataclass(frozen=True)
class ManifestEdge:
    """A needs B (directly or through other packages), both in the manifest."""

    dependent: str
    dependency: str
    direct: bool


class DependencyGraph:
    """A networkx DiGraph of one Python's resolved baseline, with the questions stages ask."""

    def __init__(self, graph: nx.DiGraph, python: str, title: str = "") -> None:
        self.graph = graph
        self.python = python
        self.title = title

    @classmethod
    def build(
        cls,
        distribution: Distribution,
        lock: Lock,
        requires: Mapping[str, Sequence[Requirement] | None] | None = None,
    ) -> DependencyGraph:
        """Graph of `lock`; `requires` (Requires-Dist per package) supplies edge specifiers."""
        graph: nx.DiGraph = nx.DiGraph()
        manifest = {p.name: p for p in distribution.packages}
        for pin in lock.pins:
            package = manifest.get(pin.name)
            graph.add_node(
                pin.name,
                version=str(pin.version),
                manifest=package is not None,
                candidates=[str(v) for v in package.versions] if package else [],
                blessed=str(package.blessed) if package else None,
            )
        environment: dict[str, str] = {
            **{k: str(v) for k, v in default_environment().items()},
            "python_version": lock.python,
        }
        for parent, child in lock.edges():
            if parent == ROOT or parent not in graph:
                continue
            spec = _specifier(requires.get(parent) if requires else None, child, environment)
            graph.add_edge(parent, child, specifier=spec)
        title = f"{distribution.name} {distribution.version}"
        return cls(graph, lock.python, title)

    # ------------------------------------------------------------------ questions

    @property
    def manifest_packages(self) -> list[str]:
        """Manifest packages present in the graph, sorted."""
        return sorted(n for n, data in self.graph.nodes(data=True) if data.get("manifest"))

    def dependents(self, name: str, *, transitive: bool = True) -> set[str]:
        """Packages that require `name` (reverse dependencies)."""
        name = canonicalize_name(name)
        if name not in self.graph:
            return set()
        if transitive:
            return set(nx.ancestors(self.graph, name))
        return set(self.graph.predecessors(name))

    def dependencies(self, name: str, *, transitive: bool = True) -> set[str]:
        """Packages `name` requires."""
        name = canonicalize_name(name)
        if name not in self.graph:
            return set()
        if transitive:
            return set(nx.descendants(self.graph, name))
        return set(self.graph.successors(name))

    def manifest_edges(self) -> list[ManifestEdge]:
        """Every (A, B) of manifest packages where A needs B directly or through others."""
        edges = []
        packages = self.manifest_packages
        names = set(packages)  # once: a baseline of a thousand packages asks for each one's dependencies
        for a in packages:
            for b in sorted(self.dependencies(a) & names):
                edges.append(ManifestEdge(a, b, direct=self.graph.has_edge(a, b)))
        return edges

    def cycles(self) -> list[list[str]]:
        """Dependency cycles, each as a list of package names."""
        return sorted(sorted(c) for c in nx.simple_cycles(self.graph))

    def layers(self) -> list[list[str]]:
        """Packages in layers: dependents above their dependencies, cycles kept together."""
        condensed = nx.condensation(self.graph)
        layers: list[list[str]] = []
        for generation in nx.topological_generations(condensed):
            members: list[str] = []
            for component in generation:
                members += sorted(condensed.nodes[component]["members"])
            layers.append(sorted(members))
        return order_layers(self.graph, layers)

    # ------------------------------------------------------------------ renderings

    def to_json(self) -> dict[str, object]:
        """The graph as stable, documented JSON."""
        return {
            "distribution": self.title,
            "python": self.python,
            "nodes": [
                {
                    "name": name,
                    **{k: data[k] for k in ("version", "manifest", "candidates", "blessed")},
                }
                for name, data in sorted(self.graph.nodes(data=True))
            ],
            "edges": [
                {"from": a, "to": b, "specifier": data["specifier"]}
                for a, b, data in sorted(self.graph.edges(data=True))
            ],
            "manifest_edges": [
                {"dependent": e.dependent, "dependency": e.dependency, "direct": e.direct}
                for e in self.manifest_edges()
            ],
            "cycles": self.cycles(),
        }

    def to_dot(self) -> str:
        """Graphviz DOT source."""
        lines = [
            f"digraph {json.dumps(self.title or 'dependencies')} {{",
            "  rankdir=TB;",
            "  node [shape=box];",
        ]
        for name, data in sorted(self.graph.nodes(data=True)):
            label = f"{name}\\n{data['version']}"
            style = ', style="bold,filled", fillcolor="#dbe9f6"' if data["manifest"] else ""
            lines.append(f'  {json.dumps(name)} [label="{label}"{style}];')
        for a, b, data in sorted(self.graph.edges(data=True)):
            label = f" [label={json.dumps(data['specifier'])}]" if data["specifier"] else ""
            lines.append(f"  {json.dumps(a)} -> {json.dumps(b)}{label};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """A readable listing: each manifest package with what it requires."""
        nodes = self.graph.nodes
        out = [
            f"{self.title} — dependency graph on Python {self.python} "
            f"({self.graph.number_of_nodes()} packages, "
            f"{self.graph.number_of_edges()} requirements)",
            "",
        ]
        for name in sorted(self.graph, key=lambda n: (not nodes[n]["manifest"], n)):
            data = nodes[name]
            tag = (
                f"  [manifest: {', '.join(data['candidates'])}; blessed {data['blessed']}]" if data["manifest"] else ""
            )
            out.append(f"{name} {data['version']}{tag}")
            children = sorted(self.graph.successors(name))
            for i, child in enumerate(children):
                branch = "└─" if i == len(children) - 1 else "├─"
                spec = self.graph.edges[name, child]["specifier"]
                out.append(f"  {branch} {child}{spec or ''} → {nodes[child]['version']}")
        edges = self.manifest_edges()
        out += ["", "Between manifest packages (A needs B):"]
        out += [f"  {e.dependent} → {e.dependency}{'' if e.direct else ' (indirectly)'}" for e in edges] or ["  none"]
        cycles = self.cycles()
        out.append("Cycles: " + ("; ".join(" ↔ ".join(c) for c in cycles) if cycles else "none"))
        return "\n".join(out) + "\n"

    def to_svg(self, failing: Iterable[tuple[str, str]] = ()) -> str:
        """A layered picture (dependents above dependencies), as SVG text.

        Manifest packages are drawn as filled boxes and the requirements between them in blue;
        edges in `failing` are drawn red and dashed.
        """
        from matplotlib.figure import Figure  # a Figure of its own: no pyplot state, no backend to switch

        layers = self.layers()
        width = max((len(layer) for layer in layers), default=1)
        positions: dict[str, tuple[float, float]] = {}
        for depth, layer in enumerate(layers):
            offset = (width - len(layer)) / 2
            for i, name in enumerate(layer):
                positions[name] = (offset + i, -depth)
        fig = Figure(figsize=(max(6.0, 1.9 * width), max(3.0, 1.25 * len(layers) + 0.8)))
        ax = fig.subplots()
        failing_set = {(canonicalize_name(a), canonicalize_name(b)) for a, b in failing}
        for a, b, data in self.graph.edges(data=True):
            broken = (a, b) in failing_set
            between = self.graph.nodes[a]["manifest"] and self.graph.nodes[b]["manifest"]
            colour = "#c0392b" if broken else "#2c6fad" if between else "#9aa4a6"
            (x1, y1), (x2, y2) = positions[a], positions[b]
            ax.annotate(
                "",
                xy=(x2, y2 + 0.18),
                xytext=(x1, y1 - 0.18),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": colour,
                    "lw": 2.0 if broken or between else 0.8,
                    "linestyle": "--" if broken else "-",
                    "shrinkA": 2,
                    "shrinkB": 2,
                },
            )
            if data["specifier"] and (self.graph.nodes[b]["manifest"] or broken):
                ax.text(  # near the requirer, where edges into one package are still apart
                    x1 + 0.3 * (x2 - x1),
                    y1 + 0.3 * (y2 - y1),
                    data["specifier"],
                    fontsize=6.5,
                    color="#555",
                    ha="center",
                    va="center",
                    bbox={"fc": "white", "ec": "none", "pad": 0.5, "alpha": 0.85},
                )
        for name, (x, y) in positions.items():
            data = self.graph.nodes[name]
            manifest = data["manifest"]
            ax.text(
                x,
                y,
                f"{name}\n{data['version']}",
                ha="center",
                va="center",
                fontsize=8.5 if manifest else 7.5,
                fontweight="bold" if manifest else "normal",
                bbox={
                    "boxstyle": "round,pad=0.35",
                    "fc": "#dbe9f6" if manifest else "#f4f4f4",
                    "ec": "#2c6fad" if manifest else "#aaaaaa",
                    "lw": 1.4 if manifest else 0.8,
                },
            )
        ax.set_xlim(-0.7, width - 0.3)
        ax.set_ylim(-len(layers) + 0.4, 0.6)
        ax.axis("off")
        ax.set_title(
            f"{self.title} on Python {self.python} — blue: manifest packages and the requirements between them",
            fontsize=10,
        )
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        return buffer.getvalue()


def _specifier(requirements: Sequence[Requirement] | None, child: str, environment: dict[str, str]) -> str:
    """The specifier(s) under which `requirements` ask for `child` (markers honoured)."""
    if not requirements:
        return ""
    plain: list[str] = []
    via_extra: list[str] = []
    for requirement in requirements:
        if canonicalize_name(requirement.name) != child:
            continue
        spec = str(requirement.specifier)
        marker = requirement.marker
        if marker is None or marker.evaluate({**environment, "extra": ""}):
            target = plain
        elif "extra" in str(marker):
            target = via_extra  # pulled in through an extra; used when nothing plain asks for it
        else:
            continue
        if spec and spec not in target:
            target.append(spec)
    specs = plain or via_extra
    return ",".join(specs)


def order_layers(graph: nx.DiGraph, layers: list[list[str]], sweeps: int = 4) -> list[list[str]]:
    """Order each layer by the barycentre of its neighbours above and below (a few sweeps), so that
    edges cross less in a layered picture."""
    undirected = graph.to_undirected(as_view=True)
    ordered = [list(layer) for layer in layers]
    for sweep in range(sweeps):
        indices = range(1, len(ordered)) if sweep % 2 == 0 else range(len(ordered) - 2, -1, -1)
        for i in indices:
            reference = ordered[i - 1] if sweep % 2 == 0 else ordered[i + 1]
            where = {name: j for j, name in enumerate(reference)}

            def centre(name: str, where: dict[str, int] = where) -> float:
                spots = [where[n] for n in undirected.neighbors(name) if n in where]
                return sum(spots) / len(spots) if spots else float("inf")

            ordered[i].sort(key=lambda n: (centre(n), n))
    return ordered


def baseline_requirements(distribution: Distribution) -> list[str]:
    """What the graph resolves: every manifest package at its blessed version."""
    return [f"{name}=={version}" for name, version in distribution.blessed.items()]


def resolve_graph(
    distribution: Distribution,
    interpreter: Interpreter,
    resolver: Resolver,
    cache: Path,
) -> DependencyGraph:
    """Resolve the baseline (every package blessed) on `interpreter` and graph it.

    A baseline the resolver refuses is bad input: the blessed versions cannot ship together.
    """
    requirements = baseline_requirements(distribution)
    lock = resolver.resolve(requirements, interpreter)
    if isinstance(lock, Unresolvable):
        raise UsageError(
            f"{distribution.where('packages')}: the blessed versions cannot be installed together "
            f"on Python {interpreter.version}: {lock.reason}"
        )
    urls = resolver.files(requirements, interpreter)
    requires: dict[str, list[Requirement] | None] = {name: requires_dist(url, cache) for name, url in urls.items()}
    return DependencyGraph.build(distribution, lock, requires)


def check_runner(distribution: Distribution, interpreter: Interpreter, resolver: Resolver) -> None:
    """Resolve the baseline as a run does — the blessed set with `test_requires` (and the seed
    packages) — and make a refusal bad input at `test_requires`, not a hundred refused cells later.

    Call it after `resolve_graph`, which has shown that the blessed set alone installs.
    """
    requirements = [f"{name}=={version}" for name, version in distribution.blessed.items()]
    lock = resolver.resolve([*requirements, *distribution.runner_requires], interpreter)
    if isinstance(lock, Unresolvable):
        if "test_requires" in distribution.locations:
            where, what = distribution.where("test_requires"), "test_requires"
        else:
            where, what = (
                distribution.where("packages"),
                f"the default test_requires ({', '.join(distribution.test_requires)})",
            )
        if distribution.environment.seed:
            what += " with the seed packages"
        raise UsageError(
            f"{where}: {what} cannot be installed beside the blessed versions on Python {interpreter.version}: "
            f"{lock.reason}"
        )
