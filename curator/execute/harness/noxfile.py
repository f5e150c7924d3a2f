"""Written by curator: one nox session (uv backend) per cell of this run.

Reproduce any cell on this machine with

    nox -f THIS_FILE -s CELL_ID            # every suite of the cell
    nox -f THIS_FILE -s CELL_ID -- SUITE   # one suite

The cells, their interpreters (absolute paths), hash-pinned locks and suites are in
nox-cells.json beside this file (its shape: protocol.py). Logs and JUnit files go to
$CURATOR_CELL_OUT, or to a fresh temporary folder (printed) so that a reproduction never
overwrites the run's evidence. A suite's output goes to its log (its head and tail when it is
very long); a reproduction prints all of it as well.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import tempfile
from types import ModuleType
from typing import Any

import nox

HERE = pathlib.Path(__file__).resolve().parent
RUNNER = str(HERE / "suite_runner.py")


def _protocol() -> ModuleType:
    spec = importlib.util.spec_from_file_location("curator_protocol", HERE / "protocol.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


protocol = _protocol()
CELLS = protocol.validate_cells_file(json.loads((HERE / protocol.CELLS_FILE).read_text(encoding="utf-8")))

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"
nox.options.sessions = []


def _define(cell_id: str, cell: dict[str, Any]) -> None:
    @nox.session(name=cell_id, python=cell["python"], venv_backend="uv", default=False, download_python="never")
    def run_cell(session: nox.Session) -> None:
        out = os.environ.get(protocol.ENV_OUT)
        folder = pathlib.Path(out) if out else pathlib.Path(tempfile.mkdtemp(prefix=f"curator-{cell_id}-"))
        folder.mkdir(parents=True, exist_ok=True)
        if not out:
            session.log(f"logs and JUnit files go to {folder}")
        attempt = int(os.environ.get(protocol.ENV_ATTEMPT, "1"))
        location = session.virtualenv.location
        prepared = os.environ.get(protocol.ENV_PREPARED)
        if prepared and pathlib.Path(prepared).absolute() != pathlib.Path(location).absolute():
            session.error(f"curator prepared the environment {prepared}, but nox uses {location}")
        session.run_install("uv", "pip", "sync", "--require-hashes", *cell["install_args"], cell["lock"])
        (folder / protocol.INSTALLED).write_text("ok\n")
        # bytecode is compiled as the suites import it, once per environment, into the environment itself
        bytecode = {
            "PYTHONPYCACHEPREFIX": str(pathlib.Path(location, protocol.PYCACHE)),
            "PYTHONDONTWRITEBYTECODE": None,
        }
        wanted = set(session.posargs)
        failed = []
        for suite in cell["suites"]:
            if wanted and suite["name"] not in wanted:
                continue
            files = protocol.artefacts(folder, suite["name"], attempt)
            argv = list(suite["argv"])
            if suite["junit"]:
                argv.append(f"--junitxml={files['junit']}")
            job = {"argv": argv, "cwd": suite["cwd"], "env": suite["env"], "log": str(files["log"])}
            job["result"], job["echo"] = str(files["result"]), not out  # a reproduction shows the output as well
            session.log(f"suite {suite['name']}")
            session.run("python", RUNNER, json.dumps(protocol.validate_job(job)), env=bytecode)
            result = protocol.read_result(files["result"])
            if result.get("returncode") != 0:
                failed.append(f"{suite['name']} (exit {result.get('returncode')})")
        if failed:
            session.error("failed: " + ", ".join(failed))


for _cell_id, _cell in CELLS.items():
    _define(_cell_id, _cell)
