"""What importing curator settles before any of its threads start."""

from __future__ import annotations

import subprocess
import sys


def test_importing_curator_fills_sysconfig_before_any_thread_can_race_it() -> None:
    # Before Python 3.13 sysconfig fills its configuration lazily and without a lock: a cell's
    # thread asking for uv's binary while the report's preload thread filled it read
    # get_config_var("EXE") as None and the run crashed with a TypeError.
    probe = (
        "import sysconfig\n"
        "def filled():\n"
        "    flag = getattr(sysconfig, '_CONFIG_VARS_INITIALIZED', None)\n"
        "    return bool(sysconfig._CONFIG_VARS) if flag is None else flag\n"
        "before = filled()\n"
        "import curator\n"
        "print(before, filled())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_a_run_imports_networkx_and_numpy_only_where_a_graph_or_a_cover_is_made() -> None:
    # about 0.15 s of every run's start, spent for nothing by the strategies that need neither
    probe = (
        "import sys, curator.cli.running, curator.execute.coordinator;"
        " print('networkx' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
