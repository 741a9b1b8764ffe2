"""Post-events: their parameters, as Twilio's Conversations Webhooks documentation lists
them, and the durable queue they wait in.

`Events.fire` runs inside the write transaction of the change (Service calls it there), so an
event is stored exactly when its change is: a crash loses neither, and a rolled-back change
leaves no event. Each event gets one outbox row per receiver that wants it (the account's
post-event URL when its Filters name the event, each matching conversation-scoped webhook,
the `--forward-to` URL of a running `convo serve`); engine/delivery.py sends them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from convo_cli.engine.store import Row, Store

Params = dict[str, str]
CACHE_SECONDS = 1.0


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def conversation_params(conversation: Row) -> Params:
    return {
        "ConversationSid": conversation["sid"],
        "FriendlyName": _text(conversation.get("friendly_name")),
        "UniqueName": _text(conversation.get("unique_name")),
        "Attributes": _text(conversation.get("attributes")),
        "MessagingServiceSid": _text(conversation.get("messaging_service_sid")),
        "State": _text(conversation.get("state")),
        "DateCreated": _text(conversation.get("date_created")),
        "DateUpdated": _text(conversation.get("date_updated")),
    }


def participant_params(conversation: Row, participant: Row) -> Params:
    params = {
        "ConversationSid": conversation["sid"],
        "ParticipantSid": participant["sid"],
        "Identity": _text(participant.get("identity")),
        "Attributes": _text(participant.get("attributes")),
        "RoleSid": _text(participant.get("role_sid")),
        "DateCreated": _text(participant.get("date_created")),
        "DateUpdated": _text(participant.get("date_updated")),
    }
    for name, column in (("Address", "address"), ("ProxyAddress", "proxy_address"),
                         ("ProjectedAddress", "projected_address")):
        if participant.get(column):
            params[f"MessagingBinding.{name}"] = participant[column]
    if participant.get("last_read_message_index") is not None:
        params["LastReadMessageIndex"] = str(participant["last_read_message_index"])
    return params


def message_params(conversation: Row, message: Row) -> Params:
    params = {
        "ConversationSid": conversation["sid"],
        "MessageSid": message["sid"],
        "Index": str(message["idx"]),
        "Author": _text(message.get("author")),
        "Body": _text(message.get("body")),
        "Attributes": _text(message.get("attributes")),
        "ParticipantSid": _text(message.get("participant_sid")),
        "DateCreated": _text(message.get("date_created")),
        "DateUpdated": _text(message.get("date_updated")),
    }
    if conversation.get("messaging_service_sid"):
        params["MessagingServiceSid"] = conversation["messaging_service_sid"]
    if message.get("media"):
        params["Media"] = message["media"]
    return params


class Events:
    """Hooks the Service calls inside its write transactions. `enabled` is set per request
    from `X-Twilio-Webhook-Enabled` (REST changes fire webhooks only with it, as on Twilio)."""

    def __init__(self, store: Store, account_sid: str, service_sid: str) -> None:
        self.store, self.account_sid, self.service_sid = store, account_sid, service_sid
        self.enabled = False
        self.source = "API"
        self.forward_to: str | None = None  # `convo serve --forward-to`, this run only
        self.queued = 0  # deliveries queued by this process (the local profile sends them)
        self.on_queued: Callable[[], None] | None = None  # wakes a delivery worker
        self._cached_at = -1.0
        self._config: Row | None = None
        self._scoped: frozenset[int] = frozenset()

    def configuration(self) -> Row | None:
        """The account's webhook configuration and which conversations have webhooks of their
        own, read at most once a CACHE_SECONDS (three queries fewer on every write); a change
        through this engine is seen at once (`forget`), one made by another process on the
        same file within CACHE_SECONDS."""
        now = time.monotonic()
        if now - self._cached_at > CACHE_SECONDS:
            self._config = self.store.one("SELECT method, filters, pre_webhook_url, "
                                          "post_webhook_url FROM webhook_configuration")
            if self._config is not None:
                self._config = {**self._config, "filters": frozenset(
                    json.loads(self._config["filters"]))}
            self._scoped = frozenset(row["conversation_id"] for row in self.store.all(
                "SELECT DISTINCT conversation_id FROM webhooks"))
            self._cached_at = now
        return self._config

    def forget(self) -> None:
        self._cached_at = -1.0

    def fire(self, event: str, conversation: Row, params: Params) -> None:
        if not self.enabled:
            return
        targets = self._targets(event, conversation, params.get("Body", ""))
        if not targets:
            return
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        full = {"AccountSid": self.account_sid, "ChatServiceSid": self.service_sid,
                "EventType": event, "Source": self.source, **params}
        conversation_sid = conversation.get("sid")
        data = json.dumps(full)
        self.store.db.executemany(
            "INSERT INTO outbox (type, conversation_sid, url, method, webhook_sid, params, "
            "date_created) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(event, conversation_sid, url, method, sid, data, now)
             for url, method, sid in targets])
        self.queued += len(targets)
        if self.on_queued is not None:
            self.on_queued()

    def _targets(self, event: str, conversation: Row, body: str) -> list[tuple[str, str, str | None]]:
        targets: list[tuple[str, str, str | None]] = []
        config = self.configuration()
        if config and config["post_webhook_url"] and event in config["filters"]:
            targets.append((config["post_webhook_url"], config["method"], None))
        if conversation.get("id") in self._scoped:
            for row in self.store.all("SELECT sid, target, configuration FROM webhooks "
                                      "WHERE conversation_id = ?", conversation["id"]):
                config_ = json.loads(row["configuration"])
                if row["target"] == "webhook" and event in config_.get("filters", ()):
                    targets.append((config_["url"], config_.get("method", "POST"), row["sid"]))
                elif (row["target"] == "trigger" and event == "onMessageAdded"
                      and _triggered(config_, body)):
                    targets.append((config_["url"], config_.get("method", "POST"), row["sid"]))
        if self.forward_to:
            targets.append((self.forward_to, "POST", None))
        return targets


def _triggered(config: dict[str, Any], body: str) -> bool:
    """A `trigger` webhook fires on a message whose first word is one of its keywords,
    compared case-insensitively."""
    words = body.split(None, 1)
    first = words[0].lower() if words else ""
    return any(first == t.lower() for t in config.get("triggers", ()))


# `/convo/v1/Events`: a convo extension (not Twilio's API) that `convo events` reads.

LISTING_LIMIT = 200


def listing(store: Store, query: dict[str, str]) -> dict[str, Any]:
    """The deliveries waiting in the outbox, and the finished ones (delivered or given up),
    newest first; with `After=N`, only the finished ones after id N, oldest first (a follower
    polls with the last id it saw)."""
    from convo_cli.engine.service import EngineError

    try:
        limit = max(1, min(int(query.get("PageSize", "50")), LISTING_LIMIT))
        after = int(query["After"]) if "After" in query else None
    except ValueError:
        raise EngineError(400, 20422, "Invalid parameter: PageSize and After are integers") \
            from None
    if after is not None:
        done = store.all("SELECT * FROM deliveries WHERE id > ? ORDER BY id LIMIT ?",
                         after, limit)
        waiting: list[Row] = []
    else:
        done = store.all("SELECT * FROM deliveries ORDER BY id DESC LIMIT ?", limit)
        waiting = store.all("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", limit)
    return {"waiting": [_item(row, "pending") for row in waiting],
            "finished": [_item(row, row["state"]) for row in done]}


def _item(row: Row, state: str) -> dict[str, Any]:
    return {"id": row["id"], "event_type": row["type"],
            "conversation_sid": row["conversation_sid"], "url": row["url"],
            "method": row["method"], "webhook_sid": row["webhook_sid"], "state": state,
            "attempts": row["attempts"], "status": row["status"], "error": row["error"],
            "date_created": row["date_created"], "date_updated": row.get("date_updated"),
            "params": json.loads(row["params"])}
