"""Twilio's wire format in and out: routing, form parameters, paging, error JSON.

`Engine.handle` takes a request as plain values (method, path, query string, body,
headers) and returns (status, headers, body), so the in-process transport and the HTTP
server share it. Everything that arrives here is untrusted: parameter names are checked
against the spec's list for the operation, values are validated by the service.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import unquote

from convo_cli.engine import (addresses, bindings, configuration, conversation_with_participants,
                              credentials, phones, prehooks, service_configuration, services,
                              webhooks)
from convo_cli.engine.form import Params, parameters
from convo_cli.engine.form import kw as _kw
from convo_cli.engine.keys import Actor
from convo_cli.engine.paging import PAGING, page
from convo_cli.engine.paging import int_key as _int_key
from convo_cli.engine.roles import view as role_view
from convo_cli.engine.service import EngineError, Service, not_found
from convo_cli.engine.store import Row, Store
from convo_cli.engine.views import Rendered, Resource, Views, dump

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
# The in-process engine's auth token: what its webhook requests are signed with.
DEFAULT_AUTH_TOKEN = "0" * 32
JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
_DATES = {"DateCreated", "DateUpdated"}
_CONVERSATION_FIELDS = {
    "FriendlyName", "UniqueName", "MessagingServiceSid", "Attributes", "State",
    "Timers.Inactive", "Timers.Closed", "Bindings.Email.Address", "Bindings.Email.Name", *_DATES,
}
# The parameters the spec defines for each operation; anything else is answered 20001.
# `MessagingBinding.ProxyAddressFallback` is absent from the spec's schema but sent by its
# own request examples, so it is accepted (and ignored).
PARAMETERS: dict[tuple[str, str], set[str]] = {
    ("conversations", "GET"): {"StartDate", "EndDate", "State", *PAGING},
    ("conversations", "POST"): _CONVERSATION_FIELDS,
    ("conversation", "GET"): set(),
    ("conversation", "POST"): _CONVERSATION_FIELDS,
    ("conversation", "DELETE"): set(),
    ("participants", "GET"): PAGING,
    ("participants", "POST"): {
        "Identity", "MessagingBinding.Address", "MessagingBinding.ProxyAddress",
        "MessagingBinding.ProjectedAddress", "MessagingBinding.ProxyAddressFallback",
        "Attributes", "RoleSid", *_DATES,
    },
    ("participant", "GET"): set(),
    ("participant", "POST"): {
        "Attributes", "RoleSid", "MessagingBinding.ProxyAddress",
        "MessagingBinding.ProjectedAddress", "Identity", "LastReadMessageIndex",
        "LastReadTimestamp", *_DATES,
    },
    ("participant", "DELETE"): set(),
    ("messages", "GET"): {"Order", *PAGING},
    ("messages", "POST"): {"Author", "Body", "Attributes", "MediaSid", "ContentSid",
                           "ContentVariables", "Subject", *_DATES},
    ("message", "GET"): set(),
    ("message", "POST"): {"Author", "Body", "Attributes", "Subject", *_DATES},
    ("message", "DELETE"): set(),
    ("participant_conversations", "GET"): {"Identity", "Address", *PAGING},
    ("users", "GET"): PAGING,
    ("users", "POST"): {"Identity", "FriendlyName", "Attributes", "RoleSid"},
    ("user", "GET"): set(),
    ("user", "POST"): {"FriendlyName", "Attributes", "RoleSid"},
    ("user", "DELETE"): set(),
    ("user_conversations", "GET"): PAGING,
    ("user_conversation", "GET"): set(),
    ("user_conversation", "POST"): {"NotificationLevel", "LastReadTimestamp",
                                    "LastReadMessageIndex"},
    ("user_conversation", "DELETE"): set(),
    ("roles", "GET"): PAGING,
    ("roles", "POST"): {"FriendlyName", "Type", "Permission"},
    ("role", "GET"): set(),
    ("role", "POST"): {"Permission"},
    ("role", "DELETE"): set(),
    ("configuration_webhooks", "GET"): set(),
    ("configuration_webhooks", "POST"): {"Method", "Filters", "PreWebhookUrl",
                                         "PostWebhookUrl", "Target"},
    ("webhooks", "GET"): PAGING,
    ("webhooks", "POST"): {"Target", "Configuration.Url", "Configuration.Method",
                           "Configuration.Filters", "Configuration.Triggers",
                           "Configuration.FlowSid", "Configuration.ReplayAfter"},
    ("webhook", "GET"): set(),
    ("webhook", "POST"): {"Configuration.Url", "Configuration.Method", "Configuration.Filters",
                          "Configuration.Triggers", "Configuration.FlowSid"},
    ("webhook", "DELETE"): set(),
    ("configuration", "GET"): set(),
    ("configuration", "POST"): configuration.PARAMETERS,
    ("conversation_with_participants", "POST"): conversation_with_participants.PARAMETERS,
    ("credentials", "GET"): PAGING,
    ("credentials", "POST"): credentials.PARAMETERS,
    ("credential", "GET"): set(),
    ("credential", "POST"): credentials.PARAMETERS,
    ("credential", "DELETE"): set(),
    ("addresses", "GET"): {"Type", *PAGING},
    ("addresses", "POST"): addresses.CREATE,
    ("address", "GET"): set(),
    ("address", "POST"): addresses.UPDATE,
    ("address", "DELETE"): set(),
    ("receipts", "GET"): PAGING,
    ("receipt", "GET"): set(),
}
# The paths of a Conversation Service: `/v1/…` is the account's default service,
# `/v1/Services/{IS}/…` any service (engine/services.py); a path's shape has `*` for its SIDs.
SERVICE_ROUTES = {
    ("Conversations",): "conversations",
    ("Conversations", "*"): "conversation",
    ("Conversations", "*", "Participants"): "participants",
    ("Conversations", "*", "Participants", "*"): "participant",
    ("Conversations", "*", "Messages"): "messages",
    ("Conversations", "*", "Messages", "*"): "message",
    ("Conversations", "*", "Messages", "*", "Receipts"): "receipts",
    ("Conversations", "*", "Messages", "*", "Receipts", "*"): "receipt",
    ("Conversations", "*", "Webhooks"): "webhooks",
    ("Conversations", "*", "Webhooks", "*"): "webhook",
    ("ConversationWithParticipants",): "conversation_with_participants",
    ("ParticipantConversations",): "participant_conversations",
    ("Users",): "users",
    ("Users", "*"): "user",
    ("Users", "*", "Conversations"): "user_conversations",
    ("Users", "*", "Conversations", "*"): "user_conversation",
    ("Roles",): "roles",
    ("Roles", "*"): "role",
}
# The account's own resources, under `/v1/` only (`Configuration/Addresses/{Sid}`: _route).
ACCOUNT_ROUTES = {
    ("Configuration",): "configuration",
    ("Configuration", "Webhooks"): "configuration_webhooks",
    ("Configuration/Addresses",): "addresses",
    ("Configuration/Addresses", "*"): "address",
    ("Credentials",): "credentials",
    ("Credentials", "*"): "credential",
    **services.ROUTES,
}
ROUTES = {**SERVICE_ROUTES, **ACCOUNT_ROUTES}  # `/v1/…`
# `/v1/Services/{IS}/…`: a service's paths and its own settings and push bindings.
SCOPED_ROUTES = {**SERVICE_ROUTES, **service_configuration.ROUTES, **bindings.ROUTES}
# The routes whose handlers live in their family's module (the others are Engine methods).
HANDLERS: dict[str, Callable[..., tuple[int, Any]]] = {
    **services.HANDLERS, **service_configuration.HANDLERS, **bindings.HANDLERS}
PARAMETERS.update({**services.PARAMETERS, **service_configuration.PARAMETERS,
                   **bindings.PARAMETERS})
# What the resources' `links` name but this engine does not serve: a 404 that says so, so
# that a client following a link learns why (the spec's paths: "yet"; the others, Twilio
# links to but its public spec does not describe).
UNSERVED = {
    ("Conversations", "*", "Export"): "conversation export (not in Twilio's published spec)",
    ("Conversations", "*", "Messages", "*", "ChannelMetadata"):
        "message channel metadata (not in Twilio's published spec)",
}

log = logging.getLogger("convo.engine")


def route_of(segments: list[str], scoped: bool) -> str | None:
    """The route a path's segments (after `/v1/`) name, or None. A literal path first
    (`Configuration/Webhooks`), then its shape with SIDs as `*`."""
    routes = SCOPED_ROUTES if scoped else ROUTES
    if not scoped and segments[:2] == ["Configuration", "Addresses"]:
        segments = ["Configuration/Addresses", *segments[2:]]
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
            resource = path[3:] if path.startswith("/v1/") else path
            if self.views.scoped and path.startswith("/v1/"):
                resource = f"/Services/{self.views.service_sid}{resource}"
            message = f"The requested resource {resource} was not found"
        return {"code": error.code, "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{error.code}",
                "status": error.status}

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
        if not scoped and self.scopes is not None and (scope := services.scope_of(path)):
            try:
                engine = self.scopes.engine(scope[0])
            except EngineError:
                return None  # `handle` answers the error
            return engine.pre_event_call(method, scope[1], query, body, headers, scoped=True)
        inbound = method.upper() == "POST" and path.rstrip("/") == phones.INBOUND
        if method.upper() == "GET" or not (inbound or _webhooks_enabled(headers)):
            return None
        config = self.events.configuration()
        if not config or not config["pre_webhook_url"]:
            return None  # the common case, told without parsing the request
        if inbound:  # a phone's message: its pre-event fires whatever the headers say
            try:
                return phones.pre_event_call(self, query, body)
            except EngineError:
                return None  # `handle` answers the error
        try:
            route, segments, params = self._route(method.upper(), path, query, body, scoped)
            return prehooks.call_for(self, route, method.upper(), segments[1::2], params)
        except EngineError:
            return None  # `handle` answers the error

    def _dispatch(self, method: str, path: str, query: str, body: bytes,
                  identity: str | None = None,
                  pre_answer: Any = None) -> tuple[int, Resource | None]:
        route, segments, params = self._route(method, path, query, body, self.views.scoped)
        handler: Callable[..., tuple[int, Resource | None]]
        handler = partial(HANDLERS[route], self) if route in HANDLERS else getattr(self, f"_{route}")

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
        route = route_of(segments, scoped)
        if not scoped and segments[:2] == ["Configuration", "Addresses"]:
            segments = ["Configuration/Addresses", *segments[2:]]  # the SID is the 3rd segment
        if route is None or any(not s for s in segments):
            shape = _shape(segments)
            if shape in UNSERVED and all(segments):
                raise EngineError(404, 20404, f"The requested resource {path[3:]} was not found: "
                                  f"convo's engine does not implement {UNSERVED[shape]}")
            raise not_found()
        allowed = PARAMETERS.get((route, method))
        if allowed is None:
            methods = ", ".join(sorted(m for r, m in PARAMETERS if r == route))
            raise EngineError(405, 20004, f"Method {method} not allowed on {path[3:]}",
                              headers=[("Allow", methods)])
        params = parameters(query, body if method == "POST" else b"", allowed)
        return route, segments, params

    # Routes: each gets the path's variable segments and the checked parameters.

    def _conversations(self, method: str, _: list[str], p: dict[str, str]):
        if method == "POST":
            fields = configuration.with_defaults(self.store, _kw(p))
            return 201, self.views.conversation(self.service.create_conversation(**fields))
        filters = [(k, p[k]) for k in ("StartDate", "EndDate", "State") if k in p]
        return page(
            self.views,
            p, ("Conversations",), "conversations", "conversations", "", 100, filters,
            lambda after, n: self.service.conversations(
                _int_key(after, 0), n, state=p.get("State"), start_date=p.get("StartDate"),
                end_date=p.get("EndDate"), member=self.member),
            self.views.conversation, lambda row: row["id"],
        )

    def _conversation(self, method: str, ids: list[str], p: dict[str, str]):
        if method == "DELETE":
            self.service.delete_conversation(ids[0])
            return 204, None
        if method == "POST":
            return 200, self.views.conversation(self.service.update_conversation(ids[0], **_kw(p)))
        return 200, self.views.conversation(self.service.conversation(ids[0]))

    def _participants(self, method: str, ids: list[str], p: dict[str, str]):
        if method == "POST":
            row = self.service.add_participant(ids[0], **_kw(p))
            return 201, self.views.participant(row, self.service.conversation(ids[0])["sid"])
        conversation = self.service.conversation(ids[0])
        sid = conversation["sid"]
        return page(
            self.views,
            p, ("Conversations", sid, "Participants"), "participants", "participants", sid, 100,
            [], lambda after, n: self.service.participants(conversation, _int_key(after, 0), n),
            lambda row: self.views.participant(row, sid), lambda row: row["id"],
        )

    def _participant(self, method: str, ids: list[str], p: dict[str, str]):
        if method == "DELETE":
            self.service.remove_participant(ids[0], ids[1])
            return 204, None
        if method == "POST":
            row = self.service.update_participant(ids[0], ids[1], **_kw(p))
        else:
            row = self.service.participant(self.service.conversation(ids[0]), ids[1])
        return 200, self.views.participant(row, self.service.conversation(ids[0])["sid"])

    def _messages(self, method: str, ids: list[str], p: dict[str, str]):
        if method == "POST":
            row = self.service.send_message(ids[0], **_kw(p))
            return 201, self.views.message(row, self.service.conversation(ids[0])["sid"])
        order = p.get("Order", "asc").lower()  # the spec's examples send `DeSc`
        if order not in ("asc", "desc"):
            raise EngineError(400, 20422, "Invalid parameter: Order must be asc or desc")
        conversation = self.service.conversation(ids[0])
        sid = conversation["sid"]
        filters = [("Order", order)] if "Order" in p else []
        views = self.views
        segments = ("Conversations", sid, "Messages")
        if views.scoped:  # with `chat_service_sid`: the spec's service_conversation_message
            return page(views, p, segments, "messages", "messages", sid, 100, filters,
                        lambda after, n: self.service.messages(
                            conversation, order, None if after is None else _int_key(after, 0),
                            n),
                        lambda row: views.message(row, sid), lambda row: row["idx"], order=order)
        return page(  # rendered by SQLite (`Store.messages_page_json`)
            views, p, segments, "messages", "messages", sid, 100, filters,
            lambda after, n: self.store.messages_page_json(
                conversation["id"], order, None if after is None else _int_key(after, 0), n,
                views.account_sid, sid, views.url(*segments)),
            lambda row: Rendered(row[1]), lambda row: row[0], order=order,
        )

    def _message(self, method: str, ids: list[str], p: dict[str, str]):
        if method == "DELETE":
            self.service.delete_message(ids[0], ids[1])
            return 204, None
        if method == "POST":
            row = self.service.update_message(ids[0], ids[1], **_kw(p))
        else:
            row = self.service.message(self.service.conversation(ids[0]), ids[1])
        return 200, self.views.message(row, self.service.conversation(ids[0])["sid"])

    def _participant_conversations(self, method: str, _: list[str], p: dict[str, str]):
        identity, address = p.get("Identity"), p.get("Address")
        owner = f"identity:{identity}" if address is None else f"address:{address}"
        filters = [(k, p[k]) for k in ("Identity", "Address") if k in p]
        return page(
            self.views,
            p, ("ParticipantConversations",), "conversations", "participant_conversations", owner,
            50, filters,
            lambda after, n: self.service.participant_conversations(
                identity=identity, address=address, after=after or "", limit=n),
            self.views.participant_conversation, lambda row: row["conversation_sid"],
        )

    def _users(self, method: str, _: list[str], p: dict[str, str]):
        if method == "POST":
            return 201, self.views.user(self.service.create_user(**_kw(p)))
        return page(
            self.views,
            p, ("Users",), "users", "users", "", 50, [],
            lambda after, n: self.service.users(_int_key(after, 0), n),
            lambda row: self.views.user(row, fetched=False), lambda row: row["id"],
        )

    def _user(self, method: str, ids: list[str], p: dict[str, str]):
        if method == "DELETE":
            self.service.delete_user(ids[0])
            return 204, None
        if method == "POST":
            return 200, self.views.user(self.service.update_user(ids[0], **_kw(p)))
        return 200, self.views.user(self.service.user(ids[0]))

    def _user_conversations(self, method: str, ids: list[str], p: dict[str, str]):
        user = self.service.user(ids[0])
        return page(
            self.views,
            p, ("Users", user["sid"], "Conversations"), "conversations", "user_conversations",
            user["sid"], 50, [],
            lambda after, n: self.service.user_conversations(user["sid"], after or "", n),
            self.views.user_conversation, lambda row: row["conversation_sid"],
        )

    def _user_conversation(self, method: str, ids: list[str], p: dict[str, str]):
        if method == "DELETE":
            self.service.delete_user_conversation(ids[0], ids[1])
            return 204, None
        if method == "POST":
            row = self.service.update_user_conversation(ids[0], ids[1], **_kw(p))
        else:
            row = self.service.user_conversation(ids[0], ids[1])
        return 200, self.views.user_conversation(row)

    def _roles(self, method: str, _: list[str], p: Params):
        if method == "POST":
            row = self.roles.create(p.get("FriendlyName"), p.get("Type"),
                                    p.lists.get("Permission"))
            return 201, role_view(row, self.views)
        return page(self.views, p, ("Roles",), "roles", "roles", "", 50, [],
                          lambda after, n: self.roles.roles(_int_key(after, 0), n),
                          lambda row: role_view(row, self.views), lambda row: row["id"])

    def _role(self, method: str, ids: list[str], p: Params):
        if method == "DELETE":
            self.roles.delete(ids[0])
            return 204, None
        if method == "POST":
            return 200, role_view(self.roles.update(ids[0], p.lists.get("Permission")), self.views)
        return 200, role_view(self.roles.role(ids[0]), self.views)

    # Webhooks (engine/webhooks.py has their rules).

    def _configuration_webhooks(self, method: str, _: list[str], p: Params):
        url = self.views.url("Configuration", "Webhooks")
        if method == "POST":
            self.events.forget()
            row = webhooks.update_configuration(self.store, p, p.lists)
        else:
            row = webhooks.configuration(self.store)
        return 200, webhooks.configuration_view(row, self.views.account_sid, url)

    def _webhooks(self, method: str, ids: list[str], p: Params):
        conversation = self.service.conversation(ids[0])
        sid = conversation["sid"]

        def view(row: Row) -> Resource:
            url = self.views.url("Conversations", sid, "Webhooks", row["sid"])
            return webhooks.scoped_view(row, self.views.account_sid, sid, url, self.views.chat)

        if method == "POST":
            self.events.forget()
            return 201, view(webhooks.create_scoped(self.store, conversation, p, p.lists,
                                                    self.service.clock()))
        rows = webhooks.scoped(self.store, conversation)  # at most 5: one page
        return page(
            self.views,
            p, ("Conversations", sid, "Webhooks"), "webhooks", "webhooks", sid, 50, [],
            lambda after, n: [r for r in rows if r["id"] > _int_key(after, 0)][:n],
            view, lambda row: row["id"],
        )

    def _webhook(self, method: str, ids: list[str], p: Params):
        conversation = self.service.conversation(ids[0])
        sid = conversation["sid"]
        if method == "DELETE":
            self.events.forget()
            webhooks.delete_scoped(self.store, conversation, ids[1])
            return 204, None
        if method == "POST":
            self.events.forget()
            row = webhooks.update_scoped(self.store, conversation, ids[1], p, p.lists,
                                         self.service.clock())
        else:
            row = webhooks.scoped_one(self.store, conversation, ids[1])
        url = self.views.url("Conversations", sid, "Webhooks", row["sid"])
        return 200, webhooks.scoped_view(row, self.views.account_sid, sid, url, self.views.chat)

    # The account: configuration, conversations created with participants, push credentials
    # (each family's rules and view in its own module).

    def _configuration(self, method: str, _: list[str], p: Params):
        if method == "POST":
            row = configuration.update(self.store, p, self.views.service_sid)
        else:
            row = configuration.configuration(self.store)
        return 200, configuration.view(row, self.views)

    def _conversation_with_participants(self, method: str, _: list[str], p: Params):
        fields = {k: v for k, v in p.items() if k != "Participant"}
        status, row = conversation_with_participants.create(
            self.service, configuration.with_defaults(self.store, _kw(fields)),
            p.lists.get("Participant", []))
        return status, conversation_with_participants.view(row, self.views)

    def _credentials(self, method: str, _: list[str], p: Params):
        if method == "POST":
            row = credentials.create(self.store, p, self.service.make_sid("CR"),
                                     self.service.clock())
            return 201, credentials.view(row, self.views)
        return page(self.views, p, ("Credentials",), "credentials", "credentials", "", 50, [],
                          lambda after, n: credentials.page(self.store, _int_key(after, 0), n),
                          lambda row: credentials.view(row, self.views), lambda row: row["id"])

    def _credential(self, method: str, ids: list[str], p: Params):
        if method == "DELETE":
            credentials.delete(self.store, ids[0])
            return 204, None
        if method == "POST":
            row = credentials.update(self.store, ids[0], p, self.service.clock())
        else:
            row = credentials.credential(self.store, ids[0])
        return 200, credentials.view(row, self.views)

    # Address Configurations (engine/addresses.py has their rules).

    def _addresses(self, method: str, _: list[str], p: Params):
        if method == "POST":
            row = addresses.create(self.store, p, p.lists, self.service.clock())
            return 201, self._address_view(row)
        filters = [("Type", p["Type"])] if "Type" in p else []
        return page(
            self.views,
            p, ("Configuration", "Addresses"), "address_configurations", "addresses",
            p.get("Type", ""), 50, filters,
            lambda after, n: addresses.page(self.store, p.get("Type"), _int_key(after, 0), n),
            self._address_view, lambda row: row["id"])

    def _address(self, method: str, ids: list[str], p: Params):
        if method == "DELETE":
            addresses.delete(self.store, ids[0])
            return 204, None
        if method == "POST":
            row = addresses.update(self.store, ids[0], p, p.lists, self.service.clock())
        else:
            row = addresses.one(self.store, ids[0])
        return 200, self._address_view(row)

    def _address_view(self, row: Row) -> Resource:
        return addresses.view(row, self.views.account_sid,
                              self.views.url("Configuration", "Addresses", row["sid"]))

    # Delivery receipts (engine/phones.py has their rules).

    def _receipts(self, method: str, ids: list[str], p: Params):
        conversation = self.service.conversation(ids[0])
        message = self.service.message(conversation, ids[1])
        sid = conversation["sid"]
        segments = ("Conversations", sid, "Messages", message["sid"], "Receipts")
        return page(
            self.views,
            p, segments, "delivery_receipts", "receipts", message["sid"], 50, [],
            lambda after, n: phones.receipts_page(self.store, message["id"],
                                                  _int_key(after, 0), n),
            lambda row: self._receipt_view(row, sid, message["sid"]), lambda row: row["id"])

    def _receipt(self, method: str, ids: list[str], p: Params):
        conversation = self.service.conversation(ids[0])
        message = self.service.message(conversation, ids[1])
        row = phones.receipt(self.store, message["id"], ids[2])
        if row is None:
            raise not_found()
        return 200, self._receipt_view(row, conversation["sid"], message["sid"])

    def _receipt_view(self, row: Row, conversation_sid: str, message_sid: str) -> Resource:
        url = self.views.url("Conversations", conversation_sid, "Messages", message_sid,
                             "Receipts", row["sid"])
        return phones.receipt_view(row, self.views.account_sid, conversation_sid, message_sid,
                                   url, self.views.chat)


def _webhooks_enabled(headers: dict[str, str]) -> bool:
    for name, value in headers.items():
        if name.lower() == "x-twilio-webhook-enabled":
            return value.strip().lower() == "true"
    return False

