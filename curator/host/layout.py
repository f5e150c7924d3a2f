"""Where things are on disk: a run folder, a release bundle, a channel, the default results store.

Every path of the run-folder, bundle and channel contracts (docs/running.md, docs/release.md,
docs/channel.md) is spelled here once; the rest of curator asks a `RunLayout`, a `BundleLayout`
or a `ChannelLayout` instead of joining strings. Files are written atomically (`atomic_write`),
so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from curator.model.ids import CellId, PyVersion, python_key

STORE_NAME = "curator.sqlite"
REPORTS = "reports"
REPORT_NAME = "index.html"


def default_store(manifest_root: Path) -> Path:
    """The results store a manifest's runs use unless told otherwise: `reports/curator.sqlite`
    beside the manifest."""
    return manifest_root / REPORTS / STORE_NAME


def default_runs(manifest_root: Path) -> Path:
    """Where new run folders go: `reports/` beside the manifest."""
    return manifest_root / REPORTS


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """curator's own cache: environments, metadata (`CURATOR_CACHE_DIR` overrides)."""
    env = os.environ if env is None else env
    if env.get("CURATOR_CACHE_DIR"):
        return Path(env["CURATOR_CACHE_DIR"]).absolute()
    base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (base / "curator").absolute()


def fsync(path: Path) -> None:
    """Make a file's content, or a folder's entries, durable (best effort: not every filesystem can)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, content: str | bytes) -> None:
    """Write `content` (text: UTF-8) to `path` through a temporary file and a rename: all of it or
    nothing, and the temporary file is this thread's own, so writers of the same path never meet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    tmp.replace(path)


@dataclass(frozen=True)
class RunLayout:
    """The files of one run folder (`curator run --out DIR`)."""

    root: Path

    @property
    def cells_csv(self) -> Path:
        """One row per cell × suite."""
        return self.root / "cells.csv"

    @property
    def run_json(self) -> Path:
        """What ran: manifest hash, tools, counts, verdict, the gate."""
        return self.root / "run.json"

    @property
    def report(self) -> Path:
        """The self-contained HTML report."""
        return self.root / REPORT_NAME

    @property
    def matrices(self) -> Path:
        """One CSV per package pair and Python."""
        return self.root / "matrices"

    def matrix(self, python: str, row: str, column: str) -> Path:
        """`matrices/py<X.Y>__<row>__<column>.csv`."""
        return self.matrices / f"py{python}__{row}__{column}.csv"

    @property
    def locks(self) -> Path:
        """Every cell's lock."""
        return self.root / "locks"

    def lock(self, cell: CellId) -> Path:
        """`locks/<cell>.txt`: the cell's hash-pinned requirements."""
        return self.locks / f"{cell}.txt"

    def lock_ref(self, cell: CellId) -> str:
        """The lock's path relative to the run folder (the `lock` column of cells.csv)."""
        return self.lock(cell).relative_to(self.root).as_posix()

    @property
    def logs(self) -> Path:
        """Every cell's logs and JUnit files."""
        return self.root / "logs"

    def log_dir(self, cell: CellId) -> Path:
        """`logs/<cell>/`."""
        return self.logs / cell

    @property
    def noxfile(self) -> Path:
        """The nox sessions of the run's cells (the printed reproduce commands use it)."""
        return self.root / "noxfile.py"

    @property
    def nox_cells(self) -> Path:
        """The cells the noxfile defines: interpreters, locks, suites."""
        return self.root / "nox-cells.json"

    @property
    def scratch(self) -> Path:
        """The empty folder packages' own tests run from."""
        return self.root / "scratch"

    @property
    def pytest_ini(self) -> Path:
        """The empty pytest configuration suites without their own get."""
        return self.root / "pytest.ini"

    @property
    def notices(self) -> Path:
        """A nightly's notices for maintainers, one Markdown file per regression."""
        return self.root / "notices"

    @property
    def nightly_json(self) -> Path:
        """A nightly's classification (docs/nightly.md)."""
        return self.root / "nightly.json"

    def relative(self, path: Path) -> str:
        """A path inside the run folder, as the store and cells.csv write it."""
        return path.relative_to(self.root).as_posix()


@dataclass(frozen=True)
class ChannelLayout:
    """The files of a channel (`curator publish BUNDLE --channel DIR`, docs/channel.md), each spelled
    as a POSIX path relative to the channel's folder: the same words name a file on disk, in a
    journal of changes and in a relative link of an index page."""

    root: Path

    CHANNEL_JSON = "channel.json"
    LOG = "log.jsonl"
    PAGE = REPORT_NAME
    FILES = "files"
    RELEASES = "releases"
    SIMPLE = "simple"
    STABLE_SIMPLE = "stable/simple"
    CONSTRAINTS = "constraints.txt"
    RELEASE_OWNED = (SIMPLE, CONSTRAINTS)  # what the channel writes into releases/<version>/ beside the bundle

    def path(self, relative: str) -> Path:
        """A channel-relative POSIX path on disk."""
        return self.root.joinpath(*relative.split("/"))

    def holds_channel(self) -> bool:
        """Whether the folder holds a channel (its log or its `channel.json`)."""
        return self.path(ChannelLayout.LOG).is_file() or self.path(ChannelLayout.CHANNEL_JSON).is_file()

    @staticmethod
    def release(version: str) -> str:
        """`releases/<version>`: the bundle as published, without its wheels."""
        return f"{ChannelLayout.RELEASES}/{version}"

    @staticmethod
    def release_simple(version: str) -> str:
        """`releases/<version>/simple`: the index of exactly that release's files."""
        return f"{ChannelLayout.release(version)}/{ChannelLayout.SIMPLE}"

    @staticmethod
    def constraints(version: str) -> str:
        """`releases/<version>/constraints.txt`: the release's pins for `pip install -c`."""
        return f"{ChannelLayout.release(version)}/{ChannelLayout.CONSTRAINTS}"

    @staticmethod
    def stored(sha256: str, filename: str) -> str:
        """`files/<sha256>/<filename>`: a distribution file, stored once by its content."""
        return f"{ChannelLayout.FILES}/{sha256}/{filename}"


