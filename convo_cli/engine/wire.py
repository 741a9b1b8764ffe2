"""Twilio's wire format in and out: the routing table, the service scope, error JSON.

`Engine.handle` takes a request as plain values (method, path, query string, body,
headers) and returns (status, headers, body), so the in-process transport and the HTTP
server share it. Everything that arrives here is untrusted: parameter names are checked
against the spec's list for the operation (engine/form.py), values by each family's rules.
A resource family is one module (see FAMILIES); lists are paged by engine/paging.py.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import unquote

from convo_cli.engine import (addresses, bindings, configuration, conversation_with_participants,
                              conversations, credentials, messages, participants, phones,
                              prehooks, roles, service_configuration, services, users, webhooks)
from convo_cli.engine.form import Params, parameters
from convo_cli.engine.keys import Actor
from convo_cli.engine.service import EngineError, Service, not_found
from convo_cli.engine.store import Store
from convo_cli.engine.views import Resource, Views, dump

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
# The in-process engine's auth token: what its webhook requests are signed with.
DEFAULT_AUTH_TOKEN = "0" * 32
JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
# The resource families: each module has its routes, their parameters (what the spec
# defines for each operation: anything else is answered 20001), its views and its route
# handlers, side by side. `ROUTES` are a Conversation Service's paths, answered under `/v1/`
# (the account's default service) and `/v1/Services/{IS}/` (any service, engine/services.py);
# `ACCOUNT_ROUTES` the account's own, under `/v1/` only; `SERVICE_ONLY_ROUTES` a named
# service's own settings, under `/v1/Services/{IS}/` only. A path's shape has `*` for SIDs.
FAMILIES = (conversations, participants, messages, phones, webhooks, users, roles,
            conversation_with_participants, configuration, credentials, addresses, services,
            service_configuration, bindings)


def _collect(name: str) -> dict[Any, Any]:
    table: dict[Any, Any] = {}
    for family in FAMILIES:
        table.update(getattr(family, name, {}))
    return table


SERVICE_ROUTES: dict[tuple[str, ...], str] = _collect("ROUTES")
ROUTES = {**SERVICE_ROUTES, **_collect("ACCOUNT_ROUTES")}  # `/v1/…`
SCOPED_ROUTES = {**SERVICE_ROUTES, **_collect("SERVICE_ONLY_ROUTES")}  # `/v1/Services/{IS}/…`
PARAMETERS: dict[tuple[str, str], set[str]] = _collect("PARAMETERS")
HANDLERS: dict[str, Callable[..., tuple[int, Any]]] = _collect("HANDLERS")
# What the resources' `links` name but this engine does not serve: a 404 that says so, so
# that a client following a link learns why (Twilio links to them; its public spec does not
# describe them).
UNSERVED = {
    ("Conversations", "*", "Export"): "conversation export (not in Twilio's published spec)",
    ("Conversations", "*", "Messages", "*", "ChannelMetadata"):
        "message channel metadata (not in Twilio's published spec)",
}

log = logging.getLogger("convo.engine")


def route_of(segments: list[str], scoped: bool) -> str | None:
    """The route a path's segments (after `/v1/`) name, or None."""
    return _lookup(_joined(segments, scoped), scoped)


def _joined(segments: list[str], scoped: bool) -> list[str]:
    """`Configuration/Addresses` is one segment to the router: its SID is the path's third."""
    if not scoped and segments[:2] == ["Configuration", "Addresses"]:
        return ["Configuration/Addresses", *segments[2:]]
    return segments


def _lookup(segments: list[str], scoped: bool) -> str | None:
    """A literal path first (`Configuration/Webhooks`), then its shape with SIDs as `*`."""
    routes = SCOPED_ROUTES if scoped else ROUTES
    return routes.get(tuple(segments)) or routes.get(_shape(segments))


def _shape(segments: list[str]) -> tuple[str, ...]:
    return tuple(s if i % 2 == 0 else "*" for i, s in enumerate(segments))


