"""Conversation Services (`/v1/Services`): the account's separate sets of conversations,
users and roles. Their paths sit at the top of the API whatever service a client is scoped
to, and `/v1/Configuration` names the account's default service (the one the
`/v1/Conversations…` paths reach)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import quote

from convo_cli.api.client import READ_HEADERS, Client, form
from convo_cli.api.models import Raw
from convo_cli.api.paging import iterate_items
from convo_cli.api.transport import Request, Transport

SERVICES = "/v1/Services"
CONFIGURATION = "/v1/Configuration"
PAGE_SIZE = 100  # the most a list page holds


class Service(NamedTuple):
    sid: str
    friendly_name: str | None
    date_created: str | None
    raw: Raw

    @classmethod
    def from_json(cls, raw: Raw) -> Service:
        name, created = raw.get("friendly_name"), raw.get("date_created")
        return cls(str(raw["sid"]), None if name is None else str(name),
                   None if created is None else str(created), raw)


def _path(sid: str) -> str:
    return f"{SERVICES}/{quote(sid, safe='')}"


def list_services(client: Client) -> Iterator[Service]:
    """Every service of the account, page by page as read."""
    return iterate_items(client.pages(SERVICES, form(PageSize=str(PAGE_SIZE)),
                                      Service.from_json))


def create_service(client: Client, friendly_name: str) -> Service:
    return Service.from_json(client.call("POST", SERVICES, body=form(FriendlyName=friendly_name)))


def fetch_service(client: Client, sid: str) -> Service:
    return Service.from_json(client.call("GET", _path(sid)))


def delete_service(client: Client, sid: str) -> None:
    client.call("DELETE", _path(sid))


def default_service_sid(client: Client) -> str | None:
    """The account's default service, as `GET /v1/Configuration` names it."""
    configuration: Any = client.call("GET", CONFIGURATION)
    sid = configuration.get("default_chat_service_sid") if isinstance(configuration, dict) \
        else None
    return sid if isinstance(sid, str) else None


def service_exists(transport: Transport, sid: str) -> bool:
    """False only when the service itself answers 404: any other failure is not evidence
    that it is missing (the 404 that prompted the question is reported as it came)."""
    response = transport.send(Request("GET", _path(sid), headers=READ_HEADERS))
    return response.status != 404
