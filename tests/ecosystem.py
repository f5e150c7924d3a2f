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
import importlib.metadata
import io
import json
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

_EPOCH = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class FakeDist:
    """One wheel to build: a distribution name, a version, its modules and requirements."""

    name: str
    version: str
    modules: Mapping[str, str] = field(default_factory=dict)  # relative path -> source
    requires: Sequence[str] = ()
    license: str = "MIT"
    tag: str = "py3-none-any"  # a platform tag (`cp312-cp312-win_amd64`) makes a platform wheel

    @property
    def stem(self) -> str:
        return self.name.replace("-", "_")


def build_wheel(dist: FakeDist, folder: Path) -> Path:
    """Write `dist` as a wheel of its tag (py3-none-any unless told) into `folder`; the same input
    gives the same bytes."""
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
    purelib = "true" if dist.tag.endswith("-none-any") else "false"
    interpreter, abi, platforms = dist.tag.split("-")
    tags = "".join(f"Tag: {interpreter}-{abi}-{platform}\n" for platform in platforms.split("."))
    files[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: curator-tests\nRoot-Is-Purelib: {purelib}\n{tags}"
    ).encode()
    record_lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    target = folder / f"{dist.stem}-{dist.version}-{dist.tag}.whl"
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


# Flask's web stack in small, with the breaks it really had: Jinja2 2.11 imports MarkupSafe's
# `soft_unicode`, which MarkupSafe 2.1 removed; Flask 1.1 imports Werkzeug's `url_quote`, which
# Werkzeug 3.0 removed. Flask 2.2 and 3.0 need newer Jinja2, itsdangerous and click (the pairs with
# the older ones cannot be installed); Werkzeug 3.0 needs MarkupSafe 2.1.
FLASK_STACK: tuple[FakeDist, ...] = (
    _simple("cfx-markupsafe", "1.1", "def escape(s):\n    return s.replace('<', '&lt;')\n\nsoft_unicode = str\n"),
    _simple("cfx-markupsafe", "2.1", "def escape(s):\n    return s.replace('<', '&lt;')\n"),
    _simple(
        "cfx-jinja",
        "2.11",
        "from cfx_markupsafe import escape, soft_unicode\n\ndef render(s):\n    return escape(soft_unicode(s))\n",
        ("cfx-markupsafe>=1.0",),
    ),
    _simple(
        "cfx-jinja",
        "3.1",
        "from cfx_markupsafe import escape\n\ndef render(s):\n    return escape(s)\n",
        ("cfx-markupsafe>=2.0",),
    ),
    _simple(
        "cfx-werkzeug",
        "2.3",
        "from cfx_markupsafe import escape\n\ndef url_quote(s):\n    return s.replace(' ', '%20')\n",
        ("cfx-markupsafe>=1.1",),
    ),
    _simple("cfx-werkzeug", "3.0", "from cfx_markupsafe import escape\n", ("cfx-markupsafe>=2.1",)),
    _simple("cfx-itsdangerous", "1.1", "def sign(s):\n    return s + '.sig'\n"),
    _simple("cfx-itsdangerous", "2.2", "def sign(s):\n    return s + '.sig'\n"),
    _simple("cfx-click", "7.1", "def command(f):\n    return f\n"),
    _simple("cfx-click", "8.1", "def command(f):\n    return f\n"),
    _simple(
        "cfx-flask",
        "1.1",
        "from cfx_werkzeug import url_quote\nimport cfx_jinja, cfx_itsdangerous, cfx_click\n\n"
        "def page(s):\n    return cfx_jinja.render(s)\n",
        ("cfx-werkzeug>=0.15", "cfx-jinja>=2.10", "cfx-itsdangerous>=0.24", "cfx-click>=5.1"),
    ),
    _simple(
        "cfx-flask",
        "2.2",
        "import cfx_werkzeug, cfx_jinja, cfx_itsdangerous, cfx_click\n\ndef page(s):\n    return cfx_jinja.render(s)\n",
        ("cfx-werkzeug>=2.2", "cfx-jinja>=3.0", "cfx-itsdangerous>=2.0", "cfx-click>=8.0"),
    ),
    _simple(
        "cfx-flask",
        "3.0",
        "import cfx_werkzeug, cfx_jinja, cfx_itsdangerous, cfx_click\n\ndef page(s):\n    return cfx_jinja.render(s)\n",
        ("cfx-werkzeug>=3.0", "cfx-jinja>=3.1", "cfx-itsdangerous>=2.1", "cfx-click>=8.1"),
    ),
)
FLASK_PACKAGES = """\
  cfx-flask: ["1.1", "2.2", "3.0"]
  cfx-werkzeug: ["2.3", "3.0"]
  cfx-jinja: ["2.11", "3.1"]
  cfx-markupsafe: ["1.1", "2.1"]
  cfx-itsdangerous: ["1.1", "2.2"]
  cfx-click: ["7.1", "8.1"]
"""
FLASK_SUITES: dict[str, tuple[list[str], str]] = {
    "flask-app": (
        ["cfx-flask"],
        "import cfx_flask\n\ndef test_page():\n    assert cfx_flask.page('<b>') == '&lt;b>'\n",
    ),
    "flask-werkzeug": (
        ["cfx-flask", "cfx-werkzeug"],
        "import cfx_flask, cfx_werkzeug\n\ndef test_escape():\n    assert cfx_werkzeug.escape('<') == '&lt;'\n",
    ),
    "jinja-markupsafe": (
        ["cfx-jinja", "cfx-markupsafe"],
        "import cfx_jinja\n\ndef test_render():\n    assert cfx_jinja.render('<i>') == '&lt;i>'\n",
    ),
    "itsdangerous": (
        ["cfx-itsdangerous"],
        "import cfx_itsdangerous\n\ndef test_sign():\n    assert cfx_itsdangerous.sign('a')\n",
    ),
    "click": (["cfx-click"], "import cfx_click\n\ndef test_command():\n    assert cfx_click.command(len)('ab') == 2\n"),
}
"""Five suites over the stack: what each requires, and its test."""


