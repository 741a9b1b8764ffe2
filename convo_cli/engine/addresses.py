"""Address Configurations (`/v1/Configuration/Addresses`, Twilio's wire format): what an
address of the service (a proxy number) does with a message from a phone no conversation
knows. With `AutoCreation.Enabled`, `convo inbound` creates a conversation for it, with the
phone as participant and, for `AutoCreation.Type` webhook, a conversation-scoped webhook
(engine/phones.py); without one, the message is dropped.

Error codes marked [assumed] are this engine's choice: Twilio's documentation names none.
"""

from __future__ import annotations

import json
import re
from typing import Any

from convo_cli.engine.paging import PAGING, int_key
from convo_cli.engine.paging import page as paged
from convo_cli.engine.service import EngineError, _address, invalid, new_sid
from convo_cli.engine.store import Row, Store

TYPES = ("sms", "whatsapp", "messenger", "gbm", "email", "rcs", "apple", "chat")
AUTO_TYPES = ("webhook", "studio", "default")
SERVICE_SID = re.compile(r"^IS[0-9a-fA-F]{32}$")
FLOW_SID = re.compile(r"^FW[0-9a-fA-F]{32}$")
_AUTO = ("AutoCreation.Enabled", "AutoCreation.Type", "AutoCreation.ConversationServiceSid",
         "AutoCreation.WebhookUrl", "AutoCreation.WebhookMethod", "AutoCreation.WebhookFilters",
         "AutoCreation.StudioFlowSid", "AutoCreation.StudioRetryCount")
CREATE = {"Type", "Address", "FriendlyName", "AddressCountry", *_AUTO}
UPDATE = {"FriendlyName", *_AUTO}
DUPLICATE = 50353  # [assumed]: the code of Twilio's other "already exists" (unique name)


def _normalised(kind: str, address: str) -> str:
    """An sms or whatsapp address as participants' bindings spell it (`whatsapp:+…`)."""
    if kind not in ("sms", "whatsapp"):
        if not address or len(address) > 256:
            raise invalid("Address")
        return address
    if kind == "whatsapp" and not address.lower().startswith("whatsapp:"):
        address = "whatsapp:" + address
    value, channel = _address(address, 50408, "address")
    if channel != kind:
        raise invalid("Address", f"is not a {kind} address")
    return value


def _auto_creation(current: dict[str, Any], p: dict[str, str],
                   lists: dict[str, list[str]]) -> dict[str, Any]:
    auto = dict(current)
    if "AutoCreation.Enabled" in p:
        value = p["AutoCreation.Enabled"].lower()
        if value not in ("true", "false"):
            raise invalid("AutoCreation.Enabled", "must be true or false")
        auto["enabled"] = value == "true"
    if "AutoCreation.Type" in p:
        if p["AutoCreation.Type"] not in AUTO_TYPES:
            raise invalid("AutoCreation.Type", "must be webhook, studio or default")
        auto["type"] = p["AutoCreation.Type"]
    if "AutoCreation.ConversationServiceSid" in p:
        if not SERVICE_SID.match(p["AutoCreation.ConversationServiceSid"]):
            raise invalid("AutoCreation.ConversationServiceSid")
        auto["conversation_service_sid"] = p["AutoCreation.ConversationServiceSid"]
    if "AutoCreation.WebhookUrl" in p:
        url = p["AutoCreation.WebhookUrl"]
        if not re.match(r"^https?://[^\s/]+", url):
            raise invalid("AutoCreation.WebhookUrl", "must be an http or https URL")
        auto["webhook_url"] = url
    if "AutoCreation.WebhookMethod" in p:
        method = p["AutoCreation.WebhookMethod"].upper()
        if method not in ("GET", "POST"):
            raise invalid("AutoCreation.WebhookMethod", "must be GET or POST")
        auto["webhook_method"] = method
    if "AutoCreation.WebhookFilters" in lists:
        auto["webhook_filters"] = [f for f in lists["AutoCreation.WebhookFilters"] if f]
    if "AutoCreation.StudioFlowSid" in p:
        if not FLOW_SID.match(p["AutoCreation.StudioFlowSid"]):
            raise invalid("AutoCreation.StudioFlowSid")
        auto["studio_flow_sid"] = p["AutoCreation.StudioFlowSid"]
    if "AutoCreation.StudioRetryCount" in p:
        try:
            count = int(p["AutoCreation.StudioRetryCount"])
        except ValueError:
            raise invalid("AutoCreation.StudioRetryCount", "must be an integer") from None
        if not 0 <= count <= 3:
            raise invalid("AutoCreation.StudioRetryCount", "must be from 0 to 3")
        auto["studio_retry_count"] = count
    auto.setdefault("enabled", False)
    auto.setdefault("type", "default")
    if auto["enabled"] and auto["type"] == "webhook" and not auto.get("webhook_url"):
        raise invalid("AutoCreation.WebhookUrl", "is required when AutoCreation.Type is webhook")
    return auto


