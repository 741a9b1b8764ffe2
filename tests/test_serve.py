"""`convo serve` as a real process: convo's own API over HTTP, credentials, the base URL in
responses, bad requests, the request log, the rate limit, and stopping."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import sqlite3
import stat
import sys
import time
from urllib.parse import quote

import pytest

from cli_helpers import convo
from convo_cli.api import ApiError
from convo_cli.api.history import read_window
from convo_cli.engine.server import MAX_BODY
from server_helpers import raw_request, server_env, start_server


def error_of(reply: tuple[int, dict[str, str], object]) -> tuple[int, int]:
    """(status, Twilio code) of an error answer, after checking it is Twilio's error JSON."""
    status, headers, body = reply
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert isinstance(body, dict) and set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == status and body["more_info"].endswith(str(body["code"]))
    return status, body["code"]


def test_convos_api_works_over_http_and_answers_as_the_servers_account(served):
    client = served.client()
    created = client.create_conversation(friendly_name="Standup", unique_name="standup-http")
    assert created.raw["account_sid"] == served.account_sid
    assert created.raw["url"] == f"{served.url}/v1/Conversations/{created.sid}"
    assert client.fetch_conversation("standup-http").sid == created.sid
    client.add_participant(created.sid, identity="alice")
    client.add_participant(created.sid, address="+15551234567", proxy_address="+14445550100")
    for n in range(120):
        client.send_message(created.sid, author="alice", body=f"message {n}")
    assert [m.index for m in client.list_messages(created.sid, page_size=50)] == list(range(120))
    # History windows seek by the engine's page tokens when the server is a convo engine.
    window = read_window(client, created.sid, page_size=5, anchor=60, backwards=True)
    assert [m.body for m in window] == [f"message {n}" for n in range(56, 61)]
    listed = client.list_participant_conversations(identity="alice")
    assert [c.conversation_sid for c in listed] == [created.sid]
    client.delete_conversation("standup-http")
    with pytest.raises(ApiError) as caught:
        client.fetch_conversation(created.sid)
    assert (caught.value.status, caught.value.code) == (404, 20404)
    client.close()


def test_urls_in_answers_are_on_the_url_the_client_used(served):
    port = served.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, _, body = raw_request(served.url, "POST", "/v1/Conversations", b"",
                                      {"Host": host}, auth=served.auth)
        assert status == 201
        assert body["url"].startswith(f"http://{host}/v1/Conversations/CH")
        status, _, page = raw_request(served.url, "GET", "/v1/Conversations?PageSize=1",
                                      headers={"Host": host}, auth=served.auth)
        assert page["meta"]["url"] == f"http://{host}/v1/Conversations?PageSize=1&Page=0"
    # A Host that could not be part of a URL is not put into one: the bind address is.
    status, _, body = raw_request(served.url, "POST", "/v1/Conversations", b"",
                                  {"Host": "evil.example/x?"}, auth=served.auth)
    assert status == 201 and body["url"].startswith(f"{served.url}/v1/Conversations/CH")


@pytest.mark.parametrize("header", [
    None,
    "Basic " + "Og==",  # ":" - no user, no password
    "Bearer abc",
    "Basic !!!not-base64",
    "wrong-token",
    "wrong-sid",
])
def test_requests_without_valid_credentials_get_401_with_twilio_error_20003(served, header):
    if header == "wrong-token":
        header = "Basic " + base64.b64encode(f"{served.account_sid}:nope".encode()).decode()
    elif header == "wrong-sid":
        other = "AC" + "f" * 32
        header = "Basic " + base64.b64encode(f"{other}:{served.auth_token}".encode()).decode()
    headers = {"Authorization": header} if header else {}
    reply = raw_request(served.url, "POST", "/v1/Conversations", b"UniqueName=sneaky", headers)
    assert error_of(reply) == (401, 20003)
    assert reply[1]["www-authenticate"] == 'Basic realm="Twilio API"'
    status, _, _ = raw_request(served.url, "GET", "/v1/Conversations/sneaky", auth=served.auth)
    assert status == 404  # nothing was created


