"""Participants, `/v1/Conversations/{sid}/Participants[/{Sid}]`, and who is in what,
`/v1/ParticipantConversations`: their parameters, views and routes.

The rules are the domain's (engine/service.py `Service`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from convo_cli.engine.form import DATES, kw
from convo_cli.engine.paging import PAGING, int_key, page
from convo_cli.engine.store import Row
from convo_cli.engine.views import Resource, Views

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

ROUTES = {
    ("Conversations", "*", "Participants"): "participants",
    ("Conversations", "*", "Participants", "*"): "participant",
    ("ParticipantConversations",): "participant_conversations",
}
# `MessagingBinding.ProxyAddressFallback` is absent from the spec's schema but sent by its
# own request examples, so it is accepted (and ignored).
PARAMETERS = {
    ("participants", "GET"): PAGING,
    ("participants", "POST"): {
        "Identity", "MessagingBinding.Address", "MessagingBinding.ProxyAddress",
        "MessagingBinding.ProjectedAddress", "MessagingBinding.ProxyAddressFallback",
        "Attributes", "RoleSid", *DATES,
    },
    ("participant", "GET"): set(),
    ("participant", "POST"): {
        "Attributes", "RoleSid", "MessagingBinding.ProxyAddress",
        "MessagingBinding.ProjectedAddress", "Identity", "LastReadMessageIndex",
        "LastReadTimestamp", *DATES,
    },
    ("participant", "DELETE"): set(),
    ("participant_conversations", "GET"): {"Identity", "Address", *PAGING},
}


def view(row: Row, views: Views, conversation_sid: str) -> Resource:
    return {
        "account_sid": views.account_sid,
        **views.chat,
        "conversation_sid": conversation_sid,
        "sid": row["sid"],
        "identity": row["identity"],
        "attributes": row["attributes"],
        "messaging_binding": binding(row),
        "role_sid": row["role_sid"],
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "url": views.url("Conversations", conversation_sid, "Participants", row["sid"]),
        "last_read_message_index": row["last_read_message_index"],
        "last_read_timestamp": row["last_read_timestamp"],
    }


def binding(row: Row) -> dict[str, str] | None:
    if row["address"] is not None:
        return {"type": row["binding_type"], "address": row["address"],
                "proxy_address": row["proxy_address"]}
    if row["projected_address"] is not None:
        return {"type": row["binding_type"], "projected_address": row["projected_address"]}
    return None


def conversation_view(row: Row, views: Views) -> Resource:
    """A ParticipantConversation: a participant and the conversation it is in."""
    conversation = views.url("Conversations", row["conversation_sid"])
    full_binding = None
    if row["address"] is not None or row["projected_address"] is not None:
        # In this resource the binding shows every key (spec example).
        full_binding = {"address": row["address"], "proxy_address": row["proxy_address"],
                        "type": row["binding_type"], "level": None, "name": None,
                        "projected_address": row["projected_address"]}
    return {
        "account_sid": views.account_sid,
        "chat_service_sid": views.service_sid,
        "participant_sid": row["participant_sid"],
        "participant_user_sid": row["user_sid"],
        "participant_identity": row["identity"],
        "participant_messaging_binding": full_binding,
        "conversation_sid": row["conversation_sid"],
        "conversation_unique_name": row["unique_name"],
        "conversation_friendly_name": row["friendly_name"],
        "conversation_attributes": row["attributes"],
        "conversation_date_created": row["date_created"],
        "conversation_date_updated": row["date_updated"],
        "conversation_created_by": row["created_by"],
        # This resource's state enum has no `initializing` (spec): a conversation still
        # being set up is listed as the active one it is about to be.
        "conversation_state": "active" if row["state"] == "initializing" else row["state"],
        "conversation_timers": json.loads(row["timers"]),
        "links": {"participant": f"{conversation}/Participants/{row['participant_sid']}",
                  "conversation": conversation},
    }


def collection(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service, views = engine.service, engine.views
    if method == "POST":
        row = service.add_participant(ids[0], **kw(p))
        return 201, view(row, views, service.conversation(ids[0])["sid"])
    conversation = service.conversation(ids[0])
    sid = conversation["sid"]
    return page(views, p, ("Conversations", sid, "Participants"), "participants",
                "participants", sid, 100, [],
                lambda after, n: service.participants(conversation, int_key(after, 0), n),
                lambda row: view(row, views, sid), lambda row: row["id"])


def one(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service = engine.service
    if method == "DELETE":
        service.remove_participant(ids[0], ids[1])
        return 204, None
    if method == "POST":
        row = service.update_participant(ids[0], ids[1], **kw(p))
    else:
        row = service.participant(service.conversation(ids[0]), ids[1])
    return 200, view(row, engine.views, service.conversation(ids[0])["sid"])


def conversations(engine: Engine, method: str, _: list[str], p: dict[str, str]) -> tuple[int, Any]:
    identity, address = p.get("Identity"), p.get("Address")
    owner = f"identity:{identity}" if address is None else f"address:{address}"
    filters = [(k, p[k]) for k in ("Identity", "Address") if k in p]
    views = engine.views
    return page(views, p, ("ParticipantConversations",), "conversations",
                "participant_conversations", owner, 50, filters,
                lambda after, n: engine.service.participant_conversations(
                    identity=identity, address=address, after=after or "", limit=n),
                lambda row: conversation_view(row, views), lambda row: row["conversation_sid"])


HANDLERS = {"participants": collection, "participant": one,
            "participant_conversations": conversations}
