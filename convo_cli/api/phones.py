"""The phone side of a convo engine (`/convo/v1/Inbound`, `/convo/v1/Outbox`: convo
extensions, not Twilio's API): a message as if a phone had sent it (to the account: it finds
the service its binding is in), and what phones got (from the client's service)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from convo_cli.api.client import Client

INBOUND = "/convo/v1/Inbound"
POLL = 0.5  # seconds between polls while following


def inbound(client: Client, sender: str, proxy: str, body: str) -> dict[str, Any]:
    """The message resource the engine stored for it."""
    return dict(client.call("POST", INBOUND, body=(("From", sender), ("To", proxy),
                                                    ("Body", body))))


def received(client: Client, to: str | None, limit: int) -> list[dict[str, Any]]:
    """The last `limit` messages the phones (or the one phone `to`) received, oldest first."""
    params = [("PageSize", str(limit))] + ([("To", to)] if to else [])
    return list(client.call("GET", client.extension("Outbox"), params=tuple(params)).get("received", []))


def follow(client: Client, to: str | None, after: int, *,
           sleep: Callable[[float], None] = time.sleep) -> Iterator[dict[str, Any]]:
    """Each message received after id `after`, as it arrives, for ever."""
    while True:
        params = [("After", str(after)), ("PageSize", "200")] + ([("To", to)] if to else [])
        items = client.call("GET", client.extension("Outbox"), params=tuple(params)).get("received", [])
        for item in items:
            after = max(after, int(item["id"]))
            yield item
        if not items:
            sleep(POLL)