class Engine:
    """One Conversation Service's engine: the account's default one (which also answers the
    account's own resources and `/v1/Services`), or a named one (engine/services.py)."""

    def __init__(self, db_path: str, *, base_url: str, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN, service_sid: str | None = None,
                 **service_options: Any) -> None:
        from convo_cli.engine.access import Access
        from convo_cli.engine.events import Events
        from convo_cli.engine.roles import Roles

        self.store = Store(db_path)
        self.service = Service(self.store, **service_options)
        self.views = Views(base_url, account_sid, service_sid)
        self._views = {(base_url, False): self.views}
        self.auth_token = auth_token
        self.events = self.service.events = Events(self.store, account_sid, self.views.service_sid)
        self.roles = self.service.roles = Roles(self.store)
        self.access = Access(self)
        self.member: str | None = None  # set while an identity key lists conversations
        # The account's engine knows its services; a named service's engine is one of them.
        self.scopes = services.Scopes(self, service_options) if service_sid is None else None

    def close(self) -> None:
        if self.scopes is not None:
            self.scopes.close()
        self.store.close()

    def engines(self) -> list[Engine]:
        """This engine and the named services' it has open (their outboxes, their files)."""
        return [self, *(self.scopes.opened() if self.scopes is not None else [])]

    def handle(self, method: str, path: str, query: str, body: bytes, headers: dict[str, str],
               *, base_url: str | None = None, actor: Actor | None = None,
               pre_answer: Any = None, scoped: bool = False,
               ) -> tuple[int, list[tuple[str, str]], bytes]:
        """`base_url`: the URL the client used, when served; resources and paging links are
        built on it, so that a client (twilio-python) can follow them from where it is.
        `actor`: who the credentials act as (`keys`); None or an account-wide key: anyone.
        `pre_answer`: the pre-event webhook's answer, when the caller (the server) sent the
        request of `pre_event_call` itself; otherwise it is sent here, synchronously.
        `scoped`: the path came as `/v1/Services/{IS}/…` (given here without that part)."""
        self._use_views(base_url or self.views.base_url, scoped)
        if not scoped and self.scopes is not None and (scope := services.scope_of(path)):
            try:
                engine = self.scopes.engine(scope[0])
            except EngineError as error:
                return self._error(error, path)
            return engine.handle(method, scope[1], query, body, headers, base_url=base_url,
                                 actor=actor, pre_answer=pre_answer, scoped=True)
        self.events.enabled = _webhooks_enabled(headers)
        try:
            identity = actor.identity if actor else None
            extension = path.rstrip("/")
            if extension == "/convo/v1/Events":  # a convo extension, not Twilio's API
                if identity is not None:
                    raise EngineError(403, 20403, "Forbidden: only the account's credentials "
                                      "read the event log")
                status, payload = self._convo_events(method.upper(), query)
            elif extension in phones.PATHS or extension == bindings.EXTENSION:
                # convo extensions too (engine/phones.py, engine/bindings.py)
                if identity is not None:
                    raise EngineError(403, 20403, "Forbidden: only the account's credentials "
                                      "act as a phone or device, or read what phones received")
                if extension == bindings.EXTENSION:
                    status, payload = bindings.extension(self, method.upper(), query, body)
                else:
                    status, payload = phones.handle(self, method.upper(), extension, query,
                                                    body, pre_answer)
            else:
                status, payload = self._dispatch(method.upper(), path, query, body, identity,
                                                 pre_answer)
        except EngineError as error:
            return self._error(error, path)
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
                # The file went read-only under a running engine (or is on a read-only mount).
                return self._error(EngineError(503, 20503, "Service Unavailable: the database "
                                               "is read-only"), path)
            if "locked" not in str(error) and "busy" not in str(error):
                log.exception("engine failure on %s %s", method, path)
                return self._error(EngineError(500, 20500, "Internal Server Error"), path)
            # Another writer held the database past the busy timeout: safe to retry.
            return self._error(EngineError(503, 20503, "Service Unavailable: the database is "
                                           "busy", headers=[("Retry-After", "1")]), path)
        except Exception:  # noqa: BLE001 - the wire answers, whatever happened below
            log.exception("engine failure on %s %s", method, path)
            return self._error(EngineError(500, 20500, "Internal Server Error"), path)
        finally:
            self.member = None
        if payload is None:
            return status, [], b""
        return status, JSON_HEADERS, dump(payload)

    def _use_views(self, base_url: str, scoped: bool) -> None:
        """Resources rendered for this request: on the URL the client used, and under
        `/v1/Services/{IS}` when it came that way."""
        views = self._views.get((base_url, scoped))
        if views is None:
            if len(self._views) > 64:  # a client may send any Host: keep a bound
                self._views.clear()
            views = self._views[(base_url, scoped)] = Views(
                base_url, self.views.account_sid, self.views.service_sid, scoped=scoped)
        self.views = views

    def _error(self, error: EngineError, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        return error.status, [*JSON_HEADERS, *error.headers], dump(self._error_body(error, path))

    def _error_body(self, error: EngineError, path: str) -> Resource:
        message = error.message
        if error.code == 20404 and not message:
            message = f"The requested resource {self._shown(path)} was not found"
        return {"code": error.code, "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{error.code}",
                "status": error.status}

    def _shown(self, path: str) -> str:
        """The path as the client sent it, in Twilio's messages (`/Conversations/CH…`)."""
        if not path.startswith("/v1/"):
            return path
        return f"/Services/{self.views.service_sid}{path[3:]}" if self.views.scoped else path[3:]

    def _convo_events(self, method: str, query: str) -> tuple[int, Resource]:
        from convo_cli.engine.events import listing

        if method != "GET":
            raise EngineError(405, 20004, "Method not allowed on /convo/v1/Events",
                              headers=[("Allow", "GET")])
        return 200, listing(self.store, parameters(query, b"", {"PageSize", "After"}))

    def pre_event_call(self, method: str, path: str, query: str, body: bytes,
                       headers: dict[str, str], *, scoped: bool = False) -> Any:
        """The pre-event webhook request this request needs (a `prehooks.Call`), or None;
        the server sends it off the event loop and passes the answer to `handle`."""
        method = method.upper()
        if method == "GET":
            return None  # the common case: a read changes nothing, no pre-event
        if not scoped and self.scopes is not None and (scope := services.scope_of(path)):
            try:
                engine = self.scopes.engine(scope[0])
            except EngineError:
                return None  # `handle` answers the error
            return engine.pre_event_call(method, scope[1], query, body, headers, scoped=True)
        inbound = method == "POST" and path.rstrip("/") == phones.INBOUND
        if inbound and self.scopes is not None:
            # A phone's message: its pre-event fires whatever the headers say, from the
            # service its binding is in.
            try:
                return phones.pre_event_call(self, query, body)
            except EngineError:
                return None  # `handle` answers the error
        if not _webhooks_enabled(headers):
            return None
        config = self.events.configuration()
        if not config or not config["pre_webhook_url"]:
            return None  # the common case, told without parsing the request
        try:
            route, segments, params = self._route(method, path, query, body, scoped)
            return prehooks.call_for(self, route, method, segments[1::2], params)
        except EngineError:
            return None  # `handle` answers the error

    def _dispatch(self, method: str, path: str, query: str, body: bytes,
                  identity: str | None = None,
                  pre_answer: Any = None) -> tuple[int, Resource | None]:
        route, segments, params = self._route(method, path, query, body, self.views.scoped)
        handler = partial(HANDLERS[route], self)

        def run(method: str, ids: list[str], params: Any) -> tuple[int, Resource | None]:
            """The route's handler, after the pre-event webhook has had its say."""
            if self.events.enabled and method != "GET":
                call = prehooks.call_for(self, route, method, ids, params)
                if call is not None:
                    answer = pre_answer if pre_answer is not None else call.send()
                    params = prehooks.apply(call, answer, params)
            return handler(method, ids, params)

        if identity is not None:  # an identity key: Twilio's roles decide (engine/access.py)
            return self.access.dispatch(identity, route, method, segments[1::2], params, run)
        return run(method, segments[1::2], params)

    def _route(self, method: str, path: str, query: str, body: bytes,
               scoped: bool) -> tuple[str, list[str], Params]:
        if not path.startswith("/v1/"):
            raise not_found()
        try:
            segments = [unquote(s, errors="strict") for s in path[4:].rstrip("/").split("/")]
        except UnicodeDecodeError:
            raise not_found() from None  # no resource has a name that is not UTF-8
        segments = _joined(segments, scoped)
        route = _lookup(segments, scoped)
        if route is None or any(not s for s in segments):
            shape = _shape(segments)
            if shape in UNSERVED and all(segments):
                raise EngineError(404, 20404, f"The requested resource {self._shown(path)} was "
                                  f"not found: convo's engine does not implement "
                                  f"{UNSERVED[shape]}")
            raise not_found()
        allowed = PARAMETERS.get((route, method))
        if allowed is None:
            methods = ", ".join(sorted(m for r, m in PARAMETERS if r == route))
            raise EngineError(405, 20004, f"Method {method} not allowed on {self._shown(path)}",
                              headers=[("Allow", methods)])
        params = parameters(query, body if method == "POST" else b"", allowed)
        return route, segments, params


def _webhooks_enabled(headers: dict[str, str]) -> bool:
    for name, value in headers.items():
        if name.lower() == "x-twilio-webhook-enabled":
            return value.strip().lower() == "true"
    return False

