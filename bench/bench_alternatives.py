"""Benchmark: curator against the plain alternatives, side by side, on this machine, in one run.

    python bench/bench_alternatives.py                       # the fixture ecosystem and the default distribution
    python bench/bench_alternatives.py --matrix fixture      # hermetic: local wheels only, about a minute
    python bench/bench_alternatives.py --write docs/performance.md   # also replace the results there

The plain alternatives get the same cells (`curator plan --format json`): each cell is one nox
session (or tox environment) that installs the cell's pins and the manifest's `test_requires`
from the same index, then runs the same pytest commands. They are

- nox on its uv backend (`nox --default-venv-backend uv`), the strongest peer,
- nox on virtualenv + pip (`--default-venv-backend virtualenv`),
- tox with tox-uv (installed into a throwaway environment of the benchmark's own).

Every side has its own empty caches (uv, pip, curator) and environment folders. The scenarios:

- cold: empty caches, no environments; curator at `--jobs 1` (as nox and tox run, one cell at a
  time) and at its defaults (`--jobs` = the cores), each from empty caches;
- warm: every cell run again in the environments of the cold run (`curator run --rerun`,
  `nox --reuse-venv yes`, a second `tox run`);
- edited: one suite file edited (a test added), then the matrix run again;
- unchanged: nothing changed, the matrix run again (curator reuses outcomes by key; nox and tox
  cannot tell, and run every cell again).

curator's breakdown of a cold and a warm run comes from its own records: each cell's
`environment.json` (how its environment was made: venv, copy, sync, verify) and the suites'
durations in `cells.csv`; curator's own overhead is the rest of the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curator.cli.common import positive_int
from curator.execute.cell import ENVIRONMENT_FILE
from curator.host.layout import RunLayout
from curator.model.ids import CellId
from curator.results.rows import read_cells_csv
from tests.ecosystem import fixture_manifest

SCENARIOS = ("cold", "warm", "edited", "unchanged")
MARKERS = ("<!-- bench_alternatives:start -->", "<!-- bench_alternatives:end -->")

PLAIN_NOXFILE = '''\
"""One session per cell: install the cell's pins, run its pytest commands (the benchmark's peer)."""
import json
import pathlib

import nox

SPEC = json.loads(pathlib.Path(__file__).with_name("cells.json").read_text())


def define(cell):
    def session(s):
        s.install(*cell["requirements"])
        with s.chdir(SPEC["scratch"]):
            for argv in cell["commands"]:
                s.run(*argv, env=SPEC["env"], success_codes=[0, 1, 2, 3, 4, 5])

    nox.session(name=cell["name"], python=cell["python"])(session)


for cell in SPEC["cells"]:
    define(cell)
'''

FIXTURE_SUITES = {
    "user": (["cfx-user", "cfx-base"], "import cfx_user\n\n\ndef test_run():\n    assert cfx_user.run() == 2\n"),
    "top": (["cfx-top"], "import cfx_top\n\n\ndef test_sides():\n    assert cfx_top.SIDES == ('left', 'right')\n"),
}


@dataclass
class Matrix:
    """A manifest to benchmark, the plain sides' description of its cells, and the suite to edit."""

    name: str
    manifest: Path
    cells: list[dict[str, object]] = field(default_factory=list)
    suite_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # index settings, as UV_* and PIP_* variables


def fixture_matrix(folder: Path) -> Matrix:
    """Three fixture packages (local wheels, no index), `full`: every combination, 2 suites."""
    packages = '  cfx-base: ["1.0", "2.0"]\n  cfx-user: ["1.0", "1.1"]\n  cfx-top: ["1.0"]\n'
    manifest = fixture_manifest(folder, name="bench-fixture", python=["3.12"], packages=packages, suites=FIXTURE_SUITES)
    return Matrix(
        "fixture ecosystem (full, 4 cells × 2 suites)",
        manifest,
        suite_file=folder / "suites" / "user" / "test_suite.py",
    )


