"""What can be checked before anything is sent (exit 2), and the conversation lookup every
command with a CONVERSATION argument starts with."""

from __future__ import annotations

import json
import re

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError
from convo_cli.api.models import Conversation
from convo_cli.errors import ConvoError, UsageError

# `+` and 2 to 15 digits, no leading zero (E.164), optionally as `whatsapp:+…`.
PHONE = re.compile(r"^(whatsapp:)?\+[1-9][0-9]{1,14}$")
MAX_PAGE_SIZE = 100
DIRECTIONS = {"backwards": True, "backward": True, "forwards": False, "forward": False}
STATES = ("active", "inactive", "closed")


def check_attributes(value: str | None, option: str = "--attributes") -> str | None:
    if value is None:
        return None
    try:
        json.loads(value)
    except ValueError as error:
        raise UsageError(f"{option} is not valid JSON: {error}") from None
    return value


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
    """A known unique name close to a mistyped one. The names are the ones completion offers:
    the client's transport is the name cache's Recorder (see `convo_cli.factory`); a client
    built without one has none to offer."""
    known = getattr(client.transport, "known_names", None)
    if known is None:
        return ""
    import difflib

    from convo_cli.render.text import terminal_safe

    close = difflib.get_close_matches(key, [n for n in known() if n != key], n=1, cutoff=0.6)
    return f"; did you mean {terminal_safe(close[0])}?" if close else ""
