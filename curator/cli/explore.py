"""`check`, `graph`, `plan`: what a manifest means, before anything runs."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from curator.model.distribution import Distribution, Strategy
from curator.model.errors import EXIT_OK, UsageError
from curator.model.ids import PyVersion

if TYPE_CHECKING:
    from curator.release.governance import Signers
    from curator.resolve.graph import DependencyGraph
    from curator.resolve.interpreters import Interpreter

from curator.cli.common import (
    Parser,
    emit,
    emit_json,
    load_manifest,
    manifest_arg,
    python_arg,
    python_axis,
    resolve_graphs,
    strategy_arg,
)


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add these commands to the parser."""
    check = commands.add_parser("check", help="validate the manifest and say what it means")
    manifest_arg(check)
    python_arg(check)
    check.add_argument(
        "--resolve",
        action="store_true",
        help="also resolve the blessed set, alone and with test_requires, on each Python (network)",
    )
    check.add_argument("--format", choices=("text", "json"), default="text", help="json: docs/json.md")
    check.set_defaults(handler=cmd_check)

    graph = commands.add_parser("graph", help="the resolved dependency graph")
    manifest_arg(graph)
    python_arg(graph)
    graph.add_argument("--format", choices=("text", "json", "dot", "svg"), default="text")
    graph.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    graph.set_defaults(handler=cmd_graph)

    plan = commands.add_parser("plan", help="the cells a run would build, with their keys")
    manifest_arg(plan)
    python_arg(plan)
    strategy_arg(plan)
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.set_defaults(handler=cmd_plan)


TABLE_ROWS = 60  # past this many packages, a plain listing: a rich table of 1,000 rows takes half a second


