"""Pre-event webhooks: asked before a change, synchronously, within Twilio's 5 seconds.

The account's PreWebhookUrl gets the event when its Filters name it. Its answer decides:
a 2xx lets the change happen, and a 200 with a JSON object changes it (a rewritten `body`,
`author` or `attributes` of a message, for example), as Twilio documents; anything else
(another status, no answer in time) cancels it, and the REST caller gets 403 with the code
below (this engine's choice: Twilio's documentation names no code for it).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NamedTuple

from convo_cli.engine import events
from convo_cli.engine.service import EngineError

if TYPE_CHECKING:
    from convo_cli.engine.delivery import Answer
    from convo_cli.engine.wire import Engine

REJECTED = 20403
EVENTS = {
    ("conversations", "POST"): "onConversationAdd",
    ("conversation", "POST"): "onConversationUpdate",
    ("conversation", "DELETE"): "onConversationRemove",
    ("participants", "POST"): "onParticipantAdd",
    ("participant", "POST"): "onParticipantUpdate",
    ("participant", "DELETE"): "onParticipantRemove",
    ("messages", "POST"): "onMessageAdd",
    ("message", "POST"): "onMessageUpdate",
    ("message", "DELETE"): "onMessageRemove",
}
# What an answer's JSON may change, per resource: its keys (Twilio's snake_case) and the
# request parameter each replaces.
CHANGES = {
    "message": {"body": "Body", "author": "Author", "attributes": "Attributes"},
    "participant": {"attributes": "Attributes", "role_sid": "RoleSid", "identity": "Identity"},
    "conversation": {"friendly_name": "FriendlyName", "unique_name": "UniqueName",
                     "attributes": "Attributes", "state": "State"},
}


class Call(NamedTuple):
    event: str
    url: str
    method: str
    params: dict[str, str]
    token: str
    kind: str  # message, participant, conversation

    def send(self) -> Answer:
        from convo_cli.engine.delivery import send

        return send(self.url, self.method, self.params, self.token)


def call_for(engine: Engine, route: str, method: str, ids: list[str],
             request: dict[str, str]) -> Call | None:
    event = EVENTS.get((route, method))
    if event is None:
        return None
    config = engine.events.configuration()
    if not config or not config["pre_webhook_url"] or event not in config["filters"]:
        return None
    params: dict[str, str] = {}
    if ids:  # the conversation exists (else the change will 404 and nothing is asked)
        service = engine.service
        conversation = service.conversation(ids[0])
        params = events.conversation_params(conversation)
        if route == "participant":
            params = events.participant_params(conversation, service.participant(conversation, ids[1]))
        elif route == "message":
            params = events.message_params(conversation, service.message(conversation, ids[1]))
        elif route == "messages":
            params = {"ConversationSid": conversation["sid"]}
        elif route == "participants":
            params = {"ConversationSid": conversation["sid"]}
    params.update({name: value for name, value in request.items()
                   if not name.startswith("Date")})
    params.update({"AccountSid": engine.views.account_sid,
                   "ChatServiceSid": engine.views.service_sid, "EventType": event,
                   "Source": engine.events.source, "RetryCount": "0"})
    kind = route.rstrip("s")
    return Call(event, config["pre_webhook_url"], config["method"], params, engine.auth_token,
                kind)


def apply(call: Call, answer: Answer, request: dict[str, str]) -> dict[str, str]:
    """The request's parameters after the hook's answer, or the refusal it means."""
    if not 200 <= answer.status < 300:
        why = f"answered {answer.status}" if answer.status else \
            f"did not answer ({answer.error or 'no response'})"
        raise EngineError(403, REJECTED, f"Rejected by the pre-event webhook: {call.event} "
                          f"to {call.url} {why}")
    try:
        changes = json.loads(answer.body) if answer.body.strip() else None
    except ValueError:
        return request  # a 200 with another body: allowed, unchanged
    if not isinstance(changes, dict):
        return request
    updated = type(request)(request)
    if hasattr(request, "lists"):
        updated.lists = request.lists  # type: ignore[attr-defined]
    for key, name in CHANGES[call.kind].items():
        if key in changes and changes[key] is not None:
            value = changes[key]
            updated[name] = value if isinstance(value, str) else json.dumps(value)
    return updated
