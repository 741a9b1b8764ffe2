"""The phone side: delivery receipts (Twilio's wire format, against the spec), the magic
test numbers' failures, `convo inbound` and `convo outbox` (convo's extensions), on the
built-in engine and through `convo serve`, and receipts through the official twilio library."""

from __future__ import annotations

import json
import os

import pytest
from cli_helpers import convo
from engine_helpers import BASE_URL, EngineClient, validate_response
from twilio.request_validator import RequestValidator
from webhook_helpers import start_receiver

from convo_cli.engine.delivery import drain
from convo_cli.engine.wire import DEFAULT_AUTH_TOKEN

NORMAL, INVALID, NO_SMS = "+15551234567", "+15005550001", "+15005550009"
PROXY = "+15550001111"
ON = {"X-Twilio-Webhook-Enabled": "true"}


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.close()


def add_phone(client: EngineClient, ch: str, address: str, proxy: str = PROXY) -> str:
    return client.created(f"/v1/Conversations/{ch}/Participants", {
        "MessagingBinding.Address": address, "MessagingBinding.ProxyAddress": proxy})["sid"]


def phones_scene(client: EngineClient) -> tuple[str, dict[str, str]]:
    """A conversation with a chat user and three phones: a normal one and two magic."""
    ch = client.conversation(unique_name="shop")["sid"]
    client.participant(ch, identity="agent")
    sids = {}
    for address in (NORMAL, INVALID, f"whatsapp:{NO_SMS}"):
        proxy = f"whatsapp:{PROXY}" if address.startswith("whatsapp:") else PROXY
        sids[address] = add_phone(client, ch, address, proxy)
    return ch, sids


def test_a_message_gets_one_receipt_per_phone_and_the_magic_numbers_fail(client):
    ch, sids = phones_scene(client)
    message = client.message(ch, author="agent", body="Your order shipped")
    assert message["delivery"] == {"total": 3, "sent": "some", "delivered": "some",
                                   "read": "none", "failed": "some", "undelivered": "none"}
    validate_response("CreateConversationMessage", 201, message)
    listed = client.get(f"/v1/Conversations/{ch}/Messages/{message['sid']}/Receipts")
    assert listed.status == 200
    validate_response("ListConversationMessageReceipt", 200, listed.body)
    receipts = {r["participant_sid"]: r for r in listed.body["delivery_receipts"]}
    assert set(receipts) == set(sids.values())
    normal, invalid, no_sms = (receipts[sids[a]] for a in (NORMAL, INVALID, f"whatsapp:{NO_SMS}"))
    assert (normal["status"], normal["error_code"]) == ("delivered", 0)
    assert (invalid["status"], invalid["error_code"]) == ("failed", 21211)
    assert (no_sms["status"], no_sms["error_code"]) == ("failed", 21614)
    assert normal["channel_message_sid"].startswith("SM")
    assert no_sms["channel_message_sid"].startswith("WA")
    assert listed.body["meta"]["key"] == "delivery_receipts"
    for receipt in listed.body["delivery_receipts"]:
        assert receipt["url"].startswith(f"{BASE_URL}/v1/Conversations/{ch}/Messages/")
        fetched = client.follow(receipt["url"])
        assert fetched.status == 200 and fetched.body == receipt
        validate_response("FetchConversationMessageReceipt", 200, fetched.body)
    # The message's link leads there.
    assert client.follow(message["links"]["delivery_receipts"]).body == listed.body


def test_the_page_of_messages_and_the_single_message_agree_on_delivery(client):
    ch, _ = phones_scene(client)
    client.message(ch, author="agent", body="one")
    page = client.get(f"/v1/Conversations/{ch}/Messages").body["messages"]
    single = client.get(f"/v1/Conversations/{ch}/Messages/{page[0]['sid']}").body
    assert page[0]["delivery"] == single["delivery"] and single["delivery"]["total"] == 3


