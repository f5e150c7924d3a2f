"""A channel end to end: real bundles of the fixture ecosystem published, installed by real pip and
uv (from `file://` and from `python -m http.server`), yanked, verified, tampered with, and its page
opened in Chromium."""

from __future__ import annotations

import contextlib
import hashlib
import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from curator import __version__
from curator.cli import main
from curator.resolve.interpreters import Finder
from curator.resolve.lock import uv_binary
from tests.conftest import manifest_writer
from tests.integration.conftest import eco_manifest_factory

SIDES = "import cfx_top\n\ndef test_sides():\n    assert cfx_top.SIDES == ('left', 'right')\n"
OLD = '  cfx-top: ["1.0"]\n  cfx-base: {versions: ["1.0", "2.0"], blessed: "1.0"}\n'
NEW = '  cfx-top: ["1.0"]\n  cfx-base: ["1.0", "2.0"]\n'
BLESSED = ["cfx-top", "cfx-base"]
SHIPPED_OLD = {"cfx-base": "1.0", "cfx-left": "1.0", "cfx-right": "1.0", "cfx-top": "1.0"}
SHIPPED_NEW = {**SHIPPED_OLD, "cfx-base": "2.0"}


@dataclass(frozen=True)
class Bundles:
    """Two signed releases with wheels (eco 1.0 on cfx-base 1.0, eco 1.1 on 2.0), an unsigned one, keys."""

    base: Path
    key: Path
    other_key: Path
    old: Path  # dist/eco-1.0
    new: Path  # dist/eco-1.1 (its .tar.gz beside it)
    unsigned: Path  # eco-1.2, cut with --unsigned
    stranger: Path  # a bundle of another distribution


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path) -> Bundles:
    base = tmp_path_factory.mktemp("channel")
    key, other = _keygen(base / "release_key"), _keygen(base / "other_key")
    dist = base / "dist"

    def release(name: str, packages: str, version: str, *how: str, distribution: str = "eco") -> None:
        folder = base / name
        path = eco_manifest_factory(manifest_writer(folder), wheelhouse, runner_wheels)(
            packages, suites={"sides": (["cfx-top"], SIDES)}, extra="matrix:\n  strategy: baseline\n"
        )
        text = path.read_text().replace('version: "1.0"', f'version: "{version}"')
        path.write_text(text.replace("distribution: eco", f"distribution: {distribution}"))
        assert main(["run", str(path), "--out", str(folder / "run"), "--plain"]) == 0
        argv = ["release", str(path), "--run", str(folder / "run"), "--out", str(dist), "--wheelhouse", *how]
        assert main(argv) == 0

    release("old", OLD, "1.0", "--key", str(key))
    release("new", NEW, "1.1", "--key", str(key))
    release("unsigned", NEW, "1.2", "--unsigned")
    release("stranger", OLD, "1.0", "--key", str(key), distribution="other")
    return Bundles(base, key, other, dist / "eco-1.0", dist / "eco-1.1", dist / "eco-1.2", dist / "other-1.0")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def channel(bundles: Bundles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A channel holding eco 1.0 (its folder) and 1.1 (its tarball), the log entries signed."""
    root = tmp_path_factory.mktemp("published") / "eco"
    for bundle in (bundles.old, bundles.new.with_name("eco-1.1.tar.gz")):
        assert main(["publish", str(bundle), "--channel", str(root), "--key", str(bundles.key)]) == 0
    return root


def test_publish_lays_out_the_channel(channel: Path) -> None:
    record = json.loads((channel / "channel.json").read_text())
    assert record["distribution"] == "eco"
    assert [r["version"] for r in record["releases"]] == ["1.1", "1.0"]
    assert record["stable"] == "1.1"
    assert record["releases"][0]["pythons"] == ["3.12"] and record["releases"][0]["platforms"] == ["any"]
    lines = (channel / "log.jsonl").read_bytes().splitlines()
    assert len(lines) == 2
    assert record["head"] == hashlib.sha256(lines[-1]).hexdigest()
    assert json.loads(lines[1])["previous"] == hashlib.sha256(lines[0]).hexdigest()
    assert not (channel / "releases" / "1.0" / "wheels").exists()
    for version in ("1.0", "1.1"):
        for name in ("SHA256SUMS", "SHA256SUMS.sig", "release.json", "constraints.txt", "simple/index.html"):
            assert (channel / "releases" / version / name).is_file(), (version, name)
    stored = sorted(p.name for p in (channel / "files").rglob("*.whl"))
    assert stored == [  # cfx-left, cfx-right and cfx-top 1.0 are in both releases, stored once
        "cfx_base-1.0-py3-none-any.whl",
        "cfx_base-2.0-py3-none-any.whl",
        "cfx_left-1.0-py3-none-any.whl",
        "cfx_right-1.0-py3-none-any.whl",
        "cfx_top-1.0-py3-none-any.whl",
    ]
    assert (channel / "releases" / "1.1" / "constraints.txt").read_text().splitlines()[2:] == [
        f"{name}=={version}" for name, version in sorted(SHIPPED_NEW.items())
    ]


def test_publishing_the_same_bundle_twice_changes_nothing(
    bundles: Bundles, channel: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(channel)
    for bundle in (bundles.old, bundles.new, bundles.new.with_name("eco-1.1.tar.gz")):
        assert main(["publish", str(bundle), "--channel", str(channel), "--key", str(bundles.key)]) == 0
        assert "is already published" in capsys.readouterr().out
    assert _snapshot(channel) == before  # byte for byte, not a file more or less (no lock file left either)


# ------------------------------------------------------------------------------- installing


# `python -m http.server`, answering a folder with `index.json` when the client asks for PEP 691 JSON,
# as the nginx and caddy configurations of docs/channel.md do
NEGOTIATING_SERVER = """
import http.server, os, sys
JSON = "application/vnd.pypi.simple.v1+json"
class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = self.translate_path(self.path)
        wanted = JSON in self.headers.get("Accept", "")
        if wanted and os.path.isdir(path) and os.path.isfile(os.path.join(path, "index.json")):
            body = open(os.path.join(path, "index.json"), "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", JSON)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Vary", "Accept")
            self.end_headers()
            sys.stderr.write("JSON " + self.path + "\\n")
            sys.stderr.flush()
            import io
            return io.BytesIO(body)
        return super().send_head()
http.server.test(HandlerClass=Handler, port=0, bind="127.0.0.1")
"""


@contextlib.contextmanager
def _serve(root: Path, *, negotiate: bool = False, log: Path | None = None) -> Iterator[str]:
    """`python -m http.server` on a free port of 127.0.0.1 serving `root`; its base URL. The server
    picks the port (port 0) and says which, so no other process can take it in between."""
    command = [sys.executable, "-u", *(("-c", NEGOTIATING_SERVER) if negotiate else ("-m", "http.server", "0"))]
    if not negotiate:
        command += ["--bind", "127.0.0.1"]
    with contextlib.ExitStack() as stack:
        errors = stack.enter_context(log.open("wb")) if log is not None else subprocess.DEVNULL
        server = stack.enter_context(
            subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=errors, text=True)
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 43211 (http://127.0.0.1:43211/) ..."
            found = re.search(r"port (\d+)", line)
            assert found, line
            yield f"http://127.0.0.1:{found[1]}"
        finally:
            server.terminate()
            server.wait(timeout=30)


def _venv(path: Path) -> Path:
    python = Finder().find("3.12").path
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """No configuration, no cache and no index but the one given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env |= {"PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never"}
    env["UV_CACHE_DIR"] = str(tmp_path / "uv-cache")  # fresh
    return env


def _install(tool: str, index: str, tmp_path: Path, *requirements: str) -> dict[str, str]:
    """Install into a fresh venv from `index` alone, with a fresh cache; what the venv then holds."""
    python = _venv(tmp_path / f"venv-{tool}")
    if tool == "pip":
        command = [sys.executable, "-m", "pip", "--isolated", "--python", str(python), "install", "--no-cache-dir"]
    else:
        command = [str(uv_binary()), "pip", "install", "--python", str(python), "--no-config"]
    done = subprocess.run(
        [*command, "--index-url", index, *(requirements or BLESSED)],
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return _installed(python)


def _installed(python: Path) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    done = subprocess.run([str(python), "-I", "-c", script], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    return {name.replace("_", "-").lower(): version for name, version in found.items()}


@pytest.mark.parametrize("tool", ["pip", "uv"])
@pytest.mark.parametrize(("index", "shipped"), [("releases/1.0/simple", SHIPPED_OLD), ("stable/simple", SHIPPED_NEW)])
@pytest.mark.parametrize("served", ["file", "http.server", "http.server+json"])
def test_pip_and_uv_install_exactly_the_blessed_versions(
    channel: Path, tmp_path: Path, tool: str, index: str, shipped: dict[str, str], served: str
) -> None:
    """From a channel of two releases, with a fresh cache and no other index: a release's own index
    gives exactly its versions; `stable` gives the newest good release's."""
    if served == "file":
        assert _install(tool, f"{channel.as_uri()}/{index}", tmp_path) == shipped
        return
    log = tmp_path / "server.log"
    with _serve(channel, negotiate=served.endswith("json"), log=log) as base:
        assert _install(tool, f"{base}/{index}", tmp_path) == shipped
    said = log.read_text()
    assert re.search(r'"GET /files/[0-9a-f]{64}/cfx_base-[0-9.]+-py3-none-any\.whl\.metadata HTTP', said)  # PEP 658
    if served.endswith("json"):  # the client read the PEP 691 JSON pages, not the HTML
        assert f"JSON /{index}/cfx-base/" in said


# ------------------------------------------------------------------------------- yanking


@pytest.fixture(scope="module")
def yanked(channel: Path, bundles: Bundles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the channel with 1.1 yanked."""
    root = shutil.copytree(channel, tmp_path_factory.mktemp("yanked") / "eco")
    argv = ["yank", "1.1", "--channel", str(root), "--reason", 'breaks "cfx-user" <1.1 & friends']
    assert main([*argv, "--key", str(bundles.key), "--key", str(bundles.other_key)]) == 0
    return root


REASON = 'breaks "cfx-user" <1.1 & friends'


def _links(page: Path) -> dict[str, str | None]:
    """File name → its data-yanked (None when not yanked), from a PEP 503 page."""
    found = {}
    for match in re.finditer(r"<a ([^>]*)>([^<]+)</a>", page.read_text()):
        yanked = re.search(r'data-yanked="([^"]*)"', match[1])
        found[match[2]] = yanked[1] if yanked else None
    return found


def test_a_yank_moves_stable_back_and_marks_the_files(yanked: Path) -> None:
    record = json.loads((yanked / "channel.json").read_text())
    assert record["stable"] == "1.0"
    assert [(r["version"], r["yanked"]) for r in record["releases"]] == [("1.1", REASON), ("1.0", None)]
    escaped = "breaks &#x27;cfx-user&#x27;".replace("&#x27;", "&quot;") + " &lt;1.1 &amp; friends"
    # simple/: only cfx-base 2.0 is in no good release
    assert _links(yanked / "simple" / "cfx-base" / "index.html") == {
        "cfx_base-1.0-py3-none-any.whl": None,
        "cfx_base-2.0-py3-none-any.whl": escaped,
    }
    assert _links(yanked / "simple" / "cfx-top" / "index.html") == {"cfx_top-1.0-py3-none-any.whl": None}
    files = json.loads((yanked / "simple" / "cfx-base" / "index.json").read_text())["files"]
    assert [(f["filename"], f["yanked"]) for f in files] == [
        ("cfx_base-1.0-py3-none-any.whl", False),
        ("cfx_base-2.0-py3-none-any.whl", REASON),
    ]
    # its own index: every file yanked; stable: release 1.0 again
    own = yanked / "releases" / "1.1" / "simple"
    assert set(_links(own / "cfx-top" / "index.html").values()) == {escaped}
    assert {f["yanked"] for f in json.loads((own / "cfx-top" / "index.json").read_text())["files"]} == {REASON}
    assert list(_links(yanked / "stable" / "simple" / "cfx-base" / "index.html")) == ["cfx_base-1.0-py3-none-any.whl"]
    entry = json.loads((yanked / "log.jsonl").read_bytes().splitlines()[-1])
    assert (entry["action"], entry["version"], entry["reason"], len(entry["signatures"])) == ("yank", "1.1", REASON, 2)
    assert all((yanked / "releases" / "1.1" / name).is_file() for name in ("SHA256SUMS", "release.json"))  # kept


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_after_a_yank_stable_and_the_whole_index_install_the_release_before(
    yanked: Path, tmp_path: Path, tool: str
) -> None:
    assert _install(tool, f"{yanked.as_uri()}/stable/simple", tmp_path / "stable") == SHIPPED_OLD
    assert _install(tool, f"{yanked.as_uri()}/simple", tmp_path / "all") == SHIPPED_OLD  # cfx-base 2.0 is yanked
    # PEP 592: a yanked file still installs when pinned exactly
    pinned = _install(tool, f"{yanked.as_uri()}/releases/1.1/simple", tmp_path / "pinned", "cfx-base==2.0")
    assert pinned == {"cfx-base": "2.0"}


def test_yanking_again_changes_nothing(yanked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(yanked)
    assert main(["yank", "1.1", "--channel", str(yanked), "--reason", "another reason"]) == 0
    assert f"is already yanked ({REASON})" in capsys.readouterr().out
    assert _snapshot(yanked) == before


# ------------------------------------------------------------------------------- verifying


def test_verify_a_channel(channel: Path, yanked: Path, bundles: Bundles, capsys: pytest.CaptureFixture[str]) -> None:
    for root in (channel, yanked):
        assert main(["verify", str(root)]) == 0
        out = capsys.readouterr().out
        assert "verified" in out and "5 files match" in out
        head = json.loads((root / "channel.json").read_text())["head"]
        assert f"head: {head}" in out
    assert main(["verify", str(yanked), "--pubkey", f"{bundles.key}.pub", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["verified"], result["releases"], result["yanked"], result["stable"]) == (True, 2, 1, "1.0")
    assert (result["entries"], result["signed_entries"], result["trusted_key"]) == (3, 3, True)
    assert main(["verify", str(yanked), "--pubkey", f"{bundles.other_key}.pub"]) == 1  # not the releases' key
    assert "releases/1.0/SHA256SUMS.sig: bad signature of SHA256SUMS: made with key" in capsys.readouterr().err


def _stored_wheel(root: Path) -> str:
    (path,) = root.glob("files/*/cfx_base-1.0-py3-none-any.whl")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    return f"{path.relative_to(root).as_posix()}: changed"


def _release_folder(root: Path) -> str:
    shutil.rmtree(root / "releases" / "1.1")
    return "releases/1.1/: missing (published by log.jsonl:2)"


def _a_page(root: Path) -> str:
    page = root / "stable" / "simple" / "cfx-base" / "index.html"
    page.write_text(page.read_text().replace("cfx_base-1.0", "cfx_base-1.1"))
    return "stable/simple/cfx-base/index.html: changed"


def _a_page_added(root: Path) -> str:
    (root / "simple" / "evil").mkdir()
    (root / "simple" / "evil" / "index.html").write_text("<a href='https://example.org/evil.whl'>evil</a>")
    return "simple/evil/index.html: extra"


def _the_channel_page(root: Path) -> str:
    page = root / "index.html"
    page.write_text(
        page.read_text().replace("--index-url <span data-channel>CHANNEL</span>", "--index-url https://evil.example", 1)
    )
    return "index.html: changed (not the file the log and the release folders give)"


def _the_channel_page_of_another_curator(root: Path) -> str:
    page = root / "index.html"
    page.write_text(re.sub(r'content="curator [^"]+"', 'content="curator 0.0.9"', page.read_text(), count=1))
    return (
        f"index.html: written by curator 0.0.9, and this is curator {__version__}, which writes the page "
        "differently: verify with curator 0.0.9"
    )


def _channel_json(root: Path) -> str:
    path = root / "channel.json"
    path.write_text(path.read_text().replace('"stable": "1.0"', '"stable": "1.1"'))
    return "channel.json: changed (it is not what log.jsonl says)"


def _metadata(root: Path) -> str:
    (path,) = root.glob("files/*/cfx_top-1.0-py3-none-any.whl.metadata")
    path.write_text(path.read_text().replace("Requires-Python: >=3.8", "Requires-Python: >=3.13"))
    return f"{path.relative_to(root).as_posix()}: changed (it is not the wheel's own core metadata)"


def _a_release_file(root: Path) -> str:
    lock = root / "releases" / "1.0" / "locks" / "py3.12.txt"
    lock.write_text(lock.read_text().replace("cfx-base==1.0", "cfx-base==2.0"))
    return "releases/1.0/locks/py3.12.txt: changed"


def _a_log_line(root: Path) -> str:
    log = root / "log.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[0] = re.sub(rb'"time":"\d{4}', b'"time":"2001', lines[0])  # published long ago, says the line now
    log.write_bytes(b"".join(lines))
    return "log.jsonl:2 (publish 1.1): its `previous` is not the sha256 of the line before it"


def _an_unpublished_folder(root: Path) -> str:
    shutil.copytree(root / "releases" / "1.0", root / "releases" / "0.9")
    return "releases/0.9/: extra (no entry of log.jsonl publishes it)"


@pytest.mark.parametrize(
    "tamper",
    [
        _stored_wheel,
        _release_folder,
        _a_page,
        _a_page_added,
        _the_channel_page,
        _the_channel_page_of_another_curator,
        _channel_json,
        _metadata,
        _a_release_file,
        _a_log_line,
        _an_unpublished_folder,
    ],
)
def test_verify_names_what_changed_in_a_channel(
    yanked: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], tamper: Callable[[Path], str]
) -> None:
    root = shutil.copytree(yanked, tmp_path / "eco")
    problem = tamper(root)
    assert main(["verify", str(root)]) == 1
    err = capsys.readouterr().err
    assert problem in err, err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------- refusals


def _not_a_bundle(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README").write_text("hello\n")
    return ["publish", str(folder), "--channel", str(root)]


def _a_file_that_is_not_a_bundle(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    (tmp_path / "eco-1.3.tar.gz").write_bytes(b"not gzip")
    return ["publish", str(tmp_path / "eco-1.3.tar.gz"), "--channel", str(root)]


def _no_such_bundle(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    return ["publish", str(tmp_path / "eco-9.9"), "--channel", str(root)]


def _another_distribution(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    return ["publish", str(bundles.stranger), "--channel", str(root)]


def _unsigned_without_asking(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    return ["publish", str(bundles.unsigned), "--channel", str(root)]


def _another_bundle_under_a_published_version(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    """The unsigned 1.2, relabelled 1.1: a bundle that verifies, but 1.1 is published with other contents."""
    from curator.release import archive as files

    bundle = shutil.copytree(bundles.unsigned, tmp_path / "eco-1.1")
    record = bundle / "release.json"
    record.write_text(record.read_text().replace('"version": "1.2"', '"version": "1.1"'))
    (bundle / "SHA256SUMS").write_text(files.render_sums(bundle))
    return ["publish", str(bundle), "--channel", str(root), "--allow-unsigned"]


def _a_bundle_without_wheels(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    """Cut without --wheelhouse: it verifies, but a channel of it would serve nothing to install."""
    from curator.release import archive as files

    bundle = shutil.copytree(bundles.unsigned, tmp_path / "eco-1.3")
    shutil.rmtree(bundle / "wheels")
    for lock in (bundle / "locks").glob("pylock.*.toml"):
        lock.unlink()
    record = bundle / "release.json"
    record.write_text(record.read_text().replace('"version": "1.2"', '"version": "1.3"'))
    (bundle / "SHA256SUMS").write_text(files.render_sums(bundle))
    assert main(["verify", str(bundle)]) == 0
    return ["publish", str(bundle), "--channel", str(root), "--allow-unsigned"]


def _a_version_not_in_the_channel(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    return ["yank", "2.0", "--channel", str(root), "--reason", "broken"]


def _no_reason(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    return ["yank", "1.1", "--channel", str(root)]


def _an_empty_reason(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    return ["yank", "1.1", "--channel", str(root), "--reason", "  "]


def _a_reason_of_two_lines(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    return ["yank", "1.1", "--channel", str(root), "--reason", "broken\n<script>"]


def _yank_from_a_folder_that_is_no_channel(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    return ["yank", "1.1", "--channel", str(tmp_path), "--reason", "broken"]


def _publish_into_a_folder_of_something_else(bundles: Bundles, root: Path, tmp_path: Path) -> list[str]:
    (tmp_path / "thesis.tex").write_text("\\documentclass{article}\n")
    return ["publish", str(bundles.old), "--channel", str(tmp_path)]


@pytest.mark.parametrize(
    "bad",
    [
        _not_a_bundle,
        _a_file_that_is_not_a_bundle,
        _no_such_bundle,
        _another_distribution,
        _unsigned_without_asking,
        _another_bundle_under_a_published_version,
        _a_bundle_without_wheels,
        _a_version_not_in_the_channel,
        _no_reason,
        _an_empty_reason,
        _a_reason_of_two_lines,
        _yank_from_a_folder_that_is_no_channel,
        _publish_into_a_folder_of_something_else,
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    bundles: Bundles, channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: Callable[..., list[str]]
) -> None:
    root = shutil.copytree(channel, tmp_path / "eco")
    argv = bad(bundles, root, tmp_path)
    before, around = _snapshot(root), sorted(p.name for p in tmp_path.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("curator: error: ") and err.count("\n") == 1, err
    assert _snapshot(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == around


def test_a_channel_of_another_distribution_names_both(
    bundles: Bundles, channel: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", str(bundles.stranger), "--channel", str(channel)]) == 2
    assert "the channel of eco, not of other" in capsys.readouterr().err


def _sums_not_utf8(root: Path) -> str:
    with (root / "releases" / "1.0" / "SHA256SUMS").open("ab") as sums:
        sums.write(b"\xff")
    return "releases/1.0/SHA256SUMS: unreadable"


def _record_removed(root: Path) -> str:
    (root / "releases" / "1.0" / "release.json").unlink()
    return "releases/1.0/release.json: missing"


def _stored_wheel_removed(root: Path) -> str:
    (wheel,) = root.glob("files/*/cfx_base-1.0-*.whl")
    wheel.unlink()
    return f"{wheel.relative_to(root).as_posix()}: missing"


@pytest.mark.parametrize("damage", [_sums_not_utf8, _record_removed, _stored_wheel_removed])
@pytest.mark.parametrize("command", ["publish", "yank"])
def test_a_damaged_release_folder_refuses_a_change_in_one_line_and_nothing_is_written(
    bundles: Bundles,
    channel: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], str],
    command: str,
) -> None:
    """Before: publish and yank over a channel whose release folder was damaged ended in a traceback."""
    root = shutil.copytree(channel, tmp_path / "eco")
    problem = damage(root)
    before = _snapshot(root)
    if command == "publish":
        argv = ["publish", str(bundles.unsigned), "--channel", str(root), "--allow-unsigned"]
    else:
        argv = ["yank", "1.1", "--channel", str(root), "--reason", "broken", "--key", str(bundles.key)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert problem in err and "nothing was written" in err, err
    assert _snapshot(root) == before


def test_a_tampered_bundle_is_refused_and_nothing_is_written(
    bundles: Bundles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = shutil.copytree(bundles.new, tmp_path / "eco-1.1")
    (wheel,) = bundle.glob("wheels/cfx_base-*.whl")
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 1
    wheel.write_bytes(bytes(data))
    root = tmp_path / "channel"
    assert main(["publish", str(bundle), "--channel", str(root)]) == 1
    err = capsys.readouterr().err
    assert f"wheels/{wheel.name}: changed" in err and "refusing to publish it" in err
    assert not root.exists()


def test_an_unsigned_bundle_is_published_when_asked_and_says_so(
    bundles: Bundles, channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shutil.copytree(channel, tmp_path / "eco")
    assert main(["publish", str(bundles.unsigned), "--channel", str(root), "--allow-unsigned"]) == 0
    assert "UNSIGNED" in capsys.readouterr().out
    record = json.loads((root / "channel.json").read_text())
    assert record["stable"] == "1.2"
    argv = ["publish", str(bundles.unsigned), "--channel", str(root), "--allow-unsigned", "--format", "json"]
    assert main(argv) == 0
    said = json.loads(capsys.readouterr().out)
    assert (said["command"], said["changed"], said["version"], said["head"]) == (
        "publish",
        False,
        "1.2",
        record["head"],
    )
    assert main(["yank", "1.2", "--channel", str(root), "--reason", "unsigned", "--format", "json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert (said["command"], said["changed"], said["stable"], said["reason"]) == ("yank", True, "1.1", "unsigned")
    assert main(["verify", str(root)]) == 0
    assert "UNSIGNED release(s): 1.2" in capsys.readouterr().out
    page = (root / "index.html").read_text()
    assert page.index('id="release-1.2"') < page.index('id="release-1.1"') < page.index('id="release-1.0"')


# ------------------------------------------------------------------------------- interrupted


class Killed(BaseException):
    """kill -9: the command stops where it is, and none of its own clean-up runs."""


def _kill(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    from curator.channel import commit

    placed = 0
    place = commit._place

    def killing(source: Path, target: Path) -> None:
        nonlocal placed
        if when == str(placed) or (when == "log" and target.name == "log.jsonl"):
            raise Killed
        placed += 1
        place(source, target)

    def before_the_journal(_self: commit.Staging, _journal: commit.Journal) -> None:
        raise Killed

    def before_the_staging_folder_goes(*_args: object, **_kwargs: object) -> None:
        raise Killed

    monkeypatch.setattr(commit, "_place", killing)
    if when == "journal":
        monkeypatch.setattr(commit.Staging, "commit", before_the_journal)
    if when == "cleanup":
        monkeypatch.setattr(commit, "shutil", SimpleNamespace(rmtree=before_the_staging_folder_goes))
    monkeypatch.setattr(commit.Staging, "abandon", lambda _self: None)


@pytest.mark.parametrize("when", ["journal", "0", "3", "log", "cleanup"])
def test_a_publish_killed_midway_leaves_the_channel_as_it_was_or_is_finished_by_the_next(
    bundles: Bundles, channel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    root = tmp_path / "eco"
    assert main(["publish", str(bundles.old), "--channel", str(root)]) == 0
    before = _snapshot(root)
    publish = ["publish", str(bundles.new), "--channel", str(root)]
    with monkeypatch.context() as patch:
        _kill(patch, when)
        with pytest.raises(Killed):
            main(publish)
    (pending,) = root.glob(".channel.partial-*")
    if when == "journal":  # killed before the journal: nothing in place changed
        assert {k: v for k, v in _snapshot(root).items() if not k.startswith(".channel.partial-")} == before
    if when != "cleanup":
        assert (root / "log.jsonl").read_bytes() == before["log.jsonl"]  # the log is placed last
    capsys.readouterr()
    assert main(["verify", str(root)]) == 1
    assert f"{pending.name}/: a publish or yank under way, or interrupted" in capsys.readouterr().err
    assert main(publish) == 0
    said = capsys.readouterr().out
    if when == "journal":
        assert "published eco 1.1" in said  # the staging folder went, and the publish was made again
    else:
        assert "recovered: finished an interrupted change" in said and "already published" in said
    assert main(["verify", str(root)]) == 0
    assert sorted(_snapshot(root)) == sorted(_snapshot(channel))  # the same files as a publish never killed


# ------------------------------------------------------------------------------- signatures, the page


def test_each_log_entry_signature_checks_with_jq_and_ssh_keygen(yanked: Path, bundles: Bundles, tmp_path: Path) -> None:
    """What an entry's signature signs is the line without `signatures`, as `jq -cjS` prints it."""
    line = (yanked / "log.jsonl").read_bytes().splitlines()[-1]  # the yank, signed by two keys
    signed = subprocess.run(["jq", "-cjS", "del(.signatures)"], input=line, capture_output=True, check=True).stdout
    for key in (bundles.key, bundles.other_key):
        fingerprint = subprocess.run(
            ["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True, check=True
        ).stdout.split()[1]
        signature = tmp_path / "entry.sig"
        signature.write_text(json.loads(line)["signatures"][fingerprint])
        allowed = tmp_path / "allowed_signers"
        allowed.write_text(f'maintainer namespaces="curator" {Path(f"{key}.pub").read_text()}')
        command = ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "maintainer", "-n", "curator"]
        done = subprocess.run([*command, "-s", str(signature)], input=signed, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        forged = subprocess.run(
            [*command, "-s", str(signature)], input=signed.replace(b"1.1", b"1.0"), capture_output=True, check=False
        )
        assert forged.returncode != 0


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def test_the_channel_page_in_a_browser(channel: Path, yanked: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with _serve(channel) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console", lambda m: problems.append(f"{m.text} {m.location['url']}") if m.type == "error" else None
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{base}/index.html")
            rows = page.locator("tr.release")
            assert [rows.nth(i).get_attribute("data-version") for i in range(rows.count())] == ["1.1", "1.0"]
            assert rows.nth(0).locator(".badge.stable").is_visible()
            assert rows.nth(0).locator(".badge.yanked").count() == 0
            assert "py3.12-baseline" in rows.nth(0).inner_text() and "sides: passed" in rows.nth(0).inner_text()
            commands = page.locator("#install pre").first.inner_text()
            assert (
                f"pip install --index-url {base}/stable/simple cfx-top cfx-base" in commands
            )  # the page's own address
            assert f"uv pip install --index-url {base}/stable/simple cfx-top cfx-base" in commands
            with page.expect_navigation():
                rows.nth(1).locator("a.evidence").click()
            assert page.url == f"{base}/releases/1.0/report/index.html"
            assert "eco" in page.title()
            page.go_back()
            with page.expect_navigation():
                rows.nth(1).get_by_text("index").click()
            assert "cfx-base" in page.locator("body").inner_text()  # the release's simple index, as a browser sees it

            page.goto((yanked / "index.html").as_uri())  # from disk, after the yank
            rows = page.locator("tr.release")
            first = rows.nth(0)
            assert first.locator(".badge.yanked").is_visible()
            assert first.locator(".reason").inner_text() == REASON  # the reason as text, its markup escaped
            assert rows.nth(1).locator(".badge.stable").is_visible()
            assert f"{yanked.as_uri()}/stable/simple" in page.locator("#install pre").first.inner_text()
        finally:
            browser.close()
    # no CSP violation, no script error (the browser's own look for /favicon.ico on pages without an icon aside)
    assert [p for p in problems if not p.endswith("/favicon.ico")] == []


def test_a_channel_whose_log_is_lost_is_not_started_over(
    bundles: Bundles, channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shutil.copytree(channel, tmp_path / "eco")
    (root / "log.jsonl").unlink()
    before = _snapshot(root)
    assert main(["publish", str(bundles.unsigned), "--channel", str(root), "--allow-unsigned"]) == 1
    assert "its history is lost" in capsys.readouterr().err
    assert _snapshot(root) == before
    assert main(["verify", str(root)]) == 1
    assert "log.jsonl: missing or empty" in capsys.readouterr().err


def _page_commands(page: Path, base: str) -> list[str]:
    """The install commands the channel's page shows, with its address in them."""
    text = page.read_text()
    section = text[text.index('<section id="install">') : text.index("</section>")]
    blocks = re.findall(r"<pre><code>(.*?)</code></pre>", section, re.DOTALL)
    lines = [
        html_lib.unescape(re.sub(r"<[^>]+>", "", b.replace("<span data-channel>CHANNEL</span>", base))) for b in blocks
    ]
    return [line for block in lines for line in block.splitlines()]


@pytest.mark.parametrize("served", ["file", "http.server"])
def test_the_install_commands_on_the_page_work_as_shown(channel: Path, tmp_path: Path, served: str) -> None:
    with contextlib.ExitStack() as stack:
        base = channel.as_uri() if served == "file" else stack.enter_context(_serve(channel))
        commands = _page_commands(channel / "index.html", base)
        assert len(commands) == 4
        for number, command in enumerate(commands):
            words = command.split()
            python = _venv(tmp_path / f"venv-{number}")
            if words[:2] == ["pip", "install"]:
                argv = [sys.executable, "-m", "pip", "--isolated", "--python", str(python), "install", "--no-cache-dir"]
            else:
                assert words[:3] == ["uv", "pip", "install"]
                argv = [str(uv_binary()), "pip", "install", "--python", str(python), "--no-config"]
            rest = words[3:] if words[0] == "uv" else words[2:]
            if "--index-url" not in rest:  # the constraints example installs from "another index": the whole channel's
                rest += ["--index-url", f"{base}/simple"]
            done = subprocess.run([*argv, *rest], env=_clean_env(tmp_path), capture_output=True, text=True, check=False)
            assert done.returncode == 0, command + "\n" + done.stdout + done.stderr
            assert _installed(python) == SHIPPED_NEW, command


def test_one_command_at_a_time_changes_a_channel(
    bundles: Bundles, channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from curator.host.locking import FolderLock

    root = shutil.copytree(channel, tmp_path / "eco")
    with FolderLock.take(root, command="publish", what=f"the channel {root}"):
        before = _snapshot(root)
        assert main(["publish", str(bundles.unsigned), "--channel", str(root), "--allow-unsigned"]) == 2
        assert main(["yank", "1.1", "--channel", str(root), "--reason", "broken"]) == 2
        err = capsys.readouterr().err
        assert err.count(f"the channel {root} is in use by curator publish (pid {os.getpid()}") == 2, err
        assert _snapshot(root) == before
