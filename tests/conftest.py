"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ecosystem import build_ecosystem
from tests.ecosystem import runner_wheels as pack_runner_wheels
from tests.ecosystem import seed_wheels as pack_seed_wheels

WriteManifest = Callable[..., Path]


@pytest.fixture(autouse=True, scope="session")
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """curator's cache (environments, locks, metadata, pictures) per test session; uv's own cache
    stays shared: it is content-addressed and safe to share."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CURATOR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "curator-cache"))
        yield


@pytest.fixture
def write_manifest(tmp_path: Path) -> WriteManifest:
    """Write a manifest (dedented) into a fresh folder, with any suite folders it names."""
    return manifest_writer(tmp_path)


def manifest_writer(tmp_path: Path) -> WriteManifest:
    """See `write_manifest`; usable from fixtures of any scope."""

    def write(text: str, *, suites: dict[str, str] | None = None, name: str = "distribution.yaml") -> Path:
        for folder, source in (suites or {}).items():
            target = tmp_path / folder
            target.mkdir(parents=True, exist_ok=True)
            (target / "test_suite.py").write_text(textwrap.dedent(source))
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture ecosystem's wheels (see tests/ecosystem.py), built once per session."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    build_ecosystem(folder)
    return folder


@pytest.fixture(scope="session")
def runner_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pytest and its requirements as wheels, packed once per session from the test environment
    (tests/ecosystem.py): fixture manifests resolve with no index, and the tests ask none."""
    return pack_runner_wheels(tmp_path_factory.mktemp("runner-wheels"))


@pytest.fixture(scope="session")
def seed_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip, setuptools and wheel as wheels, packed once per session from the test environment."""
    return pack_seed_wheels(tmp_path_factory.mktemp("seed-wheels"))
