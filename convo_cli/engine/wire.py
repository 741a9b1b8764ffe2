"""Twilio's wire format in and out: routing, form parameters, paging, error JSON.

`Engine.handle` takes a request as plain values (method, path, query string, body,
headers) and returns (status, headers, body), so the in-process transport and the HTTP
server share it. Everything that arrives here is untrusted: parameter names are checked
against the spec's list for the operation, values are validated by the service.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from convo_cli.engine import (addresses, configuration, conversation_with_participants,
                              credentials, phones, prehooks, webhooks)
from convo_cli.engine.keys import Actor
from convo_cli.engine.roles import view as role_view
from convo_cli.engine.service import INT64_MAX, EngineError, Service, integer, not_found
from convo_cli.engine.store import Row, Store
from convo_cli.engine.views import Rendered, Resource, Views, dump

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
# The in-process engine's auth token: what its webhook requests are signed with.
DEFAULT_AUTH_TOKEN = "0" * 32
JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
PAGING = {"PageSize", "Page", "PageToken"}
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
ROUTES = {
    ("Conversations",): "conversations",
    ("Conversations", "*"): "conversation",
    ("Conversations", "*", "Participants"): "participants",
    ("Conversations", "*", "Participants", "*"): "participant",
    ("Conversations", "*", "Messages"): "messages",
    ("Conversations", "*", "Messages", "*"): "message",
    ("ParticipantConversations",): "participant_conversations",
    ("Users",): "users",
    ("Users", "*"): "user",
    ("Users", "*", "Conversations"): "user_conversations",
    ("Users", "*", "Conversations", "*"): "user_conversation",
    ("Roles",): "roles",
    ("Roles", "*"): "role",
    ("Configuration", "*"): "configuration_webhooks",  # `Webhooks` only: checked in _route
    ("Configuration", "Webhooks"): "configuration_webhooks",  # the path as the spec names it
    ("Conversations", "*", "Webhooks"): "webhooks",
    ("Conversations", "*", "Webhooks", "*"): "webhook",
    ("Configuration",): "configuration",
    ("ConversationWithParticipants",): "conversation_with_participants",
    ("Credentials",): "credentials",
    ("Credentials", "*"): "credential",
    ("Conversations", "*", "Messages", "*", "Receipts"): "receipts",
    ("Conversations", "*", "Messages", "*", "Receipts", "*"): "receipt",
}
# What the resources' `links` name but this engine does not serve: a 404 that says so, so
# that a client following a link learns why (the spec's paths: "yet"; the others, Twilio
# links to but its public spec does not describe).
UNSERVED = {
    ("Conversations", "*", "Export"): "conversation export (not in Twilio's published spec)",
    ("Conversations", "*", "Messages", "*", "ChannelMetadata"):
        "message channel metadata (not in Twilio's published spec)",
    ("Services", "*", "Configuration"): "the Conversation Service resources (/v1/Services) yet",
}
_SNAKE = re.compile(r"(?<!^)(?<!\.)(?=[A-Z])")

log = logging.getLogger("convo.engine")


def snake(name: str) -> str:
    """`MessagingBinding.ProxyAddress` -> `messaging_binding_proxy_address`."""
    return _SNAKE.sub("_", name).replace(".", "_").lower()


class Engine:
    def __init__(self, db_path: str, *, base_url: str, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN, **service_options: Any) -> None:
        from convo_cli.engine.events import Events

        self.store = Store(db_path)
        self.service = Service(self.store, **service_options)
        self.views = Views(base_url, account_sid)
        self.auth_token = auth_token
        self.events = self.service.events = Events(self.store, account_sid, self.views.service_sid)
        from convo_cli.engine.access import Access
        from convo_cli.engine.roles import Roles

        self.roles = self.service.roles = Roles(self.store)
        self.access = Access(self)
        self.member: str | None = None  # set while an identity key lists conversations

    def close(self) -> None:
        self.store.close()

    def handle(self, method: str, path: str, query: str, body: bytes, headers: dict[str, str],
               *, base_url: str | None = None, actor: Actor | None = None,
               pre_answer: Any = None) -> tuple[int, list[tuple[str, str]], bytes]:
        """`base_url`: the URL the client used, when served; resources and paging links are
        built on it, so that a client (twilio-python) can follow them from where it is.
        `actor`: who the credentials act as (`keys`); None or an account-wide key: anyone.
        `pre_answer`: the pre-event webhook's answer, when the caller (the server) sent the
        request of `pre_event_call` itself; otherwise it is sent here, synchronously."""
        if base_url is not None and base_url != self.views.base_url:
            self.views = Views(base_url, self.views.account_sid)
        self.events.enabled = _webhooks_enabled(headers)
        try:
            identity = actor.identity if actor else None
            if path.rstrip("/") == "/convo/v1/Events":  # a convo extension, not Twilio's API
                if identity is not None:
                    raise EngineError(403, 20403, "Forbidden: only the account's credentials "
                                      "read the event log")
                status, payload = self._convo_events(method.upper(), query)
            elif path.rstrip("/") in phones.PATHS:  # convo extensions too (engine/phones.py)
                if identity is not None:
                    raise EngineError(403, 20403, "Forbidden: only the account's credentials "
                                      "act as a phone or read what phones received")
                status, payload = phones.handle(self, method.upper(), path.rstrip("/"), query,
                                                body, pre_answer)
            else:
                status, payload = self._dispatch(method.upper(), path, query, body, identity,
                                                 pre_answer)
        except EngineError as error:
            answer = _dump(self._error_body(error, path))
            return error.status, [*JSON_HEADERS, *error.headers], answer
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
                # The file went read-only under a running engine (or is on a read-only mount).
                error_ = EngineError(503, 20503, "Service Unavailable: the database is read-only")
                return 503, JSON_HEADERS, _dump(self._error_body(error_, path))
            if "locked" not in str(error) and "busy" not in str(error):
                log.exception("engine failure on %s %s", method, path)
                error_ = EngineError(500, 20500, "Internal Server Error")
                return 500, JSON_HEADERS, _dump(self._error_body(error_, path))
            # Another writer held the database past the busy timeout: safe to retry.
            error_ = EngineError(503, 20503, "Service Unavailable: the database is busy")
            return 503, [*JSON_HEADERS, ("Retry-After", "1")], _dump(self._error_body(error_, path))
        except Exception:  # noqa: BLE001 - the wire answers, whatever happened below
            log.exception("engine failure on %s %s", method, path)
            error_ = EngineError(500, 20500, "Internal Server Error")
            return 500, JSON_HEADERS, _dump(self._error_body(error_, path))
        finally:
            self.member = None
        if payload is None:
            return status, [], b""
        return status, JSON_HEADERS, _dump(payload)

    def _error_body(self, error: EngineError, path: str) -> Resource:
        message = error.message
        if error.code == 20404 and not message:
            resource = path[3:] if path.startswith("/v1/") else path
            message = f"The requested resource {resource} was not found"
        return {"code": error.code, "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{error.code}",
                "status": error.status}

    def _convo_events(self, method: str, query: str) -> tuple[int, Resource]:
        from convo_cli.engine.events import listing

        if method != "GET":
            raise EngineError(405, 20004, "Method not allowed on /convo/v1/Events",
                              headers=[("Allow", "GET")])
        return 200, listing(self.store, _parameters(query, b"", {"PageSize", "After"}))

    def pre_event_call(self, method: str, path: str, query: str, body: bytes,
                       headers: dict[str, str]) -> Any:
        """The pre-event webhook request this request needs (a `prehooks.Call`), or None;
        the server sends it off the event loop and passes the answer to `handle`."""
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
            route, segments, params = self._route(method.upper(), path, query, body)
            return prehooks.call_for(self, route, method.upper(), segments[1::2], params)
        except EngineError:
            return None  # `handle` answers the error

    def _dispatch(self, method: str, path: str, query: str, body: bytes,
                  identity: str | None = None,
                  pre_answer: Any = None) -> tuple[int, Resource | None]:
        route, segments, params = self._route(method, path, query, body)
        handler: Callable[..., tuple[int, Resource | None]] = getattr(self, f"_{route}")

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

    def _route(self, method: str, path: str, query: str,
               body: bytes) -> tuple[str, list[str], dict[str, str]]:
        if not path.startswith("/v1/"):
            raise not_found()
        try:
            segments = [unquote(s, errors="strict") for s in path[4:].rstrip("/").split("/")]
        except UnicodeDecodeError:
            raise not_found() from None  # no resource has a name that is not UTF-8
        shape = tuple(s if i % 2 == 0 else "*" for i, s in enumerate(segments))
        route = ROUTES.get(shape)
        if route == "configuration_webhooks" and segments[1] != "Webhooks":
            route = None
        if segments[:2] == ["Configuration", "Addresses"] and len(segments) <= 3:
            # Address Configurations (engine/addresses.py): the SID is the third segment.
            route = "address" if len(segments) == 3 else "addresses"
            segments = ["Configuration/Addresses", *segments[2:]]
        if route is None or any(not s for s in segments):
            if shape in UNSERVED and all(segments):
                raise EngineError(404, 20404, f"The requested resource {path[3:]} was not found: "
                                  f"convo's engine does not implement {UNSERVED[shape]}")
            raise not_found()
        allowed = PARAMETERS.get((route, method))
        if allowed is None:
            methods = ", ".join(sorted(m for r, m in PARAMETERS if r == route))
            raise EngineError(405, 20004, f"Method {method} not allowed on {path[3:]}",
                              headers=[("Allow", methods)])
        params = _parameters(query, body if method == "POST" else b"", allowed)
        return route, segments, params

    # Routes: each gets the path's variable segments and the checked parameters.

    def _conversations(self, method: str, _: list[str], p: dict[str, str]):
        if method == "POST":
            fields = configuration.with_defaults(self.store, _kw(p))
            return 201, self.views.conversation(self.service.create_conversation(**fields))
        filters = [(k, p[k]) for k in ("StartDate", "EndDate", "State") if k in p]
        return self._page(
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
        return self._page(
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
        views = self.views  # rendered by SQLite (`Store.messages_page_json`)
        return self._page(
            p, ("Conversations", sid, "Messages"), "messages", "messages", sid, 100, filters,
            lambda after, n: self.store.messages_page_json(
                conversation["id"], order, None if after is None else _int_key(after, 0), n,
                views.account_sid, sid, views.url("Conversations", sid, "Messages")),
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
        return self._page(
            p, ("ParticipantConversations",), "conversations", "participant_conversations", owner,
            50, filters,
            lambda after, n: self.service.participant_conversations(
                identity=identity, address=address, after=after or "", limit=n),
            self.views.participant_conversation, lambda row: row["conversation_sid"],
        )

    def _users(self, method: str, _: list[str], p: dict[str, str]):
        if method == "POST":
            return 201, self.views.user(self.service.create_user(**_kw(p)))
        return self._page(
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
        return self._page(
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
        return self._page(p, ("Roles",), "roles", "roles", "", 50, [],
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
            return webhooks.scoped_view(row, self.views.account_sid, sid, url)

        if method == "POST":
            self.events.forget()
            return 201, view(webhooks.create_scoped(self.store, conversation, p, p.lists,
                                                    self.service.clock()))
        rows = webhooks.scoped(self.store, conversation)  # at most 5: one page
        return self._page(
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
        return 200, webhooks.scoped_view(row, self.views.account_sid, sid, url)

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
        return self._page(p, ("Credentials",), "credentials", "credentials", "", 50, [],
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
        return self._page(
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
        return self._page(
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
                                   url)

    def _page(self, p: dict[str, str], segments: tuple[str, ...], key: str, kind: str, owner: str,
              max_size: int, filters: list[tuple[str, str]],
              fetch: Callable[[str | None, int], list[Row]], view: Callable[[Row], Resource],
              key_of: Callable[[Row], Any], *, order: str = "asc") -> tuple[int, Resource]:
        """One page of a list, keyset-paged: the token carries the last key seen."""
        size = min(_positive(p.get("PageSize", "50"), "PageSize", 1), max_size)
        page = _positive(p.get("Page", "0"), "Page", 0)
        after = decode_token(p["PageToken"], kind, owner, order) if "PageToken" in p else None
        rows = fetch(after, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        base = self.views.url(*segments)

        def page_url(number: int, token: str | None) -> str:
            pairs = [*filters, ("PageSize", str(size)), ("Page", str(number))]
            if token is not None:
                pairs.append(("PageToken", token))
            return f"{base}?{urlencode(pairs)}"

        next_url = None
        if more:
            next_url = page_url(page + 1, encode_token(kind, owner, order, key_of(rows[-1])))
        return 200, {
            key: [view(row) for row in rows],
            "meta": {
                "page": page,
                "page_size": size,
                "first_page_url": page_url(0, None),
                "previous_page_url": None,
                "url": page_url(page, p.get("PageToken")),
                "next_page_url": next_url,
                "key": key,
            },
        }


def encode_token(kind: str, owner: str, order: str, key: Any) -> str:
    raw = f"{kind}|{owner}|{order}|{key}".encode()
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, kind: str, owner: str, order: str) -> str:
    """The last key of the previous page; a token from another list is refused (21481)."""
    try:
        if not token.startswith("PT"):
            raise ValueError
        data = token[2:]
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
        token_kind, rest = raw.split("|", 1)
        token_owner, token_order, key = rest.rsplit("|", 2)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise EngineError(400, 21481, "Invalid PageToken") from None
    if (token_kind, token_owner, token_order) != (kind, owner, order):
        raise EngineError(400, 21481, "Invalid PageToken")
    return key


def _int_key(key: str | None, default: int) -> int:
    if key is None:
        return default
    try:
        return integer(key, "PageToken", -INT64_MAX - 1)
    except EngineError:
        raise EngineError(400, 21481, "Invalid PageToken") from None


def _positive(value: str, name: str, minimum: int) -> int:
    try:
        return integer(value, name, minimum)
    except EngineError:
        raise EngineError(400, 20422, f"Invalid parameter: {name} must be an integer from "
                          f"{minimum} to {INT64_MAX}") from None


class Params(dict[str, str]):
    """The request's parameters, the last value of each; `lists` has every value of the
    repeated ones (Twilio's array parameters: `Filters=a&Filters=b`)."""

    lists: dict[str, list[str]]


def _webhooks_enabled(headers: dict[str, str]) -> bool:
    for name, value in headers.items():
        if name.lower() == "x-twilio-webhook-enabled":
            return value.strip().lower() == "true"
    return False


def _parameters(query: str, body: bytes, allowed: set[str]) -> Params:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        if body:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise EngineError(400, 20422, "Malformed request: parameters are not valid "
                          "application/x-www-form-urlencoded UTF-8") from None
    unknown = sorted({name for name, _ in pairs} - allowed)
    if unknown:
        raise EngineError(400, 20001, f"Unknown parameters: {', '.join(unknown)}")
    params = Params(pairs)
    params.lists = {}
    for name, value in pairs:
        params.lists.setdefault(name, []).append(value)
    return params


def _kw(params: dict[str, str]) -> dict[str, str]:
    return {snake(name): value for name, value in params.items()}


def _dump(payload: Resource) -> bytes:
    return dump(payload)
