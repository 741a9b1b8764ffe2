"""A whole message history as the lines `convo messages X --all --json` writes, straight
from the store, for the in-process engine.

Paged through the API, each message was rendered as JSON by SQLite, decoded into a dict,
wrapped in a model and encoded again by json.dumps: four fifths of the export's time. Here
SQLite renders each message as the very line json.dumps would write (`Store.messages_lines`),
in pages of a thousand; the few it cannot (non-ASCII text, media, a delivery summary) are
decoded and encoded as before, so the output is the same, byte for byte.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from convo_cli.engine.database import unusable

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

PAGE = 1000  # messages per query: ~0.7 MB of text held at a time


def message_lines(engine: Engine, conversation_sid: str) -> Iterator[list[str]] | None:
    """Pages of lines, oldest first; None when the conversation is not found by its SID
    (the caller then pages through the API, which says why) or its URLs would need
    escaping."""
    store = engine.store
    try:
        conversation = store.conversation_by_sid(conversation_sid)
    except sqlite3.DatabaseError as error:
        raise unusable(store.path, error) from error
    url = engine.views.url("Conversations", conversation_sid, "Messages")
    if conversation is None or json.dumps(url) != f'"{url}"':
        return None
    return _pages(engine, conversation["id"], conversation_sid, url)


def _pages(engine: Engine, conversation_id: int, sid: str, url: str) -> Iterator[list[str]]:
    store, account_sid = engine.store, engine.views.account_sid
    dumps, loads = json.dumps, json.loads
    after = -(2**63)  # before any index
    while True:
        try:
            rows = store.messages_lines(conversation_id, after, PAGE, account_sid, sid, url)
        except sqlite3.DatabaseError as error:
            raise unusable(store.path, error) from error
        if not rows:
            return
        lines = []
        for _, line, resource in rows:
            # json.dumps escapes non-ASCII and DEL; json_quote() does not. (The other
            # control characters both escape alike.)
            if line is None or not line.isascii() or "\x7f" in line:
                line = dumps(loads(line if resource is None else resource))
            lines.append(line)
        yield lines
        if len(rows) < PAGE:
            return
        after = rows[-1][0]
