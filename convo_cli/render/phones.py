"""`convo outbox`' records: one per message a phone received (time, phone, from,
conversation, author, status, body), written by `render.feed`; and `convo inbound`'s line."""

from __future__ import annotations

import json
from typing import Any

from convo_cli.render.columns import Column
from convo_cli.render.streams import IOStreams
from convo_cli.render.text import terminal_safe

# As the terminal narrows: the body and the author are shortened, then the proxy address,
# the time and the conversation go first; the phone and the delivery status stay.
COLUMNS = (Column("TIME", priority=4), Column("TO", priority=9), Column("FROM", priority=2),
           Column("CONVERSATION", priority=5),
           Column("AUTHOR", priority=6, shrink=True, min_width=8),
           Column("STATUS", priority=8), Column("BODY", priority=7, shrink=True, min_width=12))


def fields(item: dict[str, Any]) -> tuple[str, ...]:
    status = str(item.get("status") or "")
    if item.get("error_code"):
        status += f" ({item['error_code']})"
    return (str(item.get("date_created") or ""), str(item.get("to") or ""),
            str(item.get("from") or ""), str(item.get("conversation_sid") or ""),
            str(item.get("author") or ""), status, str(item.get("body") or ""))


def delivered(io: IOStreams, message: dict[str, Any], *, as_json: bool) -> None:
    """What `convo inbound` stored: the message resource, or one line naming it."""
    if as_json:
        io.stdout.write(json.dumps(message) + "\n")
    else:
        io.stdout.write(terminal_safe(
            f"{message.get('author')} -> {message.get('conversation_sid')}: message "
            f"{message.get('index')} ({message.get('sid')})") + "\n")
    io.stdout.flush()
