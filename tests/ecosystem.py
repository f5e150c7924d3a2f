"""A small ecosystem of real wheels, built byte-for-byte reproducibly into a folder index.

Every fixture package is named `cfx-*` (curator fixture) and manifests that use them set
`no_index: true`, so nothing here can ever resolve from the public index.

The packages and what each is for:

- `cfx-base` 1.0 and 2.0: 2.0 removes `old_api()` (a break the resolver allows).
- `cfx-user` 1.0 calls `cfx_base.old_api()` (breaks on base 2.0); 1.1 calls `new_api()`.
- `cfx-capped` 1.0 needs `cfx-base<2` (that combination is unresolvable).
- `cfx-left`, `cfx-right` both need `cfx-base`; `cfx-top` needs both (a diamond) and ships
  its own tests (`pytest --pyargs cfx_top.tests`).
- `cfx-crash` 1.0 aborts the interpreter on import; 0.9 is fine.
- `cfx-hang` 1.0 has a `wait()` that never returns; 0.9's returns at once.
- `cfx-flaky` 1.0 has a `roll()` that fails on every other call in an environment.
- `cfx-esc` 1.0 and 2.0, `cfx-tmpl` 2.0 (needs `cfx-esc>=1.0`) and 3.0 (needs `cfx-esc>=2.0`),
  `cfx-web` 2.0 (needs `cfx-tmpl>=3.0`): MarkupSafe, Jinja2 and Flask in small. `cfx-tmpl` 2.0 ×
  `cfx-esc` works, but not beside the blessed `cfx-web` — a pair refused only because of a bystander.
- `cfx-legacy` 1.0 imports `pkg_resources` without declaring setuptools: it works only where the
  environment was seeded (`environment.seed: true`) with a setuptools that still has it.

`NIGHTLY` holds the releases the nightly tests publish to a loopback simple index
(`tests/simple_index.py`) between nights: a regression and its fix (`cfx-lib`, `cfx-app`), two
releases that break only together (`cfx-pa`, `cfx-pb`, with `cfx-pc` and `cfx-pd` as bystanders) and a flaky
package (`cfx-coin`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_EPOCH = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class FakeDist:
    """One wheel to build: a distribution name, a version, its modules and requirements."""

    name: str
    version: str
    modules: Mapping[str, str] = field(default_factory=dict)  # relative path -> source
    requires: Sequence[str] = ()
    license: str = "MIT"

    @property
    def stem(self) -> str:
        return self.name.replace("-", "_")


def build_wheel(dist: FakeDist, folder: Path) -> Path:
    """Write `dist` as a py3-none-any wheel into `folder`; the same input gives the same bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{dist.stem}-{dist.version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {dist.name}",
        f"Version: {dist.version}",
        f"Summary: curator test fixture {dist.name}",
        f"License: {dist.license}",
        "Requires-Python: >=3.8",
    ]
    metadata += [f"Requires-Dist: {req}" for req in dist.requires]
    files: dict[str, bytes] = {
        path: textwrap.dedent(source).lstrip().encode() for path, source in sorted(dist.modules.items())
    }
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: curator-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record_lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    target = folder / f"{dist.stem}-{dist.version}-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            entry = zipfile.ZipInfo(path, _EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    target.write_bytes(buffer.getvalue())
    return target


def _module(stem: str, source: str) -> dict[str, str]:
    return {f"{stem}/__init__.py": source}


