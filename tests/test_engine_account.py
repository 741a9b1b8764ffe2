"""The account's resources: /v1/Configuration, /v1/ConversationWithParticipants and
/v1/Credentials, on the real engine, against the spec (schemas and examples as golden data)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine_helpers import (
    BASE_URL, TWILIO_BASE, EngineClient, request_examples, response_examples, validate_response,
)

ACCOUNT = "AC" + "0" * 32
SERVICE = "IS" + "0" * 32  # the default engine's one Conversation Service
MG = "MG" + "a" * 32


def ours(value: Any, **sids: str) -> Any:
    """A spec example on our base URL, with its placeholder SIDs (`CR=...`) ours."""
    text = json.dumps(value).replace(TWILIO_BASE, BASE_URL)
    for prefix, sid in {"AC": ACCOUNT, "IS": SERVICE, **sids}.items():
        text = text.replace(prefix + "a" * 32, sid)
    return json.loads(text)


# Configuration

def test_configuration_names_the_service_resources_report(client: EngineClient):
    reply = client.get("/v1/Configuration")
    assert reply.status == 200
    validate_response("FetchConfiguration", 200, reply.body)
    assert reply.body["default_chat_service_sid"] == client.conversation()["chat_service_sid"]
    assert reply.body["default_inactive_timer"] is None
    assert client.follow(reply.body["links"]["webhooks"]).status == 200


def test_configuration_update_example_answers_the_spec_example(client: EngineClient):
    form = ours(request_examples("UpdateConfiguration")["update"])
    reply = client.post("/v1/Configuration", form)
    assert reply.status == 200, reply.body
    validate_response("UpdateConfiguration", 200, reply.body)
    assert reply.body == ours(response_examples("UpdateConfiguration", 200)["update"])
    fetched = client.get("/v1/Configuration").body
    assert fetched == ours(response_examples("FetchConfiguration", 200)["fetch"])


def test_default_timers_and_messaging_service_apply_to_later_conversations(client):
    before = client.conversation()
    client.post("/v1/Configuration", {"DefaultInactiveTimer": "PT1M", "DefaultClosedTimer": "PT10M",
                                      "DefaultMessagingServiceSid": MG})
    after = client.created("/v1/Conversations", {"DateUpdated": "2020-07-01T22:18:37Z"})
    assert after["timers"] == {"date_inactive": "2020-07-01T22:19:37Z",
                               "date_closed": "2020-07-01T22:28:37Z"}
    assert after["messaging_service_sid"] == MG
    own = client.created("/v1/Conversations", {"DateUpdated": "2020-07-01T22:18:37Z",
                                               "Timers.Inactive": "PT2M"})
    assert own["timers"]["date_inactive"] == "2020-07-01T22:20:37Z"  # its own timer wins
    assert client.get(f"/v1/Conversations/{before['sid']}").body["timers"] == {}
    cleared = client.post("/v1/Configuration", {"DefaultInactiveTimer": "",
                                                "DefaultClosedTimer": ""}).body
    assert cleared["default_inactive_timer"] is None and cleared["default_messaging_service_sid"] == MG
    assert client.conversation()["timers"] == {}


@pytest.mark.parametrize("form,status,code", [
    ({"DefaultInactiveTimer": "PT30S"}, 400, 50375),
    ({"DefaultClosedTimer": "PT5M"}, 400, 50376),
    ({"DefaultInactiveTimer": "soon"}, 400, 50379),
    ({"DefaultMessagingServiceSid": "MG123"}, 400, 20422),
    ({"DefaultChatServiceSid": "IS123"}, 400, 20422),
    ({"DefaultChatServiceSid": "IS" + "b" * 32}, 404, 20404),
    ({"DefaultTimer": "PT1M"}, 400, 20001),
])
def test_configuration_refuses_bad_values_and_changes_nothing(client, form, status, code):
    reply = client.post("/v1/Configuration", {"DefaultInactiveTimer": "PT5M", **form})
    assert (reply.status, reply.code) == (status, code), reply.body
    assert client.get("/v1/Configuration").body["default_inactive_timer"] is None


def test_configuration_service_link_leads_to_the_default_service(client):
    configuration = client.get("/v1/Configuration").body
    reply = client.follow(configuration["links"]["service"])
    assert reply.status == 200
    assert reply.body["chat_service_sid"] == configuration["default_chat_service_sid"]


# ConversationWithParticipants

CWP = "CreateConversationWithParticipants"
CWP_FIELDS = ["friendly_name", "unique_name", "attributes", "state", "date_created",
              "date_updated", "messaging_service_sid", "timers", "bindings"]
CWP_REPLAYS = [(name, status) for status in (201, 202) for name in response_examples(CWP, status)]


@pytest.mark.parametrize("name,status", CWP_REPLAYS, ids=[n for n, _ in CWP_REPLAYS])
def test_conversation_with_participants_replays_the_spec_examples(client, name, status):
    form = request_examples(CWP)[name]
    pairs = [(k, v) for k, values in form.items()
             for v in (values if isinstance(values, list) else [values])]
    header = {"X-Twilio-Webhook-Enabled": "TrUe" if "True" in name else "FaLsE"}
    reply = client.call("POST", "/v1/ConversationWithParticipants", form=pairs, headers=header)
    assert reply.status == status, reply.body
    validate_response(CWP, status, reply.body)
    expected = ours(response_examples(CWP, status)[name], CH=reply.body["sid"])
    assert set(reply.body) == set(expected)
    for field in CWP_FIELDS + ["links", "url", "chat_service_sid", "account_sid"]:
        assert reply.body[field] == expected[field], field
    listed = client.get(f"/v1/Conversations/{reply.body['sid']}/Participants").body
    identities = [json.loads(p)["identity"] for p in form.get("Participant", [])]
    assert sorted(p["identity"] for p in listed["participants"]) == sorted(identities)


def test_conversation_with_chat_and_sms_participants(client):
    reply = client.post("/v1/ConversationWithParticipants", [
        ("UniqueName", "both"),
        ("Participant", '{"identity": "ann", "attributes": "{\\"role\\": \\"lead\\"}"}'),
        ("Participant", json.dumps({"messaging_binding": {
            "address": "+15550001111", "proxy_address": "+15550002222"}})),
    ])
    assert reply.status == 202, reply.body
    people = client.get("/v1/Conversations/both/Participants").body["participants"]
    assert [(p["identity"], p["attributes"]) for p in people if p["identity"]] == \
        [("ann", '{"role": "lead"}')]
    (sms,) = [p for p in people if p["identity"] is None]
    assert sms["messaging_binding"]["address"] == "+15550001111"
    assert client.get("/v1/Users/ann").status == 200


@pytest.mark.parametrize("participants,code,words", [
    (['{"identity": "ann"}', '{"identity": "ann"}'], 50433, "Participant 2"),
    (['{"identity": "ann"}', "not json"], 20422, "2 is not valid JSON"),
    (['["ann"]'], 20422, "not a JSON object"),
    (["[" * 100_000], 20422, "nested deeper than"),
    (['{"identity": "ann", "nick": "a"}'], 20422, "unknown fields: nick"),
    (['{"attributes": "{}"}'], 20422, "needs an identity"),
    (['{"messaging_binding": {"address": "+15550001111"}}'], 50412, "proxy address"),
    ([f'{{"identity": "u{i}"}}' for i in range(11)], 20422, "more than 10"),
])
def test_a_refused_participant_leaves_no_conversation(client, participants, code, words):
    form = [("UniqueName", "doomed"), *[("Participant", p) for p in participants]]
    reply = client.post("/v1/ConversationWithParticipants", form)
    assert reply.status in (400, 409) and reply.code == code, reply.body
    assert words in reply.body["message"]
    assert client.get("/v1/Conversations/doomed").status == 404
    assert client.get("/v1/Conversations").body["conversations"] == []
    assert client.get("/v1/Users/ann").status == 404


def test_a_taken_unique_name_is_refused_before_any_participant(client):
    client.conversation(unique_name="taken")
    reply = client.post("/v1/ConversationWithParticipants",
                        [("UniqueName", "taken"), ("Participant", '{"identity": "zoe"}')])
    assert (reply.status, reply.code) == (409, 50353)
    assert client.get("/v1/Users/zoe").status == 404


# Credentials

SECRETS = ("CERTIFICATE-TEXT", "PRIVATE-KEY-TEXT", "GCM-API-KEY", "FCM-SERVER-KEY")


@pytest.mark.parametrize("name", list(request_examples("CreateCredential")))
def test_credential_create_examples_answer_the_spec_shape(client, name):
    reply = client.post("/v1/Credentials", request_examples("CreateCredential")[name])
    assert reply.status == 201, reply.body
    validate_response("CreateCredential", 201, reply.body)
    expected = ours(response_examples("CreateCredential", 201)[name], CR=reply.body["sid"])
    assert set(reply.body) == set(expected)
    assert (reply.body["url"], reply.body["sandbox"]) == (expected["url"], "False")
    # The fcm example answers "gcm" (a slip in the spec): the type asked for is what is kept.
    assert reply.body["type"] == request_examples("CreateCredential")[name]["Type"].lower()


def test_credentials_lifecycle_never_returns_a_secret(client):
    apn = client.created("/v1/Credentials", {"Type": "apn", "FriendlyName": "iOS",
                                             "Certificate": SECRETS[0], "PrivateKey": SECRETS[1],
                                             "Sandbox": "True"})
    gcm = client.created("/v1/Credentials", {"Type": "gcm", "ApiKey": SECRETS[2]})
    fcm = client.created("/v1/Credentials", {"Type": "fcm", "Secret": SECRETS[3]})
    assert (apn["sandbox"], apn["friendly_name"], gcm["friendly_name"]) == ("True", "iOS", None)
    listed = client.get("/v1/Credentials", {"PageSize": "2"})
    validate_response("ListCredential", 200, listed.body)
    pages = list(client.pages("/v1/Credentials", {"PageSize": "2"}))
    assert [c["sid"] for p in pages for c in p.body["credentials"]] == \
        [apn["sid"], gcm["sid"], fcm["sid"]]
    update = ours(request_examples("UpdateCredential")["update"])
    updated = client.post(f"/v1/Credentials/{apn['sid']}", update)
    assert updated.status == 200
    validate_response("UpdateCredential", 200, updated.body)
    expected = ours(response_examples("UpdateCredential", 200)["update"], CR=apn["sid"])
    for field in ("sid", "account_sid", "friendly_name", "type", "url"):
        assert updated.body[field] == expected[field], field
    fetched = client.get(f"/v1/Credentials/{apn['sid']}")
    validate_response("FetchCredential", 200, fetched.body)
    assert set(fetched.body) == set(response_examples("FetchCredential", 200)["fetch"])
    everything = b"".join(r.raw for r in (listed, updated, fetched, *pages))
    assert not any(secret.encode() in everything for secret in SECRETS)
    kept = client.engine.store.one("SELECT * FROM credentials WHERE sid = ?", apn["sid"])
    assert (kept["certificate"], kept["private_key"]) == SECRETS[:2]  # stored, as Twilio does
    assert client.delete(f"/v1/Credentials/{gcm['sid']}").status == 204
    assert client.get(f"/v1/Credentials/{gcm['sid']}").status == 404
    assert client.delete(f"/v1/Credentials/{gcm['sid']}").status == 404


def test_changing_a_credentials_type_drops_the_old_secrets(client):
    apn = client.created("/v1/Credentials", {"Type": "apn", "Certificate": "C", "Sandbox": "true"})
    reply = client.post(f"/v1/Credentials/{apn['sid']}", {"Type": "fcm", "Secret": "S"})
    assert (reply.body["type"], reply.body["sandbox"]) == ("fcm", "False")
    kept = client.engine.store.one("SELECT * FROM credentials WHERE sid = ?", apn["sid"])
    assert (kept["certificate"], kept["secret"]) == (None, "S")


@pytest.mark.parametrize("form,code", [
    ({}, 20001),
    ({"Type": "voip"}, 20422),
    ({"Type": "gcm", "Certificate": "C"}, 20422),
    ({"Type": "apn", "Secret": "S"}, 20422),
    ({"Type": "fcm", "Sandbox": "true"}, 20422),
    ({"Type": "apn", "Sandbox": "maybe"}, 20422),
    ({"Type": "apn", "FriendlyName": "x" * 65}, 20422),
    ({"Type": "apn", "Password": "x"}, 20001),
])
def test_bad_credentials_are_refused_and_nothing_is_kept(client, form, code):
    reply = client.post("/v1/Credentials", form)
    assert (reply.status, reply.code) == (400, code), reply.body
    assert client.get("/v1/Credentials").body["credentials"] == []


@pytest.mark.parametrize("sid", ["CR" + "0" * 32, "nope", "IS" + "0" * 32])
def test_an_unknown_credential_is_404(client, sid):
    assert client.get(f"/v1/Credentials/{sid}").code == 20404
    assert client.post(f"/v1/Credentials/{sid}", {"FriendlyName": "x"}).status == 404


# The account's resources are the account's: an identity key (`convo serve keys`) reaches none.

@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/Configuration", b""),
    ("POST", "/v1/Configuration", b"DefaultInactiveTimer=PT5M"),
    ("GET", "/v1/Credentials", b""),
    ("POST", "/v1/Credentials", b"Type=apn"),
    ("POST", "/v1/ConversationWithParticipants", b"Participant=%7B%22identity%22%3A%22x%22%7D"),
])
def test_an_identity_key_reaches_no_account_resource(client, method, path, body):
    from convo_cli.engine.keys import Actor

    status, _, raw = client.engine.handle(method, path, "", body, {},
                                          actor=Actor("SK" + "0" * 32, "alice"))
    assert status == 403, raw
    assert client.get("/v1/Credentials").body["credentials"] == []
    assert client.get("/v1/Conversations").body["conversations"] == []
    assert client.get("/v1/Configuration").body["default_inactive_timer"] is None
