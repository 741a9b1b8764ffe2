"""What can be checked before anything is sent (exit 2), and the conversation lookup every
command with a CONVERSATION argument starts with."""

from __future__ import annotations

import json
import re
import shlex
from typing import TextIO

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError
from convo_cli.api.models import Conversation, Participant
from convo_cli.errors import ConvoError, UsageError
from convo_cli.limits import (ATTRIBUTES_DEPTH_LIMIT, ATTRIBUTES_LIMIT, BODY_LIMIT,
                              CONVERSATION_ATTRIBUTES_LIMIT, NAME_LIMIT, json_depth)
from convo_cli.profiles import check_identity

__all__ = ["check_identity"]  # for the commands: an IDENTITY argument is checked as --identity

CONVERSATION_SID = re.compile(r"CH[0-9a-fA-F]{32}")
# `+` and 2 to 15 digits, no leading zero (E.164), optionally as `whatsapp:+…`.
PHONE = re.compile(r"^(whatsapp:)?\+[1-9][0-9]{1,14}$")
MAX_PAGE_SIZE = 100
DIRECTIONS = {"backwards": True, "backward": True, "forwards": False, "forward": False}
STATES = ("active", "inactive", "closed")


def check_attributes(value: str | None, option: str = "--attributes", *,
                     limit: int = CONVERSATION_ATTRIBUTES_LIMIT,
                     what: str = "a conversation's") -> str | None:
    """A JSON document within the service's size limit (`limit` bytes of UTF-8: 16 KB for a
    conversation, ATTRIBUTES_LIMIT for a participant or a message) and nesting depth. Size
    and depth are checked before parsing, so no input can exhaust the parser."""
    if value is None:
        return None
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise UsageError(f"{option} is {size:,} bytes; {what} attributes take at most "
                         f"{limit // 1024} KB ({limit:,} bytes of UTF-8)")
    depth = json_depth(value)
    if depth > ATTRIBUTES_DEPTH_LIMIT:
        raise UsageError(f"{option} nests {depth:,} levels deep; attributes take at most "
                         f"{ATTRIBUTES_DEPTH_LIMIT}")
    try:
        json.loads(value)
    except ValueError as error:
        raise UsageError(f"{option} is not valid JSON: {error}") from None
    return value


def check_participant_attributes(value: str | None) -> str | None:
    return check_attributes(value, limit=ATTRIBUTES_LIMIT, what="a participant's")


def check_message_attributes(value: str | None) -> str | None:
    return check_attributes(value, limit=ATTRIBUTES_LIMIT, what="a message's")


def check_name(value: str | None, option: str) -> str | None:
    """A friendly or unique name within the service's limit (characters, not bytes)."""
    if value is not None and len(value) > NAME_LIMIT:
        raise UsageError(f"{option} is {len(value):,} characters long; names take at most "
                         f"{NAME_LIMIT}")
    return value


def check_body(text: str, *, nothing: str = "nothing sent") -> str:
    """A message body: not empty, and within the 32 KB a chat message may hold."""
    if not text:
        raise UsageError(f"the message is empty: {nothing}")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > BODY_LIMIT:
        raise UsageError(f"the message is {size:,} bytes; a message takes at most "
                         f"{BODY_LIMIT // 1024} KB ({BODY_LIMIT:,} bytes of UTF-8): {nothing}")
    return text


def read_body(stdin: TextIO, *, nothing: str = "nothing sent") -> str:
    """A body from standard input (`-`), read no further than the limit: `cat big.log |
    convo send c -` fails at once instead of holding the whole file. One trailing newline
    ends the input, not the message."""
    try:
        # A text stream's read(n) stops at n characters or at the end; a character is at
        # least one byte, so more than the limit plus a newline is too long, whatever follows.
        text = stdin.read(BODY_LIMIT + 2)
    except UnicodeDecodeError:
        raise UsageError(f"standard input is not UTF-8 text: {nothing}") from None
    if len(text) > BODY_LIMIT + 1:
        raise UsageError(f"standard input holds more than a message takes (at most "
                         f"{BODY_LIMIT // 1024} KB, {BODY_LIMIT:,} bytes of UTF-8): {nothing}")
    return text[:-1] if text.endswith("\n") else text


