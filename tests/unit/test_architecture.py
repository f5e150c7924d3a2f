"""The package is the pipeline (docs/architecture.md): each folder a stage, imports pointing down it.

A module imports modules of its own stage and of the stages before it, never of a stage after it;
within a stage, imports never go round in a circle; and no two modules share a name, so a name in
a traceback or a review says which file it is.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "curator"

STAGES = [
    "model",  # the distribution, ids, pins, outcomes, the codec, errors
    "host",  # folders and paths, files users hand in, locks, subprocesses
    "manifest",  # distribution.yaml → the model
    "resolve",  # interpreters, uv's locks, core metadata, upstream releases, the dependency graph
    "plan",  # strategies, cells and their keys, the covering array
    "store",  # the SQLite results store
    "execute",  # one cell end to end, environments, the runner files, executors, the coordinator
    "results",  # cells.csv rows and the summary, the gate, matrices
    "nightly",  # newest releases, culprits, categories, proposals
    "report",  # what a run says, in HTML, CSV, JSON, Markdown, JUnit
    "release",  # bundles, signatures, verify, diff
    "channel",  # the distribution's package index: publish, yank, its log, verify
    "cli",  # argv → stages → exit status
    "__main__",
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def _imports() -> list[tuple[str, str]]:
    found = []
    known = _modules()
    for module, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("curator"):
                base = node.module.removeprefix("curator").lstrip(".")
                targets = [f"{base}.{a.name}".lstrip(".") for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name.removeprefix("curator.") for a in node.names if a.name.startswith("curator.")]
            else:
                continue
            for target in targets:
                imported = target
                while imported and imported not in known:  # `from curator.plan.cells import Cell` → plan.cells
                    imported = imported.rpartition(".")[0]
                if imported and imported != module:
                    found.append((module, imported))
    return found


def _stage(module: str) -> int:
    return STAGES.index(module.split(".", maxsplit=1)[0])


def test_every_module_belongs_to_a_stage() -> None:
    assert [m for m in _modules() if m.split(".")[0] not in STAGES] == []


def test_imports_point_down_the_pipeline() -> None:
    upward = [f"{m} imports {i}" for m, i in _imports() if _stage(i) > _stage(m)]
    assert upward == []


def test_no_stage_imports_in_a_circle() -> None:
    import networkx as nx

    graph = nx.DiGraph((m, i) for m, i in _imports() if _stage(m) == _stage(i))
    assert list(nx.simple_cycles(graph)) == []


def test_no_two_modules_share_a_name() -> None:
    names = Counter(path.stem if path.stem != "__init__" else path.parent.name for path in _modules().values())
    assert [name for name, count in names.items() if count > 1] == []


def test_the_coordinator_does_not_render_reports() -> None:
    imports = _imports()
    assert ("execute.coordinator", "execute.cell") in imports  # the check below looks at real imports
    assert not [m for m, i in imports if m == "execute.coordinator" and i.startswith("report")]
