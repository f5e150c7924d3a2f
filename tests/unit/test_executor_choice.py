"""Choosing an executor: `--executor local|dask`, `--scheduler`, and the extra that dask needs."""

from __future__ import annotations

import argparse
import sys

import pytest

from curator.cli.common import executor_words, open_executor
from curator.execute.executors.local import LocalExecutor
from curator.model.errors import UsageError


def _args(executor: str, scheduler: str | None = None, jobs: int | None = None) -> argparse.Namespace:
    return argparse.Namespace(executor=executor, scheduler=scheduler, jobs=jobs)


def test_the_local_executor_records_its_jobs() -> None:
    with open_executor(_args("local", jobs=3)) as executor:
        assert isinstance(executor, LocalExecutor)
        assert executor.describe() == {"kind": "local", "jobs": 3}


def test_a_scheduler_is_for_the_dask_executor_only() -> None:
    with (
        pytest.raises(UsageError, match="a scheduler is for --executor dask"),
        open_executor(_args("local", "tcp://h:8786")),
    ):
        pass


def test_without_the_extra_dask_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(UsageError, match=r"pip install 'curator\[dask\]'") as caught, open_executor(_args("dask")):
        pass
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_the_resume_command_repeats_where_cells_ran() -> None:
    assert executor_words(_args("local")) == []
    assert executor_words(_args("dask")) == ["--executor", "dask"]
    assert executor_words(_args("dask", "tcp://h:8786")) == ["--executor", "dask", "--scheduler", "tcp://h:8786"]


def test_a_feed_of_nothing_to_run_ends_without_waiting_for_events(monkeypatch: pytest.MonkeyPatch) -> None:
    # every cell of an unchanged rerun is reused on the way: the feed hands the executor nothing,
    # and the executor used to wait half a second for events no cell would ever send
    import queue
    import threading

    from curator.execute.executors.interface import WAIT

    waited: list[object] = []
    real_get = queue.Queue.get

    def get(self: queue.Queue[object], block: bool = True, timeout: float | None = None) -> object:
        if block:
            waited.append(timeout)
        return real_get(self, block, timeout)

    monkeypatch.setattr(queue.Queue, "get", get)
    events = list(LocalExecutor(2).execute([WAIT, WAIT], threading.Event()))
    assert events == [] and waited == []