def test_all_delivered_and_no_phone_means_null(client):
    ch = client.conversation()["sid"]
    client.participant(ch, identity="agent")
    alone = client.message(ch, author="agent", body="nobody on a phone")
    assert alone["delivery"] is None
    assert client.get(f"/v1/Conversations/{ch}/Messages/{alone['sid']}/Receipts").body[
        "delivery_receipts"] == []
    add_phone(client, ch, NORMAL)
    sent = client.message(ch, author="agent", body="to the phone")
    assert sent["delivery"] == {"total": 1, "sent": "all", "delivered": "all", "read": "none",
                                "failed": "none", "undelivered": "none"}
    # The phone's own message is not sent back to it.
    own = client.message(ch, author=NORMAL, body="from the phone")
    assert own["participant_sid"] is not None and own["delivery"] is None


def test_a_missing_receipt_or_message_is_twilios_not_found(client):
    ch, _ = phones_scene(client)
    message = client.message(ch, author="agent", body="x")
    base = f"/v1/Conversations/{ch}/Messages"
    for path in (f"{base}/{message['sid']}/Receipts/DY{'0' * 32}",
                 f"{base}/IM{'0' * 32}/Receipts", f"{base}/{message['sid']}/Receipts/nope"):
        reply = client.get(path)
        assert (reply.status, reply.body["code"]) == (404, 20404), path
    reply = client.post(f"{base}/{message['sid']}/Receipts", {})
    assert reply.status == 405


def test_delivery_updates_fire_with_twilios_parameters(client, receiver):
    ch, sids = phones_scene(client)
    client.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url + "/hook"), ("Filters", "onDeliveryUpdated")])
    message = client.call("POST", f"/v1/Conversations/{ch}/Messages",
                          form={"Author": "agent", "Body": "hi"}, headers=ON).body
    drain(client.engine.store, DEFAULT_AUTH_TOKEN, 5)
    requests = receiver.wait_for(3)
    assert receiver.events() == ["onDeliveryUpdated"] * 3
    by_participant = {r.params["ParticipantSid"]: r.params for r in requests}
    failed = by_participant[sids[INVALID]]
    assert (failed["Status"], failed["ErrorCode"], failed["MessageSid"]) == \
        ("failed", "21211", message["sid"])
    assert failed["DeliveryReceiptSid"].startswith("DY")
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    assert all(validator.validate(receiver.url + "/hook", r.params,
                                  r.headers["X-Twilio-Signature"]) for r in requests)


def _local_engine() -> EngineClient:
    from convo_cli.config import data_dir

    return EngineClient(str(data_dir(os.environ) / "local.db"))


def _shop_with_phones() -> None:
    assert convo("create", "--unique-name", "shop").code == 0
    assert convo("--identity", "agent", "join", "shop").code == 0
    for address in (NORMAL, NO_SMS):
        added = convo("add-sms", "shop", "--address", address, "--proxy-address", PROXY)
        assert added.code == 0, added.err


def test_inbound_routes_to_the_conversation_with_that_binding_and_fires_webhooks(receiver):
    _shop_with_phones()
    engine = _local_engine()
    engine.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url + "/bot"), ("Filters", "onMessageAdded")])
    engine.close()
    sent = convo("inbound", "--from", NORMAL, "--to", PROXY, "Where is my order?", "--json")
    assert sent.code == 0, sent.err
    message = sent.json()
    assert (message["author"], message["body"], message["index"]) == \
        (NORMAL, "Where is my order?", 0)
    # Fired with no header (a phone's message always does), with the phone's channel.
    bot = receiver.wait_for(1)[0].params
    assert (bot["EventType"], bot["Author"], bot["Source"], bot["Body"]) == \
        ("onMessageAdded", NORMAL, "SMS", "Where is my order?")
    listed = convo("messages", "shop", "--json")
    assert listed.code == 0 and "Where is my order?" in listed.out
    # The other phone got it; the sender did not get its own message back.
    outbox = convo("outbox", "--json")
    items = [json.loads(line) for line in outbox.lines()]
    assert [(i["to"], i["from"], i["author"], i["status"], i["error_code"]) for i in items] == \
        [(NO_SMS, PROXY, NORMAL, "failed", 21614)]
    line = convo("inbound", "--from", NORMAL, "--to", PROXY, "thanks")
    assert line.code == 0 and line.out.startswith(f"{NORMAL} -> CH") and "message 1" in line.out


