"""A Conversation Service's own settings, under `/v1/Services/{IS}/Configuration`: its
default roles and reachability, its push notification settings (`…/Notifications`) and its
webhooks (`…/Webhooks`): their rules, views, parameters and routes.

One row per service (each service has its database, engine/services.py). The default roles
decide what a new user, a new participant and a conversation's creator get (engine/roles.py
reads them). The webhook settings are the same row `/v1/Configuration/Webhooks` edits for
the default service (engine/webhooks.py): one configuration, two views of it. Notifications
are stored and answered as on Twilio, never sent: there are no push channels here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from convo_cli.engine import webhooks
from convo_cli.engine.service import invalid
from convo_cli.engine.store import Row, Store
from convo_cli.engine.views import Resource

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

# (parameter, column, the role type it must name)
ROLES = (("DefaultConversationCreatorRoleSid", "default_conversation_creator_role_sid",
          "conversation"),
         ("DefaultConversationRoleSid", "default_conversation_role_sid", "conversation"),
         ("DefaultChatServiceRoleSid", "default_chat_service_role_sid", "service"))
# The notification settings: (parameter, key path in the stored JSON, kind).
NOTIFICATIONS = (
    ("LogEnabled", ("log_enabled",), "bool"),
    ("NewMessage.Enabled", ("new_message", "enabled"), "bool"),
    ("NewMessage.Template", ("new_message", "template"), "text"),
    ("NewMessage.Sound", ("new_message", "sound"), "text"),
    ("NewMessage.BadgeCountEnabled", ("new_message", "badge_count_enabled"), "bool"),
    ("NewMessage.WithMedia.Enabled", ("new_message", "with_media", "enabled"), "bool"),
    ("NewMessage.WithMedia.Template", ("new_message", "with_media", "template"), "text"),
    ("AddedToConversation.Enabled", ("added_to_conversation", "enabled"), "bool"),
    ("AddedToConversation.Template", ("added_to_conversation", "template"), "text"),
    ("AddedToConversation.Sound", ("added_to_conversation", "sound"), "text"),
    ("RemovedFromConversation.Enabled", ("removed_from_conversation", "enabled"), "bool"),
    ("RemovedFromConversation.Template", ("removed_from_conversation", "template"), "text"),
    ("RemovedFromConversation.Sound", ("removed_from_conversation", "sound"), "text"),
)
TEMPLATE_LIMIT = 1024  # characters of a notification template or sound name
WEBHOOK_PARAMETERS = {"PreWebhookUrl", "PostWebhookUrl", "Filters", "Method"}
# A named service's own, under `/v1/Services/{IS}/` only (the account's configuration is
# engine/configuration.py's, under `/v1/`).
SERVICE_ONLY_ROUTES = {("Configuration",): "service_configuration",
                       ("Configuration", "Notifications"): "notifications",
                       ("Configuration", "Webhooks"): "service_webhooks"}
PARAMETERS = {
    ("service_configuration", "GET"): set(),
    ("service_configuration", "POST"): {name for name, _, _ in ROLES} | {"ReachabilityEnabled"},
    ("notifications", "GET"): set(),
    ("notifications", "POST"): {name for name, _, _ in NOTIFICATIONS},
    ("service_webhooks", "GET"): set(),
    ("service_webhooks", "POST"): WEBHOOK_PARAMETERS,
}


def row(store: Store) -> Row:
    found = store.one("SELECT * FROM service_configuration WHERE id = 1")
    return found or {"default_conversation_creator_role_sid": None,
                     "default_conversation_role_sid": None,
                     "default_chat_service_role_sid": None, "reachability_enabled": 0,
                     "notifications": "{}"}


def _save(store: Store, changes: Row) -> None:
    with store.write():
        store.db.execute("INSERT OR IGNORE INTO service_configuration (id) VALUES (1)")
        sets = ", ".join(f"{name} = ?" for name in changes)
        store.db.execute(f"UPDATE service_configuration SET {sets} WHERE id = 1",
                         tuple(changes.values()))


def _boolean(value: str, name: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise invalid(name, "must be true or false")
    return value.lower() == "true"


# The service's configuration.

def update(engine: Engine, p: dict[str, str]) -> None:
    changes: Row = {}
    for name, column, kind in ROLES:
        if name in p:
            changes[column] = engine.roles.resolve(p[name] or None, kind, name)
    if "ReachabilityEnabled" in p:
        changes["reachability_enabled"] = int(_boolean(p["ReachabilityEnabled"],
                                                       "ReachabilityEnabled"))
    if changes:
        _save(engine.store, changes)
        engine.roles.forget()


def view(engine: Engine) -> Resource:
    settings, roles, views = row(engine.store), engine.roles, engine.views
    url = views.url("Configuration")
    return {
        "chat_service_sid": views.service_sid,
        "default_conversation_creator_role_sid": roles.default_for("creator"),
        "default_conversation_role_sid": roles.default_for("conversation"),
        "default_chat_service_role_sid": roles.default_for("service"),
        "url": url,
        "links": {"notifications": f"{url}/Notifications", "webhooks": f"{url}/Webhooks"},
        "reachability_enabled": bool(settings["reachability_enabled"]),
    }


# Push notification settings: Twilio's defaults are all off, with no templates.

def notifications(store: Store) -> dict[str, Any]:
    stored = json.loads(row(store)["notifications"])
    settings: dict[str, Any] = {
        "log_enabled": False,
        "new_message": {"enabled": False, "template": None, "sound": None,
                        "badge_count_enabled": False,
                        "with_media": {"enabled": False, "template": None}},
        "added_to_conversation": {"enabled": False, "template": None, "sound": None},
        "removed_from_conversation": {"enabled": False, "template": None, "sound": None},
    }
    for _, path, _ in NOTIFICATIONS:
        key = ".".join(path)
        if key in stored:
            _place(settings, path, stored[key])
    return settings


def _place(settings: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        settings = settings[key]
    settings[path[-1]] = value


def update_notifications(store: Store, p: dict[str, str]) -> None:
    stored = json.loads(row(store)["notifications"])
    for name, path, kind in NOTIFICATIONS:
        if name not in p:
            continue
        if kind == "bool":
            value: Any = _boolean(p[name], name)
        else:
            if len(p[name]) > TEMPLATE_LIMIT:
                raise invalid(name, f"is longer than {TEMPLATE_LIMIT} characters")
            value = p[name] or None
        stored[".".join(path)] = value
    _save(store, {"notifications": json.dumps(stored)})


def notifications_view(engine: Engine) -> Resource:
    views = engine.views
    return {"account_sid": views.account_sid, "chat_service_sid": views.service_sid,
            **notifications(engine.store), "url": views.url("Configuration", "Notifications")}


# The service's webhooks: the default service's are the account's (/v1/Configuration/Webhooks).

def webhooks_view(engine: Engine, settings: Row) -> Resource:
    views = engine.views
    filters = json.loads(settings["filters"])
    return {"account_sid": views.account_sid, "chat_service_sid": views.service_sid,
            "pre_webhook_url": settings["pre_webhook_url"],
            "post_webhook_url": settings["post_webhook_url"],
            "filters": filters or None, "method": settings["method"],
            "url": views.url("Configuration", "Webhooks")}


# The routes (engine/wire.py dispatches here).

def configuration_route(engine: Engine, method: str, _: list[str],
                        p: dict[str, str]) -> tuple[int, Any]:
    if method == "POST":
        update(engine, p)
    return 200, view(engine)


def notifications_route(engine: Engine, method: str, _: list[str],
                        p: dict[str, str]) -> tuple[int, Any]:
    if method == "POST":
        update_notifications(engine.store, p)
    return 200, notifications_view(engine)


def webhooks_route(engine: Engine, method: str, _: list[str], p: Any) -> tuple[int, Any]:
    if method == "POST":
        engine.events.forget()
        settings = webhooks.update_configuration(engine.store, p, p.lists)
    else:
        settings = webhooks.configuration(engine.store)
    return 200, webhooks_view(engine, settings)


HANDLERS = {"service_configuration": configuration_route,
            "notifications": notifications_route, "service_webhooks": webhooks_route}
