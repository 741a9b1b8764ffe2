"""The webhook resources and their rules: the account's `/v1/Configuration/Webhooks` and the
conversation-scoped `/v1/Conversations/{sid}/Webhooks`.

Which events exist, which filters are valid, what a target needs. Firing them is
engine/events.py's (post-events, queued) and engine/wire.py's (pre-events, synchronous).
Target `studio` is stored and answered as on Twilio, but never fired: there is no Studio here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from convo_cli.engine.service import EngineError, invalid, new_sid, not_found
from convo_cli.engine.store import Row, Store

PRE_EVENTS = (
    "onConversationAdd", "onConversationUpdate", "onConversationRemove",
    "onParticipantAdd", "onParticipantUpdate", "onParticipantRemove",
    "onMessageAdd", "onMessageUpdate", "onMessageRemove",
    "onUserUpdate",
)
POST_EVENTS = (
    "onConversationAdded", "onConversationUpdated", "onConversationRemoved",
    "onConversationStateUpdated",
    "onParticipantAdded", "onParticipantUpdated", "onParticipantRemoved",
    "onMessageAdded", "onMessageUpdated", "onMessageRemoved",
    "onDeliveryUpdated", "onUserAdded", "onUserUpdated",
)
EVENTS = frozenset(PRE_EVENTS + POST_EVENTS)
# Scoped webhooks fire post-events only (Twilio: "conversation-scoped webhooks are
# post-event webhooks").
SCOPED_EVENTS = frozenset(POST_EVENTS)
SCOPED_LIMIT = 5
WEBHOOK_SID = re.compile(r"^WH[0-9a-fA-F]{32}$")
URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
URL_LIMIT = 2048
TRIGGER_LIMIT = 248  # characters a trigger keyword may have (Twilio's error 50366)


# The account's configuration: one row, created with Twilio's defaults on first use.

def configuration(store: Store) -> Row:
    row = store.one("SELECT * FROM webhook_configuration WHERE id = 1")
    if row is None:
        return {"method": "POST", "filters": "[]", "pre_webhook_url": None,
                "post_webhook_url": None, "target": "webhook"}
    return row


def update_configuration(store: Store, p: dict[str, Any], lists: dict[str, list[str]]) -> Row:
    changes: Row = {}
    if p.get("Method") is not None:
        method = p["Method"].upper()
        if method not in ("GET", "POST"):
            raise invalid("Method", "must be GET or POST")
        changes["method"] = method
    if "Filters" in lists:
        changes["filters"] = json.dumps(_filters(lists["Filters"], EVENTS))
    for name, column, code in (("PreWebhookUrl", "pre_webhook_url", 50077),
                               ("PostWebhookUrl", "post_webhook_url", 50078)):
        if p.get(name) is not None:
            changes[column] = _url(p[name], code, name) if p[name] else None
    if p.get("Target") is not None:
        if p["Target"] not in ("webhook", "flex"):
            raise invalid("Target", "must be webhook or flex")
        changes["target"] = p["Target"]
    with store.write():
        store.db.execute("INSERT OR IGNORE INTO webhook_configuration (id) VALUES (1)")
        if changes:
            sets = ", ".join(f"{name} = ?" for name in changes)
            store.db.execute(f"UPDATE webhook_configuration SET {sets} WHERE id = 1",
                             tuple(changes.values()))
    return configuration(store)


# Conversation-scoped webhooks.

def scoped(store: Store, conversation: Row) -> list[Row]:
    return store.all("SELECT * FROM webhooks WHERE conversation_id = ? ORDER BY id",
                     conversation["id"])


def scoped_one(store: Store, conversation: Row, sid: str) -> Row:
    row = store.one("SELECT * FROM webhooks WHERE conversation_id = ? AND sid = ?",
                    conversation["id"], sid) if WEBHOOK_SID.match(sid) else None
    if row is None:
        raise not_found()
    return row


def create_scoped(store: Store, conversation: Row, p: dict[str, Any],
                  lists: dict[str, list[str]], now: str) -> Row:
    target = p.get("Target")
    if target not in ("webhook", "trigger", "studio"):
        raise EngineError(400, 50364, "Invalid conversation webhook type: Target must be "
                          "webhook, trigger or studio")
    config = _scoped_configuration(target, {}, p, lists, creating=True)
    row = {"sid": new_sid("WH"), "conversation_id": conversation["id"], "target": target,
           "configuration": json.dumps(config), "date_created": now, "date_updated": now}
    with store.write():
        count = store.one("SELECT COUNT(*) AS n FROM webhooks WHERE conversation_id = ?",
                          conversation["id"])
        if count and count["n"] >= SCOPED_LIMIT:
            raise EngineError(400, 50367, f"Conversation webhooks limit exceeded: a "
                              f"conversation has at most {SCOPED_LIMIT} webhooks")
        store.insert("webhooks", row)
    return scoped_one(store, conversation, row["sid"])


def update_scoped(store: Store, conversation: Row, sid: str, p: dict[str, Any],
                  lists: dict[str, list[str]], now: str) -> Row:
    with store.write():
        row = scoped_one(store, conversation, sid)
        config = _scoped_configuration(row["target"], json.loads(row["configuration"]), p,
                                       lists, creating=False)
        store.update("webhooks", row["id"], {"configuration": json.dumps(config),
                                             "date_updated": now})
    return scoped_one(store, conversation, sid)


def delete_scoped(store: Store, conversation: Row, sid: str) -> None:
    with store.write():
        store.delete("webhooks", scoped_one(store, conversation, sid)["id"])


def _scoped_configuration(target: str, config: dict[str, Any], p: dict[str, Any],
                          lists: dict[str, list[str]], *, creating: bool) -> dict[str, Any]:
    config = dict(config)
    if p.get("Configuration.Url") is not None:
        config["url"] = _url(p["Configuration.Url"], 50363, "Configuration.Url")
    if p.get("Configuration.Method") is not None:
        method = p["Configuration.Method"].upper()
        if method not in ("GET", "POST"):
            raise invalid("Configuration.Method", "must be GET or POST")
        config["method"] = method
    if "Configuration.Filters" in lists:
        config["filters"] = _filters(lists["Configuration.Filters"], SCOPED_EVENTS)
    if "Configuration.Triggers" in lists:
        triggers = lists["Configuration.Triggers"]
        if any(not t or len(t) > TRIGGER_LIMIT for t in triggers):
            raise EngineError(400, 50366, "Invalid conversation webhook trigger: a trigger is "
                              f"1 to {TRIGGER_LIMIT} characters")
        config["triggers"] = triggers
    if p.get("Configuration.FlowSid") is not None:
        if not re.match(r"^FW[0-9a-fA-F]{32}$", p["Configuration.FlowSid"]):
            raise invalid("Configuration.FlowSid", "must match ^FW[0-9a-fA-F]{32}$")
        config["flow_sid"] = p["Configuration.FlowSid"]
    if p.get("Configuration.ReplayAfter") is not None:
        value = p["Configuration.ReplayAfter"]
        if not value.isascii() or not value.isdigit() or len(value) > 9:
            raise invalid("Configuration.ReplayAfter", "must be a message index")
        config["replay_after"] = int(value)
    if creating:
        config.setdefault("method", "POST")
        if target in ("webhook", "trigger") and not config.get("url"):
            raise EngineError(400, 50363, "Conversation webhook url not provided: "
                              "Configuration.Url is required")
        if target == "webhook" and not config.get("filters"):
            raise EngineError(400, 50370, "Conversation webhook filter not provided: "
                              "Configuration.Filters is required")
        if target == "trigger" and not config.get("triggers"):
            raise EngineError(400, 50371, "Conversation webhook trigger not provided: "
                              "Configuration.Triggers is required")
        if target == "studio" and not config.get("flow_sid"):
            raise EngineError(400, 50372, "Conversation webhook flow sid not provided: "
                              "Configuration.FlowSid is required")
    return config


def _filters(values: list[str], allowed: frozenset[str]) -> list[str]:
    values = [v for v in values if v != ""]  # `Filters=` (empty) clears the list
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise EngineError(400, 50365, f"Invalid conversation webhook filter: {wrong[0][:64]!r}")
    return list(dict.fromkeys(values))


def _url(value: str, code: int, name: str) -> str:
    if len(value) > URL_LIMIT or not URL.match(value) or any(c.isspace() for c in value):
        raise EngineError(400, code, f"Invalid {name}: an absolute http or https URL is "
                          "required")
    return value


# Views (the spec's field sets).

def configuration_view(row: Row, account_sid: str, url: str) -> dict[str, Any]:
    return {"account_sid": account_sid, "method": row["method"],
            "filters": json.loads(row["filters"]), "pre_webhook_url": row["pre_webhook_url"],
            "post_webhook_url": row["post_webhook_url"], "target": row["target"], "url": url}


def scoped_view(row: Row, account_sid: str, conversation_sid: str, url: str,
                chat: dict[str, str]) -> dict[str, Any]:
    """`chat`: the service's SID, when reached through its path (engine/views.py)."""
    return {"sid": row["sid"], "account_sid": account_sid, **chat,
            "conversation_sid": conversation_sid, "target": row["target"], "url": url,
            "configuration": json.loads(row["configuration"]),
            "date_created": row["date_created"], "date_updated": row["date_updated"]}
