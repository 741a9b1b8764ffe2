"""Issue 12's fidelity faults: an empty LastReadMessageIndex is null, a 405 names the allowed
methods, a participant's binding type follows a new projected address, and every link in a
resource leads somewhere that answers (or to a 404 that says the engine lacks it)."""

from __future__ import annotations

import pytest

from engine_helpers import all_urls, assert_error, scene, validate_response
from server_helpers import raw_request


@pytest.fixture
def participant(client):
    ch = client.conversation(unique_name="room")["sid"]
    mb = client.participant(ch, identity="alice")["sid"]
    for n in range(4):
        client.message(ch, author="alice", body=f"m{n}")
    return f"/v1/Conversations/{ch}/Participants/{mb}"


def test_an_empty_last_read_message_index_means_no_read_horizon(client, participant):
    read = client.post(participant, {"LastReadMessageIndex": "3",
                                     "LastReadTimestamp": "2026-11-23T10:00:00Z"})
    assert read.status == 200 and read.body["last_read_message_index"] == 3
    cleared = client.post(participant, {"LastReadMessageIndex": "", "LastReadTimestamp": ""})
    assert cleared.status == 200, cleared.body
    assert cleared.body["last_read_message_index"] is None
    assert cleared.body["last_read_timestamp"] is None
    validate_response("UpdateConversationParticipant", 200, cleared.body)
    assert client.get(participant).body["last_read_message_index"] is None


def test_a_last_read_message_index_that_is_not_a_number_is_still_refused(client, participant):
    reply = client.post(participant, {"LastReadMessageIndex": "three"})
    assert_error(reply, 400, 20422)
    assert "LastReadMessageIndex" in reply.body["message"]


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/v1/Conversations", "GET, POST"),
    ("PUT", "/v1/Conversations/room", "DELETE, GET, POST"),
    ("PATCH", "/v1/Conversations/room/Participants/alice", "DELETE, GET, POST"),
    ("DELETE", "/v1/ParticipantConversations", "GET"),
    ("POST", "/v1/Users/alice/Conversations", "GET"),
])
def test_a_405_carries_allow_with_the_routes_methods(client, participant, method, path, allow):
    reply = client.call(method, path)
    assert_error(reply, 405, 20004)
    assert reply.headers["allow"] == allow


def test_a_405_over_http_carries_allow(served):
    status, headers, body = raw_request(served.url, "DELETE", "/v1/Conversations",
                                        auth=served.auth)
    assert (status, body["code"]) == (405, 20004)
    assert headers["allow"] == "GET, POST"


@pytest.mark.parametrize("address, kind", [("+15551234567", "sms"),
                                           ("whatsapp:+15551234567", "whatsapp")])
def test_a_projected_address_set_by_update_gives_the_binding_type_creation_gives(
        client, address, kind):
    ch = client.conversation()["sid"]
    created = client.participant(ch, identity="alice",
                                 messaging_binding__projected_address=address)
    assert created["messaging_binding"] == {"type": kind, "projected_address": address}
    bob = client.participant(ch, identity="bob")
    assert bob["messaging_binding"] is None
    updated = client.post(f"/v1/Conversations/{ch}/Participants/{bob['sid']}",
                          {"MessagingBinding.ProjectedAddress": address})
    assert updated.status == 200, updated.body
    assert updated.body["messaging_binding"] == {"type": kind, "projected_address": address}
    validate_response("UpdateConversationParticipant", 200, updated.body)
    assert client.get(updated.body["url"].split("8080", 1)[1]).body == updated.body
    cleared = client.post(f"/v1/Conversations/{ch}/Participants/{bob['sid']}",
                          {"MessagingBinding.ProjectedAddress": "null"})
    assert cleared.body["messaging_binding"] is None


def test_a_proxy_address_of_another_channel_is_refused_on_update(client):
    ch = client.conversation()["sid"]
    sms = client.participant(ch, messaging_binding__address="+15551234567",
                             messaging_binding__proxy_address="+15557654321")
    reply = client.post(f"/v1/Conversations/{ch}/Participants/{sms['sid']}",
                        {"MessagingBinding.ProxyAddress": "whatsapp:+15557654321"})
    assert_error(reply, 400, 50414)
    moved = client.post(f"/v1/Conversations/{ch}/Participants/{sms['sid']}",
                        {"MessagingBinding.ProxyAddress": "+15557654000"})
    assert moved.body["messaging_binding"] == {"type": "sms", "address": "+15551234567",
                                               "proxy_address": "+15557654000"}


def test_every_link_in_every_resource_answers_or_says_the_engine_lacks_it(client):
    s = scene(client)
    resources = [
        client.get(f"/v1/Conversations/{s.ch}").body,
        client.get(f"/v1/Conversations/{s.ch}/Participants/{s.alice}").body,
        client.get(f"/v1/Conversations/{s.ch}/Messages/{s.messages[0]}").body,
        client.get(f"/v1/Users/{s.user}").body,
        client.get("/v1/ParticipantConversations", {"Identity": "alice"}).body,
        client.get(f"/v1/Users/{s.user}/Conversations").body,
        client.get(f"/v1/Users/{s.user}/Conversations/{s.ch}").body,
    ]
    followed = {}
    for resource in resources:
        for where, url in all_urls(resource):
            if url in followed or where.startswith("meta."):
                continue
            reply = client.follow(url)
            followed[url] = reply.status
            if reply.status != 200:
                assert_error(reply, 404, 20404)
                assert "convo's engine does not implement" in reply.body["message"], (where, url)
    lacking = sorted(url.rsplit("/", 1)[1] for url, status in followed.items() if status != 200)
    assert lacking == ["ChannelMetadata", "Export"]
    assert sum(status == 200 for status in followed.values()) >= 8


def test_an_unknown_path_beside_them_is_a_plain_not_found(client):
    ch = client.conversation()["sid"]
    reply = client.get(f"/v1/Conversations/{ch}/Nothing")
    assert_error(reply, 404, 20404)
    assert "does not implement" not in reply.body["message"]
    reply = client.get(f"/v1/Conversations/{ch}/Messages/IM{'0' * 32}/Receipts")  # served
    assert_error(reply, 404, 20404)
    assert "does not implement" not in reply.body["message"]
    reply = client.get(f"/v1/Conversations/{ch}/Webhooks/WH{'0' * 32}")  # served: plain 404
    assert_error(reply, 404, 20404)
    assert "does not implement" not in reply.body["message"]
