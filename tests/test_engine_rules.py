"""The engine's domain rules and Twilio's error codes (twilio-wire.md §5, §6; issue 2).

Each refusal is checked on its exact HTTP status and Twilio code, with the error JSON
shape; each limit is checked on both sides of its boundary.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine_helpers import EngineClient, messages_token, seg

NO_CH = "CH" + "0" * 32
NO_MB = "MB" + "0" * 32
NO_IM = "IM" + "0" * 32
NO_US = "US" + "0" * 32


@pytest.fixture
def client(tmp_path):
    engine = EngineClient(tmp_path / "engine.db")
    yield engine
    engine.close()


@pytest.fixture
def s(client: EngineClient) -> SimpleNamespace:
    """standup with alice (chat), one SMS participant and one message; and a second room."""
    ch = client.conversation(friendly_name="Daily standup", unique_name="standup")["sid"]
    other = client.conversation(unique_name="other")["sid"]
    client.participant(ch, identity="alice")
    client.participant(ch, messaging_binding__address="+15551234567",
                       messaging_binding__proxy_address="+15557654321")
    message = client.message(ch, author="alice", body="hello")["sid"]
    return SimpleNamespace(ch=ch, other=other, message=message,
                           conv=f"/v1/Conversations/{ch}",
                           participants=f"/v1/Conversations/{ch}/Participants",
                           messages=f"/v1/Conversations/{ch}/Messages")


def assert_error(reply, status: int, code: int) -> None:
    assert (reply.status, reply.code) == (status, code), reply.body
    assert set(reply.body) == {"code", "message", "more_info", "status"}
    assert reply.body["status"] == status
    assert reply.body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert isinstance(reply.body["message"], str) and reply.body["message"]


def sms(address: str, proxy: str) -> dict[str, str]:
    return {"MessagingBinding.Address": address, "MessagingBinding.ProxyAddress": proxy}


def json_of_size(size: int) -> str:
    """A JSON object string of exactly `size` bytes."""
    return '{"k":"' + "x" * (size - 8) + '"}'


# (id, method, path from the scene, form or query (or a function of the scene), status, code)
ERRORS = [
    ("fetch unknown conversation", "GET", lambda s: f"/v1/Conversations/{NO_CH}", None, 404, 20404),
    ("fetch unknown unique name", "GET", lambda s: "/v1/Conversations/nope", None, 404, 20404),
    ("update unknown conversation", "POST", lambda s: f"/v1/Conversations/{NO_CH}",
     {"FriendlyName": "x"}, 404, 20404),
    ("delete unknown conversation", "DELETE", lambda s: "/v1/Conversations/nope", None, 404, 20404),
    ("fetch unknown participant", "GET", lambda s: f"{s.participants}/{NO_MB}", None, 404, 20404),
    ("fetch unknown identity", "GET", lambda s: f"{s.participants}/bob", None, 404, 20404),
    ("delete unknown participant", "DELETE", lambda s: f"{s.participants}/bob", None, 404, 20404),
    ("participant of unknown conversation", "POST",
     lambda s: f"/v1/Conversations/{NO_CH}/Participants", {"Identity": "bob"}, 404, 20404),
    ("participants of unknown conversation", "GET",
     lambda s: f"/v1/Conversations/{NO_CH}/Participants", None, 404, 20404),
    ("fetch unknown message", "GET", lambda s: f"{s.messages}/{NO_IM}", None, 404, 20404),
    ("delete unknown message", "DELETE", lambda s: f"{s.messages}/{NO_IM}", None, 404, 20404),
    ("message of another conversation", "GET",
     lambda s: f"/v1/Conversations/{s.other}/Messages/{s.message}", None, 404, 20404),
    ("send to unknown conversation", "POST", lambda s: "/v1/Conversations/nope/Messages",
     {"Body": "x"}, 404, 20404),
    ("messages of unknown conversation", "GET", lambda s: f"/v1/Conversations/{NO_CH}/Messages",
     None, 404, 20404),
    ("fetch unknown user sid", "GET", lambda s: f"/v1/Users/{NO_US}", None, 404, 20404),
    ("fetch unknown user identity", "GET", lambda s: "/v1/Users/nobody", None, 404, 20404),
    ("duplicate unique name on create", "POST", lambda s: "/v1/Conversations",
     {"UniqueName": "standup"}, 409, 50353),
    ("duplicate unique name on update", "POST", lambda s: f"/v1/Conversations/{s.other}",
     {"UniqueName": "standup"}, 409, 50353),
    ("unique name like a CH sid on create", "POST", lambda s: "/v1/Conversations",
     {"UniqueName": "CH" + "ab" * 16}, 400, 50390),
    ("unique name like a CH sid on update", "POST", lambda s: "/v1/Conversations/other",
     {"UniqueName": "CH" + "AB" * 16}, 400, 50390),
    ("participant already exists", "POST", lambda s: s.participants, {"Identity": "alice"},
     409, 50433),
    ("address and proxy pair in use", "POST", lambda s: s.participants,
     sms("+15551234567", "+15557654321"), 409, 50416),
    ("address not E.164", "POST", lambda s: s.participants, sms("5551234567", "+15557654321"),
     400, 50407),
    ("address with letters", "POST", lambda s: s.participants, sms("+1555abc", "+15557654321"),
     400, 50407),
    ("proxy not E.164", "POST", lambda s: s.participants, sms("+15550000001", "+0123"), 400, 50408),
    ("address equals proxy", "POST", lambda s: s.participants, sms("+15550000001", "+15550000001"),
     400, 50409),
    ("address empty", "POST", lambda s: s.participants, sms("", "+15557654321"), 400, 50411),
    ("proxy empty", "POST", lambda s: s.participants, sms("+15550000001", ""), 400, 50412),
    ("sms address, whatsapp proxy", "POST", lambda s: s.participants,
     sms("+15550000001", "whatsapp:+15557654321"), 400, 50414),
    ("whatsapp address, sms proxy", "POST", lambda s: s.participants,
     sms("whatsapp:+15550000001", "+15557654321"), 400, 50414),
    ("conversation attributes not JSON on create", "POST", lambda s: "/v1/Conversations",
     {"Attributes": "{nope"}, 400, 50304),
    ("conversation attributes not JSON on update", "POST", lambda s: s.conv,
     {"Attributes": "{'single': 'quotes'}"}, 400, 50304),
    ("participant attributes not JSON", "POST", lambda s: s.participants,
     {"Identity": "bob", "Attributes": "not json"}, 400, 50304),
    ("message attributes not JSON", "POST", lambda s: s.messages,
     {"Body": "x", "Attributes": "[1,"}, 400, 50304),
    ("empty message", "POST", lambda s: s.messages, {"Author": "alice", "Body": ""}, 400, 50503),
    ("message without body", "POST", lambda s: s.messages, {"Author": "alice"}, 400, 50503),
    ("identity and address together", "GET", lambda s: "/v1/ParticipantConversations",
     {"Identity": "alice", "Address": "+15551234567"}, 400, 50451),
    ("page size 0", "GET", lambda s: "/v1/Conversations", {"PageSize": "0"}, 400, 20422),
    ("page size negative", "GET", lambda s: s.messages, {"PageSize": "-1"}, 400, 20422),
    ("page size not a number", "GET", lambda s: s.participants, {"PageSize": "ten"}, 400, 20422),
    ("page size 0 on participant conversations", "GET", lambda s: "/v1/ParticipantConversations",
     {"Identity": "alice", "PageSize": "0"}, 400, 20422),
    ("garbage page token", "GET", lambda s: s.messages, {"PageToken": "garbage"}, 400, 21481),
    ("page token not base64", "GET", lambda s: "/v1/Conversations", {"PageToken": "PT!!!"},
     400, 21481),
    ("messages token on the conversations list", "GET", lambda s: "/v1/Conversations",
     {"PageToken": messages_token(NO_CH, "asc", 3)}, 400, 21481),
    ("messages token of another conversation", "GET", lambda s: s.messages,
     lambda s: {"PageToken": messages_token(s.other, "asc", 0)}, 400, 21481),
    ("asc token on a desc list", "GET", lambda s: s.messages,
     lambda s: {"Order": "desc", "PageToken": messages_token(s.ch, "asc", 0)}, 400, 21481),
    ("unknown parameter on create", "POST", lambda s: "/v1/Conversations", {"Colour": "red"},
     400, 20001),
    ("unknown parameter on a list", "GET", lambda s: "/v1/Conversations", {"Order": "desc"},
     400, 20001),
    ("Identity is not a message parameter", "POST", lambda s: s.messages,
     {"Body": "x", "Identity": "alice"}, 400, 20001),
    ("snake_case is not the wire's spelling", "POST", lambda s: s.participants,
     {"identity": "bob"}, 400, 20001),
]


@pytest.mark.parametrize("method,path,values,status,code", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_refusals(client, s, method, path, values, status, code):
    if callable(values):  # values that name the scene's SIDs
        values = values(s)
    if method == "GET":
        reply = client.get(path(s), values)
    else:
        reply = client.call(method, path(s), form=values if method == "POST" else None)
    assert_error(reply, status, code)


def test_refusals_write_nothing(client, s):
    before = client.get("/v1/Conversations").body["conversations"]
    for _, method, path, values, _, _ in ERRORS:
        if method == "POST":
            client.post(path(s), values(s) if callable(values) else values)
    assert client.get("/v1/Conversations").body["conversations"] == before
    assert len(client.get(s.participants).body["participants"]) == 2
    assert [m["index"] for m in client.get(s.messages).body["messages"]] == [0]


def test_not_found_names_the_path_as_twilio_does(client):
    reply = client.get(f"/v1/Conversations/{NO_CH}")
    assert reply.body["message"] == f"The requested resource /Conversations/{NO_CH} was not found"


def test_a_malformed_message_sid_in_the_path_is_not_found(client, s):
    # The engine answers 404/20404 (not 400) for anything that is not an IM sid.
    for bad in ("not-a-sid", "IM123", "MB" + "0" * 32, "0"):
        assert_error(client.get(f"{s.messages}/{bad}"), 404, 20404)


# Limits (twilio-wire.md §6): the largest value passes, one more is refused.
LIMITS = [
    ("friendly name", "/v1/Conversations", {}, "FriendlyName", "é" * 256, "é" * 257, 50003),
    ("unique name", "/v1/Conversations", {}, "UniqueName", "u" * 256, "u" * 257, 50004),
    ("conversation attributes", "/v1/Conversations", {}, "Attributes",
     json_of_size(16384), json_of_size(16385), 50303),
    ("participant attributes", "{participants}", {"Identity": "bob"}, "Attributes",
     json_of_size(4096), json_of_size(4097), 50303),
    ("message attributes", "{messages}", {"Body": "x"}, "Attributes",
     json_of_size(4096), json_of_size(4097), 50303),
    ("message body", "{messages}", {}, "Body", "b" * 32768, "b" * 32769, 50504),
    ("message body in bytes", "{messages}", {}, "Body", "€" * 10922, "€" * 10923, 50504),
    ("identity", "{participants}", {}, "Identity", "i" * 256, "i" * 257, 50207),
]


@pytest.mark.parametrize("path,base,field,ok,bad,code", [x[1:] for x in LIMITS],
                         ids=[x[0] for x in LIMITS])
def test_limits(client, s, path, base, field, ok, bad, code):
    target = path.format(participants=s.participants, messages=s.messages)
    assert_error(client.post(target, {**base, field: bad}), 400, code)
    reply = client.post(target, {**base, field: ok})
    assert reply.status == 201, reply.body
    assert reply.body[_snake(field)] == ok


def _snake(field: str) -> str:
    return {"FriendlyName": "friendly_name", "UniqueName": "unique_name"}.get(field, field.lower())


def test_conversation_limits_apply_on_update_too(client, s):
    assert_error(client.post(s.conv, {"FriendlyName": "x" * 257}), 400, 50003)
    assert_error(client.post(s.conv, {"Attributes": json_of_size(16385)}), 400, 50303)
    assert client.post(s.conv, {"Attributes": json_of_size(16384)}).status == 200


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


# Page sizes.

@pytest.mark.parametrize("path,params,maximum", [
    ("/v1/Conversations", {}, 100),
    ("{participants}", {}, 100),
    ("{messages}", {}, 100),
    ("{messages}", {"Order": "desc"}, 100),
    ("/v1/ParticipantConversations", {"Identity": "alice"}, 50),
    ("/v1/Users", {}, 50),
])
def test_page_size_above_the_maximum_is_clamped(client, s, path, params, maximum):
    target = path.format(participants=s.participants, messages=s.messages)
    for size, expected in ((str(maximum + 1), maximum), ("1000", maximum), (str(maximum), maximum),
                           ("1", 1)):
        reply = client.get(target, {**params, "PageSize": size})
        assert reply.status == 200, reply.body
        assert reply.body["meta"]["page_size"] == expected
        assert f"PageSize={expected}&" in reply.body["meta"]["url"]


def test_default_page_size_is_50(client, s):
    assert client.get(s.messages).body["meta"]["page_size"] == 50


# The documented seek token for messages.

@pytest.fixture
def history(client):
    ch = client.conversation()["sid"]
    sids = [client.message(ch, author="a", body=str(i))["sid"] for i in range(10)]
    client.delete(f"/v1/Conversations/{ch}/Messages/{sids[5]}")  # a gap at 5
    return ch


@pytest.mark.parametrize("order,after,size,expected", [
    ("asc", 2, 3, [3, 4, 6]),
    ("asc", 4, 50, [6, 7, 8, 9]),
    ("asc", 5, 2, [6, 7]),
    ("asc", -1, 2, [0, 1]),
    ("asc", 9, 5, []),
    ("desc", 7, 3, [6, 4, 3]),
    ("desc", 5, 50, [4, 3, 2, 1, 0]),
    ("desc", 0, 5, []),
    ("desc", 100, 2, [9, 8]),
])
def test_messages_page_token_seeks_to_an_index(client, history, order, after, size, expected):
    reply = client.get(f"/v1/Conversations/{history}/Messages",
                       {"Order": order, "PageSize": str(size),
                        "PageToken": messages_token(history, order, after)})
    assert reply.status == 200, reply.body
    assert [m["index"] for m in reply.body["messages"]] == expected


def test_a_seek_token_is_followed_by_working_next_pages(client, history):
    indexes = []
    reply = client.get(f"/v1/Conversations/{history}/Messages",
                       {"PageSize": "2", "PageToken": messages_token(history, "asc", 1)})
    while True:
        indexes += [m["index"] for m in reply.body["messages"]]
        if reply.body["meta"]["next_page_url"] is None:
            break
        reply = client.follow(reply.body["meta"]["next_page_url"])
    assert indexes == [2, 3, 4, 6, 7, 8, 9]


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
