"""`convo serve` as it is set up: the base of the URLs in its answers (`--public-url`, a
hostile Host header), the modes of the files it creates, and a database locked by another
process, which delays writes and nothing else."""

from __future__ import annotations

import sqlite3
import stat
import threading

import pytest

from cli_helpers import convo
from server_helpers import raw_request, start_server


def two_conversations(server) -> None:
    for _ in range(2):
        assert raw_request(server.url, "POST", "/v1/Conversations", b"", auth=server.auth)[0] == 201


def test_a_hostile_host_header_never_reaches_a_url(served):
    two_conversations(served)
    port = served.url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example",
                 f"localhost:{int(port) + 1}", "127.0.0.1"):
        status, _, page = raw_request(served.url, "GET", "/v1/Conversations?PageSize=1",
                                      headers={"Host": host}, auth=served.auth)
        assert status == 200
        assert page["meta"]["next_page_url"].startswith(f"{served.url}/v1/Conversations?")
        assert page["conversations"][0]["url"].startswith(f"{served.url}/v1/Conversations/CH")
    # The names of this server are kept, as the client used them.
    for host in (f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        _, _, page = raw_request(served.url, "GET", "/v1/Conversations?PageSize=1",
                                 headers={"Host": host}, auth=served.auth)
        assert page["meta"]["next_page_url"].startswith(f"http://{host}/v1/Conversations?")


def test_public_url_is_the_base_of_every_url(tmp_path):
    server = start_server(tmp_path / "public.db", "--public-url", "https://chat.example.com/convo/")
    try:
        two_conversations(server)  # (and the start-up lines are all written by then)
        assert "URLs in answers start with https://chat.example.com/convo" in server.log()
        for host in (None, "evil.example", server.url.split("//")[1]):
            _, _, page = raw_request(server.url, "GET", "/v1/Conversations?PageSize=1",
                                     headers={"Host": host} if host else {}, auth=server.auth)
            assert page["meta"]["next_page_url"].startswith(
                "https://chat.example.com/convo/v1/Conversations?PageSize=1&")
            conversation = page["conversations"][0]
            assert conversation["url"].startswith("https://chat.example.com/convo/v1/")
            assert conversation["links"]["messages"].startswith("https://chat.example.com/convo/")
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("url", ["chat.example.com", "ftp://chat.example.com", "https://",
                                 "https://chat.example.com/?x=1", "https://u:p@chat.example.com",
                                 "https://chat.example.com:port"])
def test_a_public_url_that_is_not_one_is_refused(tmp_path, url):
    result = convo("serve", "--port", "0", "--db", str(tmp_path / "x.db"), "--public-url", url)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(f"convo: error: --public-url {url}: expected http(s)://HOST")


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_credentials_it_creates_are_private(tmp_path):
    import os

    previous = os.umask(0o022)  # the usual umask: files readable by everyone
    try:
        server = start_server(tmp_path / "team" / "team.db", credentials=False)
    finally:
        os.umask(previous)
    try:
        two_conversations(server)
        db = tmp_path / "team" / "team.db"
        for path in (db, db.with_name("team.db-wal"), db.with_name("team.db-shm"),
                     db.with_name("team.db.credentials.json")):
            assert path.exists() and mode(path) == 0o600, path
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("planted", [0o644, 0o666, 0o640, 0o604])
def test_a_credentials_file_open_to_others_is_refused_with_the_fix(tmp_path, planted):
    path = tmp_path / "x.db.credentials.json"
    path.write_text('{"account_sid": "AC' + "1" * 32 + '", "auth_token": "' + "t" * 32 + '"}')
    path.chmod(planted)
    result = convo("serve", "--port", "0", "--db", str(tmp_path / "x.db"))
    assert (result.code, result.out) == (2, "")
    assert result.err == (f"convo: error: {path} is open to other users (mode {planted:04o}); "
                          f"make it private: chmod 600 {path}\n")


def test_a_locked_database_delays_writes_but_not_reads_or_401s(served):
    client = served.client()
    sid = client.create_conversation(unique_name="locked-out").sid
    client.send_message(sid, author="alice", body="before the lock")
    holder = sqlite3.connect(served.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write lock
    answers: list = []
    writer = threading.Thread(target=lambda: answers.append(raw_request(
        served.url, "POST", f"/v1/Conversations/{sid}/Messages", b"Author=bob&Body=waited",
        auth=served.auth)))
    try:
        writer.start()
        for _ in range(20):  # the writer waits meanwhile, and these are answered
            assert client.fetch_conversation(sid).sid == sid
            assert [m.body for m in client.list_messages(sid)] == ["before the lock"]
            # (No credentials: wrong ones would get this address throttled.)
            assert raw_request(served.url, "GET", "/v1/Conversations")[0] == 401
        assert writer.is_alive() and not answers
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    writer.join(60)
    assert answers[0][0] == 201
    assert [m.body for m in client.list_messages(sid)] == ["before the lock", "waited"]
    client.close()


def test_a_database_locked_for_too_long_answers_503_with_retry_after(tmp_path):
    server = start_server(tmp_path / "busy.db")
    holder = sqlite3.connect(server.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        status, headers, body = raw_request(server.url, "POST", "/v1/Conversations", b"",
                                            auth=server.auth)
        assert (status, body["code"], headers["retry-after"]) == (503, 20503, "1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert raw_request(server.url, "POST", "/v1/Conversations", b"", auth=server.auth)[0] == 201
    assert server.stop() == 0


def test_an_existing_database_open_to_others_is_served_with_a_warning(tmp_path):
    db = tmp_path / "shared.db"
    sqlite3.connect(db).close()
    db.chmod(0o644)
    server = start_server(db)
    try:
        assert raw_request(server.url, "GET", "/v1/Conversations")[0] == 401  # serving
        assert f"warning: {db} is open to other users (mode 0644): they can read every " \
               f"conversation; chmod 600 {db}" in server.log()
        assert mode(db) == 0o644  # its owner's choice, named but not changed
    finally:
        assert server.stop() == 0
