"""The Conversations domain: what is valid, what is unique, what each failure is called, for
conversations, participants, messages and users (their routes and views are their family
modules': engine/conversations.py, participants.py, messages.py, users.py).

Independent of HTTP: callers pass snake_case keyword arguments (the wire layer maps
Twilio's PascalCase form fields onto them) and get rows back or an `EngineError`
carrying Twilio's status and error code. Where twilio-wire.md marks an HTTP status as
[assumed], the status here is this engine's choice.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from convo_cli.engine.store import Row, Store

CONVERSATION_SID = re.compile(r"^CH[0-9a-fA-F]{32}$")
PARTICIPANT_SID = re.compile(r"^MB[0-9a-fA-F]{32}$")
MESSAGE_SID = re.compile(r"^IM[0-9a-fA-F]{32}$")
USER_SID = re.compile(r"^US[0-9a-fA-F]{32}$")
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
# ASCII digits only (`\d` also matches other scripts' digits, which int() accepts).
DURATION = re.compile(r"^P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$")
INTEGER = re.compile(r"^-?[0-9]{1,19}$")
SID_PATTERNS = {
    prefix: re.compile(rf"^{prefix}[0-9a-fA-F]{{32}}$") for prefix in ("MG", "RL", "ME", "HX")
}

STATES = ("initializing", "inactive", "active", "closed")
NAME_LIMIT = 256  # characters: friendly names, unique names, identities, addresses
CONVERSATION_ATTRIBUTES_LIMIT = 16 * 1024  # bytes
ATTRIBUTES_LIMIT = 4 * 1024  # bytes: participants, messages, users
BODY_LIMIT = 32 * 1024  # bytes: a chat message body
# JSON nesting of attributes, in levels; deeper documents are refused before parsing (json
# recurses: about 1,000 levels raised RecursionError). The CLI checks the same published limit
# locally (convo_cli/limits.py, when it exists, is the one place; keep the two equal).
ATTRIBUTES_DEPTH_LIMIT = 32
INT64_MAX = 2**63 - 1  # SQLite's integers: anything wider cannot be stored or compared
PARTICIPANTS_LIMIT = 1000
NON_CHAT_PARTICIPANTS_LIMIT = 50


class EngineError(Exception):
    def __init__(self, status: int, code: int, message: str = "", *,
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or []  # e.g. a 405's `Allow`


def not_found() -> EngineError:
    # The wire layer names the requested path in the message, as Twilio does.
    return EngineError(404, 20404)


def invalid(name: str, why: str = "is invalid") -> EngineError:
    return EngineError(400, 20422, f"Invalid parameter: {name} {why}")


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_sid(prefix: str) -> str:
    return prefix + os.urandom(16).hex()


class Service:
    def __init__(self, store: Store, *, clock: Callable[[], str] = now_iso,
                 make_sid: Callable[[str], str] = new_sid) -> None:
        self.store, self.clock, self.make_sid = store, clock, make_sid
        self.roles: Any = None  # engine/roles.py's Roles, set by the Engine
        # Post-event webhooks (engine/events.py): fired inside each write transaction.
        self.events: Any = None
        # The conversation a message was just written to, as it is now, and when: `convo
        # serve` commits several writes at once (engine/server.py), and while nothing has
        # changed since, in the same transaction (no other process can write meanwhile), the
        # next read of it by that key, to answer the write or for the next one, is this.
        self._recent: tuple[str, tuple[int, int], Row] | None = None

    # Conversations

    def conversation(self, key: str) -> Row:
        """A conversation by SID or by unique name: a unique name may not look like a SID."""
        recent = self._recent
        if recent is not None and recent[0] == key and self.store.db.in_transaction \
                and recent[1] == (self.store.transactions, self.store.db.total_changes):
            return {**recent[2]}
        if CONVERSATION_SID.match(key):
            row = self.store.conversation_by_sid(key)
        else:
            row = self.store.conversation_by_unique_name(key)
        if row is None:
            raise not_found()
        return row

    def create_conversation(self, **p: Any) -> Row:
        now = self.clock()
        state = p.get("state") or "active"
        if state == "closed":
            raise EngineError(400, 50384, "Initial state can't be 'closed'")
        row = {
            "sid": self.make_sid("CH"),
            "attributes": "{}",
            "state": state,
            "date_created": _date(p.get("date_created"), "DateCreated") or now,
            "date_updated": _date(p.get("date_updated"), "DateUpdated") or now,
        }
        # Timers run from the moment of the write (the spec's examples: DateUpdated + PT1M).
        row.update(self._conversation_fields(p, row["date_updated"]))
        with self.store.write():
            self._check_unique_name(row.get("unique_name"))
            self.store.insert("conversations", row)
            created = self.conversation(row["sid"])
            self._fire("onConversationAdded", created)
        return created

    def update_conversation(self, key: str, **p: Any) -> Row:
        with self.store.write():
            row = self.conversation(key)
            if row["state"] == "closed":
                raise EngineError(400, 50377, "Can't update conversation as it's in final closed state")
            updated = _date(p.get("date_updated"), "DateUpdated") or self.clock()
            changes = self._conversation_fields(p, updated)
            if "unique_name" in changes and changes["unique_name"] != row["unique_name"]:
                self._check_unique_name(changes["unique_name"])
            changes["date_updated"] = updated
            if p.get("date_created"):
                changes["date_created"] = _date(p["date_created"], "DateCreated")
            self.store.update("conversations", row["id"], changes)
            updated_row = self.conversation(row["sid"])
            self._fire("onConversationUpdated", updated_row)
            if updated_row["state"] != row["state"]:
                self._fire("onConversationStateUpdated", updated_row, {
                    "StateFrom": row["state"], "StateTo": updated_row["state"],
                    "StateUpdated": updated_row["date_updated"], "Reason": "API"})
        return updated_row

    def delete_conversation(self, key: str) -> None:
        with self.store.write():
            row = self.conversation(key)
            self._fire("onConversationRemoved", row, {"DateRemoved": self.clock()})
            self.store.delete("conversations", row["id"])

    def _conversation_fields(self, p: dict[str, Any], start: str) -> Row:
        fields: Row = {}
        if p.get("friendly_name") is not None:
            fields["friendly_name"] = _text(p["friendly_name"], 50003, "Friendly name")
        if p.get("unique_name") is not None:
            name = _text(p["unique_name"], 50004, "Unique name") or None
            if name and CONVERSATION_SID.match(name):
                raise EngineError(400, 50390, "Unique name should not match conversation sid pattern")
            fields["unique_name"] = name
        if p.get("attributes") is not None:
            fields["attributes"] = _attributes(p["attributes"], CONVERSATION_ATTRIBUTES_LIMIT)
        if p.get("state") is not None:
            if p["state"] not in STATES:
                raise EngineError(400, 50378, "'State' parameter value is invalid")
            fields["state"] = p["state"]
        if p.get("messaging_service_sid") is not None:
            fields["messaging_service_sid"] = _sid(p["messaging_service_sid"], "MG",
                                                   "MessagingServiceSid")
        timers = {}
        for name, code, minimum in (("inactive", 50375, 60), ("closed", 50376, 600)):
            value = p.get(f"timers_{name}")
            if value is not None:
                seconds = _duration(value, code - 50375 + 50379)
                if seconds < minimum:
                    raise EngineError(400, code, f"Timers.{name.title()} is below its minimum")
                timers[f"date_{name}"] = _shift(start, seconds, f"Timers.{name.title()}")
        if timers:
            fields["timers"] = json.dumps(timers)
        if p.get("bindings_email_address") is not None or p.get("bindings_email_name") is not None:
            email = {"projected_address": p.get("bindings_email_address"),
                     "name": p.get("bindings_email_name")}
            fields["bindings"] = json.dumps({"email": email})
        return fields

    def _check_unique_name(self, name: str | None) -> None:
        if name and self.store.conversation_by_unique_name(name):
            raise EngineError(409, 50353, "Conversation with provided unique name already exists")

    def conversations(self, after: int, limit: int, *, state: str | None = None,
                      start_date: str | None = None, end_date: str | None = None,
                      member: str | None = None) -> list[Row]:
        if state is not None and state not in STATES:
            raise invalid("State")
        return self.store.conversations_page(
            after, limit, state, _day(start_date, "StartDate", "00:00:00"),
            _day(end_date, "EndDate", "23:59:59"), member,
        )

    # Participants

    def participant(self, conversation: Row, key: str) -> Row:
        column = "sid" if PARTICIPANT_SID.match(key) else "identity"
        row = self.store.participant(conversation["id"], column, key)
        if row is None:
            raise not_found()
        return row

    def add_participant(self, conversation_key: str, **p: Any) -> Row:
        now = self.clock()
        row: Row = {
            "sid": self.make_sid("MB"),
            "attributes": _attributes(p.get("attributes"), ATTRIBUTES_LIMIT),
            "role_sid": self._role(p.get("role_sid"), "conversation"),
            "date_created": _date(p.get("date_created"), "DateCreated") or now,
            "date_updated": _date(p.get("date_updated"), "DateUpdated") or now,
        }
        identity = p.get("identity")
        address = p.get("messaging_binding_address")
        projected = p.get("messaging_binding_projected_address")
        if identity is not None and address is not None:
            raise invalid("Identity", "and MessagingBinding.Address cannot both be set")
        if identity is not None:
            row["identity"] = _identity(identity)
            if projected is not None:
                row["projected_address"], row["binding_type"] = _address(
                    projected, 50408, "projected address")
        else:
            if not address:
                raise EngineError(400, 50411, "Participant address is empty")
            proxy = p.get("messaging_binding_proxy_address")
            if not proxy:
                raise EngineError(400, 50412, "Participant proxy address is empty")
            address, kind = _address(address, 50407, "address")
            proxy, proxy_kind = _address(proxy, 50408, "proxy address")
            if address == proxy:
                raise EngineError(400, 50409, "Participant address equals proxy address")
            if kind != proxy_kind:
                raise EngineError(400, 50414, "Participant address type does not match proxy "
                                  "address type")
            row.update(address=address, proxy_address=proxy, binding_type=kind)
        with self.store.write():
            conversation = self.conversation(conversation_key)
            cid = conversation["id"]
            if identity is not None:
                if self.store.participant(cid, "identity", row["identity"]):
                    raise EngineError(409, 50433, "Participant already exists")
                self._ensure_user(row["identity"], now)
            elif self.store.participant_by_binding(cid, row["address"], row["proxy_address"]):
                raise EngineError(409, 50416, "A binding for this participant and proxy address "
                                  f"already exists in Conversation {conversation['sid']}")
            self._check_participant_limits(cid, non_chat=identity is None)
            self.store.insert("participants", {"conversation_id": cid, **row})
            self._fire("onParticipantAdded", conversation, participant=row)
        return self.participant(conversation, row["sid"])

    def _check_participant_limits(self, conversation_id: int, *, non_chat: bool) -> None:
        counts = self.store.one(
            "SELECT COUNT(*) AS total, COUNT(address) AS non_chat FROM participants "
            "WHERE conversation_id = ?", conversation_id,
        )
        assert counts is not None
        if counts["total"] >= PARTICIPANTS_LIMIT:
            raise EngineError(400, 50417, "Participants limit exceeded")
        if non_chat and counts["non_chat"] >= NON_CHAT_PARTICIPANTS_LIMIT:
            raise EngineError(400, 50418, "Non-Chat participants limit exceeded")

    def _ensure_user(self, identity: str, now: str) -> None:
        if self.store.user("identity", identity) is None:
            self.store.insert("users", {"sid": self.make_sid("US"), "identity": identity,
                                        "role_sid": self._role(None, "service"),
                                        "date_created": now, "date_updated": now})

    def _role(self, sid: str | None, kind: str) -> str | None:
        """A RoleSid checked against the Roles (`roles`), or the default role of its type."""
        checked = _sid(sid, "RL", "RoleSid")
        return self.roles.resolve(checked, kind) if self.roles is not None else checked

    def update_participant(self, conversation_key: str, key: str, **p: Any) -> Row:
        with self.store.write():
            conversation = self.conversation(conversation_key)
            row = self.participant(conversation, key)
            changes: Row = {"date_updated": _date(p.get("date_updated"), "DateUpdated")
                            or self.clock()}
            if p.get("attributes") is not None:
                changes["attributes"] = _attributes(p["attributes"], ATTRIBUTES_LIMIT)
            if p.get("role_sid") is not None:
                changes["role_sid"] = self._role(p["role_sid"], "conversation")
            if p.get("identity") is not None and row["identity"] is not None:
                changes["identity"] = _identity(p["identity"])
                if (changes["identity"] != row["identity"]
                        and self.store.participant(conversation["id"], "identity", changes["identity"])):
                    raise EngineError(409, 50433, "Participant already exists")
                self._ensure_user(changes["identity"], self.clock())
            changes.update(self._binding_changes(row, p))
            changes.update(self._horizon_changes(p))
            self.store.update("participants", row["id"], changes)
            self._fire("onParticipantUpdated", conversation, participant={**row, **changes})
        return self.participant(conversation, row["sid"])

    @staticmethod
    def _binding_changes(row: Row, p: dict[str, Any]) -> Row:
        """A new proxy or projected address; the binding's type follows, as at creation."""
        changes: Row = {}
        proxy = p.get("messaging_binding_proxy_address")
        if proxy is not None:
            changes["proxy_address"] = None
            if proxy != "null":
                changes["proxy_address"], kind = _address(proxy, 50408, "proxy address")
                if row["address"] is not None and kind != row["binding_type"]:
                    raise EngineError(400, 50414, "Participant address type does not match "
                                      "proxy address type")
        projected = p.get("messaging_binding_projected_address")
        if projected is not None:
            changes["projected_address"], kind = None, None
            if projected != "null":
                changes["projected_address"], kind = _address(projected, 50408,
                                                              "projected address")
            if row["address"] is None:  # a chat participant: the projected address is its binding
                changes["binding_type"] = kind
        return changes

    def _horizon_changes(self, p: dict[str, Any]) -> Row:
        """A read horizon set through the Participant or the User Conversation resource: one
        column either way. `LastReadMessageIndex=` (empty) unsets it (the spec: nullable).
        Moving it stamps `last_read_timestamp` with now unless the caller gave one."""
        changes: Row = {}
        if p.get("last_read_message_index") is not None:
            value = p["last_read_message_index"]
            index = None if value == "" else _integer(value, "LastReadMessageIndex")
            changes["last_read_message_index"] = index
            changes["last_read_timestamp"] = None if index is None else self.clock()
        if p.get("last_read_timestamp") is not None:
            changes["last_read_timestamp"] = _date(p["last_read_timestamp"] or None,
                                                   "LastReadTimestamp")
        return changes

    def remove_participant(self, conversation_key: str, key: str) -> None:
        with self.store.write():
            conversation = self.conversation(conversation_key)
            row = self.participant(conversation, key)
            self._fire("onParticipantRemoved", conversation, participant=row,
                       extra={"DateRemoved": self.clock()})
            self.store.delete("participants", row["id"])

    def participants(self, conversation: Row, after: int, limit: int) -> list[Row]:
        return self.store.participants_page(conversation["id"], after, limit)

    def participant_conversations(self, *, identity: str | None, address: str | None,
                                  after: str, limit: int) -> list[Row]:
        if identity is not None and address is not None:
            raise EngineError(400, 50451, "One user identifier parameter for lookup at a time is "
                              "allowed. Please, use either Identity or Address.")
        if identity is None and address is None:
            raise EngineError(400, 50451, "Either Identity or Address is required")
        column, value = ("identity", identity) if identity is not None else ("address", address)
        assert value is not None
        return self.store.participant_conversations_page(column, value, after, limit)

    # Messages

    def message(self, conversation: Row, sid: str) -> Row:
        row = self.store.message(conversation["id"], sid) if MESSAGE_SID.match(sid) else None
        if row is None:
            raise not_found()
        return row

    def send_message(self, conversation_key: str, **p: Any) -> Row:
        now = self.clock()
        body = p.get("body")
        media_sid = _sid(p.get("media_sid"), "ME", "MediaSid")
        content_sid = _sid(p.get("content_sid"), "HX", "ContentSid")
        if content_sid is not None:
            body, media_sid = None, None  # the template stands for both (spec)
        elif not body and media_sid is None:
            raise EngineError(400, 50503, "Message body not provided")
        if body is not None and len(body.encode()) > BODY_LIMIT:
            raise EngineError(400, 50504, "Message body parameter is too long")
        author = p.get("author") or "system"
        row: Row = {
            "sid": self.make_sid("IM"),
            "author": _text(author, 50207, "Author"),
            "body": body,
            "attributes": _attributes(p.get("attributes"), ATTRIBUTES_LIMIT),
            "media": json.dumps([{"sid": media_sid}]) if media_sid else None,
            "content_sid": content_sid,
            "date_created": _date(p.get("date_created"), "DateCreated") or now,
            "date_updated": _date(p.get("date_updated"), "DateUpdated") or now,
        }
        with self.store.write():
            conversation = self.conversation(conversation_key)
            cid = conversation["id"]
            row["participant_sid"] = self._author_participant(cid, author)
            # The index comes from a counter on the conversation inside this transaction,
            # so concurrent writers get 0, 1, 2 … with no gap and no duplicate.
            row["idx"] = self.store.take_message_index(cid)
            row_id = self.store.insert("messages", {"conversation_id": cid, **row})
            self._fire("onMessageAdded", conversation, message=row)
            from convo_cli.engine import phones  # the message reaches the SMS/WhatsApp side

            changes = self.store.db.total_changes
            phones.deliver(self, conversation, row)
            delivered = self.store.db.total_changes != changes
            # take_message_index's UPDATE, the one change made to the conversation's row
            conversation = {**conversation, "next_index": row["idx"] + 1,
                            "message_count": conversation["message_count"] + 1}
            self._recent = (conversation_key, (self.store.transactions,
                                               self.store.db.total_changes), conversation)
        if delivered:  # receipts and a delivery summary were written: read it back
            return self.message(conversation, row["sid"])
        # Otherwise it is what was inserted, no query needed (a served write's every
        # statement counts).
        return {"id": row_id, "conversation_id": cid, **row, "delivery": None}

    def _author_participant(self, conversation_id: int, author: str) -> str | None:
        found = self.store.one(
            "SELECT sid FROM participants WHERE conversation_id = ? AND (identity = ? OR "
            "address = ?) LIMIT 1", conversation_id, author, author,
        )
        return found["sid"] if found else None

    def update_message(self, conversation_key: str, sid: str, **p: Any) -> Row:
        with self.store.write():
            conversation = self.conversation(conversation_key)
            row = self.message(conversation, sid)
            changes: Row = {"date_updated": _date(p.get("date_updated"), "DateUpdated")
                            or self.clock()}
            if p.get("body") is not None:
                if len(p["body"].encode()) > BODY_LIMIT:
                    raise EngineError(400, 50504, "Message body parameter is too long")
                changes["body"] = p["body"]
            if p.get("author") is not None:
                changes["author"] = _text(p["author"], 50207, "Author")
            if p.get("attributes") is not None:
                changes["attributes"] = _attributes(p["attributes"], ATTRIBUTES_LIMIT)
            if p.get("date_created") is not None:
                changes["date_created"] = _date(p["date_created"], "DateCreated")
            self.store.update("messages", row["id"], changes)
            self._fire("onMessageUpdated", conversation, message={**row, **changes})
        return self.message(conversation, sid)

    def delete_message(self, conversation_key: str, sid: str) -> None:
        with self.store.write():
            conversation = self.conversation(conversation_key)
            row = self.message(conversation, sid)
            self._fire("onMessageRemoved", conversation, message=row,
                       extra={"DateRemoved": self.clock()})
            self.store.delete_message(conversation["id"], row["id"])

    def messages(self, conversation: Row, order: str, after: int | None, limit: int) -> list[Row]:
        return self.store.messages_page(conversation["id"], order, after, limit)

    def _fire(self, event: str, conversation: Row, extra: dict[str, str] | None = None, *,
              participant: Row | None = None, message: Row | None = None) -> None:
        """A post-event, queued in the current write transaction (nothing when no webhook
        wants it or the request did not enable webhooks)."""
        if self.events is None or not self.events.enabled:
            return
        from convo_cli.engine import events

        if message is not None:
            params = events.message_params(conversation, message)
        elif participant is not None:
            params = events.participant_params(conversation, participant)
        else:
            params = events.conversation_params(conversation)
        self.events.fire(event, conversation, {**params, **(extra or {})})

    def _fire_user(self, event: str, user: Row) -> None:
        if self.events is not None and self.events.enabled:
            self.events.fire(event, {}, {
                "UserSid": user["sid"], "Identity": user["identity"],
                "FriendlyName": user.get("friendly_name") or "",
                "Attributes": user.get("attributes") or "{}", "RoleSid": user.get("role_sid") or "",
                "DateCreated": user["date_created"], "DateUpdated": user["date_updated"]})

    # Users

    def user(self, key: str) -> Row:
        row = self.store.user("sid" if USER_SID.match(key) else "identity", key)
        if row is None:
            raise not_found()
        return row

    def create_user(self, **p: Any) -> Row:
        if not p.get("identity"):
            raise EngineError(400, 50204, "Identity not provided")
        now = self.clock()
        row = {"sid": self.make_sid("US"), "identity": _identity(p["identity"]),
               "friendly_name": _text(p.get("friendly_name"), 50003, "Friendly name"),
               "attributes": _attributes(p.get("attributes"), ATTRIBUTES_LIMIT),
               "role_sid": self._role(p.get("role_sid"), "service"),
               "date_created": now, "date_updated": now}
        with self.store.write():
            if self.store.user("identity", row["identity"]):
                raise EngineError(409, 50201, "User already exists")
            self.store.insert("users", row)
            self._fire_user("onUserAdded", row)
        return self.user(row["sid"])

    def update_user(self, key: str, **p: Any) -> Row:
        with self.store.write():
            row = self.user(key)
            changes: Row = {"date_updated": self.clock()}
            if p.get("friendly_name") is not None:
                changes["friendly_name"] = _text(p["friendly_name"], 50003, "Friendly name")
            if p.get("attributes") is not None:
                changes["attributes"] = _attributes(p["attributes"], ATTRIBUTES_LIMIT)
            if p.get("role_sid") is not None:
                changes["role_sid"] = self._role(p["role_sid"], "service")
            self.store.update("users", row["id"], changes)
            self._fire_user("onUserUpdated", {**row, **changes})
        return self.user(row["sid"])

    def delete_user(self, key: str) -> None:
        with self.store.write():
            self.store.delete("users", self.user(key)["id"])

    def users(self, after: int, limit: int) -> list[Row]:
        return self.store.users_page(after, limit)

    # User conversations: a user's participation seen from the user, with its read horizon.
    # `unread_messages_count` counts the messages whose index is above the horizon. Twilio
    # answers null until a horizon has been set (its read status is "undefined" until then);
    # this engine counts every message instead: a participant who has read nothing has
    # everything unread, which is also what the SDK's setAllMessagesUnread() (a null horizon)
    # means, and it lets `convo list` say "3" for a conversation never opened.

    def user_conversations(self, user_key: str, after: str, limit: int) -> list[Row]:
        user = self.user(user_key)
        rows = self.store.user_conversations_page(user["identity"], after, limit)
        return [self._with_unread(row) for row in rows]

    def user_conversation(self, user_key: str, conversation_key: str) -> Row:
        user = self.user(user_key)
        row = self.store.user_conversation(user["identity"], self.conversation(conversation_key)["id"])
        if row is None:
            raise not_found()
        return self._with_unread(row)

    def _with_unread(self, row: Row) -> Row:
        return {**row, "unread_messages_count": self.store.unread_count(row)}

    def update_user_conversation(self, user_key: str, conversation_key: str, **p: Any) -> Row:
        with self.store.write():
            row = self.user_conversation(user_key, conversation_key)
            changes = self._horizon_changes(p)
            level = p.get("notification_level")
            if level is not None:
                if level not in ("default", "muted"):
                    raise invalid("NotificationLevel", "must be default or muted")
                changes["notification_level"] = level
            if changes:
                changes["date_updated"] = self.clock()
                self.store.update("participants", self._participant_id(row), changes)
        return self.user_conversation(user_key, row["conversation_sid"])

    def delete_user_conversation(self, user_key: str, conversation_key: str) -> None:
        """The user leaves the conversation: its participant goes."""
        with self.store.write():
            row = self.user_conversation(user_key, conversation_key)
            self.store.delete("participants", self._participant_id(row))

    def _participant_id(self, user_conversation: Row) -> int:
        found = self.store.participant(user_conversation["conversation_id"], "sid",
                                       user_conversation["participant_sid"])
        assert found is not None
        return found["id"]