def check_phone(value: str, option: str) -> str:
    if not PHONE.match(value):
        raise UsageError(f"{option} {value!r} is not a phone number in E.164 form "
                         "(+15551234567, or whatsapp:+15551234567)")
    return value


def check_binding(address: str, proxy_address: str) -> None:
    check_phone(address, "--address")
    check_phone(proxy_address, "--proxy-address")
    if address == proxy_address:
        raise UsageError("--address and --proxy-address are the same number")
    if address.startswith("whatsapp:") != proxy_address.startswith("whatsapp:"):
        raise UsageError("--address and --proxy-address must both be SMS or both WhatsApp")


def check_page_size(value: int) -> int:
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise UsageError(f"--page-size must be between 1 and {MAX_PAGE_SIZE}, not {value}")
    return value


def parse_direction(value: str) -> bool:
    """True for backwards (toward older messages), as the SDK's `direction` argument."""
    try:
        return DIRECTIONS[value.lower()]
    except KeyError:
        raise UsageError(f"--direction must be backwards or forwards, not {value!r}") from None


def parse_anchor(value: str) -> int | None:
    """`end` -> None; otherwise a message index, 0 or more."""
    if value.lower() == "end":
        return None
    try:
        index = int(value)
    except ValueError:
        raise UsageError(f"--anchor must be 'end' or a message index, not {value!r}") from None
    if index < 0:
        raise UsageError(f"--anchor must be 'end' or a message index of 0 or more, not {index}")
    return index


def check_state(value: str | None) -> str | None:
    if value is not None and value not in STATES:
        raise UsageError(f"--state must be one of {', '.join(STATES)}, not {value!r}")
    return value


def resolve_conversation(client: Client, key: str) -> Conversation:
    """The conversation named by a CH SID or a unique name. Nested calls then use the SID:
    Twilio does not promise unique-name addressing below /Conversations/{Sid}."""
    if not key:
        raise UsageError("CONVERSATION is empty: give a CH… SID or a unique name")
    try:
        return client.fetch_conversation(key)
    except ApiError as error:
        if error.status == 404:
            hint = _did_you_mean(client, key)
            raise ConvoError(f"conversation {key!r} not found{hint}{error.detail()}") from error
        raise


def _did_you_mean(client: Client, key: str) -> str:
    """A unique name close to the one typed, from those this profile has seen (the name
    cache that completion reads: no request, and only names the user has come across)."""
    known = getattr(client.transport, "unique_names", None)
    names = known() if known is not None else []
    if not names:
        return ""
    import difflib

    match = {name.casefold(): name for name in names}.get(key.casefold()) or next(
        iter(difflib.get_close_matches(key, names, n=1, cutoff=0.75)), None)
    if match is None or match == key:
        return ""
    from convo_cli.render.text import terminal_safe

    return f"; did you mean {terminal_safe(match)}?"


def require_participant(client: Client, key: str, identity: str, *,
                        join: str) -> Participant:
    """`identity`'s participant in conversation `key` (its `conversation_sid` is the SID):
    one fetch of the participant (for a CH SID, no fetch of the conversation unless that one fails,
    to tell a missing conversation from a missing participant). `join` is the command that
    would make `identity` a participant, for the hint."""
    sid = key if CONVERSATION_SID.fullmatch(key) else resolve_conversation(client, key).sid
    try:
        return client.fetch_participant(sid, identity)._replace(conversation_sid=sid)
    except ApiError as error:
        if error.status != 404:
            raise
    if sid == key:
        resolve_conversation(client, key)  # "not found" when the conversation is missing
    raise UsageError(f"{identity} is not a participant of {key}: nothing sent (join first: "
                     f"{join}; or act as a participant with --identity)")


def join_command(key: str, identity: str, identity_source: str | None, *,
                 profile_flag: str | None = None, service_flag: str | None = None) -> str:
    """`convo join KEY`, as this very call would have to run it."""
    where = f"--profile {shlex.quote(profile_flag)} " if profile_flag else ""
    if service_flag:
        where += f"--service {shlex.quote(service_flag)} "
    who = f"--identity {shlex.quote(identity)} " if identity_source == "--identity" else ""
    return f"convo {where}{who}join {shlex.quote(key)}"