def test_inbound_with_no_matching_binding_is_dropped_with_exit_1():
    _shop_with_phones()
    dropped = convo("inbound", "--from", "+15557654321", "--to", PROXY, "hello?")
    assert dropped.code == 1 and dropped.out == ""
    assert dropped.err.startswith("convo: error: No conversation has a participant with the "
                                  "binding +15557654321 -> +15550001111")
    assert len(dropped.err.strip().splitlines()) == 1
    assert convo("messages", "shop", "--json").json() == []


@pytest.mark.parametrize("argv, why", [
    (("--from", "555", "--to", PROXY, "x"), "--from must be a phone address"),
    (("--from", NORMAL, "--to", "alice", "x"), "--to must be a phone address"),
    (("--from", NORMAL, "--to", PROXY, ""), "TEXT is empty"),
])
def test_inbound_refuses_bad_input_locally(argv, why):
    result = convo("inbound", *argv)
    assert result.code == 2 and why in result.err and result.err.startswith("convo: error: ")


def test_outbox_shows_each_phones_view_and_filters_by_phone():
    _shop_with_phones()
    assert convo("--identity", "agent", "send", "shop", "Order 42 shipped").code == 0
    assert convo("--identity", "agent", "send", "shop", "\x1b[31mred\x1b[0m").code == 0
    rows = convo("outbox").rows()
    assert [(r[1], r[2], r[4], r[5], r[6]) for r in rows[:2]] == [
        (NORMAL, PROXY, "agent", "delivered", "Order 42 shipped"),
        (NO_SMS, PROXY, "agent", "failed (21614)", "Order 42 shipped")]
    mine = convo("outbox", "--to", NORMAL, "--json")
    assert [json.loads(line)["body"] for line in mine.lines()] == \
        ["Order 42 shipped", "\x1b[31mred\x1b[0m"]
    shown = convo("outbox", "--to", NORMAL, tty=True)
    assert shown.code == 0 and "TIME" in shown.lines()[0] and "\x1b" not in shown.out
    assert convo("outbox", "--to", "bob").code == 2


def test_inbound_and_outbox_through_convo_serve(served):
    logged = convo("login", "--profile", "srv", "--server", served.url, "--account-sid",
                   served.account_sid, "--insecure-storage", stdin=served.auth_token + "\n")
    assert logged.code == 0, logged.err
    name = f"phones-{os.urandom(3).hex()}"
    sid = convo("--profile", "srv", "create", "--unique-name", name, "--json").json()["sid"]
    phone = "+1555" + str(int.from_bytes(os.urandom(3), "big") % 10**7).zfill(7)
    for address in (phone, NO_SMS):
        added = convo("--profile", "srv", "add-sms", name, "--address", address,
                      "--proxy-address", PROXY)
        assert added.code == 0, added.err
    sent = convo("--profile", "srv", "inbound", "--from", phone, "--to", PROXY, "over HTTP",
                 "--json")
    assert sent.code == 0, sent.err
    assert sent.json()["conversation_sid"] == sid and sent.json()["author"] == phone
    seen = convo("--profile", "srv", "outbox", "--to", NO_SMS, "--json")
    items = [json.loads(line) for line in seen.lines()]
    assert [(i["body"], i["error_code"]) for i in items if i["conversation_sid"] == sid] == \
        [("over HTTP", 21614)]
    dropped = convo("--profile", "srv", "inbound", "--from", "+15550000042", "--to", PROXY, "x")
    assert dropped.code == 1 and "No conversation has a participant" in dropped.err


