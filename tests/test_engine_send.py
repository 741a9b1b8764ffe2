"""A message write answers the message as it is stored: without phones to send to, the
engine answers from what it inserted (no read back); with them, it reads back the delivery
summary. Either way the answer is what a read of the message then gives."""

from __future__ import annotations

import json

import pytest

from convo_cli.engine.wire import Engine

BASE = "http://127.0.0.1:8080"


def answer(engine: Engine, method: str, path: str, body: str = "") -> tuple[int, dict]:
    status, _, payload = engine.handle(method, path, "", body.encode(), {}, base_url=BASE)
    return status, json.loads(payload)


@pytest.mark.parametrize("phones", [False, True])
@pytest.mark.parametrize("form", [
    "Author=alice&Body=hello", "Author=stranger&Body=caf%C3%A9&Attributes=%7B%22a%22%3A1%7D",
    "Body=from+the+system&DateCreated=2020-01-02T03%3A04%3A05Z",
    "Author=alice&MediaSid=ME" + "1" * 32, "ContentSid=HX" + "2" * 32])
def test_the_answer_to_a_write_is_the_message_as_read_afterwards(tmp_path, phones, form):
    engine = Engine(str(tmp_path / "send.db"), base_url=BASE)
    sid = engine.service.create_conversation(unique_name="room")["sid"]
    engine.service.add_participant(sid, identity="alice")
    if phones:
        engine.service.add_participant(sid, messaging_binding_address="+15551234567",
                                       messaging_binding_proxy_address="+15550001111")
    status, sent = answer(engine, "POST", f"/v1/Conversations/{sid}/Messages", form)
    assert status == 201, sent
    status, read = answer(engine, "GET", f"/v1/Conversations/{sid}/Messages/{sent['sid']}")
    assert status == 200
    assert list(sent) == list(read) and sent == read
    assert (sent["delivery"] is not None) == phones
    engine.close()


def test_in_one_transaction_the_conversation_written_to_is_not_read_again_but_is_current(
        tmp_path):
    """`convo serve` commits several writes at once: inside that transaction the service
    keeps the row of the conversation it wrote a message to, exactly as stored, until
    anything else changes."""
    engine = Engine(str(tmp_path / "send.db"), base_url=BASE)
    service, store = engine.service, engine.store
    sid = service.create_conversation(unique_name="room", friendly_name="Room")["sid"]
    reads: list[str] = []
    store.db.set_trace_callback(
        lambda sql: reads.append(sql) if sql.startswith("SELECT * FROM conversations") else None)
    store.begin()  # as engine/server.py's Writes does
    for n in range(3):
        service.send_message("room", author="alice", body=f"n{n}")
    kept = service.conversation("room")
    assert len(reads) == 1  # the first write's: none since
    fresh = store.conversation_by_unique_name("room")
    assert list(kept) == list(fresh) and kept == fresh
    assert (kept["next_index"], kept["message_count"]) == (3, 3)
    service.update_conversation(sid, friendly_name="Renamed")  # any other change: read again
    assert service.conversation("room")["friendly_name"] == "Renamed"
    store.db.execute("COMMIT")
    service.send_message("room", author="alice", body="alone")  # its own transaction
    reads.clear()
    assert service.conversation("room")["next_index"] == 4
    assert len(reads) == 1  # outside a transaction another process may have written
    store.begin()
    service.send_message("room", author="alice", body="undone")
    store.db.execute("ROLLBACK")  # a COMMIT that failed
    store.begin()  # the next batch: nothing kept from the last
    assert service.conversation("room")["next_index"] == 4
    store.db.execute("COMMIT")
    store.db.set_trace_callback(None)
    engine.close()
