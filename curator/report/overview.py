"""The distribution at a glance: its manifest packages and the edges between them, by layer.

Not every transitive requirement (`curator graph` draws those): only the manifest's packages, with
an edge A → B where A needs B on some Python's baseline and no other manifest package stands
between them (the transitive reduction of "A needs B, directly or through others"), dependents
above their dependencies. Packages that sit alike — the same layer, the same packages below them —
and need no attention are folded into one node ("7 packages"), so a distribution of hundreds of
packages still draws as a few dozen boxes; a package that needs attention always keeps its own.
Pure: networkx over the baselines' graphs. `charts.manifest_map` draws the result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from curator.model.outcome import Status, worst
from curator.resolve.graph import order_layers

FOLD_FROM = 3
"""The fewest packages folded into one node (two alike packages read better by name)."""
MAP_NODES = 60
"""The most nodes the map draws: past that, packages alike are folded harder (by layer and what they
need, then by layer alone), and a map that is still larger is not drawn."""


@dataclass(frozen=True)
class MapNode:
    """A manifest package, a cycle of them, or packages folded together."""

    id: str
    members: tuple[str, ...]
    status: str  # the worst status of its members' candidates ('' when none was tested)
    folded: bool = False  # several alike packages, shown as one

    @property
    def label(self) -> str:
        """What the box says."""
        if not self.folded:
            return " ↔ ".join(self.members)
        shown = ", ".join(self.members[:3]) + (", …" if len(self.members) > 3 else "")
        return f"{len(self.members)} packages\n{shown}"


@dataclass(frozen=True)
class MapEdge:
    """Packages of `source` need packages of `target`."""

    source: str
    target: str
    status: str  # the worst status of the matrices of the pairs behind it ('' none)


@dataclass(frozen=True)
class ManifestMap:
    """The manifest packages by layer (dependents first), folded where alike."""

    layers: tuple[tuple[MapNode, ...], ...]
    edges: tuple[MapEdge, ...]
    packages: int

    @property
    def nodes(self) -> int:
        """How many boxes it draws."""
        return sum(len(layer) for layer in self.layers)

    @property
    def folded(self) -> list[MapNode]:
        """The nodes that stand for several packages."""
        return [node for layer in self.layers for node in layer if node.folded]

    @property
    def drawable(self) -> bool:
        """Small enough to read as a picture."""
        return 0 < self.nodes <= MAP_NODES


def needs_graph(names: Sequence[str], edges: Iterable[tuple[str, str]]) -> nx.DiGraph:
    """The manifest packages with A → B where A needs B and no other manifest package lies between
    (`edges`: every A-needs-B pair, directly or through others, of every Python's baseline). A cycle
    keeps its own edges."""
    full: nx.DiGraph = nx.DiGraph()
    full.add_nodes_from(names)
    full.add_edges_from((a, b) for a, b in edges if a in full and b in full and a != b)
    condensed = nx.condensation(full)
    reduced = nx.transitive_reduction(condensed)
    members = {c: sorted(condensed.nodes[c]["members"]) for c in condensed}
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(names)
    for a, b in reduced.edges:
        graph.add_edges_from((x, y) for x in members[a] for y in members[b] if full.has_edge(x, y))
    for component in members.values():
        graph.add_edges_from((x, y) for x in component for y in component if full.has_edge(x, y))
    return graph


def pair_status(
    matrices: Mapping[tuple[str, str, str], Collection[str]], blamed: Collection[frozenset[str]] = ()
) -> dict[tuple[str, str], str]:
    """(dependent, dependency) → the worst status of its matrices on every Python ('' untested).

    A refusal counts only for a pair the resolver `blamed` (named both packages of): a candidate
    refused because of a third package's bound says nothing about the pair (`matrix.telling`)."""
    found: dict[tuple[str, str], list[Status]] = {}
    for (_, row, column), statuses in matrices.items():
        refusals = frozenset((row, column)) in blamed
        found.setdefault((row, column), []).extend(
            Status(s) for s in statuses if s and (refusals or s != Status.UNRESOLVABLE)
        )
    return {pair: str(worst(statuses) or "") for pair, statuses in found.items()}


def build_map(
    graph: nx.DiGraph,
    status: Mapping[str, str],
    attention: Collection[str],
    pairs: Mapping[tuple[str, str], str],
) -> ManifestMap:
    """Lay `graph` (from `needs_graph`) out by layer and fold alike packages.

    `status` is each package's worst candidate status, `attention` the packages never folded,
    `pairs` each edge's status (`pair_status`).
    """
    condensed = nx.condensation(graph)
    nodes: dict[int, MapNode] = {}
    for component in condensed:
        members = tuple(sorted(condensed.nodes[component]["members"]))
        nodes[component] = MapNode("=".join(members), members, _worst(status.get(m, "") for m in members))
    layers = [sorted(generation) for generation in nx.topological_generations(condensed)]
    below = {c: frozenset(condensed.successors(c)) for c in condensed}
    above = {c: frozenset(condensed.predecessors(c)) for c in condensed}
    keep = {c for c, node in nodes.items() if len(node.members) > 1 or set(node.members) & set(attention)}
    folded = _fold(layers, lambda c: (above[c], below[c]), keep)
    if sum(len(layer) for layer in folded) > MAP_NODES:
        folded = _fold(layers, lambda c: below[c], keep)
    if sum(len(layer) for layer in folded) > MAP_NODES:
        folded = _fold(layers, lambda c: (), keep)

    def node_of(group: tuple[int, ...]) -> MapNode:
        if len(group) == 1:
            return nodes[group[0]]
        members = tuple(sorted(m for c in group for m in nodes[c].members))
        return MapNode(f"fold-{members[0]}", members, _worst(nodes[c].status for c in group), folded=True)

    laid = tuple(tuple(node_of(group) for group in layer) for layer in folded)
    ids = {component: node_of(group).id for layer in folded for group in layer for component in group}
    by_edge: dict[tuple[str, str], list[str]] = {}
    for a, b in condensed.edges:
        source, target = ids[a], ids[b]
        statuses = by_edge.setdefault((source, target), [])
        for x in nodes[a].members:
            statuses.extend(s for y in nodes[b].members if (s := pairs.get((x, y), "")))
    edges = tuple(MapEdge(s, t, _worst(statuses)) for (s, t), statuses in sorted(by_edge.items()))
    ordered = _order(laid, edges)
    return ManifestMap(ordered, edges, graph.number_of_nodes())


def _fold(
    layers: Sequence[Sequence[int]], key: Callable[[int], Hashable], keep: Collection[int]
) -> list[list[tuple[int, ...]]]:
    """Each layer's nodes as groups: those alike under `key` (at least `FOLD_FROM`) together."""
    folded: list[list[tuple[int, ...]]] = []
    for layer in layers:
        alike: dict[Hashable, list[int]] = {}
        for component in layer:
            if component not in keep:
                alike.setdefault(key(component), []).append(component)
        grouped = [tuple(g) for g in alike.values() if len(g) >= FOLD_FROM]
        in_group = {c for g in grouped for c in g}
        folded.append([(c,) for c in layer if c not in in_group] + grouped)
    return folded


def _order(layers: tuple[tuple[MapNode, ...], ...], edges: Sequence[MapEdge]) -> tuple[tuple[MapNode, ...], ...]:
    """Each layer ordered so that edges cross less (barycentres, as `curator graph` draws)."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(node.id for layer in layers for node in layer)
    graph.add_edges_from((e.source, e.target) for e in edges)
    by_id = {node.id: node for layer in layers for node in layer}
    ordered = order_layers(graph, [[node.id for node in layer] for layer in layers])
    return tuple(tuple(by_id[i] for i in layer) for layer in ordered)


def _worst(statuses: Iterable[str]) -> str:
    found = worst(Status(s) for s in statuses if s)
    return str(found) if found else ""
