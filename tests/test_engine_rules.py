"""The engine's refusals: Twilio's error codes and error JSON (twilio-wire.md §5) and the
published limits (§6), each limit checked on both sides of its boundary."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine_helpers import EngineClient, assert_error, messages_token, sms, standup

NO_CH = "CH" + "0" * 32
NO_MB = "MB" + "0" * 32
NO_IM = "IM" + "0" * 32
NO_US = "US" + "0" * 32


@pytest.fixture
def s(client: EngineClient) -> SimpleNamespace:
    return standup(client)


def json_of_size(size: int) -> str:
    """A JSON object string of exactly `size` bytes."""
    return '{"k":"' + "x" * (size - 8) + '"}'


# (id, method, path from the scene, form or query (or a function of the scene), status, code)
ERRORS = [
    ("fetch unknown conversation", "GET", lambda s: f"/v1/Conversations/{NO_CH}", None, 404, 20404),
    ("fetch unknown unique name", "GET", lambda s: "/v1/Conversations/nope", None, 404, 20404),
    # A path segment that does not decode to UTF-8 names no resource: 404, not a crash.
    ("path segment not UTF-8", "GET", lambda s: "/v1/Conversations/%FF", None, 404, 20404),
    ("message sid not UTF-8", "GET", lambda s: f"{s.messages}/%C3%28", None, 404, 20404),
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