def test_a_pre_event_hook_rewrites_an_inbound_message_on_convo_serve(tmp_path, receiver):
    from server_helpers import raw_request, start_server

    server = start_server(tmp_path / "pre.db")
    try:
        client = EngineClient(tmp_path / "pre.db")
        ch = client.conversation(unique_name="desk")["sid"]
        add_phone(client, ch, NORMAL)
        client.close()
        raw_request(server.url, "POST", "/v1/Configuration/Webhooks",
                    f"PreWebhookUrl={receiver.url}/pre&Filters=onMessageAdd".encode(),
                    auth=server.auth)
        receiver.answers["/pre"] = (200, b'{"body": "[redacted]"}')
        status, _, body = raw_request(server.url, "POST", "/convo/v1/Inbound",
                                      "From=%2B15551234567&To=%2B15550001111&Body=my+card+4111"
                                      .encode(), auth=server.auth)
        assert status == 201, body
        assert body["body"] == "[redacted]" and body["author"] == NORMAL
        asked = receiver.requests[0].params
        assert (asked["EventType"], asked["Author"], asked["Source"]) == \
            ("onMessageAdd", NORMAL, "SMS")
        receiver.answers["/pre"] = (403, b"")
        status = raw_request(server.url, "POST", "/convo/v1/Inbound",
                             b"From=%2B15551234567&To=%2B15550001111&Body=spam",
                             auth=server.auth)[0]
        assert status == 403
    finally:
        server.stop()


def test_the_twilio_library_lists_and_fetches_receipts(served, monkeypatch):
    from twilio.rest import Client

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    twilio = Client(served.account_sid, served.auth_token)
    twilio.edge = twilio.region = None
    twilio.conversations.base_url = served.url
    v1 = twilio.conversations.v1
    conversation = v1.conversations.create(friendly_name="receipts")
    participants = v1.conversations(conversation.sid).participants
    normal = participants.create(messaging_binding_address=NORMAL,
                                 messaging_binding_proxy_address=PROXY)
    invalid = participants.create(messaging_binding_address=INVALID,
                                  messaging_binding_proxy_address=PROXY)
    message = v1.conversations(conversation.sid).messages.create(author="lib", body="hello")
    assert message.delivery["total"] == 2 and message.delivery["failed"] == "some"
    receipts = v1.conversations(conversation.sid).messages(message.sid).delivery_receipts.list()
    assert {(r.participant_sid, r.status, r.error_code) for r in receipts} == {
        (normal.sid, "delivered", 0), (invalid.sid, "failed", 21211)}
    one = v1.conversations(conversation.sid).messages(message.sid) \
        .delivery_receipts(receipts[0].sid).fetch()
    assert one.sid == receipts[0].sid and one.message_sid == message.sid


# Address Configurations: Twilio's resource, and what it decides for a stranger's message.

ADDRESSES = "/v1/Configuration/Addresses"