# Validation of untrusted input: every value below arrives straight from a request.

def _text(value: str | None, code: int, what: str) -> str | None:
    if value is not None and len(value) > NAME_LIMIT:
        raise EngineError(400, code, f"{what} is too long (maximum {NAME_LIMIT} characters)")
    return value


def _identity(value: str) -> str:
    if not value:
        raise EngineError(400, 50204, "Identity not provided")
    return _text(value, 50207, "Identity") or value


def _attributes(value: str | None, limit: int) -> str:
    if value is None or value == "":
        return "{}"
    if len(value.encode()) > limit:
        raise EngineError(400, 50303, f"Attributes are too long (maximum {limit} bytes)")
    if nested_deeper_than(value, ATTRIBUTES_DEPTH_LIMIT):
        raise invalid("Attributes", f"are nested too deeply (maximum {ATTRIBUTES_DEPTH_LIMIT} "
                      "levels of arrays and objects)")
    try:
        json.loads(value)
    except ValueError:
        raise EngineError(400, 50304, "Attributes must be valid JSON") from None
    return value


# A JSON string, unrolled (`"[^"\\]*(?:\\.[^"\\]*)*"`): one alternation per character was 30x slower.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_CHANGE = {"[": 1, "{": 1, "]": -1, "}": -1}


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels deep in a JSON text, told
    without parsing it (so without recursion): brackets inside strings do not count."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return bool(brackets) and max(accumulate(map(_DEPTH_CHANGE.__getitem__, brackets))) > limit


