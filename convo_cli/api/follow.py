"""Following a conversation live: its history, then each new message as it arrives, for ever.

There is no push channel in the REST API, so this polls, through the Client (the same code
against the built-in engine, a `convo serve` and Twilio). What has been seen is the last
message index: indexes only grow, so "new" is "index above the last one yielded", and a
message is never yielded twice or skipped.

- Against a convo engine a poll is one request: the engine's PageToken for "after index N",
  read forwards (`Order=asc`).
- Against Twilio page tokens are opaque, so a poll asks for the newest message alone
  (`Order=desc`, `PageSize=1`, a few hundred bytes when nothing happened) and, when it is
  newer than the last one seen, reads back from the newest until it reaches a known index.

Polls come quickly while the conversation is active and slow down while it is quiet (see
`next_delay`); `sleep` and `clock` are injectable, so tests run without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError
from convo_cli.api.history import SCAN_PAGE, engine_page_token, last_index
from convo_cli.api.models import Message

FIRST_DELAY = 0.25  # seconds, after something arrived
GROWTH = 1.5  # each empty poll waits this much longer than the one before…
ACTIVE_MAX = 1.5  # …up to this while the conversation was active within QUIET_AFTER,
QUIET_AFTER = 60.0  # so that a reply shows within two seconds,
QUIET_MAX = 5.0  # and up to this once it has been quiet longer (Twilio's rate limits).


class ConversationDeleted(Exception):
    """The conversation went away while it was being followed."""

    def __init__(self, conversation_sid: str) -> None:
        super().__init__(f"conversation {conversation_sid} was deleted")
        self.conversation_sid = conversation_sid


def next_delay(delay: float, quiet_for: float) -> float:
    """The wait before the next poll, after an empty one that waited `delay`, when nothing has
    arrived for `quiet_for` seconds."""
    return min(delay * GROWTH, ACTIVE_MAX if quiet_for < QUIET_AFTER else QUIET_MAX)


def follow(client: Client, conversation_sid: str, history: Iterable[Message] = (), *,
           sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> Iterator[Message]:
    """`history` (oldest first: a window or the whole of it), then every later message, oldest
    first. Never ends; raises ConversationDeleted when the conversation is gone."""
    last = -1  # indexes start at 0
    for message in history:
        last = max(last, message.index)
        yield message
    delay, active_at = FIRST_DELAY, clock()
    while True:
        sleep(delay)
        try:
            newer = newer_messages(client, conversation_sid, last)
        except ApiError as error:
            if error.status == 404:
                raise ConversationDeleted(conversation_sid) from error
            raise
        if newer:
            yield from newer
            last = newer[-1].index
            delay, active_at = FIRST_DELAY, clock()
        else:
            delay = next_delay(delay, clock() - active_at)


def newer_messages(client: Client, conversation_sid: str, last: int) -> list[Message]:
    """The messages after index `last`, oldest first (one poll; `convo chat` polls with it too)."""
    poll = _newer_by_token if client.seeks_message_index else _newer_by_paging
    return poll(client, conversation_sid, last)


def _newer_by_token(client: Client, sid: str, last: int) -> list[Message]:
    token = engine_page_token(sid, "asc", last)
    return list(client.list_messages(sid, order="asc", page_size=SCAN_PAGE, page_token=token))


def _newer_by_paging(client: Client, sid: str, last: int) -> list[Message]:
    newest = last_index(client, sid)
    if newest is None or newest <= last:
        return []
    # Indexes have no gaps but for deletions: `newest - last` messages at most are new, so
    # a page of that size usually holds them all.
    newer: list[Message] = []
    for message in client.list_messages(sid, order="desc",
                                        page_size=min(SCAN_PAGE, newest - last)):
        if message.index <= last:
            break
        newer.append(message)
        if message.index == last + 1:  # nothing can lie between: no need for another page
            break
    return newer[::-1]
