"""The engine's User Conversations: the read horizon and the unread count, kept right through
deletions, set through either resource, and carried over from a database made before the
count existed."""

from __future__ import annotations

import sqlite3

from engine_helpers import EngineClient, assert_error
from convo_cli.engine.store import MIGRATIONS


def room(client: EngineClient, messages: int) -> tuple[str, list[str]]:
    ch = client.conversation(unique_name="room")["sid"]
    client.participant(ch, identity="alice")
    client.participant(ch, identity="bob")
    return ch, [client.message(ch, author="bob", body=f"m{n}")["sid"] for n in range(messages)]


def mine(client: EngineClient, ch: str) -> tuple[int | None, int | None]:
    body = client.get(f"/v1/Users/alice/Conversations/{ch}").body
    return body["last_read_message_index"], body["unread_messages_count"]


def test_no_horizon_counts_every_message_and_a_horizon_counts_what_is_after_it(client):
    ch, _ = room(client, 5)
    assert mine(client, ch) == (None, 5)
    for index, unread in ((0, 4), (3, 1), (4, 0), (9, 0)):
        client.post(f"/v1/Conversations/{ch}/Participants/alice",
                    {"LastReadMessageIndex": str(index)})
        assert mine(client, ch) == (index, unread)
    listed = client.get("/v1/Users/alice/Conversations").body["conversations"]
    assert [(c["conversation_sid"], c["unread_messages_count"]) for c in listed] == [(ch, 0)]


def test_deletions_count_rows_not_index_arithmetic(client):
    ch, sids = room(client, 10)
    client.post(f"/v1/Users/alice/Conversations/{ch}", {"LastReadMessageIndex": "6"})
    assert mine(client, ch) == (6, 3)
    for gone in (8, 2, 7):  # two unread, one read
        assert client.delete(f"/v1/Conversations/{ch}/Messages/{sids[gone]}").status == 204
    assert mine(client, ch) == (6, 1)
    # Low horizons count the other side of it: the same answer.
    client.post(f"/v1/Users/alice/Conversations/{ch}", {"LastReadMessageIndex": "1"})
    assert mine(client, ch) == (1, 5)  # 3, 4, 5, 6, 9
    client.post(f"/v1/Users/alice/Conversations/{ch}", {"LastReadMessageIndex": ""})
    assert mine(client, ch) == (None, 7)
    client.message(ch, author="bob", body="later")
    assert mine(client, ch) == (None, 8)


def test_the_two_resources_share_one_horizon_and_the_timestamp_follows_it(client):
    ch, _ = room(client, 3)
    updated = client.post(f"/v1/Users/alice/Conversations/{ch}",
                          {"LastReadMessageIndex": "1", "NotificationLevel": "muted"}).body
    assert (updated["last_read_message_index"], updated["unread_messages_count"],
            updated["notification_level"]) == (1, 1, "muted")
    participant = client.get(f"/v1/Conversations/{ch}/Participants/alice").body
    assert participant["last_read_message_index"] == 1
    assert participant["last_read_timestamp"] is not None
    unset = client.post(f"/v1/Conversations/{ch}/Participants/alice",
                        {"LastReadMessageIndex": ""}).body
    assert (unset["last_read_message_index"], unset["last_read_timestamp"]) == (None, None)
    assert mine(client, ch) == (None, 3)
    stamped = client.post(f"/v1/Users/alice/Conversations/{ch}",
                          {"LastReadMessageIndex": "2",
                           "LastReadTimestamp": "2015-07-30T20:00:00+00:00"})
    assert stamped.status == 200
    again = client.get(f"/v1/Conversations/{ch}/Participants/alice").body
    assert again["last_read_timestamp"] == "2015-07-30T20:00:00Z"
    # bob's horizon is his own
    bob = client.get(f"/v1/Users/bob/Conversations/{ch}").body
    assert (bob["last_read_message_index"], bob["unread_messages_count"]) == (None, 3)


def test_bad_updates_are_refused_and_change_nothing(client):
    ch, _ = room(client, 2)
    path = f"/v1/Users/alice/Conversations/{ch}"
    assert_error(client.post(path, {"NotificationLevel": "loud"}), 400, 20422)
    assert_error(client.post(path, {"LastReadMessageIndex": "two"}), 400, 20422)
    assert_error(client.post(path, {"LastReadTimestamp": "yesterday"}), 400, 20422)
    assert_error(client.post(path, {"Unread": "0"}), 400, 20001)
    assert client.get(path).body["notification_level"] == "default"
    assert mine(client, ch) == (None, 2)
    assert_error(client.post(f"/v1/Users/carol/Conversations/{ch}", {}), 404, 20404)
    other = client.conversation()["sid"]
    assert_error(client.get(f"/v1/Users/alice/Conversations/{other}"), 404, 20404)


def test_deleting_a_user_conversation_removes_the_participant(client):
    ch, _ = room(client, 1)
    assert client.delete(f"/v1/Users/alice/Conversations/{ch}").status == 204
    assert client.get(f"/v1/Conversations/{ch}/Participants/alice").status == 404
    assert client.get("/v1/Users/alice/Conversations").body["conversations"] == []
    assert client.get(f"/v1/Users/bob/Conversations/{ch}").status == 200


def test_a_database_from_before_the_count_is_counted_on_open(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    now = "2026-11-23T10:00:00Z"
    db.execute("INSERT INTO conversations (sid, next_index, date_created, date_updated) "
               "VALUES (?, 3, ?, ?)", ("CH" + "1" * 32, now, now))
    db.execute("INSERT INTO participants (sid, conversation_id, identity, "
               "last_read_message_index, date_created, date_updated) VALUES (?, 1, 'alice', 0, "
               "?, ?)", ("MB" + "1" * 32, now, now))
    db.execute("INSERT INTO users (sid, identity, date_created, date_updated) "
               "VALUES (?, 'alice', ?, ?)", ("US" + "1" * 32, now, now))
    for index in (0, 2):  # index 1 was deleted
        db.execute("INSERT INTO messages (sid, conversation_id, idx, author, body, date_created,"
                   " date_updated) VALUES (?, 1, ?, 'bob', 'x', ?, ?)",
                   (f"IM{index:032x}", index, now, now))
    db.commit()
    db.close()
    client = EngineClient(path)
    try:
        body = client.get(f"/v1/Users/alice/Conversations/{'CH' + '1' * 32}").body
        assert (body["last_read_message_index"], body["unread_messages_count"],
                body["notification_level"]) == (0, 1, "default")
    finally:
        client.close()
