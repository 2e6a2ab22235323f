"""JSON APIs' stand-ins on loopback (GitHub's, Atlas's), for the tests of what calls them:
a request handler that answers in JSON and a server that runs it for a ``with``."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class JsonHandler(BaseHTTPRequestHandler):
    """Reads a request's JSON (``payload``), answers in JSON (``reply``), logs nothing."""

    media = "application/json"
    """The answers' Content-Type."""

    def payload(self) -> Any:
        """The request's JSON body; None when it has none."""
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """Answer ``status`` with ``body`` as JSON (no body for None) and ``headers``."""
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", self.media)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class Serving:
    """``handler`` served on a free loopback port, in a thread, while the ``with`` lasts."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