_LOCK_NAME = re.compile(r"^py(\d+\.\d+)\.txt$")
_PLATFORM_LOCK_NAME = re.compile(r"^py(\d+\.\d+)-([a-z0-9][a-z0-9_-]*)\.txt$")


@dataclass(frozen=True)
class BundleLayout:
    """The files of a release bundle `dist/<distribution>-<version>/` (docs/release.md)."""

    root: Path

    @staticmethod
    def name(distribution: str, version: str) -> str:
        """`pydata-core-2026.11`: the bundle folder's name and its tarball's stem."""
        return f"{distribution}-{version}"

    @property
    def manifest(self) -> Path:
        """The manifest as used, every package at its blessed pin."""
        return self.root / "manifest.yaml"

    @property
    def locks(self) -> Path:
        """The per-Python locks."""
        return self.root / "locks"

    def lock(self, python: str, platform: str = "") -> Path:
        """`locks/py<X.Y>.txt`: `pip install --require-hashes -r` installable; with a platform,
        `locks/py<X.Y>-<platform>.txt`, that platform's (`py3.12-x86_64-pc-windows-msvc.txt`). The
        first form is the primary platform's lock when the manifest names platforms."""
        return self.locks / (f"py{python}-{platform}.txt" if platform else f"py{python}.txt")

    def pylock(self, python: str, platform: str = "") -> Path:
        """`locks/pylock.py312.toml` (PEP 751 allows no dot inside the name part);
        `locks/pylock.py312-<platform>.toml` with a platform."""
        suffix = f"-{platform}" if platform else ""
        return self.locks / f"pylock.py{python.replace('.', '')}{suffix}.toml"

    def pythons(self) -> list[PyVersion]:
        """The Pythons the bundle has a lock for, oldest first."""
        found = [python for p in self.locks.glob("py*.txt") if (python := self.lock_python(f"locks/{p.name}"))]
        return sorted(found, key=python_key)

    @staticmethod
    def lock_python(name: str) -> PyVersion | None:
        """The Python of a bundle member named like `locks/py3.12.txt` (a POSIX path inside the
        bundle), or None for any other member."""
        folder, _, file = name.rpartition("/")
        match = _LOCK_NAME.match(file) if folder == "locks" else None
        return PyVersion(match[1]) if match else None

    @staticmethod
    def lock_target(name: str) -> tuple[PyVersion, str] | None:
        """(Python, platform) of a bundle member named like `locks/py3.12-x86_64-pc-windows-msvc.txt`
        (a platform's lock), or None for any other member (`locks/py3.12.txt` included)."""
        folder, _, file = name.rpartition("/")
        match = _PLATFORM_LOCK_NAME.match(file) if folder == "locks" else None
        return (PyVersion(match[1]), match[2]) if match else None

    CELLS_CSV = "report/cells.csv"
    """The gating run's cells.csv, as a member name inside the bundle."""

    @property
    def sbom(self) -> Path:
        """The CycloneDX SBOM."""
        return self.root / "sbom.cdx.json"

    @property
    def report(self) -> Path:
        """The gating run's report folder."""
        return self.root / "report"

    @property
    def changes(self) -> Path:
        """What changed since the previous release."""
        return self.root / "CHANGES.md"

    @property
    def release_json(self) -> Path:
        """The release's own record."""
        return self.root / "release.json"

    @property
    def wheels(self) -> Path:
        """Every wheel, for offline installs (optional)."""
        return self.root / "wheels"

    SIGNATURES = "signatures"
    """The folder of a governed bundle's signatures, one per maintainer (docs/governance.md)."""

    ALLOWED_SIGNERS = "allowed_signers"
    """A governed bundle's copy of the manifest's signers file, as a member name."""

    @property
    def signatures(self) -> Path:
        """`signatures/`: the maintainers' signatures of SHA256SUMS (not listed in it)."""
        return self.root / self.SIGNATURES

    def signature(self, principal: str) -> Path:
        """`signatures/<principal>.sig`: one maintainer's SSH signature of SHA256SUMS."""
        return self.signatures / f"{principal}.sig"

    @property
    def allowed_signers(self) -> Path:
        """The signers the release was cut for (an OpenSSH allowed_signers file, listed in SHA256SUMS)."""
        return self.root / self.ALLOWED_SIGNERS
