"""`convo events`' lines: one per webhook delivery (time, event, URL, state, status, tries),
tab-separated, every field from the engine made safe for where it goes."""

from __future__ import annotations

import json
from typing import Any

from convo_cli.render.streams import IOStreams
from convo_cli.render.text import terminal_safe, tsv_line

HEADER = ("TIME", "EVENT", "CONVERSATION", "URL", "STATE", "STATUS", "ATTEMPTS")


def fields(item: dict[str, Any]) -> tuple[str, ...]:
    status = item.get("status")
    return (str(item.get("date_updated") or item.get("date_created") or ""),
            str(item.get("event_type", "")), str(item.get("conversation_sid") or ""),
            str(item.get("url", "")), str(item.get("state", "")),
            str(status) if status else str(item.get("error") or ""),
            str(item.get("attempts", "")))


def write(io: IOStreams, item: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        io.stdout.write(json.dumps(item) + "\n")
    elif io.stdout_tty:
        io.stdout.write(terminal_safe("  ".join(fields(item))) + "\n")
    else:
        io.stdout.write(tsv_line(*fields(item)))
    io.stdout.flush()


def header(io: IOStreams) -> None:
    if io.stdout_tty:
        io.stdout.write("  ".join(HEADER) + "\n")
