"""Conversations, `/v1/Conversations[/{Sid}]`: their parameters, view and routes.

What is valid and unique is the domain's (engine/service.py `Service`: the rules of
conversations, participants, messages and users, which share one transaction discipline).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from convo_cli.engine import configuration
from convo_cli.engine.form import DATES, kw
from convo_cli.engine.paging import PAGING, int_key, page
from convo_cli.engine.store import Row
from convo_cli.engine.views import Resource, Views

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

FIELDS = {"FriendlyName", "UniqueName", "MessagingServiceSid", "Attributes", "State",
          "Timers.Inactive", "Timers.Closed", "Bindings.Email.Address", "Bindings.Email.Name",
          *DATES}
ROUTES = {("Conversations",): "conversations", ("Conversations", "*"): "conversation"}
PARAMETERS = {
    ("conversations", "GET"): {"StartDate", "EndDate", "State", *PAGING},
    ("conversations", "POST"): FIELDS,
    ("conversation", "GET"): set(),
    ("conversation", "POST"): FIELDS,
    ("conversation", "DELETE"): set(),
}


def view(row: Row, views: Views) -> Resource:
    url = views.url("Conversations", row["sid"])
    return {
        "sid": row["sid"],
        "account_sid": views.account_sid,
        "chat_service_sid": views.service_sid,
        "messaging_service_sid": row["messaging_service_sid"],
        "friendly_name": row["friendly_name"],
        "unique_name": row["unique_name"],
        "attributes": row["attributes"],
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "state": row["state"],
        "timers": json.loads(row["timers"]),
        "bindings": json.loads(row["bindings"]),
        "url": url,
        "links": {name: f"{url}/{name.title()}"
                  for name in ("participants", "messages", "webhooks", "export")},
    }


def collection(engine: Engine, method: str, _: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service, views = engine.service, engine.views
    if method == "POST":
        fields = configuration.with_defaults(engine.store, kw(p))
        return 201, view(service.create_conversation(**fields), views)
    filters = [(k, p[k]) for k in ("StartDate", "EndDate", "State") if k in p]
    return page(views, p, ("Conversations",), "conversations", "conversations", "", 100, filters,
                lambda after, n: service.conversations(
                    int_key(after, 0), n, state=p.get("State"), start_date=p.get("StartDate"),
                    end_date=p.get("EndDate"), member=engine.member),
                lambda row: view(row, views), lambda row: row["id"])


def one(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service = engine.service
    if method == "DELETE":
        service.delete_conversation(ids[0])
        return 204, None
    if method == "POST":
        return 200, view(service.update_conversation(ids[0], **kw(p)), engine.views)
    return 200, view(service.conversation(ids[0]), engine.views)


HANDLERS = {"conversations": collection, "conversation": one}
