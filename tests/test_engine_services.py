"""Conversation Services (engine/services.py): the registry, a named service as a scope of
its own (its data apart from the default service's), its configuration, notifications,
webhooks and push bindings; the official twilio library inside a named service."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from engine_helpers import EngineClient, validate_response
from twilio.request_validator import RequestValidator
from test_serve_twilio import twilio
from webhook_helpers import start_receiver

DEFAULT = "IS" + "0" * 32  # the in-process account's default service (AC000…)


@pytest.fixture
def client(tmp_path):
    engine = EngineClient(tmp_path / "services.db")
    yield engine
    engine.close()


def named(client: EngineClient, name: str = "team") -> str:
    reply = client.post("/v1/Services", {"FriendlyName": name})
    assert reply.status == 201, reply.body
    validate_response("CreateService", 201, reply.body)
    return reply.body["sid"]


def test_the_registry_lists_the_default_service_first_then_the_named_ones(client):
    team, ops = named(client, "team"), named(client, "ops")
    listed = client.get("/v1/Services", params={"PageSize": "2"})
    assert [s["sid"] for s in listed.body["services"]] == [DEFAULT, team]
    assert listed.body["services"][0]["friendly_name"] == "Default Conversations Service"
    rest = client.follow(listed.body["meta"]["next_page_url"])
    assert [s["sid"] for s in rest.body["services"]] == [ops]
    assert client.get(f"/v1/Services/{ops}").body["friendly_name"] == "ops"
    assert client.get("/v1/Configuration").body["default_chat_service_sid"] == DEFAULT


def test_the_default_service_is_the_accounts_v1_paths(client):
    made = client.post(f"/v1/Services/{DEFAULT}/Conversations", {"UniqueName": "standup"})
    assert made.status == 201
    assert made.body["url"].endswith(f"/v1/Services/{DEFAULT}/Conversations/{made.body['sid']}")
    plain = client.get("/v1/Conversations/standup").body
    assert plain["sid"] == made.body["sid"] and plain["chat_service_sid"] == DEFAULT
    assert plain["url"].endswith(f"/v1/Conversations/{made.body['sid']}")


def test_a_named_services_data_stays_apart_from_the_default_ones(client, tmp_path):
    team = named(client)
    here = client.post("/v1/Conversations", {"UniqueName": "standup"}).body
    there = client.post(f"/v1/Services/{team}/Conversations", {"UniqueName": "standup"}).body
    assert here["sid"] != there["sid"] and there["chat_service_sid"] == team
    client.post(f"/v1/Services/{team}/Conversations/standup/Participants", {"Identity": "ann"})
    assert client.get("/v1/Conversations/standup/Participants").body["participants"] == []
    assert client.get("/v1/Users/ann").status == 404  # ann is a user of team only
    assert client.get(f"/v1/Services/{team}/Users/ann").body["chat_service_sid"] == team
    assert client.get(f"/v1/Conversations/{there['sid']}").status == 404
    assert client.get(f"/v1/Services/{team}/Conversations/{here['sid']}").status == 404
    # Each service has its own default roles (SIDs of its own).
    roles = {r["sid"] for r in client.get("/v1/Roles").body["roles"]}
    assert roles.isdisjoint(r["sid"] for r in client.get(f"/v1/Services/{team}/Roles")
                            .body["roles"])
    assert (tmp_path / "services.db.services" / f"{team}.db").exists()


def test_account_resources_are_not_under_a_service_and_a_services_own_are_not_under_v1(client):
    team = named(client)
    for path in ("Credentials", "Configuration/Addresses", "Services"):
        assert client.get(f"/v1/Services/{team}/{path}").status == 404, path
    for path in ("Bindings", "Configuration/Notifications"):
        assert client.get(f"/v1/{path}").status == 404, path


def test_an_unknown_or_deleted_service_is_not_found_naming_the_path(client, tmp_path):
    team = named(client)
    client.post(f"/v1/Services/{team}/Conversations", {"UniqueName": "x"})
    assert client.call("DELETE", f"/v1/Services/{team}").status == 204
    gone = client.get(f"/v1/Services/{team}/Conversations")
    assert gone.status == 404
    assert gone.body["message"] == \
        f"The requested resource /Services/{team}/Conversations was not found"
    assert not (tmp_path / "services.db.services" / f"{team}.db").exists()
    assert client.get(f"/v1/Services/{team}").status == 404
    assert client.get("/v1/Services/not-a-sid/Conversations").status == 404
    assert [s["sid"] for s in client.get("/v1/Services").body["services"]] == [DEFAULT]


def test_the_default_service_cannot_be_deleted_and_a_name_is_required(client):
    refused = client.call("DELETE", f"/v1/Services/{DEFAULT}")
    assert refused.status == 400 and "default" in refused.body["message"]
    assert client.post("/v1/Services", {}).code == 20001
    assert client.post("/v1/Services", {"FriendlyName": "x" * 257}).status == 400


def test_a_services_default_roles_decide_what_new_users_and_participants_get(client):
    team = named(client)
    root = f"/v1/Services/{team}"
    boss = client.post(f"{root}/Roles", {"FriendlyName": "boss", "Type": "service",
                                         "Permission": "createConversation"}).body["sid"]
    member = client.post(f"{root}/Roles", {"FriendlyName": "member", "Type": "conversation",
                                           "Permission": "sendMessage"}).body["sid"]
    config = client.post(f"{root}/Configuration", {
        "DefaultChatServiceRoleSid": boss, "DefaultConversationRoleSid": member,
        "ReachabilityEnabled": "true"})
    assert config.status == 200, config.body
    validate_response("UpdateServiceConfiguration", 200, config.body)
    assert (config.body["default_chat_service_role_sid"], config.body["reachability_enabled"]) \
        == (boss, True)
    client.post(f"{root}/Conversations", {"UniqueName": "c"})
    joined = client.post(f"{root}/Conversations/c/Participants", {"Identity": "zoe"}).body
    assert joined["role_sid"] == member
    assert client.get(f"{root}/Users/zoe").body["role_sid"] == boss
    # The default service is untouched; a role of the wrong type is refused.
    assert client.get(f"/v1/Services/{DEFAULT}/Configuration").body[
        "default_chat_service_role_sid"] != boss
    wrong = client.post(f"{root}/Configuration", {"DefaultChatServiceRoleSid": member})
    assert wrong.status == 400 and "DefaultChatServiceRoleSid" in wrong.body["message"]


def test_notification_settings_round_trip_and_are_checked(client):
    root = f"/v1/Services/{named(client)}/Configuration/Notifications"
    fresh = client.get(root).body
    assert fresh["new_message"]["enabled"] is False and fresh["log_enabled"] is False
    updated = client.post(root, {"NewMessage.Enabled": "true",
                                 "NewMessage.Template": "${PARTICIPANT}: ${MESSAGE}",
                                 "NewMessage.WithMedia.Enabled": "True", "LogEnabled": "true"})
    validate_response("UpdateServiceNotification", 200, updated.body)
    assert updated.body["new_message"]["template"] == "${PARTICIPANT}: ${MESSAGE}"
    assert updated.body["new_message"]["with_media"]["enabled"] is True
    assert client.get(root).body == updated.body
    bad = client.post(root, {"LogEnabled": "yes"})
    assert bad.status == 400 and "LogEnabled" in bad.body["message"]
    assert client.get(root).body == updated.body  # nothing changed


def test_push_bindings_are_registered_listed_filtered_and_deleted(client):
    team = named(client)
    for identity, kind, endpoint in (("ann", "fcm", "a1"), ("ann", "apn", "a2"),
                                     ("bob", "fcm", "b1")):
        made = client.post(f"/convo/v1/Services/{team}/Bindings", {
            "Identity": identity, "BindingType": kind, "Endpoint": endpoint})
        assert made.status == 201, made.body
    again = client.post(f"/convo/v1/Services/{team}/Bindings", {
        "Identity": "ann", "BindingType": "fcm", "Endpoint": "a1", "MessageTypes": "new_message"})
    root = f"/v1/Services/{team}/Bindings"
    listed = client.get(root).body["bindings"]
    assert len(listed) == 3 and again.body["sid"] == listed[0]["sid"]  # registered again
    assert listed[0]["message_types"] == ["new_message"]
    validate_response("ListServiceBinding", 200, client.get(root).body)
    fcm = client.get(root, params=[("BindingType", "fcm")]).body["bindings"]
    assert sorted(b["endpoint"] for b in fcm) == ["a1", "b1"]
    anns = client.get(root, params=[("Identity", "ann"), ("BindingType", "apn")]).body
    assert [b["endpoint"] for b in anns["bindings"]] == ["a2"]
    page = client.get(root, params={"PageSize": "2"}).body
    assert len(client.follow(page["meta"]["next_page_url"]).body["bindings"]) == 1
    assert client.call("DELETE", f"{root}/{listed[0]['sid']}").status == 204
    assert client.get(f"{root}/{listed[0]['sid']}").status == 404
    assert client.get("/v1/Services/" + DEFAULT + "/Bindings").body["bindings"] == []
    bad = client.post(f"/convo/v1/Services/{team}/Bindings", {
        "Identity": "ann", "BindingType": "sms", "Endpoint": "x"})
    assert bad.status == 400 and "BindingType" in bad.body["message"]


def test_a_named_services_webhooks_are_its_own_and_reach_the_receiver(tmp_path):
    # In-process (the local profile's path): the named service's change is delivered from
    # its own outbox when the command's transport closes, signed with the account's token.
    import json

    from convo_cli.api.transport import Request
    from convo_cli.engine.inprocess import InProcessTransport
    from convo_cli.engine.wire import DEFAULT_AUTH_TOKEN

    receiver = start_receiver()
    try:
        transport = InProcessTransport(str(tmp_path / "hooks.db"))

        def post(path: str, form: dict[str, str]) -> dict:
            reply = transport.send(Request("POST", path, (), tuple(form.items()),
                                           (("X-Twilio-Webhook-Enabled", "true"),)))
            assert reply.status in (200, 201), reply.body
            return json.loads(reply.body)

        team = post("/v1/Services", {"FriendlyName": "team"})["sid"]
        hook = post(f"/v1/Services/{team}/Configuration/Webhooks", {
            "PostWebhookUrl": receiver.url + "/team", "Filters": "onMessageAdded"})
        assert hook["filters"] == ["onMessageAdded"] and hook["chat_service_sid"] == team
        post("/v1/Configuration/Webhooks", {"PostWebhookUrl": receiver.url + "/default",
                                            "Filters": "onMessageAdded"})
        post(f"/v1/Services/{team}/Conversations", {"UniqueName": "c"})
        post(f"/v1/Services/{team}/Conversations/c/Messages", {"Body": "hi", "Author": "ann"})
        transport.close()
        requests = receiver.wait_for(1)
        assert [(r.path, r.params["ChatServiceSid"], r.params["Body"]) for r in requests] == \
            [("/team", team, "hi")]
        assert RequestValidator(DEFAULT_AUTH_TOKEN).validate(
            receiver.url + "/team", requests[0].params, requests[0].headers["X-Twilio-Signature"])
    finally:
        receiver.close()


def test_served_a_named_services_events_are_delivered_by_the_courier(tmp_path):
    from server_helpers import raw_request, start_server

    receiver = start_receiver()
    server = start_server(tmp_path / "served.db")
    try:
        _, _, service = raw_request(server.url, "POST", "/v1/Services", b"FriendlyName=team",
                                    auth=server.auth)
        root = f"/v1/Services/{service['sid']}"
        raw_request(server.url, "POST", f"{root}/Configuration/Webhooks",
                    f"PostWebhookUrl={receiver.url}/team&Filters=onConversationAdded".encode(),
                    auth=server.auth)
        status, _, made = raw_request(server.url, "POST", f"{root}/Conversations",
                                      b"UniqueName=c", headers={"X-Twilio-Webhook-Enabled": "true"},
                                      auth=server.auth)
        assert status == 201
        requests = receiver.wait_for(1)
        assert [(r.params["EventType"], r.params["ConversationSid"], r.params["ChatServiceSid"])
                for r in requests] == [("onConversationAdded", made["sid"], service["sid"])]
        assert RequestValidator(server.auth_token).validate(
            receiver.url + "/team", requests[0].params, requests[0].headers["X-Twilio-Signature"])
    finally:
        server.stop()
        receiver.close()


def test_the_twilio_library_runs_the_scenario_inside_a_named_service(served, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    v1 = twilio(served).conversations.v1
    service = v1.services.create(friendly_name="Support")
    assert service.sid.startswith("IS") and service.friendly_name == "Support"
    assert service.sid in [s.sid for s in v1.services.list()]
    scope = v1.services(service.sid)
    created = scope.conversations.create(friendly_name="Ticket 7", unique_name="ticket-7",
                                         attributes='{"priority": "high"}')
    assert created.chat_service_sid == service.sid and created.attributes == '{"priority": "high"}'
    participants = scope.conversations(created.sid).participants
    alice = participants.create(identity="alice")
    assert alice.chat_service_sid == service.sid
    participants.create(messaging_binding_address="+15551230007",
                        messaging_binding_proxy_address="+15559990007")
    assert sorted(p.identity or p.messaging_binding["address"] for p in participants.list()) == \
        ["+15551230007", "alice"]
    messages = scope.conversations(created.sid).messages
    for n in range(7):
        messages.create(author="alice", body=f"m{n}")
    assert [m.body for m in messages.list(page_size=3)] == [f"m{n}" for n in range(7)]
    assert [m.index for m in messages.list(order="desc", limit=2)] == [6, 5]
    listed = scope.participant_conversations.list(identity="alice")
    assert [(c.conversation_sid, c.chat_service_sid) for c in listed] == \
        [(created.sid, service.sid)]
    # The default service knows nothing of it; the same unique name is free there.
    assert all(c.conversation_sid != created.sid
               for c in v1.participant_conversations.list(identity="alice"))
    assert all(c.sid != created.sid for c in v1.conversations.list())
    default = v1.conversations.create(unique_name="ticket-7")
    assert default.sid != created.sid
    assert scope.conversations("ticket-7").fetch().sid == created.sid
    default.delete()
    scope.delete()
    assert service.sid not in [s.sid for s in v1.services.list()]


def test_a_service_database_is_created_private(client, tmp_path):
    team = named(client)
    path = Path(tmp_path / "services.db.services" / f"{team}.db")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert os.path.getsize(path) > 0


def test_a_phones_message_finds_the_named_service_its_binding_is_in(client):
    team = named(client)
    root = f"/v1/Services/{team}"
    client.post(f"{root}/Conversations", {"UniqueName": "support"})
    client.post(f"{root}/Conversations/support/Participants", {
        "MessagingBinding.Address": "+15550001234", "MessagingBinding.ProxyAddress": "+15559990000"})
    reply = client.post("/convo/v1/Inbound", {"From": "+15550001234", "To": "+15559990000",
                                              "Body": "my order?"})
    assert reply.status == 201, reply.body
    assert reply.body["url"].startswith(f"http://127.0.0.1:8080{root}/Conversations/")
    assert [m["body"] for m in client.get(f"{root}/Conversations/support/Messages")
            .body["messages"]] == ["my order?"]
    assert client.post(f"/convo{root}/Inbound", {"From": "+15550001234", "To": "+15559990000",
                                                 "Body": "x"}).status == 404


def test_an_address_configuration_auto_creates_in_the_service_it_names(client):
    team = named(client)
    made = client.post("/v1/Configuration/Addresses", {
        "Type": "sms", "Address": "+15559990001", "FriendlyName": "Support line",
        "AutoCreation.Enabled": "true", "AutoCreation.ConversationServiceSid": team})
    assert made.status == 201, made.body
    reply = client.post("/convo/v1/Inbound", {"From": "+15550005678", "To": "+15559990001",
                                              "Body": "hello"})
    assert reply.status == 201, reply.body
    created = client.get(f"/v1/Services/{team}/Conversations").body["conversations"]
    assert [c["friendly_name"] for c in created] == ["Support line"]
    assert client.get("/v1/Conversations").body["conversations"] == []
    client.call("DELETE", f"/v1/Services/{team}")
    dropped = client.post("/convo/v1/Inbound", {"From": "+15550009999", "To": "+15559990001",
                                                "Body": "anyone?"})
    assert dropped.status == 404 and team in dropped.body["message"]


def test_the_default_service_stays_where_the_accounts_data_is(client):
    team = named(client)
    moved = client.post("/v1/Configuration", {"DefaultChatServiceSid": team})
    assert moved.status == 400 and f"/v1/Services/{team}/" in moved.body["message"]
    assert client.get("/v1/Configuration").body["default_chat_service_sid"] == DEFAULT
    assert client.post("/v1/Configuration", {"DefaultChatServiceSid": DEFAULT}).status == 200


def test_a_named_service_waits_for_locks_as_the_account_does(tmp_path):
    # `convo serve` sets the busy timeout to 0 (it never waits on its event loop): a named
    # service's database, opened later, must not wait 10 s either.
    from convo_cli.engine.wire import Engine

    engine = Engine(str(tmp_path / "busy.db"), base_url="http://x")
    try:
        engine.store.set_busy_timeout(0)
        team = engine.scopes.create("team")["sid"]
        engine.scopes.close()  # opened again, as after a restart or an eviction
        opened = engine.scopes.engine(team)
        assert opened.store.busy_timeout_ms == 0
        assert opened.store.db.execute("PRAGMA busy_timeout").fetchone()["timeout"] == 0
    finally:
        engine.close()


def test_errors_under_a_service_name_the_path_the_client_sent(client):
    team = named(client)
    client.post(f"/v1/Services/{team}/Conversations", {"UniqueName": "c"})
    wrong = client.call("DELETE", f"/v1/Services/{team}/Conversations")
    assert wrong.status == 405 and wrong.headers["allow"] == "GET, POST"
    assert wrong.body["message"] == f"Method DELETE not allowed on /Services/{team}/Conversations"
    export = client.get(f"/v1/Services/{team}/Conversations/c/Export")
    assert export.status == 404
    assert export.body["message"].startswith(
        f"The requested resource /Services/{team}/Conversations/c/Export was not found: convo")


def test_a_phone_finds_its_service_among_more_than_are_kept_open(client, monkeypatch):
    from convo_cli.engine import services

    monkeypatch.setattr(services, "OPEN_LIMIT", 2)
    sids = [named(client, f"s{n}") for n in range(4)]
    root = f"/v1/Services/{sids[0]}"  # the first: closed again by the time it is reached
    client.post(f"{root}/Conversations", {"UniqueName": "desk"})
    client.post(f"{root}/Conversations/desk/Participants", {
        "MessagingBinding.Address": "+15550003333", "MessagingBinding.ProxyAddress": "+15559993333"})
    for sid in sids[1:]:
        assert client.get(f"/v1/Services/{sid}/Conversations").status == 200
    reply = client.post("/convo/v1/Inbound", {"From": "+15550003333", "To": "+15559993333",
                                              "Body": "still there?"})
    assert reply.status == 201, reply.body
    assert len(client.engine.scopes.opened()) <= 2
    assert [m["body"] for m in client.get(f"{root}/Conversations/desk/Messages")
            .body["messages"]] == ["still there?"]
