"""Conversation Services, `/v1/Services`: the registry, its view, its parameters, and the scope.

A service is a scope, not a copy of the code. The account's database is its default service
(SID `IS` + the account SID's digits): `/v1/Conversations…` and
`/v1/Services/{default}/Conversations…` are the same data, as on Twilio. Each named service
keeps its conversations, users, roles, bindings and configuration in a database file of its
own, `{account database}.services/{IS…}.db`, answered by an `Engine` of its own: the very
same code, so whatever a path does under `/v1/` it does under `/v1/Services/{IS}/`, and two
services' data cannot meet. The registry (the `services` table) lives in the account's
database; so do what belongs to the account rather than a service (its configuration,
push credentials, address configurations, API keys).
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from convo_cli.engine.paging import PAGING, int_key, page
from convo_cli.engine.service import NAME_LIMIT, EngineError, invalid, not_found
from convo_cli.engine.store import Row
from convo_cli.engine.views import Resource, Views

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

SERVICE_SID = re.compile(r"^IS[0-9a-fA-F]{32}$")
# `/v1/Services/{IS}/rest` and `/convo/v1/Services/{IS}/rest` (convo's extensions are
# scoped the same way): the service, and the path as its own engine answers it.
SCOPED_PATH = re.compile(r"^/(v1|convo/v1)/Services/([^/]+)(/.+)$")
ACCOUNT_ROUTES = {("Services",): "services", ("Services", "*"): "service"}
PARAMETERS = {
    ("services", "GET"): PAGING,
    ("services", "POST"): {"FriendlyName"},
    ("service", "GET"): set(),
    ("service", "DELETE"): set(),
}
DEFAULT_NAME = "Default Conversations Service"
OPEN_LIMIT = 32  # named services' databases kept open at once (each an SQLite connection)
_LINKS = ("conversations", "users", "roles", "bindings", "configuration",
          "participant_conversations", "conversation_with_participants")


def scope_of(path: str) -> tuple[str, str] | None:
    """(service SID, the path within the service) for a scoped path, else None."""
    match = SCOPED_PATH.match(path)
    if match is None:
        return None
    return match.group(2), f"/{match.group(1)}{match.group(3)}"


def file_for(account_path: str, sid: str) -> str:
    if account_path == ":memory:":
        return account_path
    return os.path.join(f"{account_path}.services", f"{sid}.db")


class Scopes:
    """The account's services: the default one (the account's engine itself) and the named
    ones, each an `Engine` on its own file, opened when first asked for and kept (at most
    OPEN_LIMIT: the least recently used is closed first; in memory, all are kept)."""

    def __init__(self, account: Engine, options: dict[str, Any]) -> None:
        self.account, self.options = account, options
        self.store = account.store
        self._open: OrderedDict[str, Engine] = OrderedDict()

    @property
    def default_sid(self) -> str:
        return self.account.views.service_sid

    def engine(self, sid: str) -> Engine:
        """The engine answering a service's paths; 404 for a service that does not exist."""
        if sid == self.default_sid:
            return self.account
        engine = self._open.get(sid)
        if engine is not None:
            self._open.move_to_end(sid)
            if self.row(sid) is not None:  # deleted by another process meanwhile?
                return engine
            self._close(sid)
        if self.row(sid) is None:
            raise not_found()
        return self._opened(sid)

    def _opened(self, sid: str) -> Engine:
        from convo_cli.engine.wire import Engine

        views = self.account.views
        engine = Engine(file_for(self.store.path, sid), base_url=views.base_url,
                        account_sid=views.account_sid, auth_token=self.account.auth_token,
                        service_sid=sid, **self.options)
        # As the account's: `convo serve` waits for no lock on its event loop (busy timeout 0).
        engine.store.set_busy_timeout(self.store.busy_timeout_ms)
        self._open[sid] = engine
        if self.store.path != ":memory:":
            while len(self._open) > OPEN_LIMIT:
                self._close(next(iter(self._open)))
        return engine

    def every(self) -> Iterator[Engine]:
        """The default service's engine, then every named service's, each opened as it comes
        (so that past OPEN_LIMIT services the one in hand is never the one closed)."""
        yield self.account
        for row in self.store.all("SELECT sid FROM services ORDER BY id"):
            yield self.engine(row["sid"])

    def opened(self) -> list[Engine]:
        return list(self._open.values())

    def close(self) -> None:
        for sid in list(self._open):
            self._close(sid)

    def _close(self, sid: str) -> None:
        self._open.pop(sid).close()

    # The registry.

    def row(self, sid: str) -> Row | None:
        if sid == self.default_sid:
            return self._default_row()
        if not SERVICE_SID.match(sid):
            return None
        return self.store.one("SELECT * FROM services WHERE sid = ?", sid)

    def rows(self, after: int, limit: int) -> list[Row]:
        """The default service first (id 0), then the named ones in order of creation."""
        rows = [self._default_row()] if after < 0 else []
        return rows + self.store.all("SELECT * FROM services WHERE id > ? ORDER BY id LIMIT ?",
                                     max(after, 0), limit - len(rows))

    def _default_row(self) -> Row:
        # The account's database was born with its default roles: the service's birth.
        born = self.store.one("SELECT date_created FROM roles ORDER BY id LIMIT 1")
        when = born["date_created"] if born else self.account.service.clock()
        return {"id": 0, "sid": self.default_sid, "friendly_name": DEFAULT_NAME,
                "date_created": when, "date_updated": when}

    def create(self, friendly_name: str | None) -> Row:
        if not friendly_name:
            raise EngineError(400, 20001, "Missing required parameter FriendlyName in the post body")
        if len(friendly_name) > NAME_LIMIT:
            raise invalid("FriendlyName", f"is longer than {NAME_LIMIT} characters")
        service = self.account.service
        now = service.clock()
        row = {"sid": service.make_sid("IS"), "friendly_name": friendly_name,
               "date_created": now, "date_updated": now}
        self._opened(row["sid"])  # its database, made before it is listed
        with self.store.write():
            self.store.insert("services", row)
        found = self.row(row["sid"])
        assert found is not None
        return found

    def delete(self, sid: str) -> None:
        if sid == self.default_sid:
            raise EngineError(400, 20001, "The account's default Conversation Service cannot "
                              "be deleted")
        row = self.row(sid)
        if row is None:
            raise not_found()
        with self.store.write():
            self.store.delete("services", row["id"])
        if sid in self._open:
            self._close(sid)
        path = file_for(self.store.path, sid)
        if path != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.remove(path + suffix)
                except FileNotFoundError:
                    pass


