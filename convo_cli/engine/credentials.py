"""Push credentials, `/v1/Credentials`: their rules, their view, their parameters.

A credential holds what a push service needs (APN: a certificate and its private key; GCM:
an API key; FCM: a server key). The engine keeps them, as Twilio does, and never answers
with them: the view has the name, the type and the APN sandbox flag only. A secret given
for another type than the credential's is refused rather than silently kept.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from convo_cli.engine.paging import PAGING, int_key
from convo_cli.engine.paging import page as paged
from convo_cli.engine.service import EngineError, invalid, not_found
from convo_cli.engine.store import Row, Store
from convo_cli.engine.views import Resource, Views

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

FIELDS = {"Type", "FriendlyName", "Certificate", "PrivateKey", "Sandbox", "ApiKey", "Secret"}
TYPES = ("apn", "gcm", "fcm")
CREDENTIAL_SID = re.compile(r"^CR[0-9a-fA-F]{32}$")
FRIENDLY_NAME_LIMIT = 64  # characters (the spec)
SECRET_LIMIT = 64 * 1024  # characters: a certificate chain fits many times over
# Each secret parameter, its column, and the one type it belongs to.
_SECRETS = (("Certificate", "certificate", "apn"), ("PrivateKey", "private_key", "apn"),
            ("ApiKey", "api_key", "gcm"), ("Secret", "secret", "fcm"))


def credential(store: Store, sid: str) -> Row:
    row = store.one("SELECT * FROM credentials WHERE sid = ?", sid) \
        if CREDENTIAL_SID.match(sid) else None
    if row is None:
        raise not_found()
    return row


def page(store: Store, after_id: int, limit: int) -> list[Row]:
    return store.all("SELECT * FROM credentials WHERE id > ? ORDER BY id LIMIT ?", after_id, limit)


def create(store: Store, p: dict[str, str], sid: str, now: str) -> Row:
    if "Type" not in p:
        raise EngineError(400, 20001, "Missing required parameter Type in the post body")
    row: Row = {"sid": sid, "type": _type(p["Type"]), "sandbox": 0,
                "date_created": now, "date_updated": now}
    row.update(_fields(p, row["type"]))
    with store.write():
        store.insert("credentials", row)
    return credential(store, sid)


def update(store: Store, sid: str, p: dict[str, str], now: str) -> Row:
    with store.write():
        row = credential(store, sid)
        kind = _type(p["Type"]) if "Type" in p else row["type"]
        changes = _fields(p, kind)
        if kind != row["type"]:  # the old type's secrets mean nothing to the new one
            changes["type"] = kind
            for _, column, owner in _SECRETS:
                if owner != kind:
                    changes[column] = None
            if kind != "apn":
                changes["sandbox"] = 0
        changes["date_updated"] = now
        store.update("credentials", row["id"], changes)
    return credential(store, sid)


def delete(store: Store, sid: str) -> None:
    with store.write():
        store.delete("credentials", credential(store, sid)["id"])


def _type(value: str) -> str:
    kind = value.lower()  # the spec's examples send `GcM`: Twilio's enums ignore case
    if kind not in TYPES:
        raise invalid("Type", "must be one of apn, gcm, fcm")
    return kind


def _fields(p: dict[str, str], kind: str) -> Row:
    fields: Row = {}
    if "FriendlyName" in p:
        if len(p["FriendlyName"]) > FRIENDLY_NAME_LIMIT:
            raise invalid("FriendlyName", f"is longer than {FRIENDLY_NAME_LIMIT} characters")
        fields["friendly_name"] = p["FriendlyName"] or None
    if "Sandbox" in p:
        if kind != "apn":
            raise invalid("Sandbox", "applies to apn credentials only")
        flag = p["Sandbox"].lower()
        if flag not in ("true", "false"):
            raise invalid("Sandbox", "must be true or false")
        fields["sandbox"] = int(flag == "true")
    for name, column, owner in _SECRETS:
        if name in p:
            if owner != kind:
                raise invalid(name, f"applies to {owner} credentials only, not {kind}")
            if len(p[name]) > SECRET_LIMIT:
                raise invalid(name, f"is longer than {SECRET_LIMIT} characters")
            fields[column] = p[name] or None
    return fields


def view(row: Row, views: Views) -> Resource:
    """Never the secrets. `sandbox` is a string on Twilio's wire ("False", "True")."""
    return {
        "sid": row["sid"],
        "account_sid": views.account_sid,
        "friendly_name": row["friendly_name"],
        "type": row["type"],
        "sandbox": "True" if row["sandbox"] else "False",
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "url": views.url("Credentials", row["sid"]),
    }


# The routes (engine/wire.py dispatches here): the account's, under `/v1/` only.

ACCOUNT_ROUTES = {("Credentials",): "credentials", ("Credentials", "*"): "credential"}
PARAMETERS = {
    ("credentials", "GET"): PAGING,
    ("credentials", "POST"): FIELDS,
    ("credential", "GET"): set(),
    ("credential", "POST"): FIELDS,
    ("credential", "DELETE"): set(),
}


def collection(engine: Engine, method: str, _: list[str], p: dict[str, str]) -> tuple[int, Any]:
    store, views = engine.store, engine.views
    if method == "POST":
        row = create(store, p, engine.service.make_sid("CR"), engine.service.clock())
        return 201, view(row, views)
    return paged(views, p, ("Credentials",), "credentials", "credentials", "", 50, [],
                 lambda after, n: page(store, int_key(after, 0), n),
                 lambda row: view(row, views), lambda row: row["id"])


def one(engine: Engine, method: str, ids: list[str], p: dict[str, str]) -> tuple[int, Any]:
    if method == "DELETE":
        delete(engine.store, ids[0])
        return 204, None
    if method == "POST":
        row = update(engine.store, ids[0], p, engine.service.clock())
    else:
        row = credential(engine.store, ids[0])
    return 200, view(row, engine.views)


HANDLERS = {"credentials": collection, "credential": one}
