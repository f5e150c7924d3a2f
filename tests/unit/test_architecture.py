"""Imports point down the pipeline (docs/architecture.md): a stage never imports the stages after it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "curator"

# Lower layers first; a module may import its own layer's package-mates and anything below.
LAYERS: list[set[str]] = [
    {"errors", "ids", "pins", "inputs", "markup", "platforms"},
    {"codec", "manifest", "layout", "locking"},
    {"outcome", "proc", "metadata", "cover", "signing", "storefile"},
    {"interpreters", "junit"},
    {"resolve", "upstream"},
    {"graph"},
    {"strategies"},
    {"plan"},
    {"schedule"},
    {"templates"},
    {"envs"},
    {"cell"},
    {"executors"},
    {"store"},
    {"gate", "salvage"},
    {"results"},
    {"progress", "terminal", "matrix"},
    {"run"},
    {"nightly"},
    {"report"},
    {"release", "propose"},
    {"channel"},
    {"cli"},
    {"__main__"},
]


def _top(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def _layer(module: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if _top(module) in layer)


def _imports() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        if module == "__init__":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("curator"):
                targets = [f"{node.module}.{a.name}" if node.module == "curator" else node.module for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("curator")]
            else:
                continue
            for target in targets:
                name = target.removeprefix("curator").lstrip(".")
                if name and name != "__version__":
                    found.append((module, name))
    return found


def test_imports_point_down() -> None:
    upward = []
    for module, imported in _imports():
        here, there = _layer(module), _layer(imported)
        same_package = _top(module) == _top(imported)
        if not (there < here or (there == here and same_package)):
            upward.append(f"{module} imports {imported}")
    assert upward == []


def test_the_coordinator_does_not_render_reports() -> None:
    imports = _imports()
    assert ("run", "cell") in imports  # the check below looks at real imports
    assert not [m for m, i in imports if m == "run" and i.startswith("report")]