def test_bad_requests_get_twilio_shaped_4xx_and_never_a_5xx(served):
    status, _, conversation = raw_request(served.url, "POST", "/v1/Conversations",
                                          b"UniqueName=bad-requests", auth=served.auth)
    sid = conversation["sid"]
    messages = f"/v1/Conversations/{sid}/Messages"
    cases = [
        ("POST", messages, b"Body=%ff%fe", (400, 20422)),  # percent-encoded, not UTF-8
        ("POST", messages, b"Body=\xff\xfe", (400, 20422)),  # raw bytes, not UTF-8
        ("POST", messages, b"Body=hi&Colour=blue", (400, 20001)),  # unknown parameter
        ("POST", messages, b"Body=hi&MediaSid=ME123", (400, 20422)),  # wrong SID pattern
        ("POST", "/v1/Conversations", b"MessagingServiceSid=XY" + b"0" * 32, (400, 20422)),
        ("GET", f"{messages}/IMnot-a-sid", None, (404, 20404)),
        ("GET", f"{messages}?PageToken=PTbogus", None, (400, 21481)),
        ("GET", f"{messages}?PageSize=many", None, (400, 20422)),
        ("GET", "/v1/Nothing/Here", None, (404, 20404)),
        ("GET", "/v2/Conversations", None, (404, 20404)),
        ("PUT", messages, b"Body=hi", (405, 20004)),
        ("POST", messages, b"x" * (MAX_BODY + 1), (413, 20413)),
    ]
    for method, path, body, expected in cases:
        reply = raw_request(served.url, method, path, body, auth=served.auth)
        assert error_of(reply) == expected, (method, path, body[:40] if body else None)
    # A chunked body (no Content-Length to refuse it by) is cut off once past the limit.
    chunks = iter([b"Body=", b"y" * MAX_BODY])
    reply = raw_request(served.url, "POST", messages, chunks,  # type: ignore[arg-type]
                        auth=served.auth)
    assert error_of(reply) == (413, 20413)
    assert error_of(raw_request(served.url, "GET", "/v1/Conversations/%ff%fe",
                                auth=served.auth)) == (404, 20404)
    # Bytes that are not even a URL are refused by the HTTP layer, before any of convo's code.
    with socket.create_connection(_address(served)) as sock:
        sock.sendall(b"GET /v1/Conversations/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 400 ")
    status, _, page = raw_request(served.url, "GET", messages, auth=served.auth)
    assert (status, page["messages"]) == (200, [])  # none of the bad writes wrote anything
    assert "Traceback" not in served.log() and '" 500 ' not in served.log()


def _basic(served) -> bytes:
    return base64.b64encode(f"{served.account_sid}:{served.auth_token}".encode())


def _address(server) -> tuple[str, int]:
    host, port = server.url[len("http://"):].split(":")
    return host, int(port)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_each_request_is_one_log_line(served):
    path = "/v1/Conversations/" + quote("log line \x1b[31m", safe="")
    raw_request(served.url, "GET", f"{path}?x=1", auth=served.auth)
    for _ in range(200):  # the line is written just after the answer is sent
        lines = [line for line in served.log().splitlines() if "log%20line" in line]
        if lines:
            break
        time.sleep(0.02)
    assert len(lines) == 1
    line = (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 127\.0\.0\.1 "
            rf'"GET {re.escape(path)}\?x=1" 400 \d+\.\dms')
    assert re.fullmatch(line, lines[0]), lines[0]  # 400: x is no parameter of this GET


def test_writes_beyond_the_rate_limit_get_429_with_retry_after_and_are_not_processed(tmp_path):
    server = start_server(tmp_path / "limited.db", "--rate-limit", "3")
    try:
        client = server.client(retries=0)
        limited = client.create_conversation(unique_name="limited").sid
        other = client.create_conversation(unique_name="other").sid
        path = f"/v1/Conversations/{limited}/Messages"
        replies = [raw_request(server.url, "POST", path, b"Body=hi", auth=server.auth)
                   for _ in range(20)]
        created = [r for r in replies if r[0] == 201]
        refused = [r for r in replies if r[0] != 201]
        assert len(created) >= 3 and refused  # the first three of a second always pass
        for reply in refused:
            assert error_of(reply) == (429, 20429) and reply[1]["retry-after"] == "1"
        assert [m.index for m in client.list_messages(limited)] == list(range(len(created)))
        # Reads are not limited, nor are other conversations' writes.
        assert all(raw_request(server.url, "GET", path, auth=server.auth)[0] == 200
                   for _ in range(10))
        assert client.send_message(other, body="still fine").index == 0
        client.close()
    finally:
        server.stop()


def test_generated_credentials_are_kept_beside_the_database_and_the_token_never_printed(tmp_path):
    server = start_server(tmp_path / "team.db", credentials=False)
    try:
        path = tmp_path / "team.db.credentials.json"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert server.account_sid.startswith("AC") and len(server.account_sid) == 34
        log = server.log()
        assert f"account {server.account_sid}, auth token in {path}" in log
        assert server.auth_token not in log
        client = server.client()
        assert client.create_conversation(unique_name="kept").raw["account_sid"] == \
            server.account_sid
        client.close()
    finally:
        assert server.stop() == 0
    again = start_server(tmp_path / "team.db", credentials=False)
    try:
        assert again.auth == server.auth
        assert again.client().fetch_conversation("kept").unique_name == "kept"
    finally:
        again.stop()


