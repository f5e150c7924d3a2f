"""Benchmark: the same small matrix with curator and with a plain noxfile on virtualenv + pip.

    python bench/bench_matrix.py            # the fixture ecosystem: local wheels, no network
    python bench/bench_matrix.py --real     # numpy × pandas from the public index

Both sides build the same cells (from `curator plan --format json`), install the same pins and
run the same suites with pytest, one cell at a time, on this machine in this run. "cold" starts
from empty caches and no environments; "warm" reuses environments and caches and runs every
test again (`curator run --rerun`, `nox --reuse-venv yes`). curator's own rerun of an
unchanged plan (outcomes reused by key) is timed too, and curator with --jobs 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ecosystem import build_ecosystem, download_runner_wheels  # noqa: E402

SUITES = {
    "user": (["cfx-user", "cfx-base"], "import cfx_user\n\ndef test_run():\n    assert cfx_user.run() == 2\n"),
    "top": (["cfx-top"], "import cfx_top\n\ndef test_sides():\n    assert cfx_top.SIDES == ('left', 'right')\n"),
}

PLAIN_NOXFILE = """
import json
import pathlib

import nox

SPEC = json.loads(pathlib.Path(__file__).with_name("plain-cells.json").read_text())


@nox.session(venv_backend="virtualenv", python=SPEC["python"])
@nox.parametrize("cell", list(SPEC["cells"]))
def cell(session, cell):
    spec = SPEC["cells"][cell]
    session.install(*SPEC["install_args"], *spec["pins"], *SPEC["test_requires"])
    for suite in spec["suites"]:
        session.run("pytest", suite, f"--rootdir={suite}", "-c", SPEC["ini"], "-p", "no:cacheprovider", "-q",
                    success_codes=[0, 1, 2, 5])
"""


def fixture_manifest(folder: Path) -> Path:
    """A manifest over the fixture ecosystem (local wheels only)."""
    wheels = build_ecosystem(folder / "wheels")[0].parent
    runner = download_runner_wheels(Path.home() / ".cache" / "curator-tests" / "runner-wheels")
    for name, (_, source) in SUITES.items():
        (folder / "suites" / name).mkdir(parents=True, exist_ok=True)
        (folder / "suites" / name / "test_suite.py").write_text(source)
    suites = "".join(
        f"  {name}:\n    path: suites/{name}\n    requires: [{', '.join(req)}]\n" for name, (req, _) in SUITES.items()
    )
    path = folder / "distribution.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            distribution: bench
            version: "1"
            python: ["3.12"]
            index:
              find_links: [{wheels}, {runner}]
              no_index: true
            packages:
              cfx-base: ["1.0", "2.0"]
              cfx-user: ["1.0", "1.1"]
              cfx-top: ["1.0"]
            suites:
            """
        )
        + suites
        + "matrix:\n  strategy: full\npolicy:\n  retries: 0\n"
    )
    return path


def real_manifest(folder: Path) -> Path:
    """numpy × pandas from the public index."""
    suite = folder / "suites" / "pandas_numpy"
    suite.mkdir(parents=True)
    (suite / "test_suite.py").write_text(
        "import numpy as np\nimport pandas as pd\n\ndef test_sum():\n    assert pd.Series(np.arange(4)).sum() == 6\n"
    )
    path = folder / "distribution.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            distribution: bench-real
            version: "1"
            python: ["3.12"]
            index:
              exclude_newer: "2026-11-01"
            packages:
              numpy: ["1.26.4", "2.1.3"]
              pandas: ["2.2.2", "2.2.3"]
            suites:
              pandas-numpy:
                path: suites/pandas_numpy
                requires: [pandas, numpy]
            matrix:
              strategy: full
            policy:
              retries: 0
            """
        )
    )
    return path


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="store_true", help="numpy × pandas from the public index")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="curator-bench-"))
    manifest = real_manifest(work) if args.real else fixture_manifest(work)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "CURATOR_"))}

    def env(name: str) -> dict[str, str]:
        caches = work / "caches" / name
        return {
            **base_env,
            "UV_CACHE_DIR": str(caches / "uv"),
            "PIP_CACHE_DIR": str(caches / "pip"),
            "CURATOR_CACHE_DIR": str(caches / "curator"),
            "UV_PYTHON_DOWNLOADS": "never",
        }

    curator = [sys.executable, "-m", "curator"]
    plan = json.loads(
        subprocess.run(
            [*curator, "plan", str(manifest), "--format", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    from curator import manifest as manifests
    from curator.interpreters import Finder
    from curator.resolve import index_args

    dist = manifests.load(manifest)
    python = Finder().find(dist.python[0])
    suite_paths = {s.name: str(s.path) for s in dist.suites}
    (work / "plain").mkdir()
    (work / "plain" / "pytest.ini").write_text("[pytest]\n")
    (work / "plain" / "plain-cells.json").write_text(
        json.dumps(
            {
                "python": str(python.path),
                "install_args": [
                    a.replace("--default-index", "--index-url")
                    for a in index_args(dist.index)
                    if a not in ("--exclude-newer", dist.index.exclude_newer)
                ],
                "test_requires": list(dist.test_requires),
                "ini": str(work / "plain" / "pytest.ini"),
                "cells": {
                    c["id"].replace(".", "_"): {
                        "pins": [f"{n}=={v}" for n, v in c["pins"].items()],
                        "suites": [suite_paths[s] for s in c["suites"] if s in suite_paths],
                    }
                    for c in plan["cells"]
                },
            }
        )
    )
    (work / "plain" / "noxfile.py").write_text(PLAIN_NOXFILE)
    cells = len(plan["cells"])
    nox = [sys.executable, "-m", "nox", "-f", str(work / "plain" / "noxfile.py"), "--envdir", str(work / "nox-envs")]

    def run(name: str, *extra: str) -> list[str]:
        return [*curator, "run", str(manifest), "--plain", "--store", str(work / f"{name}.sqlite"), *extra]

    results = {}
    results["curator cold"] = timed(run("c1", "--jobs", "1", "--out", str(work / "out-cold")), env("curator"), work)
    results["curator warm"] = timed(
        run("c1", "--jobs", "1", "--rerun", "--out", str(work / "out-warm")), env("curator"), work
    )
    results["curator unchanged rerun"] = timed(run("c1", "--out", str(work / "out-rerun")), env("curator"), work)
    results["curator warm --jobs 2"] = timed(
        run("c1", "--jobs", "2", "--rerun", "--out", str(work / "out-j2")), env("curator"), work
    )
    results["nox+pip cold"] = timed(nox, env("nox"), work / "plain")
    results["nox+pip warm"] = timed([*nox, "--reuse-venv", "yes"], env("nox"), work / "plain")

    print(f"{cells} cells, {len(dist.suites)} suites each, Python {python.full_version}, {os.cpu_count()} CPUs")
    print(f"{'':<26}{'seconds':>9}")
    for name, seconds in results.items():
        print(f"{name:<26}{seconds:>9.1f}")
    print(f"ratio cold (nox+pip / curator): {results['nox+pip cold'] / results['curator cold']:.2f}x")
    print(f"ratio warm (nox+pip / curator): {results['nox+pip warm'] / results['curator warm']:.2f}x")
    reuse = results["nox+pip warm"] / results["curator unchanged rerun"]
    print(f"ratio warm, unchanged (nox+pip / curator reuse): {reuse:.1f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
