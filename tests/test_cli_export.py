"""`convo messages X --all --json` on the built-in engine: the store renders each line itself
(engine/export.py), not paging through the API; the output is the same, byte for byte, as
the API's pages decoded and encoded again, whatever the messages hold."""

from __future__ import annotations

import json
import os

import pytest

import convo_cli.factory
from cli_helpers import convo
from convo_cli.api.transport import Request, Response
from convo_cli.engine.inprocess import InProcessTransport
from convo_cli.engine.wire import Engine

BODIES = [
    "plain", "quote \" backslash \\ slash /", "tab\tnewline\nreturn\r", "\x00\x01\x1b[31m\x7f",
    "\u0085\u2028\u2029 \u202e bidi", "caf\u00e9 \u4e2d\u6587 \U0001f600", "%s %d %% printf",
    "", "a" * 32_000,
]


REAL_TRANSPORT = convo_cli.factory.make_transport


class Paged:
    """The in-process transport without its export: `--all --json` pages through the API.
    Counts the message pages it is asked for."""

    def __init__(self, inner: InProcessTransport) -> None:
        self.inner, self.base_url, self.pages = inner, inner.base_url, 0

    def send(self, request: Request) -> Response:
        if request.method == "GET" and request.path.endswith("/Messages"):
            self.pages += 1
        return self.inner.send(request)

    def close(self) -> None:
        self.inner.close()


class Spied(Paged):
    """The in-process transport, export and all, counting the message pages."""

    def message_lines(self, conversation_sid: str):
        return self.inner.message_lines(conversation_sid)


def export(monkeypatch, wrapper: type[Paged], conversation: str) -> tuple[str, int]:
    """`--all --json`'s output and the number of message pages requested."""
    made = []

    def make(*args, **kwargs):
        made.append(wrapper(REAL_TRANSPORT(*args, **kwargs)))
        return made[-1]

    monkeypatch.setattr(convo_cli.factory, "make_transport", make)
    result = convo("messages", conversation, "--all", "--json")
    assert result.code == 0, result.err
    return result.out, made[0].pages


@pytest.fixture
def engine() -> Engine:
    engine = Engine(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db"),
                    base_url="convo://local")
    yield engine
    engine.close()


def test_every_kind_of_message_is_written_as_the_api_pages_give_it(engine, monkeypatch):
    service = engine.service
    sid = service.create_conversation(unique_name="odd")["sid"]
    service.add_participant(sid, identity="alice")
    for address in ("+15551234567", "+15005550009"):  # receipts: a `delivery` summary
        service.add_participant(sid, messaging_binding_address=address,
                                messaging_binding_proxy_address="+15550001111")
    for body in BODIES:
        if body:
            service.send_message(sid, author="alice", body=body,
                                 attributes=json.dumps({"k": body[:20], "n": [1, 2.5, None]}))
    service.send_message(sid, author="\u00e9ve", media_sid="ME" + "1" * 32)
    service.send_message(sid, author="bob", body="", media_sid="ME" + "3" * 32)
    service.send_message(sid, content_sid="HX" + "2" * 32)
    service.send_message(sid, author="del\x7f", body="x", date_created="2020-01-01T00:00:00Z")
    # Thousands of plain ones after them, past several of the export's pages, with odd
    # ones between (the pages mix both kinds) and a gap where one was deleted.
    cid = service.conversation(sid)["id"]
    with engine.store.write():
        for n in range(2_500):
            index = engine.store.take_message_index(cid)
            engine.store.insert("messages", {
                "sid": f"IM{index:032x}", "conversation_id": cid, "idx": index,
                "author": None if n % 7 == 0 else "alice", "body": BODIES[n % len(BODIES)],
                "attributes": "{}", "participant_sid": None if n % 2 else "MB" + "4" * 32,
                "date_created": "2026-11-23T10:00:00Z", "date_updated": "2026-11-23T10:00:00Z",
            })
    service.delete_message(sid, f"IM{1_500:032x}")

    fast, fast_pages = export(monkeypatch, Spied, "odd")
    paged, pages = export(monkeypatch, Paged, "odd")
    assert fast_pages == 0 and pages > 1  # the store's path was taken, and the API's
    assert fast == paged
    messages = json.loads(fast)
    assert len(messages) == len(BODIES) - 1 + 4 + 2_500 - 1
    assert messages[5]["body"] == BODIES[5]
    assert messages[-1]["index"] == messages[0]["index"] + len(messages)  # the gap


def test_an_empty_history_is_an_empty_array(engine, monkeypatch):
    engine.service.create_conversation(unique_name="quiet")
    assert export(monkeypatch, Spied, "quiet") == ("[]\n", 0)
    assert export(monkeypatch, Paged, "quiet")[0] == "[]\n"


def test_a_damaged_database_is_one_line_of_error(engine, tmp_path):
    import sqlite3

    service = engine.service
    sid = service.create_conversation(unique_name="room")["sid"]
    for n in range(40):
        service.send_message(sid, author="alice", body=f"{n} " + "x" * 3000)
    engine.close()
    db = os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")
    with sqlite3.connect(db) as owner:
        owner.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(db, "r+b") as file:  # overwrite pages of the messages, not the conversations
        file.seek(4096 * 12)
        file.write(b"\xff" * 4096 * 8)
    result = convo("messages", "room", "--all", "--json")
    assert result.code == 1 and result.out == ""
    debug = convo("--debug", "messages", "room", "--all", "--json")
    assert "engine/export.py" in debug.err  # where it was found: reading the messages
    assert result.err == f"convo: error: {db} is damaged (database disk image is malformed)\n"
