"""Twilio's Roles resource (`/v1/Roles`): what a user may do in the service, and a
participant in a conversation. The enforcement for identity keys is in `access`."""

from __future__ import annotations

import json
from typing import Any

from convo_cli.engine import permissions as perms
from convo_cli.engine.service import EngineError, invalid, not_found, now_iso, new_sid
from convo_cli.engine.store import Row, Store

TYPES = ("conversation", "service")
ROLE_SID_LENGTH = 34
NAME_LIMIT = 64  # Twilio: "a string … up to 64 characters"


class Roles:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._defaults: dict[str, str] = {}
        self._configured: dict[str, str] = {}

    def role(self, sid: str) -> Row:
        row = self.store.one("SELECT * FROM roles WHERE sid = ?", sid)
        if row is None:
            raise not_found()
        return row

    def roles(self, after: int, limit: int) -> list[Row]:
        return self.store.all("SELECT * FROM roles WHERE id > ? ORDER BY id LIMIT ?", after, limit)

    def create(self, friendly_name: str | None, kind: str | None,
               permission: list[str] | None) -> Row:
        if not friendly_name:
            raise EngineError(400, 20001, "Missing required parameter FriendlyName in the post body")
        if len(friendly_name) > NAME_LIMIT:
            raise invalid("FriendlyName", f"is longer than {NAME_LIMIT} characters")
        if kind not in TYPES:
            raise invalid("Type", "must be conversation or service")
        granted = _permissions(permission, kind)
        now = now_iso()
        row = {"sid": new_sid("RL"), "friendly_name": friendly_name, "type": kind,
               "permissions": json.dumps(granted), "date_created": now, "date_updated": now}
        with self.store.write():
            if self.store.one("SELECT 1 FROM roles WHERE friendly_name = ?", friendly_name):
                raise EngineError(409, 50207, f"A role named {friendly_name!r} already exists")
            self.store.insert("roles", row)
        return self.role(row["sid"])

    def update(self, sid: str, permission: list[str] | None) -> Row:
        with self.store.write():
            row = self.role(sid)
            granted = _permissions(permission, row["type"])
            self.store.update("roles", row["id"], {"permissions": json.dumps(granted),
                                                   "date_updated": now_iso()})
        return self.role(sid)

    def delete(self, sid: str) -> None:
        with self.store.write():
            row = self.role(sid)
            if row["friendly_name"] in (name for name, _, _ in perms.DEFAULTS):
                raise EngineError(400, 50200, f"The default role {row['friendly_name']!r} "
                                  "cannot be deleted")
            if self.store.one("SELECT 1 FROM participants WHERE role_sid = ? UNION ALL "
                              "SELECT 1 FROM users WHERE role_sid = ? LIMIT 1", sid, sid):
                raise EngineError(400, 50200, "The role is assigned to users or participants; "
                                  "assign them another role first")
            self.store.delete("roles", row["id"])

    def default(self, name: str) -> str:
        """The SID of a default role, by its name (they are never deleted)."""
        if name not in self._defaults:
            found = self.store.one("SELECT sid FROM roles WHERE friendly_name = ?", name)
            assert found is not None, name
            self._defaults[name] = found["sid"]
        return self._defaults[name]

    def default_for(self, which: str) -> str:
        """The role a new user (`service`), participant (`conversation`) or conversation
        creator (`creator`) gets: the service's configuration names it, else Twilio's
        default role (engine/service_configuration.py)."""
        if which not in self._configured:
            from convo_cli.engine.service_configuration import row

            column = {"creator": "default_conversation_creator_role_sid",
                      "conversation": "default_conversation_role_sid",
                      "service": "default_chat_service_role_sid"}[which]
            self._configured[which] = row(self.store)[column] or self.default(
                {"creator": perms.CHANNEL_ADMIN, "conversation": perms.CHANNEL_USER,
                 "service": perms.SERVICE_USER}[which])
        return self._configured[which]

    def forget(self) -> None:
        """The service's configuration changed: read its default roles again."""
        self._configured.clear()

    def resolve(self, sid: str | None, kind: str, name: str = "RoleSid") -> str:
        """A RoleSid parameter checked to name a role of that type; the default when absent."""
        if sid is None:
            return self.default_for(kind)
        row = self.store.one("SELECT type FROM roles WHERE sid = ?", sid)
        if row is None or row["type"] != kind:
            raise invalid(name, f"names no {kind} role (GET /v1/Roles lists them)")
        return sid

    def permissions(self, sid: str | None, kind: str) -> frozenset[str]:
        """What a role grants; a missing or unknown role (rows from before roles existed)
        grants what the default role of that type does."""
        row = self.store.one("SELECT permissions FROM roles WHERE sid = ?", sid) if sid else None
        if row is None:
            row = self.store.one("SELECT permissions FROM roles WHERE sid = ?",
                                 self.resolve(None, kind))
            assert row is not None
        return frozenset(json.loads(row["permissions"]))


def _permissions(values: list[str] | None, kind: str) -> list[str]:
    if not values:
        raise EngineError(400, 20001, "Missing required parameter Permission in the post body")
    allowed = perms.SERVICE if kind == "service" else perms.CONVERSATION
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise invalid("Permission", f"{unknown[0]!r} is not a {kind} permission")
    return list(dict.fromkeys(values))


def view(row: Row, views: Any) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "account_sid": views.account_sid,
        "chat_service_sid": views.service_sid,
        "friendly_name": row["friendly_name"],
        "type": row["type"],
        "permissions": json.loads(row["permissions"]),
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "url": views.url("Roles", row["sid"]),
    }
