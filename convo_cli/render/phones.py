"""`convo outbox`' lines: one per message a phone received (time, phone, from, author,
status, body), every field from the engine made safe for where it goes."""

from __future__ import annotations

import json
from typing import Any

from convo_cli.render.streams import IOStreams
from convo_cli.render.text import terminal_safe, tsv_line

HEADER = ("TIME", "TO", "FROM", "CONVERSATION", "AUTHOR", "STATUS", "BODY")


def fields(item: dict[str, Any]) -> tuple[str, ...]:
    status = str(item.get("status") or "")
    if item.get("error_code"):
        status += f" ({item['error_code']})"
    return (str(item.get("date_created") or ""), str(item.get("to") or ""),
            str(item.get("from") or ""), str(item.get("conversation_sid") or ""),
            str(item.get("author") or ""), status, str(item.get("body") or ""))


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


def delivered(io: IOStreams, message: dict[str, Any], *, as_json: bool) -> None:
    """What `convo inbound` stored: the message resource, or one line naming it."""
    if as_json:
        io.stdout.write(json.dumps(message) + "\n")
    else:
        io.stdout.write(terminal_safe(
            f"{message.get('author')} -> {message.get('conversation_sid')}: message "
            f"{message.get('index')} ({message.get('sid')})") + "\n")
    io.stdout.flush()
