"""`convo serve`'s HTTP front against a real server on loopback: the head size limit, idle
and trickling connections closed while a real client keeps working, the connection limit,
and failed logins throttled per address."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from convo_cli.engine import guard, throttle
from server_helpers import raw_request, start_server


def address(server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname, parts.port


def read_until_closed(sock: socket.socket, limit: float = 60) -> bytes:
    """Everything the server sends until it closes the connection (`limit` only bounds a
    broken server; nothing is asserted about the time)."""
    sock.settimeout(limit)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def basic(sid: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()


def test_a_head_over_the_limit_is_answered_431_and_closed_whole_or_in_pieces(served):
    host, port = address(served)
    big = b"X-Big: " + b"a" * guard.MAX_HEAD + b"\r\n"
    # In one piece, and in pieces of 1 KB (read as they come, never buffered whole).
    for pieces in ([big], [big[i:i + 1024] for i in range(0, len(big), 1024)]):
        with socket.create_connection((host, port)) as sock:
            sock.sendall(b"GET /v1/Conversations HTTP/1.1\r\nHost: x\r\n")
            for piece in pieces:
                try:
                    sock.sendall(piece)
                except (BrokenPipeError, ConnectionResetError):
                    break  # closed already, having answered
            answer = read_until_closed(sock)
        assert status_of(answer) == 431
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["code"] == 20431
    # A head too large behind a good request in the same packet (pipelined).
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"GET /v1/Conversations HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /v1/Conversations HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 401 ") and b"HTTP/1.1 431 " in answer
    # A long URL counts too; a head just under the limit is served as usual.
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"GET /" + b"a" * (guard.MAX_HEAD + 1) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(read_until_closed(sock)) == 431
    status, _, _ = raw_request(served.url, "GET", "/v1/Conversations",
                               headers={"X-Big": "a" * (guard.MAX_HEAD - 2048)},
                               auth=served.auth)
    assert status == 200
    assert "request head over the limit" in served.log()


def test_idle_and_trickling_connections_are_closed_and_never_keep_a_client_out(served):
    host, port = address(served)
    client = served.client()
    idle = [socket.create_connection((host, port)) for _ in range(150)]
    slow = [socket.create_connection((host, port)) for _ in range(150)]
    for sock in slow:
        sock.sendall(b"POST /v1/Conversations HTTP/1.1\r\n")
    try:
        # 300 connections open and doing nothing useful: a real client is served as ever.
        sid = client.create_conversation(unique_name="busy-evening").sid
        for n in range(20):
            client.send_message(sid, author="alice", body=f"still here {n}")
        assert [m.body for m in client.list_messages(sid)][-1] == "still here 19"
        # A trickle of a byte a second does not keep a connection open past the deadline.
        trickled = 0
        while True:
            try:
                slow[0].sendall(b"X")
                trickled += 1
            except (BrokenPipeError, ConnectionResetError):
                break
            if trickled > 2 * guard.REQUEST_DEADLINE + 10:
                break
            time.sleep(1)
        assert trickled <= 2 * guard.REQUEST_DEADLINE + 10, "a trickling head was never closed"
        answers = [read_until_closed(sock) for sock in slow[1:]]
        assert {status_of(a) for a in answers} == {408}
        assert {read_until_closed(sock) for sock in idle} == {b""}  # closed without a word
    finally:
        for sock in idle + slow:
            sock.close()
    # The log says so, once per kind and interval, not once per connection.
    log = served.log()
    assert f"request not complete within {guard.REQUEST_DEADLINE:g} s" in log
    assert log.count("request not complete") < 20
    client.close()


def test_at_the_connection_limit_idle_connections_make_room_for_a_new_client(tmp_path):
    server = start_server(tmp_path / "full.db", "--max-connections", "5")
    host, port = address(server)
    idle = [socket.create_connection((host, port)) for _ in range(5)]
    slow = socket.create_connection((host, port))
    slow.sendall(b"GET /v1/Conversations HTTP/1.1\r\n")  # one more: a slow head
    try:
        for n in range(10):  # each new connection takes an idle one's place
            client = server.client()
            client.create_conversation(unique_name=f"room-{n}")
            client.close()
        assert "connection limit reached (5 open): the longest idle or slowest are closed " \
               "to make room" in server.log()
        assert b"" in {read_until_closed(sock) for sock in idle}
    finally:
        for sock in [*idle, slow]:
            sock.close()
    assert server.stop() == 0


def test_at_the_connection_limit_with_every_connection_busy_new_ones_get_503(tmp_path):
    import sqlite3
    import threading

    server = start_server(tmp_path / "busy.db", "--max-connections", "5")
    host, port = address(server)
    holder = sqlite3.connect(server.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the writes below wait: their connections are busy
    writers = [threading.Thread(target=raw_request, args=(
        server.url, "POST", "/v1/Conversations", b"", None, server.auth)) for _ in range(5)]
    try:
        for writer in writers:
            writer.start()
        time.sleep(1)  # for the server to read them (their wait lasts 10 s)
        with socket.create_connection((host, port)) as extra:
            answer = read_until_closed(extra)
        assert status_of(answer) == 503 and b"retry-after: 1" in answer.lower()
        assert b"too many connections" in answer
        assert "connection limit reached (5 open, all busy)" in server.log()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        for writer in writers:
            writer.join(60)
    client = server.client()  # once they are answered a client is served again
    assert len(list(client.list_conversations())) == 5
    client.close()
    assert server.stop() == 0


def request_from(source: str, server, authorization: str,
                 forwarded_for: str | None = None) -> tuple[int, dict[str, str], dict]:
    host, port = address(server)
    connection = http.client.HTTPConnection(host, port, timeout=30, source_address=(source, 0))
    headers = {"Authorization": authorization}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("GET", "/v1/Conversations", headers=headers)
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                json.loads(response.read()))
    finally:
        connection.close()


def test_failed_logins_are_throttled_per_address_and_the_right_password_elsewhere_works(tmp_path):
    server = start_server(tmp_path / "guess.db")
    wrong = basic(server.account_sid, "not-the-token-at-all")
    right = basic(server.account_sid, server.auth_token)
    for _ in range(throttle.MAX_FAILURES):
        assert request_from("127.0.0.1", server, wrong)[0] == 401
    status, headers, body = request_from("127.0.0.1", server, wrong)
    assert (status, body["code"]) == (429, 20429)
    assert 0 < int(headers["retry-after"]) <= throttle.LOCKOUT
    # From that address even the right password waits: guessing on gains nothing…
    assert request_from("127.0.0.1", server, right)[0] == 429
    # …but another address is not locked out.
    assert request_from("127.0.0.2", server, right)[0] == 200
    assert request_from("127.0.0.2", server, wrong)[0] == 401
    # Guesses at other account SIDs are counted apart from the real one's.
    assert request_from("127.0.0.2", server, basic("AC" + "0" * 32, "x"))[0] == 401
    assert request_from("127.0.0.2", server, right)[0] == 200
    log = server.log()
    assert f"failed logins to {server.account_sid} from 127.0.0.1: that address is " \
           f"refused for {throttle.LOCKOUT:.0f} s" in log
    assert '"GET /v1/Conversations" 429' in log
    assert server.stop() == 0


def test_behind_a_local_proxy_the_throttle_counts_the_forwarded_address(tmp_path):
    server = start_server(tmp_path / "proxied.db")
    wrong = basic(server.account_sid, "not-the-token-at-all")
    right = basic(server.account_sid, server.auth_token)
    # A proxy on this machine (127.0.0.1) says whom it forwards for: that client is throttled…
    for _ in range(throttle.MAX_FAILURES):
        assert request_from("127.0.0.1", server, wrong, "203.0.113.9")[0] == 401
    assert request_from("127.0.0.1", server, right, "203.0.113.9")[0] == 429
    # …not the proxy's other clients, nor the proxy.
    assert request_from("127.0.0.1", server, right, "203.0.113.10")[0] == 200
    assert request_from("127.0.0.1", server, right)[0] == 200
    assert "from 203.0.113.9: that address is refused" in server.log()
    # From an address that is no proxy of this server, the header is not believed.
    for _ in range(throttle.MAX_FAILURES):
        assert request_from("127.0.0.2", server, wrong, "198.51.100.1")[0] == 401
    assert request_from("127.0.0.2", server, right, "198.51.100.2")[0] == 429
    assert server.stop() == 0


def test_the_throttle_doubles_its_lockout_forgets_old_failures_and_stays_bounded():
    now = [0.0]
    logins = throttle.LoginThrottle(clock=lambda: now[0])
    key = ("192.0.2.1", "AC1")
    assert [logins.failed(key) for _ in range(throttle.MAX_FAILURES)][-1] == throttle.LOCKOUT
    assert logins.retry_after(key) == throttle.LOCKOUT
    now[0] += throttle.LOCKOUT + 1
    assert logins.retry_after(key) == 0
    assert logins.failed(key) == 2 * throttle.LOCKOUT  # one more: twice as long
    now[0] += throttle.FAILURE_WINDOW * 2
    assert logins.failed(key) == 0  # long forgotten
    for n in range(throttle.MAX_TRACKED + 100):
        logins.failed((f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}", "AC1"))
    assert len(logins) == throttle.MAX_TRACKED
    assert throttle.client_key("2001:db8::1") == throttle.client_key("2001:db8::2")
    assert throttle.client_key("::ffff:192.0.2.7") == "192.0.2.7"


@pytest.mark.parametrize("token", ["x", " ", "fifteen-chars!!", " " * 20])
def test_a_configured_auth_token_shorter_than_16_characters_is_refused(tmp_path, token):
    from cli_helpers import convo

    result = convo("serve", "--port", "0", "--db", str(tmp_path / "x.db"),
                   CONVO_SERVE_ACCOUNT_SID="AC" + "1" * 32, CONVO_SERVE_AUTH_TOKEN=token)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("convo: error: CONVO_SERVE_AUTH_TOKEN is too short: at least "
                                 "16 characters")
    assert result.err.count("\n") == 1
    assert not (tmp_path / "x.db").exists()


def test_more_connections_than_the_process_may_open_files_is_refused_at_start(tmp_path):
    import resource
    import subprocess
    import sys

    from server_helpers import server_env

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    result = subprocess.run(
        [sys.executable, "-m", "convo_cli", "serve", "--port", "0", "--db", str(tmp_path / "x.db"),
         "--max-connections", "1000"], env=server_env(), capture_output=True, text=True,
        preexec_fn=few_files, timeout=60)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"convo: error: --max-connections 1000 needs "
                             f"{1000 + guard.SPARE_FILES} open files, and this process may "
                             "open 256 (ulimit -n)\n")


def test_the_open_file_limit_is_raised_to_the_hard_one(tmp_path):
    import re
    import resource
    import subprocess
    import sys

    from server_helpers import LISTENING, server_env

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096))

    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "convo_cli", "serve", "--port", "0", "--db",
             str(tmp_path / "x.db")], env=server_env(), stdout=out, stderr=out,
            preexec_fn=few_files)
    try:
        while not (found := LISTENING.search(log.read_text())):
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
        assert raw_request(found.group(1), "GET", "/v1/Conversations")[0] == 401  # serving
        limits = open(f"/proc/{process.pid}/limits").read()
        soft = re.search(r"^Max open files\s+(\d+)\s+(\d+)", limits, re.M)
        assert soft and (int(soft.group(1)), int(soft.group(2))) == (4096, 4096), limits
    finally:
        process.terminate()
        assert process.wait(30) == 0
