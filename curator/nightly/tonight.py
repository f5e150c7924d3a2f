"""Tonight's evidence as it grows: the run's planned and recorded cells, looked up by what they change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.utils import NormalizedName
from packaging.version import Version

from curator.execute.coordinator import Coordinator
from curator.model.ids import CellId, PyVersion
from curator.model.outcome import SuiteOutcome
from curator.model.pins import PinList
from curator.nightly import planning
from curator.plan.cells import Cell
from curator.store.db import CellRecord, Store


class Tonight:
    """The cells of a nightly's run: which one applies which upgrades, and how each ended."""

    def __init__(
        self, store: Store, coordinator: Coordinator, upgrades: Mapping[PyVersion, Mapping[NormalizedName, Version]]
    ) -> None:
        self.store, self.coordinator, self.upgrades = store, coordinator, upgrades
        self.record = coordinator.record
        self.records: dict[CellId, CellRecord] = {}
        self.refresh()

    @property
    def pythons(self) -> list[PyVersion]:
        """The Pythons of the night."""
        return list(self.upgrades)

    def refresh(self) -> None:
        """Read the run's recorded cells again (after a batch)."""
        self.records = {r.cell_id: r for r in self.store.cells(self.record.id)}

    def run(self, cells: Sequence[Cell]) -> bool:
        """Add cells to the night's run and run them; False when the run was interrupted."""
        self.coordinator.extend(cells)
        if self.coordinator.cancel.is_set():
            return False
        self.refresh()
        return True

    def cell(self, python: PyVersion, changed: Sequence[str]) -> Cell | None:
        """The planned cell of `python` that applies exactly the upgrades `changed`."""
        return planning.find(self.coordinator.plan.cells, python, changed)

    def probes_planned(self, python: PyVersion) -> int:
        """Probe cells the run already holds for `python`."""
        return sum(
            1
            for c in self.coordinator.plan.cells
            if c.python == python and any(r.startswith("probe") for r in c.reasons)
        )

    def suite(self, cell: Cell | None, suite: str) -> SuiteOutcome | None:
        """A suite's recorded outcome in a cell (None: not recorded, or the cell does not run it)."""
        record = self.records.get(cell.id) if cell is not None else None
        return next((s for s in record.outcome.suites if s.suite == suite), None) if record else None

    def latest(self, python: PyVersion) -> Cell:
        """The latest cell of a Python (every upgrade applied)."""
        found = self.cell(python, list(self.upgrades[python]))
        assert found is not None, f"no latest cell for Python {python}"
        return found

    def baseline(self, python: PyVersion) -> Cell:
        """The blessed baseline cell of a Python."""
        found = self.cell(python, [])
        assert found is not None, f"no baseline cell for Python {python}"
        return found

    def ordered(self, python: PyVersion, names: frozenset[str]) -> list[NormalizedName]:
        """Upgrade names in manifest order."""
        return [n for n in self.upgrades[python] if n in names]

    def pins(self, python: PyVersion, names: frozenset[str]) -> PinList:
        """The upgrades `names`, in manifest order."""
        return PinList((n, self.upgrades[python][n]) for n in self.ordered(python, names))
