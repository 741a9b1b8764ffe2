"""The engine's domain rules: addressing by SID or unique name, users, gapless message
indexes, deletion, ParticipantConversations, and persistence across engine instances."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine_helpers import EngineClient, assert_error, seg, sms, standup


@pytest.fixture
def s(client: EngineClient) -> SimpleNamespace:
    return standup(client)


# Addressing by SID or unique name.

def test_fetch_update_delete_by_sid_or_unique_name(client, s):
    assert client.get("/v1/Conversations/standup").body["sid"] == s.ch
    assert client.get(s.conv).body["unique_name"] == "standup"
    updated = client.post("/v1/Conversations/standup", {"FriendlyName": "Standup"})
    assert (updated.status, updated.body["sid"]) == (200, s.ch)
    renamed = client.post(s.conv, {"UniqueName": "daily"})
    assert renamed.body["unique_name"] == "daily"
    assert client.get("/v1/Conversations/standup").status == 404
    assert client.get("/v1/Conversations/daily").body["friendly_name"] == "Standup"
    assert client.delete("/v1/Conversations/daily").status == 204
    assert client.get(s.conv).status == 404


def test_nested_paths_accept_a_unique_name(client, s):
    added = client.post("/v1/Conversations/standup/Participants", {"Identity": "bob"})
    assert (added.status, added.body["conversation_sid"]) == (201, s.ch)
    sent = client.post("/v1/Conversations/standup/Messages", {"Author": "bob", "Body": "hi"})
    assert (sent.status, sent.body["conversation_sid"], sent.body["index"]) == (201, s.ch, 1)
    assert client.get("/v1/Conversations/standup/Participants/bob").body["sid"] == added.body["sid"]


def test_a_unique_name_with_reserved_characters_is_addressable(client):
    name = "team/ops? #1 %"
    sid = client.conversation(unique_name=name)["sid"]
    reply = client.get(f"/v1/Conversations/{seg(name)}")
    assert (reply.status, reply.body["sid"]) == (200, sid)


def test_the_same_identity_may_join_many_conversations(client, s):
    assert client.post(f"/v1/Conversations/{s.other}/Participants", {"Identity": "alice"}).status == 201
    assert client.post(f"/v1/Conversations/{s.other}/Participants",
                       sms("+15551234567", "+15557654321")).status == 201


def test_the_same_address_with_another_proxy_is_another_participant(client, s):
    assert client.post(s.participants, sms("+15551234567", "+15550009999")).status == 201


# Users.

def test_adding_a_chat_participant_creates_its_user(client, s):
    assert client.get("/v1/Users/bob").status == 404
    client.post(s.participants, {"Identity": "bob"})
    user = client.get("/v1/Users/bob")
    assert (user.status, user.body["identity"]) == (200, "bob")
    assert client.get(f"/v1/Users/{user.body['sid']}").body["identity"] == "bob"
    # Joining a second conversation reuses the same user.
    client.post(f"/v1/Conversations/{s.other}/Participants", {"Identity": "bob"})
    assert client.get("/v1/Users/bob").body["sid"] == user.body["sid"]


def test_an_sms_participant_creates_no_user(client, s):
    users = client.get("/v1/Users").body["users"]
    assert [u["identity"] for u in users] == ["alice"]


# Message indexes.

def test_message_indexes_start_at_zero_and_are_per_conversation(client, s):
    first = client.message(s.other, author="bob", body="a")
    assert first["index"] == 0
    assert [client.message(s.ch, author="alice", body=str(i))["index"] for i in range(3)] == [1, 2, 3]
    assert client.message(s.other, author="bob", body="b")["index"] == 1


def test_a_deleted_message_leaves_a_gap_and_its_index_is_not_reused(client, s):
    sids = [client.message(s.ch, author="alice", body=str(i))["sid"] for i in range(3)]  # 1..3
    assert client.delete(f"{s.messages}/{sids[0]}").status == 204
    assert client.delete(f"{s.messages}/{sids[2]}").status == 204  # the latest one
    assert client.message(s.ch, author="alice", body="next")["index"] == 4
    assert [m["index"] for m in client.get(s.messages).body["messages"]] == [0, 2, 4]


def test_two_engines_on_one_file_share_one_index_sequence(client, s, tmp_path):
    second = EngineClient(client.db_path)
    try:
        indexes = [(client if i % 2 else second).message(s.ch, author="a", body=str(i))["index"]
                   for i in range(6)]
    finally:
        second.close()
    assert indexes == [1, 2, 3, 4, 5, 6]


# Deleting a conversation.

def test_deleting_a_conversation_removes_its_participants_and_messages(client, s):
    assert client.delete("/v1/Conversations/standup").status == 204
    for path in (s.participants, s.messages, f"{s.messages}/{s.message}",
                 f"{s.participants}/alice"):
        assert_error(client.get(path), 404, 20404)
    listed = client.get("/v1/ParticipantConversations", {"Identity": "alice"}).body
    assert listed["conversations"] == []
    by_address = client.get("/v1/ParticipantConversations", {"Address": "+15551234567"}).body
    assert by_address["conversations"] == []
    # The unique name is free again, and the new conversation starts empty.
    again = client.conversation(unique_name="standup")
    assert again["sid"] != s.ch
    assert client.get("/v1/Conversations/standup/Participants").body["participants"] == []
    assert client.message("standup", author="alice", body="x")["index"] == 0
    assert client.post("/v1/Conversations/standup/Participants", {"Identity": "alice"}).status == 201
    assert client.post("/v1/Conversations/standup/Participants",
                       sms("+15551234567", "+15557654321")).status == 201


def test_removing_a_participant_frees_its_identity_and_binding(client, s):
    assert client.delete(f"{s.participants}/alice").status == 204
    sms_sid = client.get(s.participants).body["participants"][0]["sid"]
    assert client.delete(f"{s.participants}/{sms_sid}").status == 204
    assert client.get(s.participants).body["participants"] == []
    assert client.post(s.participants, {"Identity": "alice"}).status == 201
    assert client.post(s.participants, sms("+15551234567", "+15557654321")).status == 201


# ParticipantConversations.

def test_participant_conversations_lists_exactly_mine_sorted_by_sid(client, s):
    mine = [s.ch]
    for i in range(4):
        sid = client.conversation(friendly_name=str(i))["sid"]
        if i % 2 == 0:
            client.participant(sid, identity="alice")
            mine.append(sid)
        else:
            client.participant(sid, identity="bob")
    listed = client.get("/v1/ParticipantConversations", {"Identity": "alice"}).body["conversations"]
    assert [c["conversation_sid"] for c in listed] == sorted(mine)
    assert {c["participant_identity"] for c in listed} == {"alice"}
    standup = next(c for c in listed if c["conversation_sid"] == s.ch)
    assert (standup["conversation_unique_name"], standup["conversation_friendly_name"]) == \
        ("standup", "Daily standup")
    client.delete(f"{s.participants}/alice")
    after = client.get("/v1/ParticipantConversations", {"Identity": "alice"}).body["conversations"]
    assert [c["conversation_sid"] for c in after] == sorted(mine[1:])


def test_participant_conversations_by_address(client, s):
    listed = client.get("/v1/ParticipantConversations", {"Address": "+15551234567"})
    assert [c["conversation_sid"] for c in listed.body["conversations"]] == [s.ch]
    binding = listed.body["conversations"][0]["participant_messaging_binding"]
    assert (binding["address"], binding["proxy_address"], binding["type"]) == \
        ("+15551234567", "+15557654321", "sms")


def test_participant_conversations_empty_is_a_200(client, s):
    reply = client.get("/v1/ParticipantConversations", {"Identity": "carol"})
    assert (reply.status, reply.body["conversations"], reply.body["meta"]["key"]) == \
        (200, [], "conversations")


# Persistence and the wire's odds and ends.

def test_data_persists_across_engine_instances(tmp_path):
    first = EngineClient(tmp_path / "persist.db")
    ch = first.conversation(unique_name="standup", attributes='{"x": 1}')["sid"]
    first.participant(ch, identity="alice")
    first.message(ch, author="alice", body="before")
    first.close()
    second = EngineClient(tmp_path / "persist.db", base_url="http://example.test:9")
    try:
        conversation = second.get("/v1/Conversations/standup").body
        assert (conversation["sid"], conversation["attributes"]) == (ch, '{"x": 1}')
        assert conversation["url"] == f"http://example.test:9/v1/Conversations/{ch}"
        assert [m["body"] for m in second.get(f"/v1/Conversations/{ch}/Messages").body["messages"]] \
            == ["before"]
        assert second.message(ch, author="alice", body="after")["index"] == 1
        assert_error(second.post(f"/v1/Conversations/{ch}/Participants", {"Identity": "alice"}),
                     409, 50433)
    finally:
        second.close()


def test_the_webhook_header_the_client_sends_is_accepted(client, s):
    reply = client.call("POST", s.messages, form={"Author": "alice", "Body": "hi"},
                        headers={"X-Twilio-Webhook-Enabled": "true"})
    assert reply.status == 201


def test_percent_encoded_identity_in_the_path(client, s):
    identity = "bob@example.com/ops"
    client.participant(s.ch, identity=identity)
    reply = client.get(f"{s.participants}/{seg(identity)}")
    assert (reply.status, reply.body["identity"]) == (200, identity)
    assert client.get(f"/v1/Users/{seg(identity)}").body["identity"] == identity
