"""Measure how many cells each strategy plans for a large distribution (docs/scale.md).

    python bench/bench_strategies.py                      # 1,000 packages × 3 candidates, 3 Pythons
    python bench/bench_strategies.py --packages 300 --degree 2

The manifest is synthetic: N packages of 3 candidates. `pairs` needs a dependency graph; this one
is synthetic too and seeded: packages in a dependency order, each needing a few earlier ones (on
average `--degree` direct requirements, chosen with preference for packages already much required,
as numpy is), so the graph has the hubs and depth of a real ecosystem. `pairs` tests every candidate
× candidate of every A needs B, directly or through others, so its count depends on the graph's
depth: the bench prints the graph's direct and transitive edges with the cells. Cells are counted by
`curator.plan.cells` itself (the plan is built, not estimated); `full` is arithmetic.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import networkx as nx

from curator import manifest
from curator.model.distribution import Strategy
from curator.model.ids import PyVersion
from curator.plan.cells import build
from curator.resolve.graph import DependencyGraph

PYTHONS = ("3.11", "3.12", "3.13")


def synthetic_graph(names: list[str], degree: float, seed: int) -> nx.DiGraph:
    """A dependency DAG over `names` (in dependency order): preferential attachment, mean out-degree `degree`."""
    rng = random.Random(seed)
    graph: nx.DiGraph = nx.DiGraph()
    weight = [1.0] * len(names)
    for name in names:
        graph.add_node(name, manifest=True)
    for i in range(1, len(names)):
        wanted = min(i, max(0, round(rng.expovariate(1 / degree)))) if degree else 0
        chosen: set[int] = set()
        while len(chosen) < wanted:
            chosen.add(rng.choices(range(i), weights=weight[:i])[0])
        for j in chosen:
            graph.add_edge(names[i], names[j])
            weight[j] += 1.0
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--pythons", type=int, default=3)
    parser.add_argument("--degree", type=float, nargs="+", default=[1.5, 3.0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pythons = [PyVersion(p) for p in PYTHONS[: args.pythons]]
    names = [f"pkg{i:05d}" for i in range(args.packages)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "distribution.yaml"
        lines = ["distribution: sim", 'version: "1"', f"python: [{', '.join(repr(p) for p in pythons)}]", "packages:"]
        lines += [f'  {n}: ["1.0", "1.1", "2.0"]' for n in names]
        path.write_text("\n".join(lines) + "\n")
        dist = manifest.load(path)
    print(f"{args.packages} packages × 3 candidates, {len(pythons)} Pythons")
    print(f"full: 3^{args.packages} × {len(pythons)} cells (astronomical)")
    for strategy in (Strategy.BASELINE, Strategy.UPGRADES, Strategy.COVER):
        started = time.process_time()
        cells = len(build(dist, strategy, pythons=pythons, enforce_limit=False).cells)
        print(f"{strategy}: {cells} cells ({time.process_time() - started:.1f} s to plan)")
    for degree in args.degree:
        graph = synthetic_graph(names, degree, args.seed)
        closure = sum(len(nx.descendants(graph, n)) for n in graph)
        graphs = {p: DependencyGraph(graph, p) for p in pythons}
        started = time.process_time()
        cells = len(build(dist, Strategy.PAIRS, pythons=pythons, graphs=graphs, enforce_limit=False).cells)
        print(
            f"pairs, mean {degree:g} direct requirements: {graph.number_of_edges()} direct edges, {closure} "
            f"A-needs-B pairs (transitive) → {cells} cells ({time.process_time() - started:.1f} s to plan)"
        )


if __name__ == "__main__":
    main()