def create(store: Store, p: dict[str, str], lists: dict[str, list[str]], now: str) -> Row:
    kind = p.get("Type")
    if kind not in TYPES:
        raise invalid("Type", f"must be one of {', '.join(TYPES)}")
    if not p.get("Address"):
        raise invalid("Address", "is required")
    row = {"sid": new_sid("IG"), "type": kind, "address": _normalised(kind, p["Address"]),
           "friendly_name": p.get("FriendlyName"), "address_country": p.get("AddressCountry"),
           "auto_creation": json.dumps(_auto_creation({}, p, lists)),
           "date_created": now, "date_updated": now}
    with store.write():
        if store.one("SELECT 1 FROM address_configurations WHERE address = ?", row["address"]):
            raise EngineError(409, DUPLICATE, f"An address configuration for {row['address']} "
                              "already exists")
        store.insert("address_configurations", row)
    return one(store, row["sid"])


def update(store: Store, sid: str, p: dict[str, str], lists: dict[str, list[str]],
           now: str) -> Row:
    with store.write():
        row = one(store, sid)
        changes: Row = {"date_updated": now, "auto_creation": json.dumps(
            _auto_creation(json.loads(row["auto_creation"]), p, lists))}
        if "FriendlyName" in p:
            changes["friendly_name"] = p["FriendlyName"]
        store.update("address_configurations", row["id"], changes)
    return one(store, sid)


def delete(store: Store, sid: str) -> None:
    with store.write():
        store.delete("address_configurations", one(store, sid)["id"])


def one(store: Store, sid: str) -> Row:
    row = store.one("SELECT * FROM address_configurations WHERE sid = ?", sid)
    if row is None:
        raise EngineError(404, 20404)
    return row


def page(store: Store, kind: str | None, after: int, limit: int) -> list[Row]:
    if kind is not None and kind not in TYPES:
        raise invalid("Type", f"must be one of {', '.join(TYPES)}")
    if kind is None:
        return store.all("SELECT * FROM address_configurations WHERE id > ? ORDER BY id "
                         "LIMIT ?", after, limit)
    return store.all("SELECT * FROM address_configurations WHERE type = ? AND id > ? "
                     "ORDER BY id LIMIT ?", kind, after, limit)


def for_address(store: Store, address: str) -> Row | None:
    return store.one("SELECT * FROM address_configurations WHERE address = ?", address)


def view(row: Row, account_sid: str, url: str) -> dict[str, Any]:
    return {"sid": row["sid"], "account_sid": account_sid, "type": row["type"],
            "address": row["address"], "friendly_name": row["friendly_name"],
            "auto_creation": json.loads(row["auto_creation"]),
            "date_created": row["date_created"], "date_updated": row["date_updated"],
            "url": url, "address_country": row["address_country"]}


def auto_create(engine: Any, config: Row, sender: str, proxy: str) -> Row | None:
    """The conversation an enabled configuration creates for a phone's first message:
    the conversation, its webhook (for type webhook), then the phone as participant; None
    when the configuration does not auto-create."""
    auto = json.loads(config["auto_creation"])
    if not auto.get("enabled"):
        return None
    service = engine.service
    conversation = service.create_conversation(friendly_name=config["friendly_name"])
    if auto.get("type") == "webhook":
        from convo_cli.engine import webhooks

        params: dict[str, Any] = {"Target": "webhook", "Configuration.Url": auto["webhook_url"],
                                  "Configuration.Method": auto.get("webhook_method", "POST")}
        lists = {"Configuration.Filters": list(auto.get("webhook_filters", []))}
        webhooks.create_scoped(engine.store, conversation, params, lists, service.clock())
        engine.events.forget()  # this conversation now has a webhook of its own
    service.add_participant(conversation["sid"], messaging_binding_address=sender,
                            messaging_binding_proxy_address=proxy)
    return service.conversation(conversation["sid"])


# The routes (engine/wire.py dispatches here): the account's, under `/v1/` only.
# `Configuration/Addresses` is one segment to the router (its SID is the path's third).

ACCOUNT_ROUTES = {("Configuration/Addresses",): "addresses",
                  ("Configuration/Addresses", "*"): "address"}
PARAMETERS = {
    ("addresses", "GET"): {"Type", *PAGING},
    ("addresses", "POST"): CREATE,
    ("address", "GET"): set(),
    ("address", "POST"): UPDATE,
    ("address", "DELETE"): set(),
}


def _view(engine: Any, row: Row) -> dict[str, Any]:
    return view(row, engine.views.account_sid,
                engine.views.url("Configuration", "Addresses", row["sid"]))


def collection(engine: Any, method: str, _: list[str], p: Any) -> tuple[int, Any]:
    store = engine.store
    if method == "POST":
        return 201, _view(engine, create(store, p, p.lists, engine.service.clock()))
    filters = [("Type", p["Type"])] if "Type" in p else []
    return paged(engine.views, p, ("Configuration", "Addresses"), "address_configurations",
                 "addresses", p.get("Type", ""), 50, filters,
                 lambda after, n: page(store, p.get("Type"), int_key(after, 0), n),
                 lambda row: _view(engine, row), lambda row: row["id"])


def item(engine: Any, method: str, ids: list[str], p: Any) -> tuple[int, Any]:
    if method == "DELETE":
        delete(engine.store, ids[0])
        return 204, None
    if method == "POST":
        row = update(engine.store, ids[0], p, p.lists, engine.service.clock())
    else:
        row = one(engine.store, ids[0])
    return 200, _view(engine, row)


HANDLERS = {"addresses": collection, "address": item}