def test_without_db_it_serves_the_local_profiles_database(tmp_path):
    data = tmp_path / "data"
    server = start_server(None, env=server_env(CONVO_DATA_DIR=str(data)))
    try:
        client = server.client()
        sid = client.create_conversation(unique_name="shared").sid
        client.send_message(sid, author="bob", body="from the server")
        client.close()
    finally:
        server.stop()
    assert f"convo serve: {data / 'local.db'} on http://127.0.0.1:" in server.log()
    # The same conversation, read in-process by the CLI on the local profile.
    shown = convo("messages", "shared", CONVO_DATA_DIR=str(data))
    assert (shown.code, shown.rows()[0][2:]) == (0, ["bob", "from the server"])


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_stop_signal_lets_the_request_in_flight_finish(tmp_path, signum, code):
    server = start_server(tmp_path / "stopping.db")
    sid = server.client().create_conversation(unique_name="stopping").sid
    host, port = _address(server)
    body = b"Author=alice&Body=" + b"z" * 1000
    with socket.create_connection((host, port)) as sock:
        sock.sendall(f"POST /v1/Conversations/{sid}/Messages HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Basic {_basic(server).decode()}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])
        # Once the server has read the request's head, the request is in flight.
        _wait_for(lambda: _unread_by_server(port, sock.getsockname()[1]) == 0)
        server.process.send_signal(signum)
        _wait_for(lambda: _refuses(host, port))  # it stopped listening…
        time.sleep(0.5)  # …and waits (uvicorn's own grace before it cancels is 0.1 s)…
        sock.sendall(body[10:])  # …to answer the request it had begun
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 201 ")
    assert server.process.wait(30) == code
    assert server.log().rstrip().endswith("convo serve: stopped")
    db = sqlite3.connect(server.db_path)
    assert db.execute("SELECT COUNT(*) FROM messages").fetchone() == (1,)
    db.close()


def _unread_by_server(server_port: int, client_port: int) -> int | None:
    """Bytes waiting in the server's end of a loopback connection (Linux's /proc/net/tcp):
    none once the server has read what the client sent."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if (fields[1], fields[2]) == (local, remote):
                return int(fields[4].split(":")[1], 16)
    return None


def _refuses(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return True
    return False


def _wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# Start-up failures: one line, an exit code, no traceback (in-process: they fail before serving).

def test_a_port_in_use_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = convo("serve", "--port", str(port), "--db", str(tmp_path / "x.db"))
    assert (result.code, result.out) == (1, "")
    assert result.err == (f"convo: error: cannot listen on http://127.0.0.1:{port}: Address "
                          "already in use (is another server running? choose another --port)\n")


def test_without_uvicorn_it_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    result = convo("serve", "--db", str(tmp_path / "x.db"))
    assert (result.code, result.err) == (
        1, "convo: error: convo serve needs uvicorn: pip install 'convo[serve]'\n")
    assert not (tmp_path / "x.db.credentials.json").exists()


@pytest.mark.parametrize("env, message", [
    ({"CONVO_SERVE_ACCOUNT_SID": "AC" + "0" * 32},
     "set both CONVO_SERVE_ACCOUNT_SID and CONVO_SERVE_AUTH_TOKEN, or neither"),
    ({"CONVO_SERVE_ACCOUNT_SID": "ACnope", "CONVO_SERVE_AUTH_TOKEN": "t"},
     "CONVO_SERVE_ACCOUNT_SID must be AC followed by 32 hexadecimal digits"),
])
def test_half_or_malformed_credentials_in_the_environment_are_usage_errors(tmp_path, env, message):
    result = convo("serve", "--db", str(tmp_path / "x.db"), **env)
    assert (result.code, result.err) == (2, f"convo: error: {message}\n")


def test_a_damaged_credentials_file_is_named(tmp_path):
    (tmp_path / "x.db.credentials.json").write_text("{not json")
    (tmp_path / "x.db.credentials.json").chmod(0o600)
    result = convo("serve", "--port", "0", "--db", str(tmp_path / "x.db"))
    assert result.code == 1
    assert result.err.startswith(f"convo: error: {tmp_path / 'x.db.credentials.json'} is not a "
                                 "credentials file")


def test_a_database_that_cannot_be_opened_is_named(tmp_path):
    (tmp_path / "a-directory.db").mkdir()
    result = convo("serve", "--port", "0", "--db", str(tmp_path / "a-directory.db"))
    assert result.code == 1
    assert result.err == (f"convo: error: {tmp_path / 'a-directory.db'} is a directory, not a "
                          "convo database\n")