def view(row: Row, views: Views) -> Resource:
    url = views.url("Services", row["sid"])
    return {
        "sid": row["sid"],
        "account_sid": views.account_sid,
        "friendly_name": row["friendly_name"],
        "date_created": row["date_created"],
        "date_updated": row["date_updated"],
        "url": url,
        "links": {name: url + "/" + "".join(p.title() for p in name.split("_"))
                  for name in _LINKS},
    }


# The routes (engine/wire.py dispatches here).

def collection(engine: Engine, method: str, _: list[str], p: dict[str, str]) -> tuple[int, Any]:
    if method == "POST":
        return 201, view(engine.scopes.create(p.get("FriendlyName")), engine.views)
    return page(engine.views, p, ("Services",), "services", "services", "", 100, [],
                       lambda after, n: engine.scopes.rows(int_key(after, -1), n),
                       lambda row: view(row, engine.views), lambda row: row["id"])


def one(engine: Engine, method: str, ids: list[str], _: dict[str, str]) -> tuple[int, Any]:
    if method == "DELETE":
        engine.scopes.delete(ids[0])
        return 204, None
    row = engine.scopes.row(ids[0])
    if row is None:
        raise not_found()
    return 200, view(row, engine.views)


HANDLERS = {"services": collection, "service": one}
