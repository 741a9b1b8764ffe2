"""`convo serve`'s HTTP side: a raw ASGI app around `Engine.handle`, run on uvicorn.

No web framework: the engine already routes and speaks Twilio's wire format, so this layer
only checks what HTTP adds (credentials, body size, write rate), gives the engine the base
URL the client used, and logs one line per request.

The engine runs on the event loop's thread with its one SQLite connection, so requests are
answered one at a time: message indexes stay gapless and unique names unique without a lock,
SQLite never sees two threads, and it measured faster than a thread pool (4.8k message
writes/s against 2.0k with a connection per thread). uvicorn, an optional extra, is imported
in `run` only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import hmac
import json
import signal
import socket
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from convo_cli.errors import ConvoError, ExitCode, UsageError

# The largest valid request (a 32 KB body and 4 KB of attributes, percent-encoded: up to
# three bytes each) fits with room to spare; anything bigger is refused before it is read.
MAX_BODY = 256 * 1024
# Twilio documents no error code for a body too large: this one follows its pattern of
# 20000 + the HTTP status (20404, 20429).
BODY_TOO_LARGE = 20413
INSTALL_HINT = "convo serve needs uvicorn: pip install 'convo[serve]'"

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
# Control characters (C0 and C1) in a logged request line are shown, not sent to a terminal.
_CONTROL = {i: f"\\x{i:02x}" for i in (*range(0x20), *range(0x7f, 0xa0))}


class RateLimit:
    """At most `per_second` writes per conversation in each second of the clock (Twilio
    limits actions per second per conversation, and answers 429 beyond)."""

    def __init__(self, per_second: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second, self.clock = per_second, clock
        self._second = -1
        self._counts: dict[str, int] = {}

    def allow(self, key: str) -> bool:
        second = int(self.clock())
        if second != self._second:
            self._second, self._counts = second, {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count <= self.per_second


class App:
    """The ASGI application: `App(engine, account_sid, auth_token, base_url=…)`."""

    def __init__(self, engine: Engine, account_sid: str, auth_token: str, *, base_url: str,
                 rate_limit: int | None = None, log: Callable[[str], Any] | None = None) -> None:
        self.engine = engine
        self._user, self._password = account_sid.encode(), auth_token.encode()
        self.base_url = base_url  # the bind address: when a request names no usable Host
        self.limit = RateLimit(rate_limit) if rate_limit else None
        self._log = log or sys.stderr.write
        self._second, self._stamp = -1, ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off and websockets are not served
        started = time.perf_counter()
        try:
            status, headers, body = await self._answer(scope, receive)
        except _Gone:
            self._log_request(scope, 499, started)  # nginx's "client closed request"
            return
        except Exception:  # noqa: BLE001 - a client gets Twilio's 500, the log the traceback
            self.log(traceback.format_exc())
            status, headers, body = error(500, 20500, "Internal Server Error")
        headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self._log_request(scope, status, started)

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if not self._authorized(headers.get("authorization")):
            return error(401, 20003, "Authenticate",
                         [(b"www-authenticate", b'Basic realm="Twilio API"')])
        method = scope["method"]
        body = b""
        if method == "POST":  # the engine reads no other method's body
            body = await _read_body(receive, headers.get("content-length"))
            if body is None:
                return error(413, BODY_TOO_LARGE,
                             f"Request body too large: the limit is {MAX_BODY} bytes")
        # Still percent-encoded: the engine splits the path, then decodes each segment (a
        # unique name may hold a `/`).
        path = _text(scope.get("raw_path") or scope["path"].encode())
        if self.limit and method in ("POST", "DELETE"):
            bucket = _bucket(path)
            if not self.limit.allow(bucket):
                # Refused before the engine sees it: a 429 is never processed, safe to retry.
                scope_ = "conversation" if bucket else "service"
                return error(429, 20429, f"Too Many Requests: more than "
                             f"{self.limit.per_second} writes per second to this {scope_}",
                             [(b"retry-after", b"1")])
        query = _text(scope["query_string"])
        # A pre-event webhook is asked off the event loop (up to 5 s): other clients go on.
        call = self.engine.pre_event_call(method, path, query, body, headers)
        pre_answer = await asyncio.to_thread(call.send) if call is not None else None
        status, pairs, payload = self.engine.handle(
            method, path, query, body, headers,
            base_url=self._base_url(scope, headers.get("host")), pre_answer=pre_answer)
        return status, [(k.lower().encode(), v.encode()) for k, v in pairs], payload

    def _authorized(self, header: str | None) -> bool:
        if header is None or header[:6].lower() != "basic ":
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        # Both compared in constant time, and both always: the timing tells nothing.
        return hmac.compare_digest(user, self._user) & hmac.compare_digest(password, self._password)

    def _base_url(self, scope: Scope, host: str | None) -> str:
        """The URL the client used, so that `url`, `links` and paging URLs work from where
        it is (twilio-python follows `next_page_url` verbatim). A missing or odd Host header
        (one that could not be part of a URL) gets the bind address instead."""
        if not host or not _HOST_CHARACTERS.issuperset(host):
            return self.base_url
        return f"{scope.get('scheme', 'http')}://{host}"

    def _log_request(self, scope: Scope, status: int, started: float) -> None:
        now = int(time.time())
        if now != self._second:
            self._second, self._stamp = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        client = scope.get("client")
        target = scope.get("raw_path") or b""
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        line = target.decode("latin-1").translate(_CONTROL)
        milliseconds = (time.perf_counter() - started) * 1000
        self.log(f'{self._stamp} {client[0] if client else "-"} "{scope["method"]} {line}" '
                 f"{status} {milliseconds:.1f}ms\n")

    def log(self, text: str) -> None:
        try:
            self._log(text)
        except (OSError, ValueError):
            pass  # standard error closed (`convo serve 2>&1 | head`): serve on, unlogged


class _Gone(Exception):
    """The client disconnected before its request was whole."""


async def _read_body(receive: Receive, length: str | None) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY (refused unread when
    Content-Length says so, and as soon as it grows past the limit otherwise)."""
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _text(raw: bytes) -> str:
    """A path or query string for the engine. Bytes that are not UTF-8 are passed on
    percent-encoded, so that the engine refuses them (404, 400) as it does those sent so."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        from urllib.parse import quote_from_bytes

        return quote_from_bytes(raw, safe="".join(map(chr, range(0x21, 0x7f))))


def _bucket(path: str) -> str:
    """Which rate-limit bucket a write counts against: its conversation (as addressed; a SID
    and a unique name count apart), or the service for the rest (creating a conversation,
    users), as Twilio counts actions per Service."""
    parts = path.split("/", 4)  # ['', 'v1', 'Conversations', 'CH…', …]
    return parts[3] if len(parts) > 3 and parts[2] == "Conversations" else ""


def error(status: int, code: int, message: str,
          headers: list[tuple[bytes, bytes]] | None = None) -> Answer:
    body = {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    return (status, [(b"content-type", b"application/json; charset=utf-8"), *(headers or [])],
            json.dumps(body).encode())


# Running it.

def require_uvicorn() -> None:
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConvoError(INSTALL_HINT) from None


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here rather than by uvicorn so that a port in use is one
    clear line, and `--port 0` can say which port it got."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as failure:
        raise UsageError(f"--host {host}: {failure.strerror}") from None
    sock = socket.socket(family, kind, proto)
    # Restart at once after a stop: connections left in TIME_WAIT do not hold the port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as failure:
        sock.close()
        hint = " (is another server running? choose another --port)" \
            if failure.errno == errno.EADDRINUSE else ""
        raise ConvoError(f"cannot listen on {url_of(host, port)}: "
                         f"{failure.strerror or failure}{hint}") from None
    return sock


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: Any) -> None:
    raise _Stop(signum)


def run(app: App, sock: socket.socket) -> int:
    """Serve until SIGINT or SIGTERM; requests in flight complete first (uvicorn's graceful
    shutdown). Exit code: 0 after SIGTERM (a service manager's stop), 130 after SIGINT."""
    import logging

    import uvicorn

    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter("convo serve: %(message)s"))
    for name in ("uvicorn.error", "convo.engine"):
        logger = logging.getLogger(name)
        logger.addHandler(stream)
        logger.propagate = False
    # A stop waits for the requests in flight, but not forever for a client that trickles.
    config = uvicorn.Config(app, lifespan="off", ws="none", log_config=None, log_level="warning",
                            access_log=False, server_header=False, timeout_graceful_shutdown=30)
    # uvicorn catches both signals while it serves, shuts down gracefully, then raises the
    # signal again: these handlers turn that into a return.
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.Server(config).run(sockets=[sock])
        return ExitCode.OK
    except _Stop as stop:
        return ExitCode.INTERRUPTED if stop.signum == signal.SIGINT else ExitCode.OK
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