MARK_TAGS = (
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "win_amd64",
    "macosx_11_0_arm64",
)
"""The platforms `cfx-mark` has wheels for (as MarkupSafe has, and more): Linux x86-64, Windows
x86-64 and Apple Silicon — none for Linux on ARM."""


def platform_dists(pythons: Sequence[str] = ("3.11", "3.12", "3.13")) -> tuple[FakeDist, ...]:
    """`cfx-mark` 1.0, MarkupSafe in small: one wheel per CPython and platform of `MARK_TAGS`, whose
    module says which (`cfx_mark.PLATFORM`), so an installed file tells where it came from;
    `cfx-page` 1.0, a pure wheel that needs it (Jinja2's place); and `colorama` 0.4.6, a pure
    stand-in for what pytest needs on Windows alone (`colorama; sys_platform == "win32"`), so a
    Windows lock of a cell (its test runner included) resolves without an index."""
    marks = tuple(
        FakeDist(
            "cfx-mark",
            "1.0",
            {"cfx_mark/__init__.py": f"PLATFORM = {platform.split('.')[0]!r}\n\ndef escape(s):\n    return s\n"},
            tag=f"cp{python.replace('.', '')}-cp{python.replace('.', '')}-{platform}",
        )
        for python in pythons
        for platform in MARK_TAGS
    )
    page = FakeDist(
        "cfx-page",
        "1.0",
        _module("cfx_page", "import cfx_mark\n\ndef render(s):\n    return cfx_mark.escape(s)\n"),
        requires=["cfx-mark>=1.0"],
    )
    colorama = FakeDist("colorama", "0.4.6", _module("colorama", "def init():\n    pass\n"), license="BSD-3-Clause")
    return (*marks, page, colorama)


def build_ecosystem(folder: Path, dists: Sequence[FakeDist] = ECOSYSTEM) -> list[Path]:
    """Build every fixture wheel into `folder` (a find-links folder index)."""
    return [build_wheel(dist, folder) for dist in dists]


RUNNER = ("pytest",)  # what a fixture manifest's cells resolve as the test runner (`test_requires` default)
SEED = ("pip", "setuptools", "wheel")  # `environment.seed: true`; the `test` extra installs setuptools and wheel


def wheel_from_installed(name: str, folder: Path) -> Path:
    """The installed distribution `name` (of the Python running the tests) packed again as its wheel.

    Well defined for a pure-Python distribution: its RECORD lists every file it installed, its WHEEL
    file the tag; the scripts an installer generated (outside site-packages), bytecode it compiled
    and the installer's own records (INSTALLER, REQUESTED, direct_url.json) are left out, RECORD is
    written anew, and entries carry a fixed time, so the same installation gives the same bytes.
    """
    dist = importlib.metadata.distribution(name)
    info = next(p.parts[0] for p in dist.files or () if p.parts[0].endswith(".dist-info"))  # as installed
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    if "Root-Is-Purelib: true" not in wheel or not tags or any(not t.endswith("-none-any") for t in tags):
        raise ValueError(f"{info}: not a pure-Python wheel installation ({tags})")
    skipped = {f"{info}/{n}" for n in ("INSTALLER", "REQUESTED", "direct_url.json", "RECORD")}
    files: dict[str, bytes] = {}
    for entry in dist.files or ():
        path = entry.as_posix()
        if path.startswith("..") or path in skipped or "__pycache__/" in path or path.endswith((".pyc", ".pyo")):
            continue
        files[path] = Path(str(entry.locate())).read_bytes()
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in sorted(files.items())
    ]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{info.removesuffix('.dist-info')}-{tags[0]}.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items(), key=lambda item: item[0].startswith(info)):  # dist-info last
            member = zipfile.ZipInfo(path, _EPOCH)
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, data)
    return target


def installed_closure(names: Sequence[str]) -> list[str]:
    """`names` and every distribution they need on the Python running the tests, as installed."""
    found: dict[str, None] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found[name] = None
        for text in importlib.metadata.requires(name) or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return sorted(found)


def local_wheels(folder: Path, names: Sequence[str]) -> Path:
    """Wheels of `names` and what they need, packed from the test environment into `folder` — no
    index asked: the `test` extra installed them, so the default test run needs no network."""
    for name in installed_closure(names):
        wheel_from_installed(name, folder)
    return folder


def runner_wheels(folder: Path) -> Path:
    """pytest and what it needs, for cells of fixture manifests (which resolve with `no_index`)."""
    return local_wheels(folder, RUNNER)


def seed_wheels(folder: Path) -> Path:
    """pip, setuptools and wheel, for `environment.seed: true` (pure Python: one wheel serves every Python)."""
    return local_wheels(folder, SEED)


def fixture_manifest(
    folder: Path, *, name: str, python: Sequence[str], packages: str, suites: Mapping[str, tuple[Sequence[str], str]]
) -> Path:
    """A manifest over the fixture ecosystem (its wheels built into `folder`, the runner's packed
    from the test environment beside them; no index), `full` with no retries: for the benchmarks in bench/.
    `packages` is YAML lines; `suites` maps a name to (requires, test source)."""
    wheels = build_ecosystem(folder / "wheels")[0].parent
    runner = runner_wheels(folder / "runner-wheels")
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
