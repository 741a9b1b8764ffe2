"""What every resource's view needs: URLs on the base URL the client used (under
`/v1/Services/{IS}` when it came that way), the account's and the service's SIDs, and the
wire's JSON encoding. Each resource's own view, exactly the spec's field set, is in its
family's module (engine/conversations.py, participants.py, messages.py, users.py, …)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

Resource = dict[str, Any]
SEPARATORS = (", ", ": ")


class Rendered(str):
    """A resource already rendered as JSON text (by SQLite: `Store.messages_page_json`)."""


def dump(payload: Resource) -> bytes:
    """A resource, or a page of them, as the wire's JSON. A page whose items are `Rendered`
    is joined around them rather than decoded and encoded again."""
    meta = payload.get("meta")
    items = payload.get(meta["key"]) if isinstance(meta, dict) and "key" in meta else None
    if items and isinstance(items[0], Rendered):
        return ('{"%s": [%s], "meta": %s}' % (meta["key"], ", ".join(items),
                                               json.dumps(meta, separators=SEPARATORS))).encode()
    return json.dumps(payload, separators=SEPARATORS).encode()


def default_service_sid(account_sid: str) -> str:
    """The account's default Conversation Service: the one `/v1/Conversations…` is."""
    return "IS" + account_sid[2:]


class Views:
    def __init__(self, base_url: str, account_sid: str, service_sid: str | None = None, *,
                 scoped: bool = False) -> None:
        """`service_sid`: the Conversation Service this engine holds (None: the account's
        default, whose SID follows from the account's). `scoped`: the request came by
        `/v1/Services/{IS}/…`, and the resources' URLs say so too."""
        self.base_url = base_url
        self.account_sid = account_sid
        self.service_sid = service_sid or default_service_sid(account_sid)
        self.scoped = scoped
        # What the resources inside a conversation add when reached through a service's path
        # (the spec's service_conversation_* schemas): the service's SID.
        self.chat = {"chat_service_sid": self.service_sid} if scoped else {}
        self.v1 = base_url.rstrip("/") + "/v1"
        if scoped:
            self.v1 += "/Services/" + self.service_sid

    def url(self, *segments: str) -> str:
        # Segments are SIDs and route names: quote() only what could need it (it was half the
        # cost of a page of 50 messages).
        return self.v1 + "".join(
            "/" + (s if s.isascii() and s.isalnum() else quote(s, safe="")) for s in segments)
