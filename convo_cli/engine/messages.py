"""Messages, `/v1/Conversations/{sid}/Messages[/{Sid}]`: their parameters, view and routes.

The rules are the domain's (engine/service.py `Service`); a message's delivery to phones
and its receipts are engine/phones.py's. A page of messages is rendered by SQLite
(`Store.messages_page_json`, field for field this module's `view`: a test compares them).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from convo_cli.engine.form import DATES, kw
from convo_cli.engine.paging import PAGING, int_key, page
from convo_cli.engine.service import EngineError
from convo_cli.engine.store import Row
from convo_cli.engine.views import Rendered, Resource, Views

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

ROUTES = {("Conversations", "*", "Messages"): "messages",
          ("Conversations", "*", "Messages", "*"): "message"}
PARAMETERS = {
    ("messages", "GET"): {"Order", *PAGING},
    ("messages", "POST"): {"Author", "Body", "Attributes", "MediaSid", "ContentSid",
                           "ContentVariables", "Subject", *DATES},
    ("message", "GET"): set(),
    ("message", "POST"): {"Author", "Body", "Attributes", "Subject", *DATES},
    ("message", "DELETE"): set(),
}


def view(row: Row, views: Views, conversation_sid: str) -> Resource:
    url = views.url("Conversations", conversation_sid, "Messages", row["sid"])
    return {
        "sid": row["sid"],
        "account_sid": views.account_sid,
        **views.chat,
        "conversation_sid": conversation_sid,
        "body": row["body"],
        "media": json.loads(row["media"]) if row["media"] else None,
        "author": row["author"],
        "participant_sid": row["participant_sid"],
        "attributes": row["attributes"],
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "index": row["idx"],
        # The summary of its receipts (engine/phones.py); null with no phone to send to.
        "delivery": json.loads(row["delivery"]) if row.get("delivery") else None,
        "content_sid": row["content_sid"],
        "url": url,
        "links": {"delivery_receipts": f"{url}/Receipts",
                  "channel_metadata": f"{url}/ChannelMetadata"},
    }


def collection(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service, views = engine.service, engine.views
    if method == "POST":
        row = service.send_message(ids[0], **kw(p))
        return 201, view(row, views, service.conversation(ids[0])["sid"])
    order = p.get("Order", "asc").lower()  # the spec's examples send `DeSc`
    if order not in ("asc", "desc"):
        raise EngineError(400, 20422, "Invalid parameter: Order must be asc or desc")
    conversation = service.conversation(ids[0])
    sid = conversation["sid"]
    filters = [("Order", order)] if "Order" in p else []
    segments = ("Conversations", sid, "Messages")

    def fetch(after: str | None, n: int) -> list[Any]:
        index = None if after is None else int_key(after, 0)
        if views.scoped:  # with `chat_service_sid`: the spec's service_conversation_message
            return [(row["idx"], view(row, views, sid))
                    for row in service.messages(conversation, order, index, n)]
        # Rendered by SQLite (`Store.messages_page_json`): (idx, JSON text) pairs.
        return engine.store.messages_page_json(conversation["id"], order, index, n,
                                               views.account_sid, sid, views.url(*segments))

    def resource(item: Any) -> Any:
        return item[1] if views.scoped else Rendered(item[1])

    return page(views, p, segments, "messages", "messages", sid, 100, filters, fetch,
                resource, lambda item: item[0], order=order)


def one(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service = engine.service
    if method == "DELETE":
        service.delete_message(ids[0], ids[1])
        return 204, None
    if method == "POST":
        row = service.update_message(ids[0], ids[1], **kw(p))
    else:
        row = service.message(service.conversation(ids[0]), ids[1])
    return 200, view(row, engine.views, service.conversation(ids[0])["sid"])


HANDLERS = {"messages": collection, "message": one}
