"""The 30-package scientific distribution of `examples/scientific`, run without the network.

curator's own coordinator plans the manifest (`upgrades` on Python 3.11 and 3.12: 62 cells), records
every cell in a real store and publishes the run folder with the real report code; only the two
things that need the network are scripted: the resolver (each cell's lock holds its pins, with the
requirements between manifest packages the real baseline resolves to, so the report's graph is the
real one) and the executor (each suite's outcome, as the real run could have gone):

- numpy 2.1.3 is refused: the blessed scipy 1.12.0 requires numpy<1.29 (as in the real run);
- scipy 1.14.1 breaks networkx 3.2.1's sparse matrices (`.A` is gone), on both Pythons;
- pandas 2.2.3 makes the numexpr suite fail to collect on Python 3.12;
- matplotlib 3.9.2 leaves the seaborn suite flaky on Python 3.11;
- everything else passes, the baseline included.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from curator import manifest
from curator.execute.cell import CellTask
from curator.execute.coordinator import Coordinator, RunRequest
from curator.execute.executors.interface import Event, Feed, Finished, Started
from curator.model.ids import Platform, PyVersion, RunId, SuiteName
from curator.model.outcome import CellOutcome, Counts, Status, SuiteOutcome, TestCase
from curator.report.publish import publish
from curator.resolve.interpreters import Interpreter
from curator.resolve.lock import Resolution, Unresolvable, parse_requirements
from curator.store.db import Store

MANIFEST = Path(__file__).resolve().parents[1] / "examples" / "scientific" / "distribution.yaml"
PYTHONS = ("3.11", "3.12")

REQUIRES: dict[str, tuple[str, ...]] = {
    # what each manifest package requires of the others, as `curator graph` resolves the blessed set
    "bottleneck": ("numpy",),
    "contourpy": ("numpy",),
    "dask": ("cloudpickle", "fsspec", "toolz"),
    "h5py": ("numpy",),
    "imageio": ("numpy", "pillow"),
    "matplotlib": ("contourpy", "numpy", "pillow"),
    "numba": ("numpy",),
    "numexpr": ("numpy",),
    "pandas": ("numpy",),
    "patsy": ("numpy",),
    "pyarrow": ("numpy",),
    "pywavelets": ("numpy",),
    "scikit-image": ("imageio", "networkx", "numpy", "pillow", "scipy", "tifffile"),
    "scikit-learn": ("joblib", "numpy", "scipy", "threadpoolctl"),
    "scipy": ("numpy",),
    "seaborn": ("matplotlib", "numpy", "pandas"),
    "statsmodels": ("numpy", "pandas", "patsy", "scipy"),
    "sympy": ("mpmath",),
    "tifffile": ("numpy",),
    "xarray": ("numpy", "pandas"),
    "zarr": ("numpy",),
}
NUMPY_REFUSED = (
    "Because scipy==1.12.0 depends on numpy>=1.22.4,<1.29.0 and you require numpy==2.1.3, we can conclude "
    "that your requirements and scipy==1.12.0 are incompatible."
)
SPARSE = "AttributeError: 'csr_array' object has no attribute 'A'"
COLLECTION = "ERROR collecting test_accelerated_operations.py: AttributeError: module 'pandas' has no attribute 'eval'"


class ScriptedResolver:
    """A lock per cell from its requirements, edges as the real baseline has them; numpy 2.1.3 refused."""

    frozen = True  # nothing to ask the index about
    cache = None

    def attempt(self, requirements: Sequence[str], interpreter: Interpreter, platform: str = "") -> Resolution:
        """The lock of `requirements` (or the refusal the real resolver gave)."""
        if "numpy==2.1.3" in requirements and not any(r.startswith("scipy==1.14") for r in requirements):
            return Unresolvable(interpreter.version, tuple(requirements), NUMPY_REFUSED)
        names = {r.split("==")[0] for r in requirements}
        lines = []
        for requirement in sorted(requirements):
            name = requirement.split("==")[0]
            lines.append(f"{requirement} \\\n    --hash=sha256:{abs(hash(requirement)):064d}")
            parents = sorted(p for p, needs in REQUIRES.items() if name in needs and p in names)
            lines += ["    # via", *(f"    #   {p}" for p in parents or ["-r requirements.in"])]
        return parse_requirements(interpreter.version, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class Scripted:
    """How one suite ends in one kind of cell."""

    status: Status
    signature: str = ""
    reason: str = ""


def script(cell: str, suite: str) -> Scripted:
    """The outcome of `suite` in `cell` (see the module's doc)."""
    if "scipy@1.14.1" in cell and suite == "networkx-scipy":
        return Scripted(Status.FAILED, SPARSE, "3 test(s) failed")
    if cell == "py3.12-pandas@2.2.3" and suite == "pandas-numexpr":
        return Scripted(Status.ERROR, COLLECTION, "collection error")
    if cell == "py3.11-matplotlib@3.9.2" and suite == "seaborn-pandas":
        return Scripted(Status.FLAKY, "AssertionError: assert 119 == 120", "failed, then passed on retry")
    return Scripted(Status.PASSED)


class ScriptedExecutor:
    """Ends each task's suites as `script` says, at once."""

    def describe(self) -> dict[str, object]:
        """What run.json records."""
        return {"kind": "scripted"}

    def serves(self, platform: Platform) -> bool:
        """Every platform (the distribution names none)."""
        return True

    def execute(self, tasks: Feed, cancel: threading.Event) -> Iterator[Event]:
        """A `Started` and a `Finished` per task."""
        for task in tasks:
            if cancel.is_set():
                return
            if isinstance(task, CellTask):
                yield Started(task.cell.id)
                yield Finished(task.cell.id, self.outcome(task))

    def outcome(self, task: CellTask) -> CellOutcome:
        """The scripted outcome of every suite of the task."""
        suites = []
        for spec in task.suites:
            scripted = script(task.cell.id, spec.name)
            failing = scripted.status in (Status.FAILED, Status.ERROR)
            cases = tuple(
                TestCase(f"test_{spec.name}", f"test_{i}", "failed" if failing and i < 3 else "passed", 0.05,
                         scripted.signature if failing and i < 3 else "")
                for i in range(6)
            )  # fmt: skip
            suites.append(
                SuiteOutcome(
                    suite=SuiteName(spec.name),
                    status=scripted.status,
                    raw_status=scripted.status,
                    reason=scripted.reason,
                    signature=scripted.signature,
                    counts=Counts.of(cases),
                    duration=1.5,
                    attempts=2 if scripted.status is Status.FLAKY else 1,
                    log=f"logs/{task.cell.id}/{spec.name}.log",
                    cases=cases,
                    tail=f"E   {scripted.signature}" if scripted.signature else "",
                )
            )
        return CellOutcome(
            task.cell.id,
            tuple(suites),
            duration=2.0 + len(suites),
            lock_key=task.lock_key,
            outcome_key=task.outcome_key,
            log=f"logs/{task.cell.id}/cell.log",
            reproduce=task.reproduce(),
        )


def run(folder: Path, *, runs: int = 1) -> tuple[Path, RunId]:
    """Record `runs` runs of the scientific distribution into `folder/reports/curator.sqlite` (each a
    new run: the later ones reuse the earlier outcomes) and publish them; the last run's folder and id."""
    distribution = manifest.load(MANIFEST)
    interpreters = {
        PyVersion(v): Interpreter(PyVersion(v), f"{v}.9", Path(f"/scripted/bin/python{v}"), "scripted", "scripted")
        for v in PYTHONS
    }
    store_path = folder / "reports" / "curator.sqlite"
    out, run_id = folder, RunId("")
    with Store(store_path) as store:
        for n in range(1, runs + 1):
            out = folder / "reports" / f"run-{n}"
            request = RunRequest(distribution, interpreters, out_dir=out, rerun=False)
            coordinator = Coordinator(request, store, ScriptedExecutor(), _Quiet(), threading.Event())
            coordinator.resolver = ScriptedResolver()  # type: ignore[assignment]
            result = coordinator.execute()
            publish(store, result.run_id, distribution, today=dt.date(2026, 1, 15), interrupted=result.interrupted)
            run_id = result.run_id
    return out, run_id


class _Quiet:
    """Progress that shows nothing."""

    def phase(self, name: str, total: int) -> None:
        """Nothing."""

    def step(self, name: str, detail: str) -> None:
        """Nothing."""

    def cell_started(self, cell: object) -> None:
        """Nothing."""

    def cell_note(self, cell: object, text: str) -> None:
        """Nothing."""

    def cell_finished(self, cell: object, outcome: CellOutcome, *, reused: bool) -> None:
        """Nothing."""
