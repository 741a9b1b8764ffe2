"""Users, `/v1/Users[/{Sid}]`, and a user's conversations, `/v1/Users/{sid}/Conversations
[/{ConversationSid}]` (its read horizon and notification level in each): their parameters,
views and routes.

The rules are the domain's (engine/service.py `Service`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from convo_cli.engine.form import kw
from convo_cli.engine.paging import PAGING, int_key, page
from convo_cli.engine.store import Row
from convo_cli.engine.views import Resource, Views

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

ROUTES = {
    ("Users",): "users",
    ("Users", "*"): "user",
    ("Users", "*", "Conversations"): "user_conversations",
    ("Users", "*", "Conversations", "*"): "user_conversation",
}
PARAMETERS = {
    ("users", "GET"): PAGING,
    ("users", "POST"): {"Identity", "FriendlyName", "Attributes", "RoleSid"},
    ("user", "GET"): set(),
    ("user", "POST"): {"FriendlyName", "Attributes", "RoleSid"},
    ("user", "DELETE"): set(),
    ("user_conversations", "GET"): PAGING,
    ("user_conversation", "GET"): set(),
    ("user_conversation", "POST"): {"NotificationLevel", "LastReadTimestamp",
                                    "LastReadMessageIndex"},
    ("user_conversation", "DELETE"): set(),
}


def view(row: Row, views: Views, *, fetched: bool = True) -> Resource:
    url = views.url("Users", row["sid"])
    return {
        "sid": row["sid"],
        "account_sid": views.account_sid,
        "chat_service_sid": views.service_sid,
        "role_sid": row["role_sid"],
        "identity": row["identity"],
        "friendly_name": row["friendly_name"],
        "attributes": row["attributes"],
        # Nobody is connected through an SDK to this engine; a Read returns null (spec).
        "is_online": False if fetched else None,
        "is_notifiable": False if fetched else None,
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "url": url,
        "links": {"user_conversations": f"{url}/Conversations"},
    }


def conversation_view(row: Row, views: Views) -> Resource:
    """A UserConversation: a conversation as one of its users sees it."""
    conversation = views.url("Conversations", row["conversation_sid"])
    return {
        "account_sid": views.account_sid,
        "chat_service_sid": views.service_sid,
        "conversation_sid": row["conversation_sid"],
        "unread_messages_count": row["unread_messages_count"],
        "last_read_message_index": row["last_read_message_index"],
        "participant_sid": row["participant_sid"],
        "user_sid": row["user_sid"],
        "friendly_name": row["friendly_name"],
        # As in ParticipantConversation, this state enum has no `initializing` (spec).
        "conversation_state": "active" if row["state"] == "initializing" else row["state"],
        "timers": json.loads(row["timers"]),
        "attributes": row["attributes"],
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "created_by": row["created_by"],
        "notification_level": row["notification_level"],
        "unique_name": row["unique_name"],
        "url": views.url("Users", row["user_sid"], "Conversations", row["conversation_sid"]),
        "links": {"participant": f"{conversation}/Participants/{row['participant_sid']}",
                  "conversation": conversation},
    }


def collection(engine: Engine, method: str, _: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service, views = engine.service, engine.views
    if method == "POST":
        return 201, view(service.create_user(**kw(p)), views)
    return page(views, p, ("Users",), "users", "users", "", 50, [],
                lambda after, n: service.users(int_key(after, 0), n),
                lambda row: view(row, views, fetched=False), lambda row: row["id"])


def one(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service = engine.service
    if method == "DELETE":
        service.delete_user(ids[0])
        return 204, None
    if method == "POST":
        return 200, view(service.update_user(ids[0], **kw(p)), engine.views)
    return 200, view(service.user(ids[0]), engine.views)


def conversations(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service, views = engine.service, engine.views
    user = service.user(ids[0])
    return page(views, p, ("Users", user["sid"], "Conversations"), "conversations",
                "user_conversations", user["sid"], 50, [],
                lambda after, n: service.user_conversations(user["sid"], after or "", n),
                lambda row: conversation_view(row, views), lambda row: row["conversation_sid"])


def conversation(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    service = engine.service
    if method == "DELETE":
        service.delete_user_conversation(ids[0], ids[1])
        return 204, None
    if method == "POST":
        row = service.update_user_conversation(ids[0], ids[1], **kw(p))
    else:
        row = service.user_conversation(ids[0], ids[1])
    return 200, conversation_view(row, engine.views)


HANDLERS = {"users": collection, "user": one, "user_conversations": conversations,
            "user_conversation": conversation}
