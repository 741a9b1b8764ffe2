"""The account's configuration, `/v1/Configuration`: its rules, its view, its parameters.

One row. `default_chat_service_sid` is the account's default Conversation Service, the one
`/v1/Conversations…` is (engine/services.py). On Twilio it may be pointed at another
service; convo's engine keeps it where the account's data is, and says so (named services
are reached at `/v1/Services/{IS}/…`). The default Messaging Service and the default timers
apply to the conversations created afterwards that do not name their own (as on Twilio).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from convo_cli.engine.service import EngineError, _duration, _sid, invalid
from convo_cli.engine.store import Row, Store
from convo_cli.engine.views import Resource, Views

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

FIELDS = {"DefaultChatServiceSid", "DefaultMessagingServiceSid", "DefaultInactiveTimer",
              "DefaultClosedTimer"}
# (parameter, column, the error code of a malformed duration, of one below the minimum,
# the minimum in seconds): the conversation timers' own rules and codes.
_TIMERS = (("DefaultInactiveTimer", "default_inactive_timer", 50379, 50375, 60, "1 minute"),
           ("DefaultClosedTimer", "default_closed_timer", 50380, 50376, 600, "10 minutes"))
_EMPTY: Row = {"default_messaging_service_sid": None, "default_inactive_timer": None,
               "default_closed_timer": None}


def configuration(store: Store) -> Row:
    return store.one("SELECT * FROM account_configuration WHERE id = 1") or dict(_EMPTY)


def update(store: Store, p: dict[str, str], service_sid: str,
           exists: Callable[[str], bool]) -> Row:
    """Checks every parameter before writing any; an empty value clears a default.
    `exists`: whether the account has a service of that SID."""
    changes: Row = {}
    chat = p.get("DefaultChatServiceSid")
    if chat is not None and chat != service_sid:
        _check_pattern(chat)  # the spec's pattern first: a typo is a 400
        if not exists(chat):
            raise EngineError(404, 20404, f"The requested resource /Services/{chat} was not "
                              "found")
        raise EngineError(400, 20422, f"Invalid parameter: DefaultChatServiceSid: convo's "
                          f"engine keeps {service_sid} as the account's default service; "
                          f"reach {chat} at /v1/Services/{chat}/…")
    if "DefaultMessagingServiceSid" in p:
        value = p["DefaultMessagingServiceSid"] or None
        changes["default_messaging_service_sid"] = _sid(value, "MG", "DefaultMessagingServiceSid")
    for name, column, code, below, minimum, least in _TIMERS:
        if name in p:
            value = p[name] or None
            if value is not None and _duration(value, code) < minimum:
                raise EngineError(400, below, f"{name} is below its minimum ({least})")
            changes[column] = value
    with store.write():
        row = {**configuration(store), **changes}
        store.db.execute(
            "INSERT OR REPLACE INTO account_configuration (id, default_messaging_service_sid, "
            "default_inactive_timer, default_closed_timer) VALUES (1, ?, ?, ?)",
            (row["default_messaging_service_sid"], row["default_inactive_timer"],
             row["default_closed_timer"]))
    return configuration(store)


def _check_pattern(value: str) -> None:
    if not re.fullmatch(r"IS[0-9a-fA-F]{32}", value):
        raise invalid("DefaultChatServiceSid", "must match ^IS[0-9a-fA-F]{32}$")


def with_defaults(store: Store, p: dict[str, Any]) -> dict[str, Any]:
    """A new conversation's parameters (snake_case) with the account's defaults filled in
    where the request names none."""
    row = store.one("SELECT * FROM account_configuration WHERE id = 1")
    if row is None:
        return p
    filled = dict(p)
    for key, column in (("messaging_service_sid", "default_messaging_service_sid"),
                        ("timers_inactive", "default_inactive_timer"),
                        ("timers_closed", "default_closed_timer")):
        if filled.get(key) is None and row[column] is not None:
            filled[key] = row[column]
    return filled


def view(row: Row, views: Views) -> Resource:
    return {
        "account_sid": views.account_sid,
        "default_chat_service_sid": views.service_sid,
        "default_messaging_service_sid": row["default_messaging_service_sid"],
        "default_inactive_timer": row["default_inactive_timer"],
        "default_closed_timer": row["default_closed_timer"],
        "url": views.url("Configuration"),
        "links": {"service": views.url("Services", views.service_sid, "Configuration"),
                  "webhooks": views.url("Configuration", "Webhooks")},
    }


# The route (engine/wire.py dispatches here): the account's, under `/v1/` only.

ACCOUNT_ROUTES = {("Configuration",): "configuration"}
PARAMETERS = {("configuration", "GET"): set(), ("configuration", "POST"): FIELDS}


def route(engine: Engine, method: str, _: list[str], p: dict[str, str]) -> tuple[int, Any]:
    if method == "POST":
        row = update(engine.store, p, engine.views.service_sid,
                     lambda sid: engine.scopes.row(sid) is not None)
    else:
        row = configuration(engine.store)
    return 200, view(row, engine.views)


HANDLERS = {"configuration": route}