def _address(value: str, code: int, what: str) -> tuple[str, str]:
    """A messaging address and its channel: `+E.164` (sms), `whatsapp:+E.164`, `rcs:+E.164`."""
    channel, _, number = value.rpartition(":")
    kind = channel.lower() if channel else "sms"
    if len(value) > NAME_LIMIT or kind not in ("sms", "whatsapp", "rcs") or not E164.match(number):
        raise EngineError(400, code, f"Invalid messaging binding {what}: {value!r} "
                          "(SMS numbers must be E.164, e.g. +15551234567; WhatsApp: whatsapp:+…)")
    return (f"{kind}:{number}" if channel else number), kind


def _sid(value: str | None, prefix: str, name: str) -> str | None:
    if value is not None and not SID_PATTERNS[prefix].match(value):
        raise invalid(name, f"must match ^{prefix}[0-9a-fA-F]{{32}}$")
    return value


def _integer(value: str, name: str) -> int:
    return integer(value, name, -INT64_MAX - 1)


def integer(value: str, name: str, minimum: int) -> int:
    """A decimal integer from minimum to 2^63 - 1 (what SQLite stores), or Twilio's 400."""
    if not INTEGER.match(value):
        raise invalid(name, "must be an integer")
    number = int(value)
    if not minimum <= number <= INT64_MAX:
        raise invalid(name, f"must be an integer from {minimum} to {INT64_MAX}")
    return number


