"""`convo serve`'s group commit (engine/server.py `Writes`): the writes of one turn of the
event loop share a transaction, and none is answered before it is committed. Driven
through the ASGI app itself, many requests at once, as uvicorn hands them over."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3

from convo_cli.engine.server import App
from convo_cli.engine.wire import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Engine

BASE = "http://127.0.0.1:8080"
AUTH = b"Basic " + base64.b64encode(f"{DEFAULT_ACCOUNT_SID}:{DEFAULT_AUTH_TOKEN}".encode())


async def request(app: App, method: str, path: str, body: bytes = b"", *,
                  on_answer=None) -> tuple[int, dict]:
    """One request through the app: its status and JSON body. `on_answer(status, body)` is
    called when the answer is sent, before the caller sees it."""
    answer: dict = {}

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] = json.loads(message["body"]) if message["body"] else {}
            if on_answer is not None:
                on_answer(answer["status"], answer["body"])

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "scheme": "http", "client": ("127.0.0.1", 50000),
             "server": ("127.0.0.1", 8080),
             "headers": [(b"host", b"127.0.0.1:8080"), (b"authorization", AUTH),
                         (b"content-type", b"application/x-www-form-urlencoded")]}
    await app(scope, receive, send)
    return answer["status"], answer["body"]


def serve(tmp_path, log=lambda text: None) -> tuple[Engine, App, str]:
    engine = Engine(str(tmp_path / "writes.db"), base_url=BASE)
    sid = engine.service.create_conversation(unique_name="busy")["sid"]
    return engine, App(engine, DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, base_url=BASE,
                       log=log), sid


def test_writes_at_once_share_commits_and_each_is_stored_before_it_is_answered(tmp_path):
    engine, app, sid = serve(tmp_path)
    other = sqlite3.connect(tmp_path / "writes.db")  # another process's view of the file
    seen: list[str] = []

    def stored(status: int, body: dict) -> None:
        assert status == 201, body
        found = other.execute("SELECT body FROM messages WHERE sid = ?", (body["sid"],))
        assert found.fetchone() == (body["body"],)  # committed: visible to anyone
        seen.append(body["body"])

    async def many() -> list:
        return await asyncio.gather(*(
            request(app, "POST", f"/v1/Conversations/{sid}/Messages",
                    f"Author=alice&Body=n{n}".encode(), on_answer=stored)
            for n in range(60)))

    answers = asyncio.run(many())
    assert sorted(seen) == sorted(f"n{n}" for n in range(60))
    assert sorted(body["index"] for _, body in answers) == list(range(60))
    assert 1 <= app.writes.commits < 60  # grouped
    other.close()
    engine.close()


def test_a_refused_write_in_a_batch_undoes_only_itself(tmp_path):
    engine, app, sid = serve(tmp_path)

    async def mixed() -> list:
        return await asyncio.gather(*(
            request(app, "POST", f"/v1/Conversations/{sid}/Messages",
                    b"Author=alice" if n % 3 == 1 else f"Author=alice&Body=n{n}".encode())
            for n in range(30)))

    answers = asyncio.run(mixed())
    assert [status for status, _ in answers] == [400 if n % 3 == 1 else 201 for n in range(30)]
    assert app.writes.commits < 30
    rows = engine.store.all("SELECT idx, body FROM messages ORDER BY idx")
    # The refused ones took no index: the stored ones are numbered without a gap.
    assert [(r["idx"], r["body"]) for r in rows] == \
        list(enumerate(f"n{n}" for n in range(30) if n % 3 != 1))
    engine.close()


class FailingCommit:
    """The store's connection, but its COMMIT fails as on a full disk: a failure that cannot
    be had on demand from a real file."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __getattr__(self, name: str):
        return getattr(self.db, name)

    def execute(self, sql: str, *args):
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)


def test_a_failed_commit_answers_every_write_of_the_batch_500_and_reads_never_see_them(tmp_path):
    logged: list[str] = []
    engine, app, sid = serve(tmp_path, log=logged.append)
    real = engine.store.db

    class Store:
        path, db, begin = engine.store.path, FailingCommit(real), engine.store.begin

    app.writes.store = Store()

    async def several() -> list:
        return await asyncio.gather(*(
            request(app, "POST", f"/v1/Conversations/{sid}/Messages", b"Author=a&Body=lost")
            for _ in range(5)), request(app, "GET", f"/v1/Conversations/{sid}/Messages"))

    *answers, (read, page) = asyncio.run(several())
    assert [(status, body["code"]) for status, body in answers] == [(500, 20500)] * 5
    # The read in the same turn waited for the COMMIT: it never showed what was undone.
    assert (read, page["messages"]) == (200, [])
    assert not real.in_transaction
    assert engine.store.all("SELECT * FROM messages") == []
    assert any("database or disk is full" in line for line in logged)
    engine.close()


def test_checkpoints_copy_the_wal_into_the_database_off_the_event_loop(tmp_path):
    import time

    from convo_cli.engine.server import Checkpoints

    engine, app, sid = serve(tmp_path)

    async def one_by_one() -> None:
        for n in range(2 * Checkpoints.EVERY + 1):  # a commit each: two checkpoints asked
            await request(app, "POST", f"/v1/Conversations/{sid}/Messages",
                          f"Author=a&Body=n{n}".encode())

    def in_the_file() -> int:
        """Messages in the database file itself, its WAL ignored."""
        file = sqlite3.connect(f"file:{tmp_path / 'writes.db'}?immutable=1", uri=True)
        try:
            return file.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        except sqlite3.DatabaseError:  # not even the schema there yet, or a page caught
            return 0                   # half-copied (the file is read as if immutable)
        finally:
            file.close()

    asyncio.run(one_by_one())
    assert app.writes.checkpoints is not None
    # Too few pages for SQLite's own checkpoint (at Checkpoints.LIMIT) to have copied them.
    # A run that found the database busy copies nothing and waits for the next wake-up: the
    # server's next commits would give it one; here, the test does.
    deadline = time.monotonic() + 10
    while in_the_file() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        app.writes.checkpoints.wake.set()
    assert in_the_file() > 0
    engine.close()