def default_matrix(folder: Path) -> Matrix:
    """The repository's own distribution.yaml (the public index), copied with its suites."""
    shutil.copy(ROOT / "distribution.yaml", folder / "distribution.yaml")
    shutil.copytree(ROOT / "suites", folder / "suites")
    return Matrix(
        "default distribution (pairs, 10 cells × 6 suites)",
        folder / "distribution.yaml",
        suite_file=next(iter(sorted((folder / "suites" / "pandas_numpy").glob("test_*.py")))),
    )


def describe(matrix: Matrix, curator: Sequence[str]) -> None:
    """Fill in the plain sides' cells: pins, test requirements, interpreter and pytest commands."""
    from curator import manifest as manifests
    from curator.resolve.interpreters import Finder

    dist = manifests.load(matrix.manifest)
    plan = json.loads(
        subprocess.run(
            [*curator, "plan", str(matrix.manifest), "--format", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    finder = Finder()
    pythons = {version: str(finder.find(version).path) for version in dist.python}
    ini = matrix.manifest.parent / "plain-pytest.ini"
    ini.write_text("[pytest]\n")
    suites = {suite.name: suite.path for suite in dist.suites}
    own = {f"{package.name}:tests": package.tests for package in dist.packages if package.tests}
    for index, cell in enumerate(plan["cells"]):
        commands: list[list[str]] = []
        for suite in cell["suites"]:
            if suite in suites:
                path = str(suites[suite])
                commands.append(["pytest", path, f"--rootdir={path}", "-c", str(ini), "-p", "no:cacheprovider", "-q"])
            else:
                commands += [shlex.split(command) for command in own[suite]]
        matrix.cells.append(
            {
                "name": f"cell{index}",
                "id": cell["id"],
                "python": pythons[cell["python"]],
                "requirements": [f"{name}=={version}" for name, version in cell["pins"].items()]
                + [str(requirement) for requirement in dist.test_requires],
                "commands": commands,
            }
        )
    links = [str(link) for link in dist.index.find_links]
    matrix.env = {"UV_EXCLUDE_NEWER": dist.index.exclude_newer} if dist.index.exclude_newer else {}
    if dist.index.url:
        matrix.env |= {"UV_INDEX_URL": dist.index.url, "PIP_INDEX_URL": dist.index.url}
    if links:
        matrix.env |= {"UV_FIND_LINKS": ",".join(links), "PIP_FIND_LINKS": " ".join(links)}
    if dist.index.no_index:
        matrix.env |= {"UV_NO_INDEX": "1", "PIP_NO_INDEX": "1"}


def write_plain(matrix: Matrix, folder: Path) -> None:
    """The noxfile and tox.ini of the plain sides, over the same cells."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scratch").mkdir(exist_ok=True)
    spec = {"cells": matrix.cells, "scratch": str(folder / "scratch"), "env": {"MPLBACKEND": "Agg"}}
    (folder / "cells.json").write_text(json.dumps(spec, indent=1))
    (folder / "noxfile.py").write_text(PLAIN_NOXFILE)
    tox = ["[tox]", "skipsdist = true", f"env_list = {', '.join(str(cell['name']) for cell in matrix.cells)}", ""]
    for cell in matrix.cells:
        commands = cell["commands"]
        assert isinstance(commands, list)
        tox += [
            f"[testenv:{cell['name']}]",
            f"base_python = {cell['python']}",
            "skip_install = true",
            "pass_env = UV_*, PIP_*",
            "set_env = MPLBACKEND = Agg",
            f"change_dir = {folder / 'scratch'}",
            "deps =",
            *(f"    {requirement}" for requirement in cell["requirements"]),  # type: ignore[attr-defined]
            "commands =",
            *(f"    - {shlex.join(argv)}" for argv in commands),
            "",
        ]
    (folder / "tox.ini").write_text("\n".join(tox))


def tox_tool(folder: Path) -> Path | None:
    """tox and tox-uv in an environment of their own (from the public index), or None without it."""
    from curator.resolve.lock import uv_binary

    env = folder / "tox-tool"
    if not (env / "bin" / "tox").exists():
        made = subprocess.run(
            [uv_binary(), "venv", "--quiet", "--python", sys.executable, env], capture_output=True, check=False
        )
        installed = made.returncode == 0 and (
            subprocess.run(
                [uv_binary(), "pip", "install", "--quiet", "--python", env / "bin" / "python", "tox", "tox-uv"],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        if not installed:
            return None
    return env / "bin" / "tox"


@dataclass
class Side:
    """One tool, its own caches, and how it runs the matrix in each scenario."""

    name: str
    argv: Callable[[str], list[str] | None]  # scenario → command (None: not measured)
    cwd: Path
    env: dict[str, str]
    times: dict[str, float] = field(default_factory=dict)
    rounds: dict[str, list[float]] = field(default_factory=dict)  # every round's seconds, when there were several


def medians(rounds: Sequence[Sequence[Side]]) -> list[Side]:
    """Each side of the first round, its times the median over all rounds (each round kept too)."""
    combined = []
    for sides in zip(*rounds, strict=True):
        first = sides[0]
        seen = {scenario: [side.times[scenario] for side in sides] for scenario in first.times}
        combined.append(
            Side(
                first.name,
                first.argv,
                first.cwd,
                first.env,
                {scenario: statistics.median(values) for scenario, values in seen.items()},
                seen if len(sides) > 1 else {},
            )
        )
    return combined


def timed(argv: Sequence[str | os.PathLike[str]], env: Mapping[str, str], cwd: Path, log: Path) -> float:
    """Wall seconds of one command; its output goes to `log`, and exit statuses above 1 stop the benchmark."""
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{shlex.join(map(str, argv))} failed ({done.returncode}), see {log}:\n{tail}")
    return elapsed


def edit(suite_file: Path) -> None:
    """One suite edited: a test added (every cell holding the suite must run it again)."""
    with suite_file.open("a") as handle:
        handle.write("\n\ndef test_added_by_the_benchmark():\n    assert True\n")


@dataclass
class Breakdown:
    """Where curator's time went in one run (seconds)."""

    wall: float
    environments: dict[str, float]  # venv, copy, sync, verify: summed over the cells
    suites: float
    cells: int
    how: dict[str, int]  # created / copied / reused: how many cells

    ahead: float = 0.0  # environment seconds spent ahead of the cells' turns, beside other cells' suites

    @property
    def overhead(self) -> float:
        return self.wall - (sum(self.environments.values()) - self.ahead) - self.suites


@dataclass
class CellTime:
    """Where one cell's time went (seconds): its environment's steps, each suite, the rest."""

    cell: str
    how: str
    wall: float
    environment: dict[str, float]
    suites: dict[str, float]
    ahead: bool = False  # built before the cell's turn (`environment.json`): outside its wall time

    @property
    def own(self) -> float:
        spent = 0.0 if self.ahead else sum(self.environment.values())
        return self.wall - spent - sum(self.suites.values())


def cell_times(out: Path, store: Path) -> list[CellTime]:
    """Every cell that ran in the run folder `out`: the store's wall time of the cell, its
    `environment.json` and its suites' durations (`cells.csv`)."""
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    with sqlite3.connect(store) as db:
        walls = dict(
            db.execute("SELECT cell_id, duration FROM cells WHERE run_id = ? AND reused_from IS NULL", (run_id,))
        )
    suites: dict[str, dict[str, float]] = {}
    for row in read_cells_csv((out / "cells.csv").read_text(), str(out / "cells.csv")):
        if row.cell in walls:
            suites.setdefault(row.cell, {})[row.outcome.suite] = row.outcome.duration
    times = []
    for cell, wall in walls.items():
        facts_path = RunLayout(out).log_dir(CellId(cell)) / ENVIRONMENT_FILE
        facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}
        steps = {step: float(seconds) for step, seconds in facts.get("seconds", {}).items()}
        how = str(facts.get("how", ""))
        changed = re.search(r"packages to change: (\d+)", how)
        how = how.split(" ", maxsplit=1)[0] + (f" ({changed[1]} packages to change)" if changed else "")
        times.append(CellTime(cell, how, float(wall), steps, suites.get(cell, {}), bool(facts.get("ahead"))))
    return times


def breakdown(times: Sequence[CellTime], wall: float) -> Breakdown:
    """A run's totals over the cells that ran in it (`cell_times`)."""
    steps: dict[str, float] = {}
    how: dict[str, int] = {}
    for cell in times:
        for step, seconds in cell.environment.items():
            steps[step] = steps.get(step, 0.0) + seconds
        if cell.how:
            kind = cell.how.split(" ", maxsplit=1)[0]
            how[kind] = how.get(kind, 0) + 1
    suites = sum(sum(cell.suites.values()) for cell in times)
    ahead = sum(sum(cell.environment.values()) for cell in times if cell.ahead)
    return Breakdown(wall, steps, suites, len(times), how, ahead)


def measure(
    matrix: Matrix, work: Path, sides: Sequence[str], curator: Sequence[str]
) -> tuple[list[Side], dict[str, Breakdown], dict[str, list[CellTime]]]:
    """Every side through every scenario, in the order that keeps each scenario's premise true."""
    from curator.resolve.lock import uv_binary

    base = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "CURATOR_", "VIRTUAL_ENV", "NOX"))}
    base["PATH"] = f"{Path(uv_binary()).parent}{os.pathsep}{base.get('PATH', '')}"  # nox and tox-uv find uv

    def env(name: str, *, index: bool) -> dict[str, str]:
        caches = work / "caches" / name
        return {
            **base,
            **(matrix.env if index else {}),
            "UV_CACHE_DIR": str(caches / "uv"),
            "PIP_CACHE_DIR": str(caches / "pip"),
            "CURATOR_CACHE_DIR": str(caches / "curator"),
            "XDG_CACHE_HOME": str(caches / "xdg"),
            "UV_PYTHON_DOWNLOADS": "never",
        }

    plain = work / "plain"
    write_plain(matrix, plain)
    result: list[Side] = []
    runs: dict[str, Breakdown] = {}
    cells: dict[str, list[CellTime]] = {}
    outs: dict[str, Path] = {}

    def curator_side(name: str, jobs: str, scenarios: Sequence[str]) -> Side:
        def argv(scenario: str) -> list[str] | None:
            if scenario not in scenarios:
                return None
            out = work / f"{name}-{scenario}"
            outs[f"{name} {scenario}"] = out
            extra = ["--rerun"] if scenario == "warm" else []
            store = work / f"{name}.sqlite"
            return [
                *curator,
                "run",
                str(matrix.manifest),
                "--plain",
                "--jobs",
                jobs,
                "--store",
                str(store),
                "--out",
                str(out),
                *extra,
            ]

        return Side(name, argv, work, env(name, index=False))

    def nox_side(name: str, backend: str) -> Side:
        envdir = work / f"{name}-envs"

        def argv(scenario: str) -> list[str]:
            reuse = [] if scenario == "cold" else ["--reuse-venv", "yes"]
            return [
                sys.executable,
                "-m",
                "nox",
                "-f",
                str(plain / "noxfile.py"),
                "--envdir",
                str(envdir),
                "--default-venv-backend",
                backend,
                *reuse,
            ]

        return Side(name, argv, plain, env(name, index=True))

    available = {
        "curator --jobs 1": lambda: curator_side("curator --jobs 1", "1", SCENARIOS),
        "curator (defaults)": lambda: curator_side("curator (defaults)", str(os.cpu_count() or 1), ("cold", "warm")),
        "nox + uv": lambda: nox_side("nox + uv", "uv"),
        "nox + pip": lambda: nox_side("nox + pip", "virtualenv"),
    }
    tox = tox_tool(work.parent) if "tox + tox-uv" in sides else None
    if tox is not None:
        workdir = work / "tox-work"
        available["tox + tox-uv"] = lambda: Side(
            "tox + tox-uv",
            lambda scenario: [str(tox), "run", "-c", str(plain / "tox.ini"), "--workdir", str(workdir)],
            plain,
            env("tox + tox-uv", index=True),
        )
    elif "tox + tox-uv" in sides:
        print("tox + tox-uv: cannot install tox and tox-uv from the public index; left out", file=sys.stderr)
    result = [available[name]() for name in sides if name in available]
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    for scenario in SCENARIOS:
        if scenario == "edited":
            assert matrix.suite_file is not None
            edit(matrix.suite_file)
        for side in result:
            argv = side.argv(scenario)
            if argv is None:
                continue
            slug = re.sub(r"[^a-z0-9]+", "-", f"{side.name} {scenario}".lower()).strip("-")
            print(f"  {side.name:<20} {scenario:<10}", end="", flush=True)
            side.times[scenario] = timed(argv, side.env, side.cwd, logs / f"{slug}.log")
            print(f"{side.times[scenario]:8.1f} s", flush=True)
            key = f"{side.name} {scenario}"
            if key in outs and (outs[key] / "cells.csv").exists():
                times = cell_times(outs[key], work / f"{side.name}.sqlite")
                runs[key] = breakdown(times, side.times[scenario])
                if side.name == "curator --jobs 1":
                    cells[scenario] = times
    return result, runs, cells


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "—"