def test_address_configurations_all_five_operations_match_the_spec(client):
    created = client.call("POST", ADDRESSES, form=[
        ("Type", "sms"), ("Address", PROXY), ("FriendlyName", "Support line"),
        ("AutoCreation.Enabled", "true"), ("AutoCreation.Type", "webhook"),
        ("AutoCreation.WebhookUrl", "https://example.com/hook"),
        ("AutoCreation.WebhookMethod", "post"),
        ("AutoCreation.WebhookFilters", "onParticipantAdded"),
        ("AutoCreation.WebhookFilters", "onMessageAdded")])
    assert created.status == 201, created.body
    validate_response("CreateConfigurationAddress", 201, created.body)
    body = created.body
    assert body["sid"].startswith("IG") and body["address"] == PROXY
    assert body["auto_creation"] == {"enabled": True, "type": "webhook",
                                     "webhook_url": "https://example.com/hook",
                                     "webhook_method": "POST",
                                     "webhook_filters": ["onParticipantAdded", "onMessageAdded"]}
    assert body["url"] == f"{BASE_URL}{ADDRESSES}/{body['sid']}"
    whatsapp = client.created(ADDRESSES, {"Type": "whatsapp", "Address": "+15550002222"})
    assert whatsapp["address"] == "whatsapp:+15550002222"
    assert whatsapp["auto_creation"] == {"enabled": False, "type": "default"}
    listed = client.get(ADDRESSES)
    validate_response("ListConfigurationAddress", 200, listed.body)
    assert [a["sid"] for a in listed.body["address_configurations"]] == \
        [body["sid"], whatsapp["sid"]]
    only = client.get(ADDRESSES, {"Type": "whatsapp"}).body["address_configurations"]
    assert [a["sid"] for a in only] == [whatsapp["sid"]]
    fetched = client.get(f"{ADDRESSES}/{body['sid']}")
    validate_response("FetchConfigurationAddress", 200, fetched.body)
    assert fetched.body == body
    updated = client.post(f"{ADDRESSES}/{body['sid']}", {"FriendlyName": "Sales",
                                                          "AutoCreation.Enabled": "false"})
    validate_response("UpdateConfigurationAddress", 200, updated.body)
    assert updated.body["friendly_name"] == "Sales"
    assert updated.body["auto_creation"]["enabled"] is False
    assert updated.body["auto_creation"]["webhook_url"] == "https://example.com/hook"
    assert client.delete(f"{ADDRESSES}/{body['sid']}").status == 204
    assert client.get(f"{ADDRESSES}/{body['sid']}").status == 404


@pytest.mark.parametrize("form, status", [
    ({"Address": PROXY}, 400),
    ({"Type": "fax", "Address": PROXY}, 400),
    ({"Type": "sms", "Address": "555"}, 400),
    ({"Type": "sms", "Address": PROXY, "AutoCreation.Enabled": "yes"}, 400),
    ({"Type": "sms", "Address": PROXY, "AutoCreation.Enabled": "true",
      "AutoCreation.Type": "webhook"}, 400),
    ({"Type": "sms", "Address": PROXY, "Bogus": "1"}, 400),
])
def test_a_bad_address_configuration_is_refused_and_nothing_is_stored(client, form, status):
    reply = client.post(ADDRESSES, form)
    assert reply.status == status and reply.body["message"]
    assert client.get(ADDRESSES).body["address_configurations"] == []


def test_an_address_is_configured_once(client):
    client.created(ADDRESSES, {"Type": "sms", "Address": PROXY})
    again = client.post(ADDRESSES, {"Type": "sms", "Address": PROXY})
    assert again.status == 409


def test_inbound_to_a_configured_address_creates_the_conversation_and_its_webhook(receiver):
    engine = _local_engine()
    engine.created(ADDRESSES, {
        "Type": "sms", "Address": PROXY, "FriendlyName": "Support",
        "AutoCreation.Enabled": "true", "AutoCreation.Type": "webhook",
        "AutoCreation.WebhookUrl": receiver.url + "/new",
        "AutoCreation.WebhookFilters": "onMessageAdded"})
    engine.close()
    first = convo("inbound", "--from", NORMAL, "--to", PROXY, "Hello?", "--json")
    assert first.code == 0, first.err
    ch = first.json()["conversation_sid"]
    shown = convo("show", ch, "--json").json()
    assert shown["friendly_name"] == "Support"
    members = convo("participants", ch, "--json").json()
    assert [m["messaging_binding"] for m in members] == [
        {"type": "sms", "address": NORMAL, "proxy_address": PROXY}]
    hook = receiver.wait_for(1)[0].params
    assert (hook["EventType"], hook["ConversationSid"], hook["Body"]) == \
        ("onMessageAdded", ch, "Hello?")
    # The next message from that phone goes to the same conversation.
    second = convo("inbound", "--from", NORMAL, "--to", PROXY, "Anyone?", "--json")
    assert second.json()["conversation_sid"] == ch and second.json()["index"] == 1


