"""Drive the real engine through its wire entry point, as the transports do.

`EngineClient` sends (method, path, params, form) to `Engine.handle` and parses the JSON
answer; `SpecSchemas` turns the OpenAPI 3.0 response schemas of the spec copy in
`tests/spec/` into JSON Schemas that `jsonschema` can check strictly.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jsonschema

from convo_cli.engine.wire import Engine

# An http base URL (not the in-process `convo://local`) so the tests see the URLs a
# served engine would hand to twilio-python.
BASE_URL = "http://127.0.0.1:8080"
TWILIO_BASE = "https://conversations.twilio.com"
SPEC_PATH = Path(__file__).parent / "spec" / "twilio_conversations_v1.json"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

Pairs = Mapping[str, str] | Sequence[tuple[str, str]] | None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes
    body: Any = field(default=None)

    @property
    def code(self) -> int | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class EngineClient:
    def __init__(self, db_path: str | Path, base_url: str = BASE_URL) -> None:
        self.db_path, self.base_url = str(db_path), base_url
        self.engine = Engine(self.db_path, base_url=base_url)

    def close(self) -> None:
        self.engine.close()

    def call(self, method: str, path: str, params: Pairs = None, form: Pairs = None,
             headers: Mapping[str, str] | None = None, *, query: str | None = None) -> Reply:
        """`query` sends a raw query string verbatim (as when following a next_page_url)."""
        query_string = query if query is not None else urlencode(_pairs(params))
        body = urlencode(_pairs(form)).encode() if form is not None else b""
        status, header_pairs, raw = self.engine.handle(method, path, query_string, body,
                                                       dict(headers or {}))
        reply = Reply(status, {k.lower(): v for k, v in header_pairs}, raw)
        if raw:
            reply.body = json.loads(raw)
        return reply

    def get(self, path: str, params: Pairs = None) -> Reply:
        return self.call("GET", path, params)

    def post(self, path: str, form: Pairs = None) -> Reply:
        return self.call("POST", path, form=form or {})

    def delete(self, path: str) -> Reply:
        return self.call("DELETE", path)

    def follow(self, url: str) -> Reply:
        """GET an absolute URL the engine handed out, verbatim (what twilio-python does)."""
        assert url.startswith(self.base_url + "/v1/"), url
        parts = urlsplit(url)
        return self.call("GET", parts.path, query=parts.query)

    def pages(self, path: str, params: Pairs = None) -> Iterator[Reply]:
        reply = self.get(path, params)
        while True:
            assert reply.status == 200, reply.body
            yield reply
            next_url = reply.body["meta"]["next_page_url"]
            if next_url is None:
                return
            reply = self.follow(next_url)

    # Shortcuts that must succeed: setting the scene for a test.

    def created(self, path: str, form: Pairs = None) -> dict[str, Any]:
        reply = self.post(path, form)
        assert reply.status == 201, (path, form, reply.body)
        return reply.body

    def conversation(self, **form: str) -> dict[str, Any]:
        return self.created("/v1/Conversations", _pascal(form))

    def participant(self, conversation: str, **form: str) -> dict[str, Any]:
        return self.created(f"/v1/Conversations/{seg(conversation)}/Participants", _pascal(form))

    def message(self, conversation: str, **form: str) -> dict[str, Any]:
        return self.created(f"/v1/Conversations/{seg(conversation)}/Messages", _pascal(form))


def seg(value: str) -> str:
    """One percent-encoded path segment."""
    return quote(value, safe="")


def messages_token(conversation_sid: str, order: str, index: int) -> str:
    """The convo engine's documented seek token for a conversation's messages."""
    raw = f"messages|{conversation_sid}|{order}|{index}".encode()
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _pairs(values: Pairs) -> list[tuple[str, str]]:
    if values is None:
        return []
    return list(values.items()) if isinstance(values, Mapping) else list(values)


def _pascal(form: Mapping[str, str]) -> dict[str, str]:
    """`friendly_name=` -> `FriendlyName`; `messaging_binding__address` -> `MessagingBinding.Address`."""
    def name(key: str) -> str:
        return ".".join("".join(w.title() for w in part.split("_")) for part in key.split("__"))
    return {name(k): v for k, v in form.items()}


# The spec, and its schemas translated from OpenAPI 3.0 to JSON Schema.

@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(method, path template, operation object) for an operationId."""
    for path, item in spec()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise KeyError(operation_id)


def response_content(operation_id: str, status: int) -> dict[str, Any]:
    _, _, op = operation(operation_id)
    return op["responses"][str(status)].get("content", {}).get("application/json", {})


