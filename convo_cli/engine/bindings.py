"""Push bindings, `/v1/Services/{IS}/Bindings`: their rules, view, parameters and routes.

On Twilio a binding is made by a client SDK registering a device for push notifications;
the REST API only lists, fetches and deletes them. Nothing registers devices with convo's
engine, so it has one extension to make them, `POST /convo/v1/Bindings` (scoped like every
path: `/convo/v1/Services/{IS}/Bindings`), for tests of code that reads or cleans them up.
One binding per identity, push technology and endpoint: registering again updates it.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from convo_cli.engine.form import parameters
from convo_cli.engine.paging import PAGING, int_key, page
from convo_cli.engine.service import NAME_LIMIT, EngineError, invalid, not_found
from convo_cli.engine.store import Row, Store
from convo_cli.engine.views import Resource

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

TYPES = ("apn", "gcm", "fcm", "twilsock")
MESSAGE_TYPES = ("new_message", "added_to_conversation", "removed_from_conversation")
BINDING_SID = re.compile(r"^BS[0-9a-fA-F]{32}$")
CREDENTIAL_SID = re.compile(r"^CR[0-9a-fA-F]{32}$")
EXTENSION = "/convo/v1/Bindings"
CREATE = {"Identity", "BindingType", "Endpoint", "CredentialSid", "MessageTypes"}
ROUTES = {("Bindings",): "bindings", ("Bindings", "*"): "binding"}
PARAMETERS = {
    ("bindings", "GET"): {"BindingType", "Identity", *PAGING},
    ("binding", "GET"): set(),
    ("binding", "DELETE"): set(),
}


def one(store: Store, sid: str) -> Row:
    found = store.one("SELECT * FROM bindings WHERE sid = ?", sid) if BINDING_SID.match(sid) \
        else None
    if found is None:
        raise not_found()
    return found


def listed(store: Store, types: list[str], identities: list[str], after: int,
         limit: int) -> list[Row]:
    wrong = [t for t in types if t not in TYPES]
    if wrong:
        raise invalid("BindingType", f"must be one of {', '.join(TYPES)}")
    sql, args = "SELECT * FROM bindings WHERE id > ?", [after]
    for column, values in (("binding_type", types), ("identity", identities)):
        if values:
            sql += f" AND {column} IN ({', '.join('?' * len(values))})"
            args += values
    return store.all(sql + " ORDER BY id LIMIT ?", *args, limit)


def register(engine: Engine, p: dict[str, str], lists: dict[str, list[str]]) -> Row:
    identity, kind, endpoint = p.get("Identity"), p.get("BindingType"), p.get("Endpoint")
    for name, value in (("Identity", identity), ("BindingType", kind), ("Endpoint", endpoint)):
        if not value:
            raise EngineError(400, 20001, f"Missing required parameter {name} in the post body")
        if len(value) > NAME_LIMIT:
            raise invalid(name, f"is longer than {NAME_LIMIT} characters")
    if kind not in TYPES:
        raise invalid("BindingType", f"must be one of {', '.join(TYPES)}")
    credential = p.get("CredentialSid") or None
    if credential is not None and not CREDENTIAL_SID.match(credential):
        raise invalid("CredentialSid", "must match ^CR[0-9a-fA-F]{32}$")
    types = [t for t in lists.get("MessageTypes", []) if t] or list(MESSAGE_TYPES)
    if any(t not in MESSAGE_TYPES for t in types):
        raise invalid("MessageTypes", f"must be among {', '.join(MESSAGE_TYPES)}")
    store, now = engine.store, engine.service.clock()
    fields = {"credential_sid": credential, "message_types": json.dumps(types),
              "date_updated": now}
    with store.write():
        found = store.one("SELECT * FROM bindings WHERE identity = ? AND binding_type = ? AND "
                          "endpoint = ?", identity, kind, endpoint)
        if found is not None:
            store.update("bindings", found["id"], fields)
            sid = found["sid"]
        else:
            sid = engine.service.make_sid("BS")
            store.insert("bindings", {"sid": sid, "identity": identity, "binding_type": kind,
                                      "endpoint": endpoint, "date_created": now, **fields})
    return one(store, sid)


def view(row: Row, engine: Engine) -> Resource:
    views = engine.views
    return {"sid": row["sid"], "account_sid": views.account_sid,
            "chat_service_sid": views.service_sid, "credential_sid": row["credential_sid"],
            "date_created": row["date_created"], "date_updated": row["date_updated"],
            "endpoint": row["endpoint"], "identity": row["identity"],
            "binding_type": row["binding_type"],
            "message_types": json.loads(row["message_types"]),
            "url": views.url("Bindings", row["sid"])}


# The routes (engine/wire.py dispatches here).

def collection(engine: Engine, method: str, _: list[str], p: Any) -> tuple[int, Any]:
    types, identities = p.lists.get("BindingType", []), p.lists.get("Identity", [])
    filters = [("BindingType", t) for t in types] + [("Identity", i) for i in identities]
    owner = json.dumps([types, identities])
    return page(engine.views, p, ("Bindings",), "bindings", "bindings", owner, 100, filters,
                       lambda after, n: listed(engine.store, types, identities,
                                             int_key(after, 0), n),
                       lambda row: view(row, engine), lambda row: row["id"])


def binding(engine: Engine, method: str, ids: list[str], _: Any) -> tuple[int, Any]:
    if method == "DELETE":
        with engine.store.write():
            engine.store.delete("bindings", one(engine.store, ids[0])["id"])
        return 204, None
    return 200, view(one(engine.store, ids[0]), engine)


def extension(engine: Engine, method: str, query: str, body: bytes) -> tuple[int, Any]:
    """`POST /convo/v1/Bindings`: what a client SDK's push registration would make."""
    if method != "POST":
        raise EngineError(405, 20004, f"Method {method} not allowed on {EXTENSION}",
                          headers=[("Allow", "POST")])
    p = parameters(query, body, CREATE)
    return 201, view(register(engine, p, p.lists), engine)


HANDLERS = {"bindings": collection, "binding": binding}
