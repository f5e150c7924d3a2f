"""A real package index for tests: PEP 691 JSON (with PEP 700 upload times) and PEP 503 HTML,
served over loopback HTTP from a thread, to which releases are published between "nights".

Both uv (resolving the cells) and curator (finding the newest releases) read it as they would
read any index; nothing is faked below the HTTP line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from tests.ecosystem import FakeDist, build_wheel

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class Entry:
    """One file on the index."""

    path: Path
    uploaded: dt.datetime
    yanked: str | None = None  # a reason, or None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class SimpleIndex:
    """The index's content; `serve()` makes it reachable at `url`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, list[Entry]] = {}
        self.url = ""
        self.requests: list[str] = []
        self.agents: list[tuple[str, str]] = []  # (User-Agent, path) of every request: who asked for what
        self.fail = False  # answer every request with a 503, as a broken index would

    def publish(self, dist: FakeDist, when: dt.datetime) -> Path:
        """Build a fixture release's wheel and list it on the index, uploaded at `when`."""
        path = build_wheel(dist, self.folder / "files")
        name = canonicalize_name(dist.name)
        self.files.setdefault(name, []).append(Entry(path, when))
        return path

    def yank(self, name: str, version: str, reason: str = "broken") -> None:
        """Mark a release's files yanked (PEP 592)."""
        for entry in self.files[canonicalize_name(name)]:
            if str(parse_wheel_filename(entry.path.name)[1]) == version:
                entry.yanked = reason

    def page_json(self, name: str) -> bytes:
        files = [
            {
                "filename": e.path.name,
                "url": f"{self.url.removesuffix('/simple')}/files/{e.path.name}",
                "hashes": {"sha256": e.sha256},
                "requires-python": ">=3.8",
                "upload-time": e.uploaded.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "yanked": e.yanked if e.yanked is not None else False,
            }
            for e in self.files[name]
        ]
        return json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()

    def page_html(self, name: str) -> bytes:
        links = []
        for e in self.files[name]:
            yanked = f' data-yanked="{html.escape(e.yanked)}"' if e.yanked is not None else ""
            href = f"{self.url.removesuffix('/simple')}/files/{e.path.name}#sha256={e.sha256}"
            links.append(f'<a href="{href}" data-requires-python="&gt;=3.8"{yanked}>{e.path.name}</a><br>')
        return f"<!DOCTYPE html><html><body>{''.join(links)}</body></html>".encode()

    @contextmanager
    def serve(self) -> Iterator[SimpleIndex]:
        """Serve over loopback HTTP until the block ends."""
        index = self

        class Handler(BaseHTTPRequestHandler):
            head = False

            def do_HEAD(self) -> None:
                self.head = True
                self.do_GET()

            def do_GET(self) -> None:
                index.requests.append(self.path)
                index.agents.append((self.headers.get("User-Agent", ""), self.path))
                if index.fail:
                    self._send(503, "text/plain", b"index down")
                    return
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                if len(parts) == 2 and parts[0] == "simple" and canonicalize_name(parts[1]) in index.files:
                    name = canonicalize_name(parts[1])
                    if JSON_TYPE in self.headers.get("Accept", ""):
                        self._send(200, JSON_TYPE, index.page_json(name))
                    else:
                        self._send(200, "text/html", index.page_html(name))
                elif len(parts) == 2 and parts[0] == "files" and (index.folder / "files" / parts[1]).is_file():
                    self._send(200, "application/octet-stream", (index.folder / "files" / parts[1]).read_bytes())
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-cache, max-age=0")
                self.end_headers()
                if not self.head:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, name="simple-index", daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/simple"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