def to_json_schema(node: Any) -> Any:
    """Inline `$ref`s and turn `nullable: true` into a JSON-Schema union with null."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = resolve(node["$ref"])
        extra = {k: v for k, v in node.items() if k != "$ref"}
        return to_json_schema({**copy.deepcopy(target), **extra})
    out = {k: to_json_schema(v) for k, v in node.items()
           if k not in ("nullable", "x-twilio", "description", "example", "properties")}
    if "properties" in node:  # a map of field names, not a schema itself
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) \
                else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if out.get("type") == "object" or "properties" in out:
        # The field set must be exactly the spec's: no field missing, none extra.
        if "properties" in out:
            out.setdefault("required", sorted(out["properties"]))
            out.setdefault("additionalProperties", False)
    return out


def resolve(ref: str) -> dict[str, Any]:
    assert ref.startswith("#/"), ref
    node: Any = spec()
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _is_twilio_time(checker: Any, value: Any) -> bool:
    return not isinstance(value, str) or bool(TIME.match(value))


def _is_uri(checker: Any, value: Any) -> bool:
    return not isinstance(value, str) or value.startswith(("http://", "https://"))


FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time")(lambda value: _is_twilio_time(None, value))
FORMATS.checks("uri")(lambda value: _is_uri(None, value))
FORMATS.checks("uri-map")(
    lambda value: not isinstance(value, dict)
    or all(isinstance(v, str) and _is_uri(None, v) for v in value.values()))


def validate_response(operation_id: str, status: int, body: Any) -> None:
    schema = to_json_schema(response_content(operation_id, status)["schema"])
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(body)


def response_examples(operation_id: str, status: int) -> dict[str, Any]:
    return {name: ex["value"]
            for name, ex in response_content(operation_id, status).get("examples", {}).items()}


def request_examples(operation_id: str) -> dict[str, dict[str, str]]:
    _, _, op = operation(operation_id)
    content = op.get("requestBody", {}).get("content", {})
    examples = content.get("application/x-www-form-urlencoded", {}).get("examples", {})
    return {name: ex["value"] for name, ex in examples.items()}


def query_examples(operation_id: str) -> dict[str, dict[str, str]]:
    """The spec's query-parameter examples, grouped by example name."""
    _, _, op = operation(operation_id)
    grouped: dict[str, dict[str, str]] = {}
    for parameter in op.get("parameters", []):
        if parameter["in"] != "query":
            continue
        for name, ex in parameter.get("examples", {}).items():
            grouped.setdefault(name, {})[parameter["name"]] = ex["value"]
    return grouped


def all_urls(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (field path, URL) in a response: `url`, `links.*`, `meta.*_url`."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from all_urls(v, f"{key}.{k}" if key else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from all_urls(v, f"{key}[{i}]")
    elif isinstance(value, str) and (key.endswith("url") or ".links." in f".{key}"
                                     or key.startswith("links.")):
        yield key, value


# Scenes and assertions the engine test files share.

def scene(client: EngineClient) -> SimpleNamespace:
    """standup: alice (chat), an SMS and a WhatsApp participant, three messages."""
    ch = client.conversation(friendly_name="Daily standup", unique_name="standup",
                             attributes='{"team": "core"}')["sid"]
    alice = client.participant(ch, identity="alice")["sid"]
    sms_sid = client.participant(ch, messaging_binding__address="+15551234567",
                                 messaging_binding__proxy_address="+15557654321")["sid"]
    client.participant(ch, messaging_binding__address="whatsapp:+15551234568",
                       messaging_binding__proxy_address="whatsapp:+15557654322")
    messages = [client.message(ch, author="alice", body=f"hello {i}")["sid"] for i in range(3)]
    user = client.get("/v1/Users/alice").body["sid"]
    return SimpleNamespace(ch=ch, alice=alice, sms=sms_sid, messages=messages, user=user)


def standup(client: EngineClient) -> SimpleNamespace:
    """standup with alice (chat), one SMS participant and one message; and a second room."""
    ch = client.conversation(friendly_name="Daily standup", unique_name="standup")["sid"]
    other = client.conversation(unique_name="other")["sid"]
    client.participant(ch, identity="alice")
    client.participant(ch, messaging_binding__address="+15551234567",
                       messaging_binding__proxy_address="+15557654321")
    message = client.message(ch, author="alice", body="hello")["sid"]
    return SimpleNamespace(ch=ch, other=other, message=message,
                           conv=f"/v1/Conversations/{ch}",
                           participants=f"/v1/Conversations/{ch}/Participants",
                           messages=f"/v1/Conversations/{ch}/Messages")


def assert_error(reply: Reply, status: int, code: int) -> None:
    """A Twilio error: exact status and code, and exactly Twilio's four fields."""
    assert (reply.status, reply.code) == (status, code), reply.body
    assert set(reply.body) == {"code", "message", "more_info", "status"}
    assert reply.body["status"] == status
    assert reply.body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert isinstance(reply.body["message"], str) and reply.body["message"]


def sms(address: str, proxy: str) -> dict[str, str]:
    return {"MessagingBinding.Address": address, "MessagingBinding.ProxyAddress": proxy}
