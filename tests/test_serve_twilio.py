"""The official `twilio` helper library, unchanged but for its base URL, against
`convo serve` (twilio-wire.md §7): a whole scenario, its own paging, its exceptions."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # requests honours proxy variables


def twilio(served, token: str | None = None) -> Client:
    client = Client(served.account_sid, token or served.auth_token)
    client.edge = client.region = None  # they would rewrite the host (twilio-wire.md §7)
    client.conversations.base_url = served.url
    return client


def rest_error(call) -> tuple[int, int]:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code


def test_the_twilio_library_runs_a_whole_scenario(served):
    v1 = twilio(served).conversations.v1
    created = v1.conversations.create(friendly_name="Daily standup", unique_name="standup",
                                      attributes='{"topic": "deploys"}',
                                      x_twilio_webhook_enabled="true")
    assert created.sid.startswith("CH") and created.account_sid == served.account_sid
    assert isinstance(created.date_created, datetime)  # Twilio's time format, parsed
    assert created.url == f"{served.url}/v1/Conversations/{created.sid}"
    conversation = v1.conversations("standup")
    assert conversation.fetch().sid == created.sid
    updated = conversation.update(friendly_name="Standup", attributes='{"topic": "ops"}')
    assert (updated.friendly_name, updated.attributes) == ("Standup", '{"topic": "ops"}')

    participants = v1.conversations(created.sid).participants
    alice = participants.create(identity="alice")
    participants.create(identity="bob")
    sms = participants.create(messaging_binding_address="+15551234567",
                              messaging_binding_proxy_address="+14445550100")
    assert sms.messaging_binding == {"type": "sms", "address": "+15551234567",
                                     "proxy_address": "+14445550100"}
    assert sorted(p.identity or p.messaging_binding["address"] for p in participants.list()) == \
        ["+15551234567", "alice", "bob"]
    assert participants("alice").fetch().sid == alice.sid

    messages = v1.conversations(created.sid).messages
    for n in range(120):
        messages.create(author="alice" if n % 2 else "bob", body=f"message {n}")
    before = served.log().count("PageToken=")
    listed = messages.list(page_size=50)
    assert [m.index for m in listed] == list(range(120))
    deadline = time.monotonic() + 30  # the server logs a request just after answering it
    while served.log().count("PageToken=") - before < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert served.log().count("PageToken=") - before == 2  # pages 2 and 3, by next_page_url
    assert [m.index for m in messages.list(order="desc", limit=5)] == [119, 118, 117, 116, 115]
    page = messages.page(page_size=100)
    assert [m.index for m in page.next_page()] == list(range(100, 120))
    assert listed[7].author == "alice" and listed[7].participant_sid == alice.sid

    edited = messages(listed[0].sid).update(body="edited")
    assert (edited.body, edited.index) == ("edited", 0)
    assert messages(listed[1].sid).delete() is True

    mine = v1.participant_conversations.list(identity="alice")
    assert [(c.conversation_sid, c.conversation_unique_name) for c in mine] == \
        [(created.sid, "standup")]
    by_number = v1.participant_conversations.list(address="+15551234567")
    assert [c.participant_sid for c in by_number] == [sms.sid]
    assert participants(sms.sid).delete() is True
    assert [u.identity for u in v1.users.list()] == ["alice", "bob"]

    assert conversation.delete() is True
    assert rest_error(lambda: v1.conversations(created.sid).fetch()) == (404, 20404)


def test_errors_surface_as_twilio_exceptions_with_status_and_code(served):
    v1 = twilio(served).conversations.v1
    sid = v1.conversations.create(unique_name="errors").sid
    participants = v1.conversations(sid).participants
    participants.create(identity="alice")
    participants.create(messaging_binding_address="+15551234567",
                        messaging_binding_proxy_address="+14445550100")
    assert rest_error(lambda: v1.conversations("nope").fetch()) == (404, 20404)
    assert rest_error(lambda: v1.conversations.create(unique_name="errors")) == (409, 50353)
    assert rest_error(lambda: participants.create(identity="alice")) == (409, 50433)
    assert rest_error(lambda: participants.create(
        messaging_binding_address="+15551234567",
        messaging_binding_proxy_address="+14445550100")) == (409, 50416)
    assert rest_error(lambda: participants.create(
        messaging_binding_address="555-1234", messaging_binding_proxy_address="+14445550100")) \
        == (400, 50407)
    assert rest_error(lambda: v1.conversations(sid).messages.create(author="alice")) == \
        (400, 50503)
    assert rest_error(lambda: v1.conversations.create(attributes="{not json")) == (400, 50304)
    # A list that fails is the library's plain TwilioException, by its own design.
    with pytest.raises(TwilioException, match="Unable to fetch page"):
        v1.conversations("nope").messages.list()
    intruder = twilio(served, token="wrong").conversations.v1
    assert rest_error(lambda: intruder.conversations(sid).fetch()) == (401, 20003)


def test_the_twilio_library_reads_and_moves_a_read_horizon(served):
    """The User Conversations resource, as an app's back end uses it: unread counts, the
    horizon moved and unset, a notification level, a user leaving."""
    from datetime import timezone

    v1 = twilio(served).conversations.v1
    room = v1.conversations.create(unique_name="horizon")
    for identity in ("ann", "ben"):
        v1.conversations(room.sid).participants.create(identity=identity)
    sent = [v1.conversations(room.sid).messages.create(author="ben", body=f"m{n}")
            for n in range(4)]

    ann = v1.users("ann").user_conversations
    (listed,) = ann.list()
    assert (listed.conversation_sid, listed.unread_messages_count,
            listed.last_read_message_index) == (room.sid, 4, None)
    moved = ann(room.sid).update(last_read_message_index=1,
                                   last_read_timestamp=datetime(2026, 1, 2, tzinfo=timezone.utc),
                                   notification_level="muted")
    assert (moved.last_read_message_index, moved.unread_messages_count,
            moved.notification_level) == (1, 2, "muted")
    v1.conversations(room.sid).messages(sent[3].sid).delete()
    assert ann("horizon").fetch().unread_messages_count == 1
    participant = v1.conversations(room.sid).participants("ann").fetch()
    assert participant.last_read_message_index == 1
    v1.conversations(room.sid).participants(participant.sid).update(last_read_message_index=2)
    assert ann(room.sid).fetch().unread_messages_count == 0

    assert ann(room.sid).delete() is True
    assert ann.list() == []
    assert rest_error(lambda: ann(room.sid).fetch()) == (404, 20404)
    assert [c.conversation_sid for c in v1.users("ben").user_conversations.list()] == [room.sid]
