"""The API layer on its own: paths, headers, paging, errors, and the HTTP transport against
a real server on loopback."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from convo_cli.api import ApiError, Client, TransportError
from convo_cli.api.http import HttpTransport
from convo_cli.api.paging import request_for_url
from convo_cli.api.transport import Request, Response
from convo_cli.engine.inprocess import InProcessTransport

TWILIO = "https://conversations.twilio.com"


class Recorder:
    """A transport that answers from a script and records what it was asked (only to see
    the requests themselves; behaviour is tested against the real engine)."""

    def __init__(self, *answers: tuple[int, object]) -> None:
        self.base_url, self.requests, self.answers = TWILIO, [], list(answers)

    def send(self, request: Request) -> Response:
        self.requests.append(request)
        status, body = self.answers.pop(0)
        return Response(status, json.dumps(body).encode() if body is not None else b"")

    def close(self) -> None:
        pass


CONVERSATION = {"sid": "CH" + "a" * 32, "unique_name": "u", "friendly_name": None,
                "state": "active", "attributes": "{}", "date_created": "2026-11-23T10:00:00Z"}


def test_identifiers_are_percent_encoded_into_one_path_segment():
    recorder = Recorder((200, CONVERSATION), (200, CONVERSATION))
    client = Client(recorder)
    client.fetch_conversation("team/ops #1?x")
    assert recorder.requests[0].path == "/v1/Conversations/team%2Fops%20%231%3Fx"
    Client(recorder, service_sid="IS" + "b" * 32).fetch_conversation("u")
    assert recorder.requests[1].path == f"/v1/Services/IS{'b' * 32}/Conversations/u"


def test_writes_send_the_webhook_header_and_reads_do_not():
    recorder = Recorder((201, CONVERSATION), (204, None), (200, CONVERSATION))
    client = Client(recorder)
    client.create_conversation(friendly_name="F", unique_name="u", attributes='{"a": 1}')
    client.remove_participant("CH" + "a" * 32, "MB" + "c" * 32)
    client.fetch_conversation("u")
    create, delete, fetch = recorder.requests
    assert create.form == (("FriendlyName", "F"), ("UniqueName", "u"), ("Attributes", '{"a": 1}'))
    assert ("X-Twilio-Webhook-Enabled", "true") in create.headers
    assert ("X-Twilio-Webhook-Enabled", "true") in delete.headers
    assert all(name != "X-Twilio-Webhook-Enabled" for name, _ in fetch.headers)


def test_add_sms_participant_sends_the_dotted_binding_names():
    participant = {"sid": "MB" + "c" * 32, "messaging_binding": {"address": "+1555",
                                                                 "proxy_address": "+1444"}}
    recorder = Recorder((201, participant))
    added = Client(recorder).add_participant("CH" + "a" * 32, address="+1555",
                                             proxy_address="+1444")
    assert recorder.requests[0].form == (("MessagingBinding.Address", "+1555"),
                                         ("MessagingBinding.ProxyAddress", "+1444"))
    assert (added.address, added.proxy_address, added.identity) == ("+1555", "+1444", None)


def test_paging_follows_next_page_url_lazily_and_stops_at_null():
    def page(items, next_url):
        return {"messages": items, "meta": {"key": "messages", "next_page_url": next_url}}

    first = [{"sid": f"IM{n:032x}", "index": n} for n in range(2)]
    second = [{"sid": f"IM{n:032x}", "index": n} for n in range(2, 3)]
    next_url = f"{TWILIO}/v1/Conversations/CH1/Messages?Order=asc&PageSize=2&Page=1&PageToken=PTx"
    recorder = Recorder((200, page(first, next_url)), (200, page(second, None)))
    messages = Client(recorder).list_messages("CH1", page_size=2)
    assert [next(messages).index, next(messages).index] == [0, 1]
    assert len(recorder.requests) == 1  # the second page is asked for only when needed
    assert [m.index for m in messages] == [2]
    second_request = recorder.requests[1]
    assert second_request.path == "/v1/Conversations/CH1/Messages"
    assert second_request.params == (("Order", "asc"), ("PageSize", "2"), ("Page", "1"),
                                     ("PageToken", "PTx"))


def test_a_next_page_url_on_another_host_is_followed_by_its_path():
    request = request_for_url(TWILIO, "http://127.0.0.1:9/v1/Users?PageSize=5&Page=1")
    assert (request.path, request.params) == ("/v1/Users", (("PageSize", "5"), ("Page", "1")))


def test_errors_carry_twilios_fields_and_survive_a_body_that_is_not_twilios():
    body = {"code": 20404, "message": "The requested resource /Conversations/x was not found",
            "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}
    with pytest.raises(ApiError) as caught:
        Client(Recorder((404, body))).fetch_conversation("x")
    error = caught.value
    assert (error.status, error.code, error.more_info) == (404, 20404, body["more_info"])
    assert str(error) == (f"{body['message']} [Twilio error 20404] ({body['more_info']})")
    with pytest.raises(ApiError) as caught:
        Client(Recorder((502, "<html>bad gateway</html>"))).fetch_conversation("x")
    assert (caught.value.code, str(caught.value)) == (
        None, "HTTP 502 from GET /v1/Conversations/x")


def test_the_real_engine_addresses_a_unique_name_with_reserved_characters(tmp_path):
    client = Client(InProcessTransport(str(tmp_path / "x.db")))
    created = client.create_conversation(unique_name="team/ops #1?")
    assert client.fetch_conversation("team/ops #1?").sid == created.sid
    client.add_participant(created.sid, identity="a/b c")
    assert client.fetch_participant(created.sid, "a/b c").identity == "a/b c"
    listed = client.list_participant_conversations(identity="a/b c")
    assert [(c.conversation_sid, c.participant_identity) for c in listed] == [(created.sid, "a/b c")]


class Handler(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        Handler.seen.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                             "body": self.rfile.read(length).decode()})
        payload = json.dumps(CONVERSATION).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802
        Handler.seen.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
        payload = b'{"code": 20003, "message": "Authenticate", "status": 401}'
        self.send_response(401)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_transport_sends_basic_auth_and_a_form_body(server):
    client = Client(HttpTransport(server, username="AC" + "0" * 32, password="s3cret"))
    created = client.create_conversation(friendly_name="Hello from convo", unique_name="a b")
    assert created.sid == CONVERSATION["sid"]
    post = Handler.seen[0]
    assert post["path"] == "/v1/Conversations"
    assert post["body"] == "FriendlyName=Hello+from+convo&UniqueName=a+b"
    assert post["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert post["headers"]["X-Twilio-Webhook-Enabled"] == "true"
    expected = base64.b64encode(f"AC{'0' * 32}:s3cret".encode()).decode()
    assert post["headers"]["Authorization"] == f"Basic {expected}"
    with pytest.raises(ApiError) as caught:
        client.list_messages("CH1", order="desc", page_size=5).__next__()
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert Handler.seen[1]["path"] == "/v1/Conversations/CH1/Messages?Order=desc&PageSize=5"
    client.close()


def test_http_transport_names_the_url_it_cannot_reach():
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    client = Client(HttpTransport(f"http://127.0.0.1:{port}", timeout=5, sleep=waits.append))
    with pytest.raises(TransportError) as caught:
        client.fetch_conversation("x")
    assert str(caught.value).startswith(f"cannot reach http://127.0.0.1:{port}: ")
    assert caught.value.url == f"http://127.0.0.1:{port}/v1/Conversations/x"
    assert len(waits) == 4  # retried, backing off, before giving up
