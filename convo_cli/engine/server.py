"""`convo serve`'s HTTP side: a raw ASGI app around `Engine.handle`, run on uvicorn.

No web framework: the engine already routes and speaks Twilio's wire format, so this layer
only checks what HTTP adds (credentials and failed logins, body size, write rate), gives the
engine the base URL of its answers, and logs one line per request. The connection limits
(head size, deadlines, connection count) are in `guard`.

The engine runs on the event loop's thread with its one SQLite connection, so requests are
answered one at a time: message indexes stay gapless and unique names unique without a lock,
SQLite never sees two threads, and it measured faster than a thread pool (4.8k message
writes/s against 2.0k with a connection per thread). It never waits for SQLite's lock on
that thread: see `App._answer`. The writes of one turn of the loop are committed together
(`Writes`), and SQLite's checkpoints run on a thread of their own (`Checkpoints`), each with
its own connection. What the server writes in one turn (log lines, answers) goes out at its
end, in as few system calls as it can (`Output`). `runner` runs it on uvicorn.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import sqlite3
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from convo_cli.engine.keys import ACCOUNT, Actor, KeyCheck
from convo_cli.engine.throttle import LoginThrottle, client_key

# The largest valid request (a 32 KB body and 4 KB of attributes, percent-encoded: up to
# three bytes each) fits with room to spare; anything bigger is refused before it is read.
MAX_BODY = 256 * 1024
# Twilio documents no error code for a body too large: this one follows its pattern of
# 20000 + the HTTP status (20404, 20429).
BODY_TOO_LARGE = 20413
# A write that finds the database locked by another process is retried after 5 ms, then
# twice as long each time up to 250 ms apart, for 10 s in all (SQLite's busy timeout for
# convo's other processes); then 503 with Retry-After.
BUSY_FIRST_DELAY, BUSY_MAX_DELAY, BUSY_WAIT = 0.005, 0.25, 10.0

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

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


class Writes:
    """Group commit: the writes answered in one turn of the event loop share one SQLite
    transaction, committed once at the start of the next, and none is answered before that
    COMMIT has succeeded. Each request's changes are a savepoint within it (`Store.write`
    nests), so a refused one undoes only its own. A COMMIT costs the same for one write as
    for ten (it appends the changed pages to the WAL, and the pages a burst of messages
    changes are mostly the same ones): under load this halves a write's SQLite time, and a
    lone write waits one turn of the loop, microseconds, for it. Copying the WAL into the
    database (checkpoints, with synchronous=NORMAL's two fsyncs) is left to `Checkpoints`,
    off the event loop."""

    def __init__(self, store: Any, settled: Callable[[], None] | None = None) -> None:
        """`settled`: called once a COMMIT's writes (and the reads waiting for it) have been
        told how it went, to be resumed next (`Output.soon`)."""
        self.store = store
        self.pending: asyncio.Future[None] | None = None
        self.commits = 0
        self.checkpoints: Checkpoints | None = None
        self._settled = settled

    def join(self) -> asyncio.Future[None] | None:
        """The COMMIT this request's write will wait for, beginning the transaction when
        none is open; None when it cannot begin (another process holds the write lock, or
        the file is read-only): the engine then answers as it does alone (503, 4xx)."""
        if self.pending is None:
            if self.store.db.in_transaction:  # not ours: leave it to the engine
                return None
            try:
                self.store.begin()
            except sqlite3.Error:
                return None
            loop = asyncio.get_running_loop()
            self.pending = loop.create_future()
            loop.call_soon(self._commit)
            if self.checkpoints is None and self.store.path != ":memory:":
                self.checkpoints = Checkpoints(self.store)
        return self.pending

    async def settled(self) -> None:
        """Until the open transaction (if any) is committed: a read sees committed data
        only, so it never answers with a change that a failed COMMIT then undoes."""
        if self.pending is not None:
            await asyncio.wait([self.pending])

    def _commit(self) -> None:
        done, self.pending = self.pending, None
        assert done is not None
        try:
            self.store.db.execute("COMMIT")
        except sqlite3.Error as failure:
            if self.store.db.in_transaction:
                self.store.db.execute("ROLLBACK")
            done.set_exception(failure)  # every write of the batch answers 500
        else:
            self.commits += 1
            done.set_result(None)
            if self.checkpoints is not None and self.commits % Checkpoints.EVERY == 0:
                self.checkpoints.wake.set()
        if self._settled is not None:
            self._settled()


class Checkpoints:
    """WAL checkpoints on a thread of their own, every `EVERY` commits: sqlite3 lets go of
    the GIL while SQLite copies pages and syncs, so the event loop serves on. Done by the
    writer (SQLite's autocheckpoint, every 1,000 pages), a checkpoint stalled every request
    for up to 20 ms. A checkpoint that writes go on during cannot end the WAL, so the
    server's own connection still checkpoints at `LIMIT` pages (16 MB), by then copying
    little. Each run opens its own connection and closes it, so none is left open at exit
    (the last to close removes the WAL)."""

    EVERY, LIMIT = 50, 4000

    def __init__(self, store: Any) -> None:
        self.path = store.path
        self.wake = threading.Event()
        self.runs = 0
        store.db.execute(f"PRAGMA wal_autocheckpoint = {self.LIMIT}")
        threading.Thread(target=self._run, name="convo-checkpoints", daemon=True).start()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            try:
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    db.close()
            except sqlite3.Error:
                pass  # busy, or gone: the next run, or the server's own at LIMIT, does it
            self.runs += 1


class Output:
    """What the server writes in one turn of the event loop, written at the turn's end: the
    turn's log lines in one write, then each connection's bytes in one write (a response's
    head and body, which uvicorn writes apart). Written as they came, a request cost three
    system calls (strace: the log line, the head, the body), and a kept conversation read 64
    µs of CPU; held, one write a connection plus one a turn for the log, and 38-42 µs
    (tests/bench/serve.py). The log goes first: once a client has its answer, the log has
    its line. Nothing waits longer than the turn it was written in; until a server's loop
    is attached (`attach`), everything is written at once."""

    def __init__(self, log: Callable[[str], Any]) -> None:
        self._log = log
        self._lines: list[str] = []
        self._connections: dict[HeldTransport, None] = {}  # in the order they wrote
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = False  # a flush is scheduled for the end of this turn

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def transport(self, transport: Any) -> HeldTransport:
        """`transport` with its writes held to the end of the turn."""
        return HeldTransport(transport, self)

    def line(self, text: str) -> None:
        self._lines.append(text)
        self._flush_later()

    def soon(self) -> None:
        """Flush once the callbacks scheduled so far have run (even with a flush already
        due, which they would miss): called as a COMMIT wakes the requests that waited for
        it, so that their answers go out in the turn they are made, and the next requests
        of those clients join the next COMMIT together. Writes were 4.9 to a COMMIT under
        wrk's write-and-read load before answers were held, 3.7 when they waited a turn
        more, 4.7 with this."""
        if self._loop is not None and not self._loop.is_closed():
            self._due = True
            self._loop.call_soon(self.flush)

    def _holds(self, connection: HeldTransport) -> None:
        self._connections[connection] = None
        self._flush_later()

    def _flush_later(self) -> None:
        if self._due:
            return
        if self._loop is None or self._loop.is_closed():
            self.flush()
        else:
            self.soon()

    def flush(self) -> None:
        self._due = False
        if self._lines:
            text, self._lines = "".join(self._lines), []
            try:
                self._log(text)
            except (OSError, ValueError):
                pass  # standard error closed (`convo serve 2>&1 | head`): serve on, unlogged
        connections, self._connections = self._connections, {}
        for connection in connections:
            try:
                connection.flush()
            except Exception:  # noqa: BLE001 - one broken connection never holds up the rest
                connection.drop()


class HeldTransport:
    """An asyncio transport whose writes wait in `Output` for the end of the turn. A close
    waits for them too (`is_closing` is true from the call on); an abort sends what is held
    first, as the transport would have had it already. The rest is the transport's own."""

    __slots__ = ("_transport", "_output", "_held", "_closing")

    def __init__(self, transport: Any, output: Output) -> None:
        self._transport, self._output = transport, output
        self._held: list[bytes] = []
        self._closing = False

    def write(self, data: bytes) -> None:
        if self._closing or not data:
            return
        if not self._held:
            self._output._holds(self)
        self._held.append(data)

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def close(self) -> None:
        if self._held:
            self._closing = True  # closed once what it holds is written
        else:
            self._transport.close()

    def abort(self) -> None:
        self.flush()
        self._transport.abort()

    def flush(self) -> None:
        if self._held:
            data, self._held = b"".join(self._held), []
            if not self._transport.is_closing():
                self._transport.write(data)
        if self._closing:
            self._transport.close()

    def drop(self) -> None:
        self._held = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, …
        return getattr(self._transport, name)


class App:
    """The ASGI application: `App(engine, account_sid, auth_token, base_url=…)`.

    `base_url` is the listening address; `public_url`, when given, is the base of every URL
    in answers. Without it a request's Host header is used only when it names the listening
    address (or localhost with the listening port), so that `Host: evil.example` never
    becomes a `next_page_url` that the twilio library follows with the account's
    credentials."""

    def __init__(self, engine: Engine, account_sid: str, auth_token: str, *, base_url: str,
                 public_url: str | None = None, rate_limit: int | None = None,
                 log: Callable[[str], Any] | None = None) -> None:
        self.engine = engine
        self._user, self._password = account_sid.encode(), auth_token.encode()
        self.keys = KeyCheck(engine.store)  # `SK…` API keys (`convo serve keys`)
        self.base_url = base_url.rstrip("/")
        self.public_url = public_url.rstrip("/") if public_url else None
        self._hosts = _own_hosts(self.base_url)
        self._wildcard = urlsplit(self.base_url).hostname in ("0.0.0.0", "::")
        self.limit = RateLimit(rate_limit) if rate_limit else None
        self.logins = LoginThrottle()
        # Log lines go out with the turn's answers (`Output`); at once until a loop is attached.
        self.output = Output(log or sys.stderr.write)
        self._second, self._stamp = -1, ""
        self.writes = Writes(engine.store, settled=self.output.soon)
        self._decoded: dict[str, tuple[bytes, bytes]] = {}  # Authorization -> user, password

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
        # Logged first: once a client has its answer, the log has the line.
        self._log_request(scope, status, started)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        actor, refused = self._authenticate(scope, headers.get("authorization"))
        if refused is not None:
            return refused
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
        base_url = self._base_url(scope, headers.get("host"))
        query = _text(scope["query_string"])
        pre_answer = None
        if method != "GET":  # a read changes nothing: no pre-event webhook
            # Asked off the event loop (up to 5 s): other clients go on.
            call = self.engine.pre_event_call(method, path, query, body, headers)
            pre_answer = await asyncio.to_thread(call.send) if call is not None else None
        # The served engine waits for no lock (busy timeout 0): a wait on this thread would
        # stop every other request, reads and 401s included. When another process holds
        # the write lock it answers 503 having changed nothing (its transaction could not
        # begin), and the wait happens here, while other requests are served.
        delay, waited = BUSY_FIRST_DELAY, 0.0
        while True:
            commit = None
            if method == "GET":
                if self.writes.pending is not None:
                    await self.writes.settled()
            else:
                commit = self.writes.join()
            status, pairs, payload = self.engine.handle(method, path, query, body, headers,
                                                        base_url=base_url, actor=actor,
                                                        pre_answer=pre_answer)
            if commit is not None:
                await commit  # answered once it is committed; a failed COMMIT is a 500
            # Busy (503 with Retry-After) is worth waiting for; a read-only database is not.
            busy = status == 503 and any(name == "Retry-After" for name, _ in pairs)
            if not busy or waited >= BUSY_WAIT:
                break
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, BUSY_MAX_DELAY)
        return status, [(k.lower().encode(), v.encode()) for k, v in pairs], payload

    def _authenticate(self, scope: Scope,
                      header: str | None) -> tuple[Actor | None, Answer | None]:
        """Who the credentials act as (the account, with full power, or an API key's actor),
        or the answer when they are not right: 401, or 429 for an address refused after
        failed logins (checked first: while refused, even the right password is not tried,
        so guessing on gains nothing)."""
        # A client sends the same header on every request: decoded once (checked every time).
        credentials = self._decoded.get(header) if header is not None else None
        if credentials is None:
            credentials = _credentials(header)
            if credentials is not None:
                if len(self._decoded) >= 256:
                    self._decoded.clear()
                self._decoded[header] = credentials  # type: ignore[index]
        if credentials is None:
            return None, _unauthorized()  # nothing was tried: not counted
        user, password = credentials
        is_key = user.startswith(b"SK")  # an API key SID in place of the account SID, as Twilio
        right_user = hmac.compare_digest(user, self._user)
        client = scope.get("client")
        # Every other account SID is one key, and every API key another: guesses at those
        # cannot push this account's count out of the throttle's table.
        who = self._user.decode() if right_user else "an API key" if is_key else "another account"
        key = (client_key(client[0]) if client else "-", who)
        wait = self.logins.retry_after(key)
        if wait:
            return None, error(429, 20429, "Too Many Requests: too many failed logins from "
                               f"this address; retry after {wait} seconds",
                               [(b"retry-after", b"%d" % wait)])
        if is_key:
            actor = self.keys.actor(user, password)
        else:
            # Both compared in constant time, and both always: the timing tells nothing.
            right = right_user & hmac.compare_digest(password, self._password)
            actor = ACCOUNT if right else None
        if actor is not None:
            self.logins.succeeded(key)
            return actor, None
        lockout = self.logins.failed(key)
        if lockout:
            self.log(f"convo serve: failed logins to {key[1]} from {key[0]}: that address "
                     f"is refused for {lockout:.0f} s\n")
        return None, _unauthorized()

    def _base_url(self, scope: Scope, host: str | None) -> str:
        """The base of the URLs in an answer (`url`, `links`, paging URLs, which
        twilio-python follows verbatim): --public-url; else the Host header when it names
        this server; else the listening address (for a wildcard bind, the address the
        connection came in on)."""
        if self.public_url:
            return self.public_url
        scheme = scope.get("scheme", "http")
        if host and host.lower() in self._hosts:
            return f"{scheme}://{host}"
        server = scope.get("server")
        if self._wildcard and server:
            return url_of(server[0], server[1], scheme)
        return self.base_url

    def _log_request(self, scope: Scope, status: int, started: float) -> None:
        now = int(time.time())
        if now != self._second:
            self._second, self._stamp = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        client = scope.get("client")
        target = scope.get("raw_path") or b""
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        line = target.decode("latin-1")
        if not line.isprintable():  # the usual request line is, and skips the translation
            line = line.translate(_CONTROL)
        milliseconds = (time.perf_counter() - started) * 1000
        self.log(f'{self._stamp} {client[0] if client else "-"} "{scope["method"]} {line}" '
                 f"{status} {milliseconds:.1f}ms\n")

    def log(self, text: str) -> None:
        self.output.line(text)


def _unauthorized() -> Answer:
    return error(401, 20003, "Authenticate", [(b"www-authenticate", b'Basic realm="Twilio API"')])


def _credentials(header: str | None) -> tuple[bytes, bytes] | None:
    """The user and password of a Basic Authorization header; None when there is none or
    it cannot be read."""
    if header is None or header[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return None
    return user, password


def _own_hosts(base_url: str) -> frozenset[str]:
    """The Host header values that name this server: its listening address, and the
    loopback names with its port (the default port may be left out, as clients do)."""
    parts = urlsplit(base_url)
    port, default = parts.port, {"http": 80, "https": 443}[parts.scheme]
    names = {parts.netloc.lower().rpartition(":")[0] or parts.netloc.lower(),
             "localhost", "127.0.0.1", "[::1]"}
    hosts = {f"{name}:{port}" for name in names}
    if port == default:
        hosts |= names
    return frozenset(hosts)


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


def url_of(host: str, port: int, scheme: str = "http") -> str:
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
