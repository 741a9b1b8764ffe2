"""Webhooks: the resources (against the spec), post-events with Twilio's parameters and
signature, pre-events that cancel or rewrite, conversation scope and filters, the header,
and the durable queue across a killed `convo serve`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time

import pytest
from cli_helpers import convo
from engine_helpers import EngineClient, validate_response
from twilio.request_validator import RequestValidator
from webhook_helpers import start_receiver

from convo_cli.engine.delivery import drain
from convo_cli.engine.wire import DEFAULT_AUTH_TOKEN

ON = {"X-Twilio-Webhook-Enabled": "true"}


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.close()


@pytest.fixture
def engine(tmp_path):
    client = EngineClient(tmp_path / "hooks.db")
    yield client
    client.close()


def post(client: EngineClient, path: str, form, headers=ON):
    return client.call("POST", path, form=form, headers=headers)


def deliver(client: EngineClient) -> None:
    drain(client.engine.store, DEFAULT_AUTH_TOKEN, 5)


def test_the_webhook_resources_match_the_spec(engine, receiver):
    reply = engine.get("/v1/Configuration/Webhooks")
    validate_response("FetchConfigurationWebhook", 200, reply.body)
    assert reply.body["method"] == "POST" and reply.body["filters"] == []
    reply = engine.post("/v1/Configuration/Webhooks", [
        ("Method", "GET"), ("Filters", "onMessageAdded"), ("Filters", "onMessageAdd"),
        ("PostWebhookUrl", receiver.url + "/post"), ("PreWebhookUrl", receiver.url + "/pre")])
    validate_response("UpdateConfigurationWebhook", 200, reply.body)
    assert reply.body["filters"] == ["onMessageAdded", "onMessageAdd"]
    assert engine.get("/v1/Configuration/Webhooks").body["method"] == "GET"

    ch = engine.conversation()["sid"]
    base = f"/v1/Conversations/{ch}/Webhooks"
    created = engine.post(base, [("Target", "webhook"), ("Configuration.Url", receiver.url),
                                 ("Configuration.Filters", "onMessageAdded"),
                                 ("Configuration.Method", "post")])
    assert created.status == 201
    validate_response("CreateConversationScopedWebhook", 201, created.body)
    assert created.body["configuration"]["filters"] == ["onMessageAdded"]
    studio = engine.post(base, [("Target", "studio"),
                                ("Configuration.FlowSid", "FW" + "a" * 32)])
    assert studio.status == 201 and studio.body["target"] == "studio"
    listed = engine.get(base)
    validate_response("ListConversationScopedWebhook", 200, listed.body)
    assert [w["sid"] for w in listed.body["webhooks"]] == [created.body["sid"], studio.body["sid"]]
    url = f"{base}/{created.body['sid']}"
    validate_response("FetchConversationScopedWebhook", 200, engine.get(url).body)
    updated = engine.post(url, [("Configuration.Filters", "onParticipantAdded")])
    validate_response("UpdateConversationScopedWebhook", 200, updated.body)
    assert updated.body["configuration"]["filters"] == ["onParticipantAdded"]
    assert engine.delete(url).status == 204
    assert engine.get(url).status == 404


@pytest.mark.parametrize("form, code", [
    ([("Target", "nope")], 50364),
    ([("Target", "webhook"), ("Configuration.Url", "http://x"),
      ("Configuration.Filters", "onSomething")], 50365),
    ([("Target", "webhook"), ("Configuration.Url", "http://x")], 50370),
    ([("Target", "webhook"), ("Configuration.Filters", "onMessageAdded")], 50363),
    ([("Target", "webhook"), ("Configuration.Url", "not a url"),
      ("Configuration.Filters", "onMessageAdded")], 50363),
])
def test_a_bad_scoped_webhook_is_refused_with_twilios_code(engine, form, code):
    ch = engine.conversation()["sid"]
    reply = engine.post(f"/v1/Conversations/{ch}/Webhooks", form)
    assert (reply.status, reply.code) == (400, code)


def test_at_most_five_webhooks_a_conversation(engine):
    ch = engine.conversation()["sid"]
    form = [("Target", "webhook"), ("Configuration.Url", "http://127.0.0.1:9/"),
            ("Configuration.Filters", "onMessageAdded")]
    for _ in range(5):
        assert engine.post(f"/v1/Conversations/{ch}/Webhooks", form).status == 201
    reply = engine.post(f"/v1/Conversations/{ch}/Webhooks", form)
    assert reply.status == 400 and "at most 5" in reply.body["message"]


def test_a_post_event_arrives_with_twilios_parameters_and_a_valid_signature(engine, receiver):
    engine.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url + "/hook"), ("Filters", "onMessageAdded"),
        ("Filters", "onParticipantAdded")])
    ch = post(engine, "/v1/Conversations", {}).body["sid"]
    member = post(engine, f"/v1/Conversations/{ch}/Participants", {"Identity": "ann"}).body
    sent = post(engine, f"/v1/Conversations/{ch}/Messages",
                {"Author": "ann", "Body": "hello", "Attributes": '{"a": 1}'}).body
    deliver(engine)
    requests = receiver.wait_for(2)
    assert [r.params["EventType"] for r in requests] == ["onParticipantAdded", "onMessageAdded"]
    message = requests[1].params
    assert message["ConversationSid"] == ch and message["MessageSid"] == sent["sid"]
    assert (message["Body"], message["Author"], message["Index"]) == ("hello", "ann", "0")
    assert message["Attributes"] == '{"a": 1}' and message["ParticipantSid"] == member["sid"]
    assert message["AccountSid"] == sent["account_sid"] and message["Source"] == "API"
    assert message["RetryCount"] == "0" and message["ChatServiceSid"].startswith("IS")
    assert message["DateCreated"] == sent["date_created"]
    assert requests[0].params["Identity"] == "ann"
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    for request in requests:
        assert request.method == "POST"
        assert validator.validate(receiver.url + request.path, request.params,
                                  request.headers["X-Twilio-Signature"])
    assert not RequestValidator("another token").validate(
        receiver.url + requests[1].path, message, requests[1].headers["X-Twilio-Signature"])


def test_get_webhooks_carry_the_parameters_in_a_signed_url(engine, receiver):
    engine.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url + "/get"), ("Method", "GET"),
        ("Filters", "onConversationAdded")])
    post(engine, "/v1/Conversations", {"FriendlyName": "tea & cake"})
    deliver(engine)
    request = receiver.wait_for(1)[0]
    assert request.method == "GET" and request.params["FriendlyName"] == "tea & cake"
    assert RequestValidator(DEFAULT_AUTH_TOKEN).validate(
        receiver.url + request.path, {}, request.headers["X-Twilio-Signature"])


def test_without_the_header_no_webhook_fires(engine, receiver):
    engine.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url), ("PreWebhookUrl", receiver.url),
        ("Filters", "onConversationAdded"), ("Filters", "onConversationAdd")])
    post(engine, "/v1/Conversations", {}, headers={})
    post(engine, "/v1/Conversations", {}, headers={"X-Twilio-Webhook-Enabled": "false"})
    deliver(engine)
    assert receiver.requests == []
    post(engine, "/v1/Conversations", {})
    deliver(engine)
    assert receiver.events() == ["onConversationAdd", "onConversationAdded"]


def test_a_scoped_webhook_fires_only_for_its_conversation_and_filters(engine, receiver):
    one = engine.conversation()["sid"]
    other = engine.conversation()["sid"]
    hook = engine.post(f"/v1/Conversations/{one}/Webhooks", [
        ("Target", "webhook"), ("Configuration.Url", receiver.url + "/scoped"),
        ("Configuration.Filters", "onMessageAdded")]).body
    post(engine, f"/v1/Conversations/{other}/Messages", {"Body": "elsewhere"})
    post(engine, f"/v1/Conversations/{one}/Participants", {"Identity": "bo"})  # not filtered
    post(engine, f"/v1/Conversations/{one}/Messages", {"Body": "here"})
    deliver(engine)
    assert [(r.params["EventType"], r.params["Body"]) for r in receiver.requests] == \
        [("onMessageAdded", "here")]
    assert receiver.requests[0].params["WebhookSid"] == hook["sid"]


def test_a_trigger_webhook_fires_on_its_keyword(engine, receiver):
    ch = engine.conversation()["sid"]
    engine.post(f"/v1/Conversations/{ch}/Webhooks", [
        ("Target", "trigger"), ("Configuration.Url", receiver.url),
        ("Configuration.Triggers", "help")])
    post(engine, f"/v1/Conversations/{ch}/Messages", {"Body": "hello"})
    post(engine, f"/v1/Conversations/{ch}/Messages", {"Body": "Help me"})
    deliver(engine)
    assert [r.params["Body"] for r in receiver.requests] == ["Help me"]


def test_a_pre_event_hook_answering_403_cancels_the_message(engine, receiver):
    receiver.answers["/pre"] = (403, b"")
    engine.post("/v1/Configuration/Webhooks", [
        ("PreWebhookUrl", receiver.url + "/pre"), ("Filters", "onMessageAdd")])
    ch = engine.conversation()["sid"]
    reply = post(engine, f"/v1/Conversations/{ch}/Messages", {"Body": "spam", "Author": "x"})
    assert reply.status == 403 and "onMessageAdd" in reply.body["message"]
    assert engine.get(f"/v1/Conversations/{ch}/Messages").body["messages"] == []
    asked = receiver.requests[0].params
    assert (asked["EventType"], asked["Body"], asked["ConversationSid"]) == \
        ("onMessageAdd", "spam", ch)
    assert RequestValidator(DEFAULT_AUTH_TOKEN).validate(
        receiver.url + "/pre", asked, receiver.requests[0].headers["X-Twilio-Signature"])


def test_a_pre_event_hook_answering_json_rewrites_the_message(engine, receiver):
    receiver.answers["/pre"] = (200, json.dumps({"body": "[redacted]"}).encode())
    engine.post("/v1/Configuration/Webhooks", [
        ("PreWebhookUrl", receiver.url + "/pre"), ("Filters", "onMessageAdd"),
        ("PostWebhookUrl", receiver.url + "/post"), ("Filters", "onMessageAdded")])
    ch = engine.conversation()["sid"]
    reply = post(engine, f"/v1/Conversations/{ch}/Messages", {"Body": "my password is 1234"})
    assert reply.status == 201 and reply.body["body"] == "[redacted]"
    deliver(engine)
    assert receiver.requests[-1].params["Body"] == "[redacted]"


def test_a_pre_event_hook_that_does_not_answer_cancels_the_change(engine, receiver):
    engine.post("/v1/Configuration/Webhooks", [
        ("PreWebhookUrl", "http://127.0.0.1:9/down"), ("Filters", "onConversationRemove")])
    ch = engine.conversation()["sid"]
    reply = engine.call("DELETE", f"/v1/Conversations/{ch}", headers=ON)
    assert reply.status == 403 and "did not answer" in reply.body["message"]
    assert engine.get(f"/v1/Conversations/{ch}").status == 200


def test_the_local_command_delivers_before_it_exits_and_keeps_failures(receiver):
    assert convo("create", "--unique-name", "team").code == 0
    assert convo("--identity", "ann", "join", "team").code == 0
    # Configured through the engine itself: convo has no command for it.
    from convo_cli.config import data_dir

    path = str(data_dir(os.environ) / "local.db")
    client = EngineClient(path)
    client.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url + "/bot"), ("Filters", "onMessageAdded")])
    assert convo("--identity", "ann", "send", "team", "hi bot").code == 0
    assert [r.params["Body"] for r in receiver.requests] == ["hi bot"]
    client.post("/v1/Configuration/Webhooks", [("PostWebhookUrl", "http://127.0.0.1:9/down")])
    assert convo("--identity", "ann", "send", "team", "lost?").code == 0
    pending = client.engine.store.all("SELECT type, attempts FROM outbox "
                                      "WHERE url LIKE '%/down'")
    assert pending == [{"type": "onMessageAdded", "attempts": 1}]
    client.close()


def test_queued_events_survive_a_killed_server_and_are_delivered_after_restart(tmp_path):
    from server_helpers import raw_request, start_server

    receiver = start_receiver()
    port = receiver.server.server_port
    receiver.close()  # down: deliveries fail and wait
    db = tmp_path / "served.db"
    server = start_server(db, credentials=False)  # its token is kept beside the database
    auth, token = server.auth, server.auth_token
    try:
        raw_request(server.url, "POST", "/v1/Configuration/Webhooks",
                    f"PostWebhookUrl=http://127.0.0.1:{port}/hook&Filters=onMessageAdded".encode(),
                    auth=auth)
        status, _, conversation = raw_request(server.url, "POST", "/v1/Conversations", b"",
                                              headers=ON, auth=auth)
        for text in ("one", "two"):
            raw_request(server.url, "POST", f"/v1/Conversations/{conversation['sid']}/Messages",
                        f"Body={text}".encode(), headers=ON, auth=auth)
        # The receiver is down: both wait in the queue, tried and failed.
        deadline = time.monotonic() + 30
        while _failed_attempts(db) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _failed_attempts(db) == 2
    finally:
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    receiver = start_receiver(port)
    server = start_server(db, credentials=False)
    try:
        requests = receiver.wait_for(2)
        assert sorted(r.params["Body"] for r in requests) == ["one", "two"]
        assert all(RequestValidator(token).validate(
            receiver.url + r.path, r.params, r.headers["X-Twilio-Signature"]) for r in requests)
        assert int(requests[0].params["RetryCount"]) >= 1
    finally:
        server.stop()
        receiver.close()


def _failed_attempts(db) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM outbox WHERE attempts >= 1"
                                  ).fetchone()[0]


def test_serve_forward_to_sends_every_event_and_prints_a_line(tmp_path, receiver):
    from server_helpers import raw_request, start_server

    server = start_server(tmp_path / "fw.db", "--forward-to", receiver.url + "/app")
    try:
        raw_request(server.url, "POST", "/v1/Conversations", b"FriendlyName=fw",
                    headers=ON, auth=server.auth)
        requests = receiver.wait_for(1)
        assert requests[0].params["EventType"] == "onConversationAdded"
        assert RequestValidator(server.auth_token).validate(
            receiver.url + "/app", requests[0].params, requests[0].headers["X-Twilio-Signature"])
        line = f"--> onConversationAdded {receiver.url}/app 200"
        for _ in range(200):
            if line in server.log():
                break
            time.sleep(0.05)
        assert line in server.log()
    finally:
        server.stop()


def test_convo_events_lists_deliveries_and_what_waits(receiver):
    assert convo("create", "--unique-name", "log").code == 0
    assert convo("--identity", "ann", "join", "log").code == 0
    from convo_cli.config import data_dir

    client = EngineClient(str(data_dir(os.environ) / "local.db"))
    client.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url + "/ok"), ("Filters", "onMessageAdded")])
    assert convo("--identity", "ann", "send", "log", "first").code == 0
    client.post("/v1/Configuration/Webhooks", [("PostWebhookUrl", "http://127.0.0.1:9/down")])
    client.close()
    assert convo("--identity", "ann", "send", "log", "second").code == 0
    rows = convo("events").rows()
    assert [(r[1], r[3], r[4], r[6]) for r in rows] == [
        ("onMessageAdded", receiver.url + "/ok", "delivered", "1"),
        ("onMessageAdded", "http://127.0.0.1:9/down", "pending", "1")]
    assert rows[0][5] == "200" and rows[1][5] != ""
    items = [json.loads(line) for line in convo("events", "--json").lines()]
    assert [i["params"]["Body"] for i in items] == ["first", "second"]


def test_convo_events_needs_a_convo_engine():
    result = convo("events", TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="x")
    assert result.code == 2 and "convo engine" in result.err


def test_the_event_log_is_served_outside_v1(tmp_path, receiver):
    from server_helpers import raw_request, start_server

    server = start_server(tmp_path / "log.db", "--forward-to", receiver.url)
    try:
        raw_request(server.url, "POST", "/v1/Conversations", b"", headers=ON, auth=server.auth)
        receiver.wait_for(1)
        for _ in range(200):
            status, _, log = raw_request(server.url, "GET", "/convo/v1/Events?After=0",
                                         auth=server.auth)
            if log["finished"]:
                break
            time.sleep(0.05)
        assert status == 200
        assert [(i["event_type"], i["state"], i["status"]) for i in log["finished"]] == \
            [("onConversationAdded", "delivered", 200)]
        assert raw_request(server.url, "GET", "/convo/v1/Events")[0] == 401
    finally:
        server.stop()


def readme_bot() -> str:
    from convo_cli.docs import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("`bot.py`, plain Python"):]
    start = section.index("```python\n") + len("```python\n")
    return section[start:section.index("\n```", start)]


def test_the_readme_bot_validates_signatures_and_answers(tmp_path):
    import socket
    import subprocess
    import sys

    from server_helpers import raw_request, server_env, start_server

    code = readme_bot()
    assert len(code.splitlines()) <= 24
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_server(tmp_path / "bot.db", "--forward-to", f"http://127.0.0.1:{port}/bot")
    sid, token = server.auth
    env = server_env(CONVO_SERVE_ACCOUNT_SID=sid, CONVO_SERVE_AUTH_TOKEN=token)
    (tmp_path / "bot.py").write_text(code)
    bot = subprocess.Popen([sys.executable, str(tmp_path / "bot.py")],
                           env={**env, "CONVO_URL": server.url, "PORT": str(port)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):  # until the bot listens
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        forged = raw_request(f"http://127.0.0.1:{port}", "POST", "/bot",
                             b"EventType=onMessageAdded&Body=x",
                             headers={"X-Twilio-Signature": "forged"})
        assert forged[0] == 403
        auth = (sid, token)
        _, _, conversation = raw_request(server.url, "POST", "/v1/Conversations", b"",
                                         auth=auth)
        path = f"/v1/Conversations/{conversation['sid']}/Messages"
        raw_request(server.url, "POST", path, b"Author=ann&Body=hello+bot", headers=ON,
                    auth=auth)
        bodies: list[str] = []
        for _ in range(400):
            bodies = [m["body"] for m in raw_request(server.url, "GET", path, auth=auth)[2]
                      ["messages"]]
            if len(bodies) > 1:
                break
            time.sleep(0.05)
        assert bodies == ["hello bot", "You said: hello bot"]
    finally:
        bot.kill()
        bot.wait()
        server.stop()


def test_a_slow_pre_event_hook_does_not_hold_up_the_servers_other_clients(tmp_path, receiver):
    import threading

    from server_helpers import raw_request, start_server

    receiver.holds["/slow"] = threading.Event()
    receiver.answers["/slow"] = (200, b'{"body": "checked"}')
    server = start_server(tmp_path / "slow.db")
    try:
        raw_request(server.url, "POST", "/v1/Configuration/Webhooks",
                    f"PreWebhookUrl={receiver.url}/slow&Filters=onMessageAdd".encode(),
                    auth=server.auth)
        _, _, conversation = raw_request(server.url, "POST", "/v1/Conversations", b"",
                                         auth=server.auth)
        path = f"/v1/Conversations/{conversation['sid']}/Messages"
        answers = []
        writer = threading.Thread(target=lambda: answers.append(raw_request(
            server.url, "POST", path, b"Body=draft", headers=ON, auth=server.auth)))
        writer.start()
        receiver.wait_for(1)  # the hook is being asked, and holds its answer
        # Meanwhile another client is answered: the event loop is not waiting on the hook.
        status, _, listed = raw_request(server.url, "GET", path, auth=server.auth)
        assert (status, listed["messages"]) == (200, [])
        receiver.holds["/slow"].set()
        writer.join(30)
        assert answers[0][0] == 201 and answers[0][2]["body"] == "checked"
    finally:
        receiver.holds["/slow"].set()
        server.stop()


def test_the_twilio_library_configures_webhooks_and_gets_them(tmp_path, receiver, monkeypatch):
    from server_helpers import start_server
    from twilio.rest import Client

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = start_server(tmp_path / "tw.db")
    try:
        client = Client(server.account_sid, server.auth_token)
        client.edge = client.region = None
        client.conversations.base_url = server.url
        v1 = client.conversations.v1
        config = v1.configuration.webhooks().update(
            post_webhook_url=receiver.url + "/account", method="POST",
            filters=["onConversationAdded", "onMessageAdded"])
        assert config.filters == ["onConversationAdded", "onMessageAdded"]
        assert v1.configuration.webhooks().fetch().post_webhook_url == receiver.url + "/account"
        conversation = v1.conversations.create(friendly_name="lib", x_twilio_webhook_enabled="true")
        hook = v1.conversations(conversation.sid).webhooks.create(
            target="webhook", configuration_url=receiver.url + "/scoped",
            configuration_filters=["onMessageAdded"], configuration_method="post")
        assert hook.sid.startswith("WH") and hook.configuration["filters"] == ["onMessageAdded"]
        assert [w.sid for w in v1.conversations(conversation.sid).webhooks.list()] == [hook.sid]
        v1.conversations(conversation.sid).messages.create(
            body="via twilio", author="lib", x_twilio_webhook_enabled="true")
        requests = receiver.wait_for(3)
        assert sorted((r.path, r.params["EventType"]) for r in requests) == [
            ("/account", "onConversationAdded"), ("/account", "onMessageAdded"),
            ("/scoped", "onMessageAdded")]
        validator = RequestValidator(server.auth_token)
        assert all(validator.validate(receiver.url + r.path, r.params,
                                      r.headers["X-Twilio-Signature"]) for r in requests)
        v1.conversations(conversation.sid).webhooks(hook.sid).delete()
        assert v1.conversations(conversation.sid).webhooks.list() == []
    finally:
        server.stop()


def test_user_events_fire_on_the_account_webhook_only(engine, receiver):
    engine.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url), ("Filters", "onUserAdded"), ("Filters", "onUserUpdated")])
    user = post(engine, "/v1/Users", {"Identity": "zoe"}).body
    post(engine, f"/v1/Users/{user['sid']}", {"FriendlyName": "Zoe"})
    deliver(engine)
    assert [(r.params["EventType"], r.params["UserSid"], r.params["FriendlyName"])
            for r in receiver.requests] == [("onUserAdded", user["sid"], ""),
                                             ("onUserUpdated", user["sid"], "Zoe")]


def test_every_post_event_of_a_conversations_life_fires_in_order(engine, receiver):
    events = ["onConversationAdded", "onConversationUpdated", "onConversationStateUpdated",
              "onConversationRemoved", "onParticipantAdded", "onParticipantUpdated",
              "onParticipantRemoved", "onMessageAdded", "onMessageUpdated", "onMessageRemoved"]
    engine.post("/v1/Configuration/Webhooks", [("PostWebhookUrl", receiver.url),
                                               *[("Filters", e) for e in events]])
    ch = post(engine, "/v1/Conversations", {"UniqueName": "life"}).body["sid"]
    member = post(engine, f"/v1/Conversations/{ch}/Participants", {"Identity": "al"}).body["sid"]
    post(engine, f"/v1/Conversations/{ch}/Participants/{member}", {"Attributes": '{"x": 1}'})
    sent = post(engine, f"/v1/Conversations/{ch}/Messages", {"Body": "v1"}).body["sid"]
    post(engine, f"/v1/Conversations/{ch}/Messages/{sent}", {"Body": "v2"})
    engine.call("DELETE", f"/v1/Conversations/{ch}/Messages/{sent}", headers=ON)
    engine.call("DELETE", f"/v1/Conversations/{ch}/Participants/{member}", headers=ON)
    post(engine, f"/v1/Conversations/{ch}", {"State": "inactive"})
    engine.call("DELETE", f"/v1/Conversations/{ch}", headers=ON)
    deliver(engine)
    assert receiver.events() == [
        "onConversationAdded", "onParticipantAdded", "onParticipantUpdated", "onMessageAdded",
        "onMessageUpdated", "onMessageRemoved", "onParticipantRemoved",
        "onConversationUpdated", "onConversationStateUpdated", "onConversationRemoved"]
    by_type = {r.params["EventType"]: r.params for r in receiver.requests}
    assert by_type["onMessageUpdated"]["Body"] == "v2"
    assert by_type["onParticipantUpdated"]["Attributes"] == '{"x": 1}'
    assert (by_type["onConversationStateUpdated"]["StateFrom"],
            by_type["onConversationStateUpdated"]["StateTo"]) == ("active", "inactive")
    assert by_type["onConversationRemoved"]["UniqueName"] == "life"
    assert "DateRemoved" in by_type["onMessageRemoved"]


def test_following_events_yields_each_finished_delivery_once(tmp_path, receiver):
    from convo_cli.api import Client
    from convo_cli.api import events as api_events
    from convo_cli.engine.inprocess import InProcessTransport

    path = str(tmp_path / "follow.db")
    engine = EngineClient(path)
    engine.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url), ("Filters", "onConversationAdded")])
    post(engine, "/v1/Conversations", {"UniqueName": "a"})
    deliver(engine)
    client = Client(InProcessTransport(path))
    polls = []

    def sleep(_: float) -> None:
        polls.append(1)
        if len(polls) == 1:  # something happens while the follower waits
            post(engine, "/v1/Conversations", {"UniqueName": "b"})
            deliver(engine)
        else:
            raise KeyboardInterrupt

    seen = []
    with pytest.raises(KeyboardInterrupt):
        for item in api_events.follow(client, 0, sleep=sleep):
            seen.append(item["params"]["UniqueName"])
    assert seen == ["a", "b"]
    client.close()
    engine.close()


@pytest.mark.parametrize("form, code", [
    ([("PreWebhookUrl", "ftp://example.com/")], 50077),
    ([("PostWebhookUrl", "not a url")], 50078),
    ([("Filters", "onEverything")], 50365),
    ([("Method", "PUT")], 20422),
    ([("Target", "studio")], 20422),
    ([("Unknown", "1")], 20001),
])
def test_a_bad_configuration_is_refused_and_nothing_changes(engine, form, code):
    before = engine.get("/v1/Configuration/Webhooks").body
    reply = engine.post("/v1/Configuration/Webhooks", form)
    assert (reply.status, reply.code) == (400, code)
    assert engine.get("/v1/Configuration/Webhooks").body == before


def test_an_empty_url_or_filter_clears_it(engine):
    engine.post("/v1/Configuration/Webhooks", [("PostWebhookUrl", "http://127.0.0.1:9/"),
                                               ("Filters", "onMessageAdded")])
    cleared = engine.post("/v1/Configuration/Webhooks", [("PostWebhookUrl", ""),
                                                         ("Filters", "")]).body
    assert (cleared["post_webhook_url"], cleared["filters"]) == (None, [])


def test_webhooks_of_a_missing_conversation_or_sid_are_not_found(engine):
    missing = "CH" + "0" * 32
    assert engine.get(f"/v1/Conversations/{missing}/Webhooks").status == 404
    ch = engine.conversation()["sid"]
    for sid in ("WH" + "0" * 32, "nonsense"):
        assert engine.get(f"/v1/Conversations/{ch}/Webhooks/{sid}").status == 404
        assert engine.delete(f"/v1/Conversations/{ch}/Webhooks/{sid}").status == 404
    assert engine.get("/v1/Configuration/Nothing").status == 404
    assert engine.delete("/v1/Configuration/Webhooks").status == 405


def test_a_conversations_webhooks_go_with_it(engine):
    ch = engine.conversation()["sid"]
    engine.post(f"/v1/Conversations/{ch}/Webhooks", [
        ("Target", "webhook"), ("Configuration.Url", "http://127.0.0.1:9/"),
        ("Configuration.Filters", "onMessageAdded")])
    assert engine.delete(f"/v1/Conversations/{ch}").status == 204
    assert engine.engine.store.all("SELECT * FROM webhooks") == []


def test_forward_to_needs_an_http_url(tmp_path):
    result = convo("serve", "--port", "0", "--db", str(tmp_path / "f.db"),
                   "--forward-to", "ftp://example.com/")
    assert result.code == 2
    assert result.err.splitlines()[-1].startswith("convo: error: --forward-to ftp://example.com/")
