"""Rows to Twilio's JSON resources: exactly the spec's field sets, URLs on our base URL."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from convo_cli.engine.store import Row

Resource = dict[str, Any]
SEPARATORS = (", ", ": ")


class Rendered(str):
    """A resource already rendered as JSON text (by SQLite: `Store.messages_page_json`)."""


def dump(payload: Resource) -> bytes:
    """A resource, or a page of them, as the wire's JSON. A page whose items are `Rendered`
    is joined around them rather than decoded and encoded again."""
    meta = payload.get("meta")
    items = payload.get(meta["key"]) if isinstance(meta, dict) and "key" in meta else None
    if items and isinstance(items[0], Rendered):
        return ('{"%s": [%s], "meta": %s}' % (meta["key"], ", ".join(items),
                                               json.dumps(meta, separators=SEPARATORS))).encode()
    return json.dumps(payload, separators=SEPARATORS).encode()


def default_service_sid(account_sid: str) -> str:
    """The account's default Conversation Service: the one `/v1/Conversations…` is."""
    return "IS" + account_sid[2:]


class Views:
    def __init__(self, base_url: str, account_sid: str, service_sid: str | None = None, *,
                 scoped: bool = False) -> None:
        """`service_sid`: the Conversation Service this engine holds (None: the account's
        default, whose SID follows from the account's). `scoped`: the request came by
        `/v1/Services/{IS}/…`, and the resources' URLs say so too."""
        self.base_url = base_url
        self.account_sid = account_sid
        self.service_sid = service_sid or default_service_sid(account_sid)
        self.scoped = scoped
        # What the resources inside a conversation add when reached through a service's path
        # (the spec's service_conversation_* schemas): the service's SID.
        self.chat = {"chat_service_sid": self.service_sid} if scoped else {}
        self.v1 = base_url.rstrip("/") + "/v1"
        if scoped:
            self.v1 += "/Services/" + self.service_sid

    def url(self, *segments: str) -> str:
        # Segments are SIDs and route names: quote() only what could need it (it was half the
        # cost of a page of 50 messages).
        return self.v1 + "".join(
            "/" + (s if s.isascii() and s.isalnum() else quote(s, safe="")) for s in segments)

    def conversation(self, row: Row) -> Resource:
        url = self.url("Conversations", row["sid"])
        return {
            "sid": row["sid"],
            "account_sid": self.account_sid,
            "chat_service_sid": self.service_sid,
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

    def participant(self, row: Row, conversation_sid: str) -> Resource:
        return {
            "account_sid": self.account_sid,
            **self.chat,
            "conversation_sid": conversation_sid,
            "sid": row["sid"],
            "identity": row["identity"],
            "attributes": row["attributes"],
            "messaging_binding": binding(row),
            "role_sid": row["role_sid"],
            "date_created": row["date_created"],
            "date_updated": row["date_updated"],
            "url": self.url("Conversations", conversation_sid, "Participants", row["sid"]),
            "last_read_message_index": row["last_read_message_index"],
            "last_read_timestamp": row["last_read_timestamp"],
        }

    def message(self, row: Row, conversation_sid: str) -> Resource:
        url = self.url("Conversations", conversation_sid, "Messages", row["sid"])
        return {
            "sid": row["sid"],
            "account_sid": self.account_sid,
            **self.chat,
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

    def participant_conversation(self, row: Row) -> Resource:
        conversation = self.url("Conversations", row["conversation_sid"])
        full_binding = None
        if row["address"] is not None or row["projected_address"] is not None:
            # In this resource the binding shows every key (spec example).
            full_binding = {"address": row["address"], "proxy_address": row["proxy_address"],
                            "type": row["binding_type"], "level": None, "name": None,
                            "projected_address": row["projected_address"]}
        return {
            "account_sid": self.account_sid,
            "chat_service_sid": self.service_sid,
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

    def user(self, row: Row, *, fetched: bool = True) -> Resource:
        url = self.url("Users", row["sid"])
        return {
            "sid": row["sid"],
            "account_sid": self.account_sid,
            "chat_service_sid": self.service_sid,
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

    def user_conversation(self, row: Row) -> Resource:
        conversation = self.url("Conversations", row["conversation_sid"])
        return {
            "account_sid": self.account_sid,
            "chat_service_sid": self.service_sid,
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
            "url": self.url("Users", row["user_sid"], "Conversations", row["conversation_sid"]),
            "links": {"participant": f"{conversation}/Participants/{row['participant_sid']}",
                      "conversation": conversation},
        }


def binding(row: Row) -> dict[str, str] | None:
    if row["address"] is not None:
        return {"type": row["binding_type"], "address": row["address"],
                "proxy_address": row["proxy_address"]}
    if row["projected_address"] is not None:
        return {"type": row["binding_type"], "projected_address": row["projected_address"]}
    return None
