"""Paging: `next_page_url` followed verbatim until null (keyset: no duplicates or skips
while rows arrive and go), page sizes clamped to the spec's maxima, and the engine's
documented messages seek token."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from engine_helpers import BASE_URL, EngineClient, messages_token, standup


@pytest.fixture
def s(client: EngineClient) -> SimpleNamespace:
    return standup(client)


# Paging: next_page_url followed verbatim until null.

def _collect(client: EngineClient, path: str, params: dict[str, str],
             on_page: Callable[[int], None] = lambda n: None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number, reply in enumerate(client.pages(path, params)):
        meta = reply.body["meta"]
        assert meta["page"] == number
        assert meta["page_size"] == int(params["PageSize"])
        assert meta["previous_page_url"] is None or meta["previous_page_url"].startswith(BASE_URL)
        assert meta["first_page_url"].startswith(f"{BASE_URL}{path}?")
        page = reply.body[meta["key"]]
        assert len(page) <= int(params["PageSize"])
        if meta["next_page_url"] is not None:
            assert len(page) == int(params["PageSize"])
            assert client.follow(meta["next_page_url"]).body["meta"]["url"] == meta["next_page_url"]
        items += page
        on_page(number)
    return items


def test_messages_page_forward_while_new_ones_arrive(client):
    ch = client.conversation()["sid"]
    for i in range(10):
        client.message(ch, author="a", body=str(i))
    # Two messages land during paging, after the first page: asc reaches them too.
    items = _collect(client, f"/v1/Conversations/{ch}/Messages", {"Order": "asc", "PageSize": "3"},
                     lambda n: n == 0 and [client.message(ch, author="a", body=x) for x in "ab"])
    assert [m["index"] for m in items] == list(range(12))
    assert [m["body"] for m in items] == [*map(str, range(10)), "a", "b"]


def test_messages_page_backward_while_new_ones_arrive(client):
    ch = client.conversation()["sid"]
    for i in range(10):
        client.message(ch, author="a", body=str(i))
    items = _collect(client, f"/v1/Conversations/{ch}/Messages", {"Order": "desc", "PageSize": "4"},
                     lambda n: client.message(ch, author="a", body="late"))
    assert [m["index"] for m in items] == list(range(9, -1, -1))


def test_messages_page_exactly_full_ends_without_an_empty_page(client):
    ch = client.conversation()["sid"]
    for i in range(6):
        client.message(ch, author="a", body=str(i))
    pages = list(client.pages(f"/v1/Conversations/{ch}/Messages", {"PageSize": "3"}))
    assert [len(p.body["messages"]) for p in pages] == [3, 3]


def test_conversations_page_with_inserts_and_deletes_between_pages(client):
    sids = [client.conversation(friendly_name=str(i))["sid"] for i in range(7)]
    changes = iter([lambda: client.delete(f"/v1/Conversations/{sids[5]}"),
                    lambda: sids.append(client.conversation(friendly_name="late")["sid"])])

    def change(_: int) -> None:
        step = next(changes, None)
        if step is not None:
            step()
    items = _collect(client, "/v1/Conversations", {"PageSize": "2"}, change)
    assert [c["sid"] for c in items] == [s for i, s in enumerate(sids) if i != 5]


def test_participants_page(client):
    ch = client.conversation()["sid"]
    identities = [f"user{i:02}" for i in range(5)]
    for identity in identities:
        client.participant(ch, identity=identity)
    items = _collect(client, f"/v1/Conversations/{ch}/Participants", {"PageSize": "2"})
    assert [p["identity"] for p in items] == identities


def test_participant_conversations_page_sorted_by_conversation_sid(client):
    sids = [client.conversation()["sid"] for _ in range(7)]
    for sid in sids:
        client.participant(sid, identity="alice")
    client.participant(client.conversation()["sid"], identity="bob")
    items = _collect(client, "/v1/ParticipantConversations", {"Identity": "alice", "PageSize": "3"})
    assert [c["conversation_sid"] for c in items] == sorted(sids)


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


