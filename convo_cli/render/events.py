"""`convo events`' records: one per webhook delivery (time, event, conversation, URL, state,
status, tries), written by `render.feed`."""

from __future__ import annotations

from typing import Any

from convo_cli.render.columns import Column

# As the terminal narrows: the URL and the status (an error text) are shortened, then the
# attempts, the time and the status go first; the event and the conversation's SID stay.
COLUMNS = (Column("TIME", priority=3), Column("EVENT", priority=8),
           Column("CONVERSATION", priority=9),
           Column("URL", priority=6, shrink=True, min_width=16),
           Column("STATE", priority=7), Column("STATUS", priority=5, shrink=True, min_width=12),
           Column("ATTEMPTS", priority=1))


def fields(item: dict[str, Any]) -> tuple[str, ...]:
    status = item.get("status")
    return (str(item.get("date_updated") or item.get("date_created") or ""),
            str(item.get("event_type", "")), str(item.get("conversation_sid") or ""),
            str(item.get("url", "")), str(item.get("state", "")),
            str(status) if status else str(item.get("error") or ""),
            str(item.get("attempts", "")))
