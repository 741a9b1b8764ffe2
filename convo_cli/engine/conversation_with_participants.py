"""`/v1/ConversationWithParticipants`: a conversation and its first participants in one
request, all or nothing (one transaction: a refused participant leaves no conversation).

Each `Participant` value is a JSON object with the Participant resource's parameters in
snake_case, as Twilio's documentation shows: `{"identity": "alice"}` or
`{"messaging_binding": {"address": "+15558675310", "proxy_address": "+15017122661"}}`,
with `attributes` and `role_sid` optional. Twilio answers 202 when participants are
being added (it adds them asynchronously) and 201 otherwise; this engine adds them at
once and answers with the same statuses, so that a client written for Twilio sees them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from convo_cli.engine import configuration
from convo_cli.engine.conversations import view as conversation_view
from convo_cli.engine.form import kw
from convo_cli.engine.service import (
    ATTRIBUTES_DEPTH_LIMIT, EngineError, Service, invalid, nested_deeper_than,
)
from convo_cli.engine.store import Row
from convo_cli.engine.views import Resource, Views

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

FIELDS = {
    "FriendlyName", "UniqueName", "DateCreated", "DateUpdated", "MessagingServiceSid",
    "Attributes", "State", "Timers.Inactive", "Timers.Closed", "Bindings.Email.Address",
    "Bindings.Email.Name", "Participant",
}
ROUTES = {("ConversationWithParticipants",): "conversation_with_participants"}
PARAMETERS = {("conversation_with_participants", "POST"): FIELDS}
PARTICIPANTS_LIMIT = 10  # per request (the spec)
_KEYS = {"identity", "attributes", "role_sid", "messaging_binding"}
_BINDING_KEYS = {"address", "proxy_address", "projected_address"}


def create(service: Service, conversation: dict[str, Any],
           participants: list[str]) -> tuple[int, Row]:
    """(status, the conversation row). `conversation`: create_conversation's keywords."""
    if len(participants) > PARTICIPANTS_LIMIT:
        raise invalid("Participant", f"names more than {PARTICIPANTS_LIMIT} participants")
    parsed = [_participant(text, n) for n, text in enumerate(participants, 1)]
    with service.store.write():
        row = service.create_conversation(**conversation)
        for n, keywords in enumerate(parsed, 1):
            try:
                service.add_participant(row["sid"], **keywords)
            except EngineError as error:
                raise EngineError(error.status, error.code,
                                  f"Participant {n}: {error.message}") from None
        row = service.conversation(row["sid"])
    return (202 if parsed else 201), row


def _participant(text: str, n: int) -> dict[str, Any]:
    """One `Participant` value as add_participant's keywords."""
    if nested_deeper_than(text, ATTRIBUTES_DEPTH_LIMIT):  # json would recurse until it fails
        raise invalid("Participant", f"{n} is nested deeper than {ATTRIBUTES_DEPTH_LIMIT} levels")
    try:
        value = json.loads(text)
    except ValueError:
        raise invalid("Participant", f"{n} is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid("Participant", f"{n} is not a JSON object")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise invalid("Participant", f"{n} has unknown fields: {', '.join(unknown)}")
    keywords: dict[str, Any] = {}
    for key in ("identity", "role_sid"):
        if key in value:
            keywords[key] = _string(value[key], f"{n}'s {key}")
    if "attributes" in value:  # a JSON string, as in the resource; an object is taken as meant
        attributes = value["attributes"]
        keywords["attributes"] = attributes if isinstance(attributes, str) \
            else json.dumps(attributes)
    binding = value.get("messaging_binding")
    if binding is not None:
        if not isinstance(binding, dict) or set(binding) - _BINDING_KEYS:
            raise invalid("Participant", f"{n}'s messaging_binding must be an object of "
                          "address, proxy_address, projected_address")
        for key in sorted(binding):
            keywords[f"messaging_binding_{key}"] = _string(binding[key], f"{n}'s {key}")
    if "identity" not in keywords and "messaging_binding_address" not in keywords:
        raise invalid("Participant", f"{n} needs an identity or a messaging_binding address")
    return keywords


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise invalid("Participant", f"{what} must be a string")
    return value


def view(row: Row, views: Views) -> Resource:
    """The conversation, with the links this resource's schema lists (no `export`)."""
    resource = conversation_view(row, views)
    resource["links"] = {k: v for k, v in resource["links"].items() if k != "export"}
    return resource


def route(engine: Engine, method: str, _: list[str], p: Any) -> tuple[int, Any]:
    fields = {k: v for k, v in p.items() if k != "Participant"}
    status, row = create(engine.service, configuration.with_defaults(engine.store, kw(fields)),
                         p.lists.get("Participant", []))
    return status, view(row, engine.views)


HANDLERS = {"conversation_with_participants": route}