def _date(value: str | None, name: str) -> str | None:
    """Normalise an ISO 8601 time to Twilio's `YYYY-MM-DDTHH:MM:SSZ`, in UTC."""
    if value is None:
        return None
    from datetime import datetime, timezone

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, "must be an ISO 8601 date-time") from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(timezone.utc)
        except OverflowError:  # an offset carried it past year 1 or 9999
            raise invalid(name, "must be between 0001-01-01 and 9999-12-31 in UTC") from None
    return iso_time(parsed)


def iso_time(moment: Any) -> str:
    """Twilio's `YYYY-MM-DDTHH:MM:SSZ`, the year always four digits (strftime's `%Y` gives
    `999` for year 999 on Linux, which neither the spec nor twilio-python accept)."""
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z")


def _day(value: str | None, name: str, clock_time: str) -> str | None:
    if value is None or "T" in value:
        return _date(value, name)
    return _date(f"{value}T{clock_time}Z", name)


def _duration(value: str, code: int) -> int:
    match = DURATION.match(value)
    if not match or value in ("P", "PT") or value.endswith("T"):
        raise EngineError(400, code, f"Timer format is invalid: {value!r} (ISO 8601 duration)")
    days, hours, minutes, seconds = (_bounded(g) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _bounded(digits: str | None) -> int:
    """A duration's number, capped: anything past year 9999 is refused by _shift anyway, and
    int() itself refuses a 5,000-digit number."""
    digits = (digits or "0").lstrip("0") or "0"
    return int(digits) if len(digits) <= 20 else 10**20


def _shift(start: str, seconds: int, name: str) -> str:
    """`start` plus a timer's duration; a moment past 9999-12-31 is Twilio's 400."""
    from datetime import datetime, timedelta

    begin = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ")
    if seconds > (datetime(9999, 12, 31, 23, 59, 59) - begin).total_seconds():
        raise invalid(name, "ends after 9999-12-31T23:59:59Z: the duration is too long")
    return iso_time(begin + timedelta(seconds=seconds))