def cell_table(title: str, times: Sequence[CellTime]) -> Iterator[str]:
    """A cell made afresh and one copied (or reused), each step in seconds."""
    picked: dict[str, CellTime] = {}
    for time_ in times:
        picked.setdefault(time_.how.split(" ")[0], time_)
    if not picked:
        return
    suites = sorted({suite for time_ in picked.values() for suite in time_.suites})
    yield f"{title}:"
    yield ""
    yield "| cell | environment | wall | " + " | ".join(suites) + " | curator and nox |"
    yield "|---|---|---:|" + "---:|" * (len(suites) + 1)
    for time_ in picked.values():
        steps = ", ".join(f"{step} {seconds:.2f}" for step, seconds in time_.environment.items())
        durations = " | ".join(f"{time_.suites[suite]:.2f}" if suite in time_.suites else "—" for suite in suites)
        ahead = ", built ahead" if time_.ahead else ""
        yield f"| {time_.cell} | {time_.how}{ahead}: {steps} | {time_.wall:.2f} | {durations} | {time_.own:.2f} |"
    yield ""


def table(
    matrix: Matrix, sides: Sequence[Side], runs: Mapping[str, Breakdown], cells: Mapping[str, list[CellTime]]
) -> Iterator[str]:
    """The Markdown results of one matrix: seconds per side and scenario, the ratios, curator's breakdown."""
    yield f"### {matrix.name}"
    yield ""
    yield "| scenario | " + " | ".join(side.name for side in sides) + " |"
    yield "|---|" + "---:|" * len(sides)
    for scenario in SCENARIOS:
        seconds = [f"{side.times[scenario]:.1f} s" if scenario in side.times else "—" for side in sides]
        yield f"| {scenario} | " + " | ".join(seconds) + " |"
    yield ""
    several = [side for side in sides if side.rounds]
    if several:
        count = len(next(iter(several[0].rounds.values())))
        yield f"Each figure is the median of {count} rounds, run one after another; every round (seconds):"
        yield ""
        for side in several:
            each = "; ".join(
                f"{scenario} " + " · ".join(f"{v:.1f}" for v in side.rounds[scenario])
                for scenario in SCENARIOS
                if scenario in side.rounds
            )
            yield f"- {side.name}: {each}"
        yield ""
    by = {side.name: side.times for side in sides}
    mine = by.get("curator --jobs 1", {})
    defaults = by.get("curator (defaults)", {})
    lines = []
    for peer in ("nox + uv", "nox + pip", "tox + tox-uv"):
        if peer not in by:
            continue
        theirs = by[peer]
        parts = [f"{scenario} {ratio(theirs.get(scenario), mine.get(scenario))}" for scenario in SCENARIOS]
        if "cold" in defaults:
            parts.insert(1, f"cold at curator's defaults {ratio(theirs.get('cold'), defaults.get('cold'))}")
        lines.append(f"- {peer} ÷ curator: " + ", ".join(parts))
    if "warm" in mine and "warm" in defaults:
        lines.append(
            f"- curator warm, `--jobs 1` ÷ defaults (`--jobs {os.cpu_count()}`): "
            f"{ratio(mine['warm'], defaults['warm'])}"
        )
    if "unchanged" in mine and "cold" in mine:
        lines.append(f"- curator unchanged ÷ cold: {100 * mine['unchanged'] / mine['cold']:.1f} %")
    yield from lines
    yield ""
    last = " (the last round)" if several else ""
    yield f"curator's own records, `--jobs 1`{last} (seconds, summed over the cells that ran):"
    yield ""
    yield "| run | wall | cells | environments | of which | suites | curator's own | wall ÷ suites |"
    yield "|---|---:|---:|---:|---|---:|---:|---:|"
    for scenario in SCENARIOS:
        run = runs.get(f"curator --jobs 1 {scenario}")
        if run is None:
            continue
        made = ", ".join(f"{kind} {count}" for kind, count in sorted(run.how.items()))
        steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in run.environments.items())
        per_suite = f"{run.wall / run.suites:.2f}" if run.suites else "—"
        made = f" ({made})" if made else ""
        if run.ahead:
            made += f"; {run.ahead:.1f} of it built ahead, beside other cells' suites"
        yield (
            f"| {scenario} | {run.wall:.1f} | {run.cells} | {sum(run.environments.values()):.1f}{made} | "
            f"{steps} | {run.suites:.1f} | {run.overhead:.1f} | {per_suite} |"
        )
    yield ""
    for scenario in ("cold", "warm"):
        yield from cell_table(f"One cell of the {scenario} run, `--jobs 1` (seconds)", cells.get(scenario, []))


