"""A real HTTP receiver on loopback for the webhook tests: it records every request and
answers what the test told it to (a status and a body per path)."""

from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]


@dataclass
class Receiver:
    server: http.server.ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    holds: dict[str, threading.Event] = field(default_factory=dict)  # answer once set

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.requests)

    def events(self) -> list[str]:
        return [r.params.get("EventType", "") for r in self.requests]


def start_receiver(port: int = 0) -> Receiver:
    holder: dict[str, Receiver] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self, params: dict[str, Any]) -> None:
            receiver = holder["r"]
            path = urlsplit(self.path).path
            receiver.requests.append(Received(self.command, self.path, dict(self.headers),
                                              params))
            if path in receiver.holds:
                receiver.holds[path].wait(60)
            status, body = receiver.answers.get(path, (200, b""))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            self._record(dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)))

        def do_GET(self) -> None:  # noqa: N802
            self._record(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    holder["r"] = receiver
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
