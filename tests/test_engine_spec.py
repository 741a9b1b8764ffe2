"""The engine's responses against Twilio's OpenAPI spec (the copy in tests/spec/).

Every operation convo uses is called on the real engine; its body is validated against
the spec's response schema (field set exact, `nullable` honoured, times exactly
`YYYY-MM-DDTHH:MM:SSZ`), and its URLs must be absolute on the engine's base URL.
Paging is in test_engine_paging.py; the spec's examples are replayed in
test_engine_examples.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace

import jsonschema
import pytest

from engine_helpers import BASE_URL, EngineClient, all_urls, operation, validate_response
from engine_helpers import scene as engine_scene


@pytest.fixture
def scene(client: EngineClient) -> SimpleNamespace:
    return engine_scene(client)


Path = Callable[[SimpleNamespace], str]
CONV: Path = lambda s: f"/v1/Conversations/{s.ch}"  # noqa: E731

# (case id, operationId, path, query params, form, expected status)
CASES: list[tuple[str, str, Path, dict[str, str], dict[str, str] | None, int]] = [
    ("create-conversation", "CreateConversation", lambda s: "/v1/Conversations", {},
     {"FriendlyName": "Retro", "UniqueName": "retro", "Attributes": '{"a": [1, 2]}'}, 201),
    ("create-conversation-bare", "CreateConversation", lambda s: "/v1/Conversations", {}, {}, 201),
    ("list-conversations", "ListConversation", lambda s: "/v1/Conversations", {}, None, 200),
    ("fetch-conversation-sid", "FetchConversation", CONV, {}, None, 200),
    ("fetch-conversation-unique-name", "FetchConversation",
     lambda s: "/v1/Conversations/standup", {}, None, 200),
    ("update-conversation", "UpdateConversation", CONV, {},
     {"FriendlyName": "Standup", "Attributes": '{"b": true}'}, 200),
    ("delete-conversation", "DeleteConversation", CONV, {}, None, 204),
    ("create-participant-chat", "CreateConversationParticipant",
     lambda s: CONV(s) + "/Participants", {}, {"Identity": "bob", "Attributes": '{"r": 1}'}, 201),
    ("create-participant-sms", "CreateConversationParticipant",
     lambda s: CONV(s) + "/Participants", {},
     {"MessagingBinding.Address": "+15550001111", "MessagingBinding.ProxyAddress": "+15550002222"},
     201),
    ("create-participant-whatsapp", "CreateConversationParticipant",
     lambda s: CONV(s) + "/Participants", {},
     {"MessagingBinding.Address": "whatsapp:+15550001111",
      "MessagingBinding.ProxyAddress": "whatsapp:+15550002222"}, 201),
    ("list-participants", "ListConversationParticipant",
     lambda s: CONV(s) + "/Participants", {}, None, 200),
    ("fetch-participant-sid", "FetchConversationParticipant",
     lambda s: f"{CONV(s)}/Participants/{s.alice}", {}, None, 200),
    ("fetch-participant-identity", "FetchConversationParticipant",
     lambda s: f"{CONV(s)}/Participants/alice", {}, None, 200),
    ("fetch-participant-sms", "FetchConversationParticipant",
     lambda s: f"{CONV(s)}/Participants/{s.sms}", {}, None, 200),
    ("delete-participant", "DeleteConversationParticipant",
     lambda s: f"{CONV(s)}/Participants/{s.alice}", {}, None, 204),
    ("create-message", "CreateConversationMessage", lambda s: CONV(s) + "/Messages", {},
     {"Author": "alice", "Body": "hi", "Attributes": '{"importance": "high"}'}, 201),
    ("list-messages-asc", "ListConversationMessage", lambda s: CONV(s) + "/Messages",
     {"Order": "asc"}, None, 200),
    ("list-messages-desc", "ListConversationMessage", lambda s: CONV(s) + "/Messages",
     {"Order": "desc", "PageSize": "2"}, None, 200),
    ("fetch-message", "FetchConversationMessage",
     lambda s: f"{CONV(s)}/Messages/{s.messages[1]}", {}, None, 200),
    ("delete-message", "DeleteConversationMessage",
     lambda s: f"{CONV(s)}/Messages/{s.messages[1]}", {}, None, 204),
    ("participant-conversations-identity", "ListParticipantConversation",
     lambda s: "/v1/ParticipantConversations", {"Identity": "alice"}, None, 200),
    ("participant-conversations-sms", "ListParticipantConversation",
     lambda s: "/v1/ParticipantConversations", {"Address": "+15551234567"}, None, 200),
    ("participant-conversations-whatsapp", "ListParticipantConversation",
     lambda s: "/v1/ParticipantConversations", {"Address": "whatsapp:+15551234568"}, None, 200),
    ("fetch-user-sid", "FetchUser", lambda s: f"/v1/Users/{s.user}", {}, None, 200),
    ("fetch-user-identity", "FetchUser", lambda s: "/v1/Users/alice", {}, None, 200),
    ("list-user-conversations", "ListUserConversation",
     lambda s: f"/v1/Users/{s.user}/Conversations", {}, None, 200),
    ("fetch-user-conversation", "FetchUserConversation",
     lambda s: f"/v1/Users/alice/Conversations/{s.ch}", {}, None, 200),
    ("fetch-user-conversation-unique-name", "FetchUserConversation",
     lambda s: f"/v1/Users/{s.user}/Conversations/standup", {}, None, 200),
    ("update-user-conversation", "UpdateUserConversation",
     lambda s: f"/v1/Users/alice/Conversations/{s.ch}", {},
     {"NotificationLevel": "muted", "LastReadTimestamp": "2015-07-30T20:00:00Z",
      "LastReadMessageIndex": "1"}, 200),
    ("update-user-conversation-unset-horizon", "UpdateUserConversation",
     lambda s: f"/v1/Users/alice/Conversations/{s.ch}", {}, {"LastReadMessageIndex": ""}, 200),
    ("delete-user-conversation", "DeleteUserConversation",
     lambda s: f"/v1/Users/alice/Conversations/{s.ch}", {}, None, 204),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_response_matches_spec_schema(client, scene, case):
    _, operation_id, path, params, form, status = case
    method, _, _ = operation(operation_id)
    reply = client.call(method, path(scene), params, form)
    assert reply.status == status, reply.body
    if status == 204:
        assert reply.raw == b""
        assert client.get(path(scene)).status == 404
        return
    assert reply.headers["content-type"].startswith("application/json")
    validate_response(operation_id, status, reply.body)
    for where, url in all_urls(reply.body):
        assert url.startswith(BASE_URL + "/v1/"), (where, url)
    items = reply.body[reply.body["meta"]["key"]] if "meta" in reply.body else [reply.body]
    if "meta" in reply.body:
        assert items, "the scene gives every list something to show"
    for item in items:
        for name, value in item.items():
            if name.endswith("attributes"):
                assert isinstance(value, str) and isinstance(json.loads(value), dict), (name, value)
        if "url" in item:  # the resource's url answers with the same resource
            again = client.follow(item["url"])
            key = "sid" if "sid" in item else "conversation_sid"  # a user conversation has none
            assert again.status == 200 and again.body[key] == item[key]


def test_a_single_resource_url_and_links_name_it(client, scene):
    conversation = client.get("/v1/Conversations/standup").body
    assert conversation["url"] == f"{BASE_URL}/v1/Conversations/{scene.ch}"
    assert conversation["links"] == {
        name: f"{BASE_URL}/v1/Conversations/{scene.ch}/{name.title()}"
        for name in ("participants", "messages", "webhooks", "export")}
    user = client.get("/v1/Users/alice").body
    assert user["links"] == {"user_conversations": f"{BASE_URL}/v1/Users/{scene.user}/Conversations"}
    pc = client.get("/v1/ParticipantConversations", {"Identity": "alice"}).body["conversations"][0]
    assert pc["links"] == {
        "participant": f"{BASE_URL}/v1/Conversations/{scene.ch}/Participants/{scene.alice}",
        "conversation": f"{BASE_URL}/v1/Conversations/{scene.ch}"}


def test_unset_attributes_are_an_empty_json_object_string(client):
    ch = client.conversation()["sid"]
    assert client.get(f"/v1/Conversations/{ch}").body["attributes"] == "{}"
    assert client.participant(ch, identity="bob")["attributes"] == "{}"
    assert client.message(ch, author="bob", body="x")["attributes"] == "{}"
    assert client.get("/v1/Users/bob").body["attributes"] == "{}"


@pytest.mark.parametrize("bad", [
    {"date_created": "2015-12-16T22:18:37.000Z"},
    {"date_created": "2015-12-16T22:18:37+00:00"},
    {"date_created": "2015-12-16 22:18:37Z"},
    {"extra": 1},
    {"unique_name": 5},
])
def test_the_schema_check_itself_rejects_what_it_should(client, bad):
    body = client.conversation()
    with pytest.raises(jsonschema.ValidationError):
        validate_response("FetchConversation", 200, {**body, **bad})
    missing = {k: v for k, v in body.items() if k != "bindings"}
    with pytest.raises(jsonschema.ValidationError):
        validate_response("FetchConversation", 200, missing)


@pytest.mark.parametrize("state", ["initializing", "inactive", "active"])
def test_every_conversation_state_validates_where_it_is_listed(client, state):
    # The spec's ParticipantConversation state enum has no `initializing`.
    ch = client.conversation(state=state)["sid"]
    client.participant(ch, identity="zed")
    validate_response("FetchConversation", 200, client.get(f"/v1/Conversations/{ch}").body)
    listed = client.get("/v1/ParticipantConversations", {"Identity": "zed"})
    validate_response("ListParticipantConversation", 200, listed.body)