def _print_packages(console: Console, distribution: Distribution) -> None:
    """The manifest's packages: candidates, blessed version, own tests."""
    rows = [
        (
            package.name,
            ", ".join(str(v) for v in package.versions),
            str(package.blessed),
            "; ".join(package.tests) or "—",
        )
        for package in distribution.packages
    ]
    if len(rows) > TABLE_ROWS:
        width = max(len(row[0]) for row in rows)
        lines = [f"Packages ({len(rows)}): package, candidates, blessed, own tests"]
        lines += [
            f"  {name:<{width}}  {candidates}  (blessed {blessed})  {tests}"
            for name, candidates, blessed, tests in rows
        ]
        console.out("\n".join(lines), highlight=False)
        return
    table = Table(title="Packages", title_justify="left")
    for column in ("package", "candidates", "blessed", "own tests"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    """`curator check`: validate, find the interpreters, say what the manifest means."""
    from curator.plan import cells as planning
    from curator.resolve.interpreters import Finder

    distribution = load_manifest(args)
    signers = None
    if distribution.governance is not None:  # its signers file's mistakes are the manifest's
        from curator.release import governance  # cryptography, only for a governed manifest

        signers = governance.of_distribution(distribution)
    versions, overrides = python_axis(args, distribution)
    found = Finder(overrides).find_all(versions)
    graphs = resolve_graphs(args, distribution, versions, with_runner=True) if args.resolve else None
    counts = planning.counts(distribution, graphs)
    if args.format == "json":
        emit_json(
            "check",
            {**_check_json(distribution, found, graphs, counts), "governance": _governance(signers, distribution)},
        )
        return EXIT_OK

    title = f"{escape(distribution.name)} {escape(distribution.version)}"
    console.print(f"[bold]{title}[/] — {escape(str(distribution.path))} is valid")
    console.print(f"Packages from: {escape(distribution.index.describe())}")
    console.print("Interpreters:")
    for version, interpreter in found.items():
        console.print(
            f"  Python {version}: {escape(str(interpreter.path))} ({interpreter.full_version}, {interpreter.source})"
        )

    _print_packages(console, distribution)
    if distribution.suites:
        console.print("Suites:")
        for suite in distribution.suites:
            relative = os.path.relpath(suite.path, distribution.root)
            needs = ", ".join(sorted(suite.requires)) or "nothing"
            console.print(f"  {escape(suite.name)}: {escape(relative)} (needs {escape(needs)})")
    _print_matrix_and_environment(console, distribution)
    if distribution.platforms is not None:
        console.print(f"Platforms: {escape(_platforms_line(distribution))}")
    policy = distribution.policy
    console.print(
        f"Policy: timeout {policy.timeout:g}s per cell, {policy.retries} retr{'y' if policy.retries == 1 else 'ies'}, "
        f"{len(policy.expected_failures)} expected failure(s), {len(policy.expected_skips)} expected skip(s)"
    )
    _print_governance(console, signers, distribution)
    if graphs:
        for version, graph in graphs.items():
            edges = ", ".join(f"{e.dependent}→{e.dependency}" for e in graph.manifest_edges()) or "none"
            console.print(
                f"Resolved on Python {version}: {graph.graph.number_of_nodes()} packages; edges: {escape(edges)}"
            )
    console.print(
        f"Cells per strategy ({len(distribution.python)} Python{'s' if len(distribution.python) > 1 else ''}; "
        f"max_cells {distribution.matrix.max_cells}, default '{distribution.matrix.strategy}'):"
    )
    for strategy, count in counts.items():
        if count is not None:
            shown = planning.counted(count)
        elif graphs is None and planning.needs_graphs(distribution, strategy):
            shown = "needs the graph (curator check --resolve)"
        else:
            shown = "too large to build (list fewer candidates)"
        flag = "  (over max_cells)" if count is not None and count > distribution.matrix.max_cells else ""
        console.print(f"  {strategy:<9} {shown}{flag}")
    return EXIT_OK


def _print_matrix_and_environment(console: Console, distribution: Distribution) -> None:
    matrix = distribution.matrix
    shape = [f"scope {matrix.scope}"]
    shape += [f"include {include.describe()}" for include in matrix.include]
    shape += [f"exclude {pattern.describe()}" for pattern in matrix.exclude]
    if matrix.split_unresolvable:
        shape.append("refused cells split into minimal cells")
    console.print(f"Matrix: {escape('; '.join(shape))}")
    environment = distribution.environment
    seeded = f"seeded ({', '.join(environment.seed_packages)})" if environment.seed else "not seeded"
    variables = " ".join(f"{k}={v}" for k, v in environment.env.items())
    console.print(
        f"Environment: {seeded}; test runner {escape(', '.join(distribution.test_requires))}"
        + (f"; variables {escape(variables)}" if variables else "")
    )


def _print_governance(console: Console, signers: Signers | None, distribution: Distribution) -> None:
    if signers is not None and distribution.governance is not None:
        relative = os.path.relpath(distribution.governance.signers, distribution.root)
        console.print(f"Governance: {escape(signers.describe())} sign a release ({escape(relative)})")


def _governance(signers: Signers | None, distribution: Distribution) -> dict[str, object] | None:
    """The manifest's governance, its signers file read: `check --format json`'s `governance`."""
    if signers is None or distribution.governance is None:
        return None
    return {
        "signers": str(distribution.governance.signers),
        "threshold": signers.threshold,
        "principals": list(signers.principals),
    }


def _platforms_line(distribution: Distribution) -> str:
    """`tested x86_64-manylinux_2_36 (this machine); locked only x86_64-pc-windows-msvc (not this machine)`."""
    from curator.host import targets as platforms

    assert distribution.platforms is not None

    def where(platform: str) -> str:
        return (
            "this machine" if platforms.served_here(platform) else "not this machine: a dask worker with its resource"
        )

    declared = distribution.platforms
    parts = [f"tested {p} ({where(p)})" for p in declared.tested]
    parts += [f"locked only {p} ({where(p)})" for p in declared.locked]
    return "; ".join(parts)


def _check_json(
    distribution: Distribution,
    found: Mapping[PyVersion, Interpreter],
    graphs: Mapping[PyVersion, DependencyGraph] | None,
    counts: Mapping[Strategy, int | None],
) -> dict[str, object]:
    """`curator check --format json` (docs/json.md)."""
    from curator.plan.cells import counted

    return {
        "manifest": {"path": str(distribution.path), "sha256": distribution.sha256},
        "distribution": distribution.name,
        "version": distribution.version,
        "index": distribution.index.describe(),
        "interpreters": {
            v: {"path": str(i.path), "version": i.full_version, "source": i.source} for v, i in found.items()
        },
        "packages": [
            {
                "name": p.name,
                "versions": [str(v) for v in p.versions],
                "blessed": str(p.blessed),
                "tests": list(p.tests),
            }
            for p in distribution.packages
        ],
        "suites": [{"name": s.name, "path": str(s.path), "requires": sorted(s.requires)} for s in distribution.suites],
        "policy": {
            "timeout": distribution.policy.timeout,
            "retries": distribution.policy.retries,
            "expected_failures": len(distribution.policy.expected_failures),
            "expected_skips": len(distribution.policy.expected_skips),
        },
        "edges": None
        if graphs is None
        else {v: [[e.dependent, e.dependency] for e in g.manifest_edges()] for v, g in graphs.items()},
        # exact while JSON can carry it; past 4,000 digits, its order of magnitude as text
        "cells": {str(s): n if n is None or n < 10**4000 else counted(n) for s, n in counts.items()},
        "max_cells": distribution.matrix.max_cells,
        "default_strategy": str(distribution.matrix.strategy),
        "platforms": None
        if distribution.platforms is None
        else {"tested": list(distribution.platforms.tested), "locked": list(distribution.platforms.locked)},
    }


def cmd_graph(args: argparse.Namespace, console: Console) -> int:
    """`curator graph`: the resolved dependency graph as text, JSON, DOT or SVG."""
    distribution = load_manifest(args)
    versions, _ = python_axis(args, distribution)
    if len(args.python) > 1:
        raise UsageError("curator graph draws one Python at a time: give --python once")
    graph = resolve_graphs(args, distribution, versions[:1])[versions[0]]
    match args.format:
        case "json":
            emit_json("graph", graph.to_json(), args.output)
        case "dot":
            emit(graph.to_dot(), args.output)
        case "svg":
            emit(graph.to_svg(), args.output)
        case _:
            emit(graph.to_text(), args.output)
    if args.output is not None:
        console.print(f"wrote {escape(str(args.output))}")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace, console: Console) -> int:
    """`curator plan`: the cells a run would build, with their keys."""
    from curator.model import codec
    from curator.plan import cells as planning

    distribution = load_manifest(args)
    strategy = args.strategy or distribution.matrix.strategy
    versions, _ = python_axis(args, distribution)
    graphs = resolve_graphs(args, distribution, versions) if planning.needs_graphs(distribution, strategy) else None
    result = planning.build(distribution, strategy, pythons=versions, graphs=graphs)
    if args.format == "json":
        emit_json("plan", codec.to_json(result))
        return EXIT_OK
    title = f"{len(result.cells)} cells — strategy '{strategy}', scope '{distribution.matrix.scope}'"
    if result.excluded:
        title += f"; {result.excluded} left out by matrix.exclude"
    # an id is copied whole into `nox -s` or `--resume`: never cut, never folded; on a terminal too
    # narrow for the table beside the longest id, one cell per line instead
    width = max((len(cell.id) for cell in result.cells), default=4)
    if console.width < width + 60:
        console.print(title)
        for cell in result.cells:
            changes = " ".join(cell.changes.requirements()) or "(baseline)"
            console.print(escape(cell.id), no_wrap=True, overflow="ignore", crop=False)
            suites = f"{len(cell.suites)} suite{'s' if len(cell.suites) != 1 else ''}"
            console.print(f"    {cell.python} · {escape(changes)} · {suites} · key {cell.key}")
        return EXIT_OK
    table = Table(title=title, title_justify="left")
    table.add_column("cell", no_wrap=True, min_width=width)
    for column in ("python", "changes", "suites", "key"):
        table.add_column(column, overflow="fold")
    for cell in result.cells:
        changes = " ".join(cell.changes.requirements()) or "(baseline)"
        table.add_row(escape(cell.id), cell.python, escape(changes), str(len(cell.suites)), cell.key)
    console.print(table)
    return EXIT_OK