def write_into(path: Path, text: str) -> None:
    """Replace the text between the benchmark's markers in `path` (append them if they are missing)."""
    start, end = MARKERS
    current = path.read_text() if path.exists() else ""
    block = f"{start}\n{text.rstrip()}\n{end}"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        current = before + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(current)


def compiled_like_a_wheel() -> None:
    """curator's own modules byte-compiled, as pip compiles a wheel it installs (nox and tox, the
    peers, are installed from wheels): an editable install under PYTHONDONTWRITEBYTECODE=1 would
    compile them again at every start, which no installed curator does."""
    import compileall

    compileall.compile_dir(ROOT / "curator", quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matrix", choices=("fixture", "default", "all"), default="all")
    sides = ("curator --jobs 1", "curator (defaults)", "nox + uv", "nox + pip", "tox + tox-uv")
    parser.add_argument(
        "--side", action="append", choices=sides, help="a side to measure (repeat; default: all of them)"
    )
    parser.add_argument("--write", type=Path, metavar="FILE", help="also write the results table into FILE")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (logs, run folders)")
    parser.add_argument(
        "--rounds",
        type=positive_int,
        metavar="N",
        help="measure every side N times, one round after another, and report medians (default: 3 for the "
        "fixture ecosystem, whose runs take seconds on a noisy machine; 1 for the default distribution)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="curator-bench-"))
    curator = [sys.executable, "-m", "curator"]
    compiled_like_a_wheel()
    makers = {"fixture": fixture_matrix, "default": default_matrix}
    chosen = list(makers) if args.matrix == "all" else [args.matrix]
    import platform

    from curator.resolve.lock import uv_binary

    uv = subprocess.run([uv_binary(), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    from importlib.metadata import version

    header = (
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPUs ({platform.machine()}), "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')}, {uv}, nox {version('nox')}, "
        "each side with its own empty caches, one after another in one run."
    )
    text = [header, ""]
    for name in chosen:
        rounds = args.rounds or (3 if name == "fixture" else 1)
        measured_rounds = []
        for number in range(1, rounds + 1):
            folder = work / name / f"round-{number}" if rounds > 1 else work / name
            folder.mkdir(parents=True)
            matrix = makers[name](folder)
            describe(matrix, curator)
            print(f"{matrix.name}: {len(matrix.cells)} cells, round {number} of {rounds}", flush=True)
            measured, runs, cells = measure(matrix, folder, args.side or sides, curator)
            measured_rounds.append(measured)
        text += list(table(matrix, medians(measured_rounds), runs, cells))
    output = "\n".join(text)
    print()
    print(output)
    if args.write:
        write_into(args.write, output)
    if args.keep:
        print(f"working folder: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