ECOSYSTEM: tuple[FakeDist, ...] = (
    FakeDist(
        "cfx-base",
        "1.0",
        _module(
            "cfx_base",
            """
            VERSION = "1.0"
            def old_api():
                return 1
            def new_api():
                return 1
            """,
        ),
    ),
    FakeDist(
        "cfx-base",
        "2.0",
        _module(
            "cfx_base",
            """
            VERSION = "2.0"
            def new_api():
                return 1
            """,
        ),
    ),
    FakeDist(
        "cfx-user",
        "1.0",
        _module(
            "cfx_user",
            """
            import cfx_base
            def run():
                return cfx_base.old_api() + 1
            """,
        ),
        requires=("cfx-base>=1.0",),
    ),
    FakeDist(
        "cfx-user",
        "1.1",
        _module(
            "cfx_user",
            """
            import cfx_base
            def run():
                return cfx_base.new_api() + 1
            """,
        ),
        requires=("cfx-base>=1.0",),
    ),
    FakeDist(
        "cfx-capped",
        "1.0",
        _module("cfx_capped", "import cfx_base\nVALUE = 3\n"),
        requires=("cfx-base<2",),
    ),
    FakeDist("cfx-left", "1.0", _module("cfx_left", "import cfx_base\nSIDE = 'left'\n"), ("cfx-base>=1.0",)),
    FakeDist("cfx-right", "1.0", _module("cfx_right", "import cfx_base\nSIDE = 'right'\n"), ("cfx-base",)),
    FakeDist(
        "cfx-top",
        "1.0",
        {
            "cfx_top/__init__.py": "import cfx_left, cfx_right\nSIDES = (cfx_left.SIDE, cfx_right.SIDE)\n",
            "cfx_top/tests/__init__.py": "",
            "cfx_top/tests/test_top.py": (
                "import cfx_top\n\ndef test_sides():\n    assert cfx_top.SIDES == ('left', 'right')\n"
            ),
        },
        requires=("cfx-left>=1.0", "cfx-right>=1.0"),
        license="Apache-2.0",
    ),
    FakeDist("cfx-crash", "0.9", _module("cfx_crash", "STATE = 'fine'\n")),
    FakeDist("cfx-crash", "1.0", _module("cfx_crash", "import os\nos.abort()\n")),
    FakeDist("cfx-hang", "0.9", _module("cfx_hang", "def wait():\n    return True\n")),
    FakeDist(
        "cfx-hang",
        "1.0",
        _module("cfx_hang", "import time\ndef wait():\n    while True:\n        time.sleep(1)\n"),
    ),
    FakeDist(
        "cfx-flaky",
        "1.0",
        _module(
            "cfx_flaky",
            """
            import pathlib
            _COUNTER = pathlib.Path(__file__).with_name("calls.txt")
            def roll():
                # Fails on the first call in an environment, passes on the next: "sometimes".
                calls = int(_COUNTER.read_text()) if _COUNTER.exists() else 0
                _COUNTER.write_text(str(calls + 1))
                return calls % 2 == 1
            """,
        ),
    ),
    FakeDist("cfx-esc", "1.0", _module("cfx_esc", "def escape(text):\n    return text.replace('<', '&lt;')\n")),
    FakeDist(
        "cfx-esc",
        "2.0",
        _module("cfx_esc", "def escape(text):\n    return text.replace('<', '&lt;')\n\nclass Markup(str):\n    pass\n"),
    ),
    FakeDist(
        "cfx-tmpl",
        "2.0",
        _module("cfx_tmpl", "import cfx_esc\n\ndef render(text):\n    return cfx_esc.escape(text)\n"),
        requires=("cfx-esc>=1.0",),
    ),
    FakeDist(
        "cfx-tmpl",
        "3.0",
        _module("cfx_tmpl", "import cfx_esc\n\ndef render(text):\n    return cfx_esc.Markup(cfx_esc.escape(text))\n"),
        requires=("cfx-esc>=2.0",),
    ),
    FakeDist(
        "cfx-web",
        "2.0",
        _module("cfx_web", "import cfx_tmpl\n\ndef page(text):\n    return cfx_tmpl.render(text)\n"),
        requires=("cfx-tmpl>=3.0",),
    ),
    FakeDist(
        "cfx-legacy",
        "1.0",
        _module("cfx_legacy", "import pkg_resources  # never declared: setuptools must happen to be there\n"),
    ),
)


def _lib(version: str, api: bool) -> FakeDist:
    body = "def api():\n    return 1\n" if api else "def api_v2():\n    return 1\n"
    return FakeDist("cfx-lib", version, _module("cfx_lib", f"VERSION = {version!r}\n{body}"))


def _simple(name: str, version: str, source: str, requires: Sequence[str] = ()) -> FakeDist:
    return FakeDist(name, version, _module(name.replace("-", "_"), source), requires)


