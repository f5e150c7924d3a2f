"""Integration fixtures: manifests over the fixture wheelhouse, resolved by real uv."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import WriteManifest

EcoManifest = Callable[..., Path]


@pytest.fixture
def eco_manifest(write_manifest: WriteManifest, wheelhouse: Path, runner_wheels: Path) -> EcoManifest:
    """A manifest over the fixture ecosystem: `packages` and `suites` are YAML snippets."""
    return eco_manifest_factory(write_manifest, wheelhouse, runner_wheels)


def eco_manifest_factory(write_manifest: WriteManifest, wheelhouse: Path, runner_wheels: Path) -> EcoManifest:
    """See `eco_manifest`; usable from fixtures of any scope."""

    def make(
        packages: str,
        *,
        suites: dict[str, tuple[list[str], str]] | None = None,
        python: str = '["3.12"]',
        extra: str = "",
        links: tuple[Path, ...] = (),
        exclude_newer: str | None = None,
    ) -> Path:
        suite_yaml = ""
        sources: dict[str, str] = {}
        for name, (requires, source) in (suites or {}).items():
            suite_yaml += f"  {name}:\n    path: suites/{name}\n    requires: [{', '.join(requires)}]\n"
            sources[f"suites/{name}"] = source
        text = (
            "distribution: eco\n"
            'version: "1.0"\n'
            f"python: {python}\n"
            "index:\n"
            f"  find_links: [{', '.join(os.fspath(p) for p in (wheelhouse, runner_wheels, *links))}]\n"
            "  no_index: true\n" + (f'  exclude_newer: "{exclude_newer}"\n' if exclude_newer else "") + "packages:\n"
            f"{packages.rstrip()}\n" + (f"suites:\n{suite_yaml}" if suite_yaml else "") + extra
        )
        return write_manifest(text, suites=sources)

    return make
