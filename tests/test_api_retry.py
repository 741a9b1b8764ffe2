"""The HTTP transport's robustness: retries where a retry cannot write twice, backoff that
honours Retry-After, timeouts, and errors that name the URL.

Against the served engine where it can produce the case (its rate limit), and otherwise
against a scripted server on loopback (a 503, a connection dropped after the request, a
socket that never answers). Sleeps are recorded, not waited, except against the real rate
limit."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from convo_cli.api import ApiError, Client, TransportError
from convo_cli.api.http import HttpTransport
from server_helpers import start_server

CONVERSATION = {"sid": "CH" + "a" * 32, "unique_name": "u", "friendly_name": None,
                "state": "active", "attributes": "{}", "date_created": "2026-11-23T10:00:00Z"}


def test_sends_beyond_the_rate_limit_are_retried_after_retry_after_and_never_doubled(tmp_path):
    server = start_server(tmp_path / "limited.db", "--rate-limit", "4")
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the server's clock is real: so is this wait
        waits.append(seconds)
        time.sleep(seconds)

    try:
        client = server.client(sleep=sleep)
        sid = client.create_conversation(unique_name="limited").sid
        sent = [client.send_message(sid, body=f"{n}").index for n in range(12)]
        assert sent == list(range(12))
        assert [m.body for m in client.list_messages(sid)] == [f"{n}" for n in range(12)]
        assert waits and min(waits) >= 1.0  # every retry waited at least its Retry-After
        assert server.log().count('" 429 ') == len(waits)
        client.close()
    finally:
        server.stop()


class Script(BaseHTTPRequestHandler):
    """Answers each request with the next step of `steps`: (status, headers, body), or
    "drop" to close the connection without an answer; records what it was asked."""

    steps: list[object] = []
    seen: list[tuple[str, str]] = []
    protocol_version = "HTTP/1.1"

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        Script.seen.append((self.command, self.rfile.read(length).decode()))
        step = Script.steps.pop(0)
        if step == "drop":
            self.close_connection = True
            return
        status, headers, body = step  # type: ignore[misc]
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def script() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Script)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Script.steps, Script.seen = [], []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def busy(status: int, retry_after: str | None = None) -> tuple[int, dict[str, str], dict]:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return status, headers, {"code": 20000 + status, "message": "busy", "status": status}


def client_for(url: str, waits: list[float], **options: object) -> Client:
    return Client(HttpTransport(url, sleep=waits.append, jitter=lambda: 0.5, **options))


def test_a_503_is_retried_for_a_read_with_backoff_and_retry_after(script):
    Script.steps = [busy(503), busy(503, "3"), busy(503), (200, {}, CONVERSATION)]
    waits: list[float] = []
    assert client_for(script, waits).fetch_conversation("u").sid == CONVERSATION["sid"]
    # Backoff 0.5, 1, 2 s with the jitter at its middle (three quarters of each); a
    # Retry-After longer than the backoff wins.
    assert waits == [0.375, 3.0, 1.5]
    assert [method for method, _ in Script.seen] == ["GET"] * 4


def test_a_503_to_a_post_is_not_retried_it_may_have_been_processed(script):
    Script.steps = [busy(503)]
    waits: list[float] = []
    with pytest.raises(ApiError) as caught:
        client_for(script, waits).send_message("CH1", body="once")
    assert (caught.value.status, waits, len(Script.seen)) == (503, [], 1)


def test_a_429_to_a_post_is_retried_it_was_not_processed(script):
    message = {"sid": "IM" + "b" * 32, "index": 0, "body": "once"}
    Script.steps = [busy(429, "1"), busy(429), (201, {}, message)]
    waits: list[float] = []
    assert client_for(script, waits).send_message("CH1", body="once").index == 0
    assert waits == [1.0, 0.75]
    assert Script.seen == [("POST", "Body=once")] * 3


def test_retries_stop_after_the_last_attempt_and_at_a_retry_after_too_long_to_wait(script):
    Script.steps = [busy(429)] * 5
    waits: list[float] = []
    with pytest.raises(ApiError) as caught:
        client_for(script, waits).fetch_conversation("u")
    assert (caught.value.status, caught.value.code, len(Script.seen)) == (429, 20429, 5)
    assert waits == [0.375, 0.75, 1.5, 3.0]
    Script.steps, Script.seen, waits[:] = [busy(429, "3600")], [], []
    with pytest.raises(ApiError):
        client_for(script, waits).fetch_conversation("u")
    assert (waits, len(Script.seen)) == ([], 1)  # told at once rather than kept an hour


def test_retry_after_may_be_an_http_date(script):
    now = 1_800_000_000.0
    Script.steps = [busy(429, formatdate(now + 7, usegmt=True)), (200, {}, CONVERSATION)]
    waits: list[float] = []
    client_for(script, waits, clock=lambda: now).fetch_conversation("u")
    assert waits == [7.0]


def test_a_dropped_connection_retries_a_read_but_never_a_write(script):
    Script.steps = ["drop", (200, {}, CONVERSATION)]
    waits: list[float] = []
    assert client_for(script, waits).fetch_conversation("u").sid == CONVERSATION["sid"]
    assert len(Script.seen) == 2
    Script.steps, Script.seen = ["drop", (201, {}, CONVERSATION)], []
    with pytest.raises(TransportError) as caught:
        client_for(script, waits).send_message("CH1", body="maybe sent")
    assert Script.seen == [("POST", "Body=maybe+sent")]  # no second, duplicate message
    assert str(caught.value).startswith(f"cannot reach {script}: ")


def test_a_refused_connection_is_retried_for_every_method_and_then_names_the_url():
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    for call in (lambda c: c.fetch_conversation("u"), lambda c: c.send_message("CH1", body="x")):
        waits: list[float] = []
        with pytest.raises(TransportError) as caught:
            call(client_for(url, waits))
        assert waits == [0.375, 0.75, 1.5, 3.0]  # nothing was sent, so a POST retries too
        assert str(caught.value).startswith(f"cannot reach {url}: ")
        assert caught.value.url.startswith(f"{url}/v1/Conversations")


def test_a_host_name_that_does_not_exist_is_not_retried():
    import httpx

    def unresolvable(request: httpx.Request) -> httpx.Response:
        # What httpx raises for a name the resolver does not know (DNS varies by machine).
        cause = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise httpx.ConnectError("[Errno -2] Name or service not known") from cause

    waits: list[float] = []
    client = client_for("http://convo-team.invalid", waits,
                        transport=httpx.MockTransport(unresolvable))
    with pytest.raises(TransportError) as caught:
        client.fetch_conversation("u")
    assert str(caught.value) == ("cannot reach http://convo-team.invalid: [Errno -2] Name or "
                                 "service not known")
    assert waits == []


def test_a_server_that_never_answers_times_out_naming_the_url_and_is_not_retried():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    waits: list[float] = []
    try:
        with pytest.raises(TransportError) as caught:
            client_for(url, waits, timeout=0.5).fetch_conversation("u")
        assert str(caught.value) == f"no answer from {url} within 0.5 s"
        assert (waits, len(accepted)) == ([], 1)
    finally:
        listener.close()
        for sock in accepted:
            sock.close()