NIGHTLY: dict[str, FakeDist] = {
    # A regression and its fix: cfx-lib 1.1 renames api(), which cfx-app calls; 1.2 brings it back.
    "lib-1.0": _lib("1.0", api=True),
    "lib-1.1": _lib("1.1", api=False),
    "lib-1.2": _lib("1.2", api=True),
    "app-1.0": _simple("cfx-app", "1.0", "import cfx_lib\ndef run():\n    return cfx_lib.api() + 1\n", ("cfx-lib",)),
    # Two releases that break only together: cfx-pa 2.0 writes ';' between values, which cfx-pb 1.0
    # reads but cfx-pb 2.0 (which reads ',' only) does not; cfx-pc 2.0 and cfx-pd 2.0 are bystanders.
    "pa-1.0": _simple("cfx-pa", "1.0", "def emit(values):\n    return ','.join(map(str, values))\n"),
    "pa-2.0": _simple("cfx-pa", "2.0", "def emit(values):\n    return ';'.join(map(str, values))\n"),
    "pb-1.0": _simple(
        "cfx-pb", "1.0", "def parse(text):\n    return [int(v) for v in text.replace(';', ',').split(',')]\n"
    ),
    "pb-2.0": _simple("cfx-pb", "2.0", "def parse(text):\n    return [int(v) for v in text.split(',')]\n"),
    "pc-1.0": _simple("cfx-pc", "1.0", "LEVEL = 1\n"),
    "pc-2.0": _simple("cfx-pc", "2.0", "LEVEL = 2\n"),
    "pd-1.0": _simple("cfx-pd", "1.0", "LEVEL = 1\n"),  # a second bystander: the culprits straddle the halves
    "pd-2.0": _simple("cfx-pd", "2.0", "LEVEL = 2\n"),
    # A coin that fails every third toss in an environment: a flaky package, deterministically.
    "coin-1.0": _simple(
        "cfx-coin",
        "1.0",
        """
        import pathlib
        _COUNTER = pathlib.Path(__file__).with_name("tosses.txt")
        def toss():
            tosses = int(_COUNTER.read_text()) if _COUNTER.exists() else 0
            _COUNTER.write_text(str(tosses + 1))
            return tosses % 3 != 0
        """,
    ),
}
"""Fixture releases for nightly stories, published to a local simple index night by night."""


def build_ecosystem(folder: Path, dists: Sequence[FakeDist] = ECOSYSTEM) -> list[Path]:
    """Build every fixture wheel into `folder` (a find-links folder index)."""
    return [build_wheel(dist, folder) for dist in dists]


RUNNER_REQUIREMENTS = ("pytest==8.4.2", "exceptiongroup>=1", "tomli>=1")  # pip ignores markers here
SEED_REQUIREMENTS = ("pip==25.2", "setuptools==80.9.0", "wheel==0.45.1")  # setuptools 80 still has pkg_resources
RUNNER_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def download_runner_wheels(folder: Path) -> Path:
    """The test runner's own wheels (pytest and what it needs), fetched once and kept.

    Cell environments of fixture manifests resolve with `no_index`, so pytest must be in a
    find-links folder too. This is the one thing the hermetic tests take from the public
    index, and `folder` keeps it across test sessions.
    """
    marker = folder / ".complete"
    if marker.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for python in RUNNER_PYTHONS:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                "--python-version",
                python,
                "--dest",
                str(folder),
                *RUNNER_REQUIREMENTS,
            ],
            check=True,
        )
    marker.write_text("ok\n")
    return folder


def download_seed_wheels(folder: Path) -> Path:
    """pip, setuptools and wheel as wheels (`environment.seed: true` resolves them), fetched once
    and kept, like `download_runner_wheels`; pure-Python wheels, so one download serves every Python."""
    marker = folder / ".complete"
    if marker.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(folder),
            *SEED_REQUIREMENTS,
        ],
        check=True,
    )
    marker.write_text("ok\n")
    return folder


def fixture_manifest(
    folder: Path, *, name: str, python: Sequence[str], packages: str, suites: Mapping[str, tuple[Sequence[str], str]]
) -> Path:
    """A manifest over the fixture ecosystem (its wheels built into `folder`, the runner's wheels
    from the shared cache; no index), `full` with no retries: for the benchmarks in bench/.
    `packages` is YAML lines; `suites` maps a name to (requires, test source)."""
    wheels = build_ecosystem(folder / "wheels")[0].parent
    runner = download_runner_wheels(Path.home() / ".cache" / "curator-tests" / "runner-wheels")
    lines = []
    for suite, (requires, source) in suites.items():
        (folder / "suites" / suite).mkdir(parents=True, exist_ok=True)
        (folder / "suites" / suite / "test_suite.py").write_text(source)
        lines.append(f"  {suite}:\n    path: suites/{suite}\n    requires: [{', '.join(requires)}]\n")
    path = folder / "distribution.yaml"
    path.write_text(
        f'distribution: {name}\nversion: "1"\npython: {json.dumps(list(python))}\n'
        f"index:\n  find_links: [{wheels}, {runner}]\n  no_index: true\n"
        f"packages:\n{packages.rstrip()}\nsuites:\n{''.join(lines)}"
        "matrix:\n  strategy: full\npolicy:\n  retries: 0\n"
    )
    return path
