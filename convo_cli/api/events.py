"""The webhook deliveries of a convo engine (`/convo/v1/Events`, a convo extension: Twilio's
REST API has no such log), read and followed; a named service's are its own
(`/convo/v1/Services/{IS}/Events`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from convo_cli.api.client import Client

POLL = 0.5  # seconds between polls while following


def recent(client: Client, limit: int) -> dict[str, list[dict[str, Any]]]:
    """What waits in the outbox and what was delivered or given up, newest first."""
    found = client.call("GET", client.extension("Events"), params=(("PageSize", str(limit)),))
    return {"waiting": list(found.get("waiting", [])), "finished": list(found.get("finished", []))}


def follow(client: Client, after: int, *, sleep: Callable[[float], None] = time.sleep,
           ) -> Iterator[dict[str, Any]]:
    """Each delivery finished after id `after`, as it finishes, for ever."""
    while True:
        found = client.call("GET", client.extension("Events"),
                            params=(("After", str(after)), ("PageSize", "200")))
        items = found.get("finished", [])
        for item in items:
            after = max(after, int(item["id"]))
            yield item
        if not items:
            sleep(POLL)
