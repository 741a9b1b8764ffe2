"""The limits of `convo serve`'s connections, which uvicorn's fast protocol lacks.

uvicorn's httptools protocol is the fastest it has (26.9k req/s on a bare app against 9.3k
with h11, DESIGN.md), but it reads a header of any size, never closes a connection that
sends nothing or trickles a byte a second, and accepts connections until the process runs
out of files. `protocol_class` returns that protocol with those limits added, and its writes
held to the end of each turn of the loop (`server.Output`); everything else (parsing,
pipelining, flow control, keep-alive) stays uvicorn's.

uvicorn is an optional extra, so it is imported when the class is made, not here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convo_cli.engine.server import Output

# The request line and headers of one request, in bytes. Twilio's clients send well under
# 2 KB; 64 KB leaves room for any proxy's additions. Beyond it: 431, and the connection closed.
MAX_HEAD = 64 * 1024
# From a request's first byte to its last (head and body): a client that trickles is closed
# (408), so it holds a connection for this long at most.
REQUEST_DEADLINE = 10.0
# A connection with no request in progress (just opened, or after a response) is closed
# after this long without a byte.
IDLE_TIMEOUT = 5.0
# Open connections at once. Kept well below the process's open-file limit (raised at
# start), so that the server can always accept and answer. At the limit a new connection
# takes the place of the one idle longest, or reading a request slowly longest; when every
# one is busy being answered, it is answered 503 and closed.
MAX_CONNECTIONS = 1000
# A request still arriving after this long is slow (a real client sends its head in one
# packet): its connection may be closed to make room at the limit.
SLOW_START = 1.0
# A refused or timed-out connection is logged at most once in this many seconds per kind,
# with a count of those since, so that a flood does not flood the log too.
NOTICE_INTERVAL = 10.0

Log = Callable[[str], Any]


def _raw_answer(status: str, code: int, message: str, extra: bytes = b"") -> bytes:
    body = json.dumps({"code": code, "message": message, "status": int(status[:3]),
                       "more_info": f"https://www.twilio.com/docs/errors/{code}"}).encode()
    return (b"HTTP/1.1 " + status.encode() + b"\r\ncontent-type: application/json; "
            b"charset=utf-8\r\n" + extra + b"content-length: %d\r\nconnection: close\r\n\r\n"
            % len(body) + body)


TOO_LARGE = _raw_answer("431 Request Header Fields Too Large", 20431,
                        f"Request header fields too large: the limit is {MAX_HEAD} bytes")
TOO_SLOW = _raw_answer("408 Request Timeout", 20408,
                       f"Request not complete within {REQUEST_DEADLINE:g} seconds")
FULL = _raw_answer("503 Service Unavailable", 20503,
                   "Service Unavailable: too many connections", b"retry-after: 1\r\n")


class Notices:
    """One log line per kind of trouble per NOTICE_INTERVAL, counting the rest."""

    def __init__(self, log: Log, clock: Callable[[], float] = time.monotonic) -> None:
        self.log, self.clock = log, clock
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def say(self, kind: str, text: str) -> None:
        now = self.clock()
        if now - self._last.get(kind, -NOTICE_INTERVAL) < NOTICE_INTERVAL:
            self._quiet[kind] = self._quiet.get(kind, 0) + 1
            return
        more = self._quiet.pop(kind, 0)
        self._last[kind] = now
        self.log(f"convo serve: {text}{f' ({more} more since the last notice)' if more else ''}\n")


def protocol_class(notices: Notices, max_connections: int = MAX_CONNECTIONS,
                   output: Output | None = None) -> type:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedProtocol(HttpToolsProtocol):  # type: ignore[misc]
        sweeping = False  # one sweep a second, for all connections of this server

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._refused = False
            self._head_size = 0  # bytes of the head being read; -1 once it is whole
            # When the request being read began (loop time), or None between requests.
            # Checked by a sweep once a second rather than by a timer per request, which
            # cost about 5% of a simple request's CPU time.
            self._started: float | None = None
            self._idle_since = 0.0  # loop time since which no request is in progress
            self._refusal: bytes | None = None  # to send once the answer in flight is out

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            if not GuardedProtocol.sweeping:
                GuardedProtocol.sweeping = True
                self.loop.call_later(1, self._sweep, self.loop, self.connections)
            if len(self.connections) >= max_connections and not self._make_room():
                self._refused = True
                notices.say("full", f"connection limit reached ({max_connections} open, all "
                            "busy): new connections are answered 503 until some close")
                transport.write(FULL)
                transport.close()
                return
            if output is not None:  # every write after this one, refusals too, in order
                output.attach(self.loop)
                transport = output.transport(transport)
            super().connection_made(transport)
            self._idle_since = self.loop.time()
            # uvicorn arms this only after a response: a connection that never sends a
            # byte would otherwise stay open for ever.
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler)

        def _make_room(self) -> bool:
            """At the limit, close the connection that has been idle longest, or reading a
            request slowly longest (for over SLOW_START), so that a flood of idle or slow
            connections cannot keep a new client out. False when every one is busy."""
            late = self.loop.time() - SLOW_START
            oldest, since = None, float("inf")
            for connection in self.connections:
                if connection._started is not None:
                    moment = connection._started if connection._started < late else None
                elif connection.cycle is None or connection.cycle.response_complete:
                    moment = connection._idle_since
                else:
                    moment = None  # its request is being answered
                if moment is not None and moment < since:
                    oldest, since = connection, moment
            if oldest is None:
                return False
            notices.say("full", f"connection limit reached ({max_connections} open): the "
                        "longest idle or slowest are closed to make room")
            oldest.connections.discard(oldest)  # counted out now; closed just after
            oldest._refuse(TOO_SLOW if oldest._started is not None else b"", "", "")
            return True

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            self._started = None
            super().connection_lost(exc)

        @staticmethod
        def _sweep(loop: Any, connections: set[Any]) -> None:
            late = loop.time() - REQUEST_DEADLINE
            for connection in [c for c in connections if c._started is not None
                               and c._started < late]:
                connection._too_slow()
            loop.call_later(1, GuardedProtocol._sweep, loop, connections)

        def shutdown(self) -> None:
            # An idle TLS connection would wait up to 30 s for the client's close_notify
            # (asyncio's ssl_shutdown_timeout), and a stop with it: dropped instead.
            if self.scheme == "https" and (self.cycle is None or self.cycle.response_complete):
                self.transport.abort()
            else:
                super().shutdown()

        def data_received(self, data: bytes) -> None:
            self._unset_keepalive_if_required()
            if self._started is None:  # a request's first bytes: its clock starts
                self._started = self.loop.time()
            if self._head_size >= 0:
                self._head_size += len(data)
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                self._unsupported_upgrade_warning()
            except httptools.HttpParserError:
                if self._head_size > MAX_HEAD:  # raised by on_headers_complete below
                    return self._refuse(TOO_LARGE, "large", "request head over the limit")
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
                return
            # Still reading a head that is already too long: httptools would buffer it all.
            if self._head_size > MAX_HEAD:
                self._refuse(TOO_LARGE, "large", "request head over the limit")

        def on_headers_complete(self) -> None:
            # The bytes read for this head so far bound its size, unless it came after
            # another request in the same read (counted from 0 then) or the reads held
            # more than the limit (a body too, perhaps): then count what the head holds.
            if self._head_size == 0 or self._head_size > MAX_HEAD:
                size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
                if size > MAX_HEAD:
                    self._head_size = size
                    raise ValueError("request head too large")  # stops the parser
            self._head_size = -1
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._idle_since = self.loop.time()
            if self._refusal is not None and not self.transport.is_closing():
                self.transport.write(self._refusal)
                self.transport.close()
            super().on_response_complete()

        def on_message_complete(self) -> None:
            self._started = None
            self._head_size = 0  # the next request's head, counted from its next read
            super().on_message_complete()

        def _too_slow(self) -> None:
            self._started = None
            self._refuse(TOO_SLOW, "slow", f"request not complete within {REQUEST_DEADLINE:g} s")

        def _refuse(self, answer: bytes, kind: str, why: str) -> None:
            if self.transport.is_closing():
                return
            if kind:
                client = self.client[0] if self.client else "-"
                notices.say(kind, f"closed a connection from {client}: {why}")
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete and (
                    self._head_size != -1 or cycle.response_started):
                # An earlier (pipelined) request's answer is still to come: it goes out
                # first, then this one, and the connection closes; nothing more is read.
                self._refusal = answer
                self.flow.pause_reading()
                return
            if answer:
                self.transport.write(answer)
            self.transport.close()

    return GuardedProtocol


def check_tls(cert: str, key: str) -> None:
    """Load the certificate and key as the server will, so that a wrong path, a key that
    does not match or one that needs a passphrase is one line at start (and OpenSSL never
    prompts for a passphrase on the terminal)."""
    import ssl

    from convo_cli.errors import UsageError

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password=lambda: b"")
    except FileNotFoundError as error:
        raise UsageError(f"--tls-cert/--tls-key: no such file: {error.filename}") from None
    except (ssl.SSLError, OSError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise UsageError(f"--tls-cert {cert} --tls-key {key}: cannot use them ({reason}); "
                         "convo serve needs a PEM certificate and its unencrypted key") from None


# Files the process keeps open besides its connections: the database, its WAL and shared
# memory, the log, the listening socket, Python's own.
SPARE_FILES = 64


def raise_file_limit(max_connections: int) -> None:
    """Raise the soft open-file limit to the hard one: each connection is a file, a server
    that runs out of files cannot even accept a connection to refuse it, and connections
    still in their TLS handshake are not counted by the limit yet."""
    import resource

    from convo_cli.errors import UsageError

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max_connections + SPARE_FILES
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise UsageError(f"--max-connections {max_connections} needs {needed} open files, "
                         f"and this process may open {hard} (ulimit -n)")
    wanted = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):  # above the kernel's own ceiling (fs.nr_open)
        if soft < needed:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
