"""Walk every operation of the spec copy against an engine, with valid data.

Each operation gets a fresh scene (a conversation with a chat participant, a message, the
participant's user); a `{Sid}` at the end of a path is a resource made for it by its
collection's create operation, sent the spec's first request example. Used by
tests/test_engine_surface.py (in-process and served) and tests/bench/coverage.py (the
figure: operations answered / operations in the spec).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from engine_helpers import query_examples, request_examples, spec

# What the engine does not answer yet, by operationId: nothing (issue 12 made it whole).
NOT_YET: set[str] = set()
# Where the spec's first request example is one the engine refuses on purpose, valid data.
OVERRIDES: dict[str, dict[str, Any]] = {
    # `onMessageSent` is no conversation-scoped webhook filter (50365; engine/webhooks.py).
    "CreateConversationScopedWebhook": {
        "Target": "webhook", "Configuration.Url": "https://example.com",
        "Configuration.Method": "get", "Configuration.Filters": ["onMessageAdded"]},
}
OVERRIDES["CreateServiceConversationScopedWebhook"] = OVERRIDES["CreateConversationScopedWebhook"]
# Form fields whose values must differ from one operation to the next on a shared engine.
_UNIQUE = ("UniqueName", "Identity", "FriendlyName")

# (method, path, query string, form pairs or None) -> (status, JSON body or None)
Call = Callable[[str, str, str, "list[tuple[str, str]] | None"], tuple[int, Any]]


@dataclass
class Operation:
    operation_id: str
    method: str
    path: str

    @property
    def not_yet(self) -> bool:
        return self.operation_id in NOT_YET

    @property
    def scoped(self) -> bool:
        """Under `/v1/Services/{ChatServiceSid}/`: walked inside a named service."""
        return self.path.startswith("/v1/Services/{ChatServiceSid}/")


@dataclass
class Answer:
    operation: Operation
    url: str
    status: int
    body: Any

    @property
    def answered(self) -> bool:
        return 200 <= self.status < 300


def operations() -> list[Operation]:
    return [Operation(op["operationId"], method.upper(), path)
            for path, item in spec()["paths"].items()
            for method, op in item.items() if isinstance(op, dict) and "operationId" in op]


def walk(call: Call, tag: str = "") -> Iterator[Answer]:
    for n, operation in enumerate(operations()):
        yield run(call, operation, f"{tag}{n}")


def run(call: Call, operation: Operation, n: str) -> Answer:
    """One operation on a fresh scene; `n` keeps names apart on a shared engine."""
    scene = _scene(call, n, operation.scoped)
    path = _resolve(call, operation.path, scene, n)
    form = _form(operation.operation_id, scene, n) if operation.method == "POST" else None
    query = urlencode(next(iter(query_examples(operation.operation_id).values()), {}))
    if operation.operation_id == "ListParticipantConversation":
        query = urlencode({"Identity": f"alice-{n}"})
    status, body = call(operation.method, path, query, form)
    return Answer(operation, path, status, body)


def coverage(answers: list[Answer]) -> str:
    answered = sum(a.answered for a in answers)
    return f"{answered} of {len(answers)} operations answered ({100 * answered / len(answers):.0f}%)"


def _scene(call: Call, n: str, scoped: bool) -> dict[str, str]:
    """A conversation, its participants, a message and a user; for a path under
    `/v1/Services/{ChatServiceSid}/`, all of it in a named service made for it (with a push
    binding, made through convo's extension as a client SDK's registration would)."""
    def made(path: str, form: dict[str, str]) -> dict[str, Any]:
        status, body = call("POST", path, "", list(form.items()))
        assert status == 201, (path, status, body)
        return body

    root, service = "/v1", None
    if scoped:
        service = made("/v1/Services", {"FriendlyName": f"walk-{n}"})["sid"]
        root = f"/v1/Services/{service}"
        made(f"/convo{root}/Bindings", {"Identity": f"alice-{n}", "BindingType": "fcm",
                                        "Endpoint": f"device-{n}"})
    ch = made(f"{root}/Conversations", {"UniqueName": f"walk-{n}"})["sid"]
    made(f"{root}/Conversations/{ch}/Participants", {"Identity": f"alice-{n}"})
    # A phone in the conversation, so that the message has a delivery receipt to fetch.
    made(f"{root}/Conversations/{ch}/Participants", {
        "MessagingBinding.Address": "+15550107788", "MessagingBinding.ProxyAddress": "+15550107799"})
    message = made(f"{root}/Conversations/{ch}/Messages", {"Author": f"alice-{n}", "Body": "hi"})
    _, user = call("GET", f"{root}/Users/alice-{n}", "", None)
    _, config = call("GET", "/v1/Configuration", "", None)
    _, roles = call("GET", f"{root}/Roles", "", None)
    role = {r["friendly_name"]: r["sid"] for r in roles["roles"]}
    return {"ConversationSid": ch, "MessageSid": message["sid"], "UserSid": user["sid"],
            "ChatServiceSid": service or config["default_chat_service_sid"],
            "RL": role["channel user"], "service RL": role["service user"]}


def _resolve(call: Call, template: str, scene: dict[str, str], n: str) -> str:
    path = template
    if path.endswith("/{Sid}"):
        path = path[:-len("{Sid}")] + _made_for(call, template[:-len("/{Sid}")], scene, n)
    return re.sub(r"\{(\w+)\}", lambda m: scene[m.group(1)], path)


def _made_for(call: Call, collection: str, scene: dict[str, str], n: str) -> str:
    """A resource made by the collection's create operation (its first example), or a
    well-formed SID that names nothing when there is none to make."""
    create = spec()["paths"].get(collection, {}).get("post")
    if create is not None and "operationId" in create:
        path = re.sub(r"\{(\w+)\}", lambda m: scene[m.group(1)], collection)
        status, body = call("POST", path, "", _form(create["operationId"], scene, n))
        if 200 <= status < 300 and isinstance(body, dict) and "sid" in body:
            return body["sid"]
    # No create (receipts), or it refused a second one alike (an address configured twice):
    # the first the collection lists.
    path = re.sub(r"\{(\w+)\}", lambda m: scene[m.group(1)], collection)
    status, body = call("GET", path, "", None)
    if status == 200 and isinstance(body, dict):
        listed = body.get((body.get("meta") or {}).get("key", ""), [])
        if listed and isinstance(listed[0], dict) and "sid" in listed[0]:
            return listed[0]["sid"]
    for parameter in spec()["paths"][collection + "/{Sid}"].get("parameters", []):
        pattern = parameter.get("schema", {}).get("pattern", "")
        if parameter["name"] == "Sid" and pattern.startswith("^"):
            return pattern[1:3] + "0" * 32
    return "XX" + "0" * 32


def _form(operation_id: str, scene: dict[str, str], n: str) -> list[tuple[str, str]]:
    examples = request_examples(operation_id)
    example = OVERRIDES.get(operation_id) or next(iter(examples.values()), {})
    text = json.dumps(example)
    for prefix, sid in (("IS", scene["ChatServiceSid"]), ("CH", scene["ConversationSid"])):
        text = text.replace(prefix + "a" * 32, sid)
    pairs: list[tuple[str, str]] = []
    for name, value in json.loads(text).items():
        if value == "RL" + "a" * 32:
            # A user's role is a service role (so is a service's default for its users); a
            # participant's, a conversation role.
            service = operation_id.endswith("User") or name == "DefaultChatServiceRoleSid"
            value = scene["service RL" if service else "RL"]
        for one in value if isinstance(value, list) else [value]:
            one = str(one).lower() if isinstance(one, bool) else str(one)
            pairs.append((name, f"{one}-{n}" if name in _UNIQUE else one))
    return pairs
