"""Benchmark: the dask executor's overhead — a LocalCluster of 2 workers against `--jobs 2` locally.

    python bench/bench_dask.py             # 3 rounds of each, on warm environments
    python bench/bench_dask.py --rounds 5

The same matrix both ways, on this machine in this run: the fixture ecosystem (local wheels, no
network), `full` over cfx-base × cfx-user on three Pythons (12 cells), each cell running two suites
of which one takes 2 s (a real cell takes tens of seconds: the per-cell overhead of a task is what is
measured). Environments are built once first; every timed run is `curator run --rerun`, so both
sides build nothing and run every test. The dask side is timed end to end (its LocalCluster starts
and stops inside the run) and without the cluster's start and stop, timed on their own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ecosystem import fixture_manifest

SUITES = {
    "user": (["cfx-user", "cfx-base"], "import cfx_user\n\ndef test_run():\n    assert cfx_user.run() == 2\n"),
    "work": (["cfx-base"], "import time\n\ndef test_work():\n    time.sleep(2)\n"),
}


def manifest(folder: Path) -> Path:
    """12 cells: cfx-base × cfx-user on Python 3.11, 3.12 and 3.13."""
    packages = '  cfx-base: ["1.0", "2.0"]\n  cfx-user: ["1.0", "1.1"]\n'
    return fixture_manifest(
        folder, name="bench-dask", python=["3.11", "3.12", "3.13"], packages=packages, suites=SUITES
    )


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


CLUSTER_ONLY = """
import time
from curator.execute.executors.dask import connect
started = time.perf_counter()
with connect(None, 2):
    pass
print(time.perf_counter() - started)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="curator-bench-dask-"))
    path = manifest(work)
    env = {**os.environ, "CURATOR_CACHE_DIR": str(work / "cache")}
    curator = [sys.executable, "-m", "curator", "run", str(path), "--plain", "--rerun", "--store", str(work / "s.db")]
    timed([*curator, "--jobs", "2", "--out", str(work / "warm-up")], env)  # build every environment once
    local, dask, cluster = [], [], []
    for i in range(args.rounds):  # alternate, so a busy moment of the machine hits both sides alike
        local.append(timed([*curator, "--jobs", "2", "--out", str(work / f"local-{i}")], env))
        dask.append(timed([*curator, "--executor", "dask", "--jobs", "2", "--out", str(work / f"dask-{i}")], env))
        done = subprocess.run([sys.executable, "-c", CLUSTER_ONLY], env=env, capture_output=True, text=True, check=True)
        cluster.append(float(done.stdout.strip()))
    best_local, best_dask, best_cluster = min(local), min(dask), min(cluster)
    print(f"12 cells × 2 suites, {os.cpu_count()} CPUs, best of {args.rounds} (all: local {local}, dask {dask})")
    print(f"local --jobs 2:                          {best_local:6.1f} s")
    print(f"dask LocalCluster of 2, end to end:      {best_dask:6.1f} s  ({best_dask / best_local - 1:+.0%})")
    print(f"  of which the cluster's start and stop: {best_cluster:6.1f} s")
    running = best_dask - best_cluster
    print(f"dask without the cluster's start/stop:   {running:6.1f} s  ({running / best_local - 1:+.0%})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
