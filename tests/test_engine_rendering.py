"""A page of messages is rendered by SQLite's JSON functions (`Store.messages_page_json`),
a single message by `Views.message` in Python: both must give the same resource, field for
field and value for value, whatever the text holds."""

from __future__ import annotations

import json

from convo_cli.engine.views import Rendered, dump
from convo_cli.engine.wire import Engine

BASE = "http://127.0.0.1:8080"

BODIES = [
    "plain", "quote \" backslash \\ slash /", "tab\tnewline\nreturn\r", "\x00\x01\x1b[31m\x7f",
    "\u0085\u2028\u2029 \u202e bidi", "caf\u00e9 \u4e2d\u6587 \U0001f600", "a" * 32_000,
]


def _engine(tmp_path, base_url: str = BASE) -> tuple[Engine, str]:
    engine = Engine(str(tmp_path / "render.db"), base_url=base_url)
    service = engine.service
    sid = service.create_conversation(unique_name="render/me")["sid"]
    service.add_participant(sid, identity="alice")
    for address in ("+15551234567", "+15005550009"):  # receipts: a `delivery` summary to render
        service.add_participant(sid, messaging_binding_address=address,
                                messaging_binding_proxy_address="+15550001111")
    for body in BODIES:
        service.send_message(sid, author="alice", body=body,
                             attributes=json.dumps({"k": body[:20], "n": [1, 2.5, None]}))
    service.send_message(sid, author="\u00e9ve", media_sid="ME" + "1" * 32)
    service.send_message(sid, content_sid="HX" + "2" * 32)
    return engine, sid


def test_a_page_is_the_single_reads_field_for_field(tmp_path):
    engine, sid = _engine(tmp_path)
    status, _, body = engine.handle("GET", f"/v1/Conversations/{sid}/Messages", "PageSize=50",
                                    b"", {}, base_url=BASE)
    assert status == 200
    page = json.loads(body)
    assert len(page["messages"]) == len(BODIES) + 2
    for listed in page["messages"]:
        status, _, one = engine.handle(
            "GET", f"/v1/Conversations/{sid}/Messages/{listed['sid']}", "", b"", {},
            base_url=BASE)
        assert status == 200
        single = json.loads(one)
        assert list(listed) == list(single)  # the same fields in the same order
        assert listed == single
    assert page["messages"][0]["body"] == BODIES[0]
    assert page["messages"][0]["delivery"] == {"total": 2, "sent": "some", "delivered": "some",
                                               "read": "none", "failed": "some",
                                               "undelivered": "none"}
    assert page["messages"][-2]["media"] == [{"sid": "ME" + "1" * 32}]
    assert page["messages"][-1]["body"] is None and page["messages"][-1]["media"] is None
    assert page["messages"][3]["url"] == f"{BASE}/v1/Conversations/{sid}/Messages/" \
        + page["messages"][3]["sid"]


def test_pages_follow_the_base_url_and_order(tmp_path):
    engine, sid = _engine(tmp_path)
    other = "https://chat.example:8443"
    status, _, body = engine.handle("GET", "/v1/Conversations/render%2Fme/Messages",
                                    "Order=desc&PageSize=2", b"", {}, base_url=other)
    page = json.loads(body)
    assert status == 200
    assert [m["index"] for m in page["messages"]] == [len(BODIES) + 1, len(BODIES)]
    assert all(m["url"].startswith(f"{other}/v1/Conversations/{sid}/Messages/IM")
               for m in page["messages"])
    assert page["meta"]["next_page_url"].startswith(f"{other}/v1/Conversations/{sid}/Messages?")


def test_dump_joins_rendered_items_and_encodes_the_rest():
    page = {"messages": [Rendered('{"a":1}'), Rendered('{"b":"\u00e9"}')],
            "meta": {"key": "messages", "page": 0}}
    assert json.loads(dump(page)) == {"messages": [{"a": 1}, {"b": "\u00e9"}],
                                      "meta": {"key": "messages", "page": 0}}
    empty = {"messages": [], "meta": {"key": "messages"}}
    assert json.loads(dump(empty)) == empty
    assert json.loads(dump({"sid": "CH1", "meta": 3})) == {"sid": "CH1", "meta": 3}