def test_inbound_to_an_address_without_auto_creation_is_dropped():
    engine = _local_engine()
    engine.created(ADDRESSES, {"Type": "sms", "Address": PROXY})
    engine.close()
    dropped = convo("inbound", "--from", NORMAL, "--to", PROXY, "Hello?")
    assert dropped.code == 1
    assert "no Address Configuration for +15550001111 auto-creates one" in dropped.err
    assert convo("list", "--json").json() == []


def test_the_twilio_library_manages_address_configurations(served, monkeypatch):
    from twilio.rest import Client

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    twilio = Client(served.account_sid, served.auth_token)
    twilio.edge = twilio.region = None
    twilio.conversations.base_url = served.url
    addresses = twilio.conversations.v1.address_configurations
    created = addresses.create(type="sms", address="+15550009876", friendly_name="lib",
                               auto_creation_enabled=True, auto_creation_type="default")
    assert created.sid.startswith("IG") and created.auto_creation["enabled"] is True
    assert created.sid in [a.sid for a in addresses.list()]
    assert addresses(created.sid).update(friendly_name="renamed").friendly_name == "renamed"
    assert addresses(created.sid).fetch().address == "+15550009876"
    assert addresses(created.sid).delete() is True


def test_following_the_outbox_yields_each_received_message_once(tmp_path):
    from convo_cli.api import Client
    from convo_cli.api import phones as api_phones
    from convo_cli.engine.inprocess import InProcessTransport

    path = str(tmp_path / "follow.db")
    engine = EngineClient(path)
    ch, _ = phones_scene(engine)
    engine.message(ch, author="agent", body="first")
    client = Client(InProcessTransport(path))
    polls = []

    def sleep(_: float) -> None:
        polls.append(1)
        if len(polls) == 1:  # a message is sent while the follower waits
            engine.message(ch, author="agent", body="second")
        else:
            raise KeyboardInterrupt

    seen = []
    with pytest.raises(KeyboardInterrupt):
        for item in api_phones.follow(client, NORMAL, 0, sleep=sleep):
            seen.append((item["to"], item["body"], item["status"]))
    assert seen == [(NORMAL, "first", "delivered"), (NORMAL, "second", "delivered")]
    client.close()
    engine.close()


def test_inbound_and_outbox_need_a_convo_engine():
    logged = convo("login", "--profile", "tw", "--twilio", "--account-sid", "AC" + "1" * 32,
                   "--insecure-storage", "--no-verify", stdin="x" * 32 + "\n")
    assert logged.code == 0, logged.err
    for argv in (("inbound", "--from", NORMAL, "--to", PROXY, "x"), ("outbox",)):
        result = convo("--profile", "tw", *argv)
        assert result.code == 2 and "convo engine" in result.err, result.err


def test_receipts_belong_to_their_message_when_webhooks_are_queued_too(client, receiver):
    # The events of a message are queued in its transaction, beside its receipts: the
    # receipts must still name the message, whatever the outbox's ids are.
    client.post("/v1/Configuration/Webhooks", [
        ("PostWebhookUrl", receiver.url + "/hook"), ("Filters", "onConversationAdded"),
        ("Filters", "onMessageAdded"), ("Filters", "onDeliveryUpdated")])
    for n in range(3):
        client.call("POST", "/v1/Conversations", form={"FriendlyName": f"c{n}"}, headers=ON)
    ch, _ = phones_scene(client)
    sids = [client.call("POST", f"/v1/Conversations/{ch}/Messages",
                        form={"Author": "agent", "Body": f"m{n}"}, headers=ON).body["sid"]
            for n in range(3)]
    for sid in sids:
        receipts = client.get(f"/v1/Conversations/{ch}/Messages/{sid}/Receipts").body
        assert [r["message_sid"] for r in receipts["delivery_receipts"]] == [sid] * 3
    engine_events = client.engine.store.all("SELECT type FROM outbox ORDER BY id")
    assert [e["type"] for e in engine_events][-4:] == ["onMessageAdded"] + \
        ["onDeliveryUpdated"] * 3
