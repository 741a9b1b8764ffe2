"""Windows of a message history, as the Conversations SDK's `getMessages(pageSize, anchor,
direction)` returns them: `page_size` messages ending at (backwards) or starting from
(forwards) the anchor index, inclusive; `None` is the end of the history.

Against any server this is correct by paging, from whichever end of the history is nearer
(Twilio has no fetch by index). Against a convo engine the client builds the engine's
message PageToken to start at the anchor directly, so a window deep in a history of
100,000 messages costs what one near the end does.
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice, takewhile

from convo_cli.api.client import Client
from convo_cli.api.models import Message
from convo_cli.api.paging import Page, iterate_items

SCAN_PAGE = 100  # the most the API returns per page: fewest round trips when paging through


class AnchorError(ValueError):
    """The anchor is past the last message (or the history is empty)."""

    def __init__(self, anchor: int, last: int | None) -> None:
        if last is None:
            super().__init__(f"{anchor}: the conversation has no messages")
        else:
            super().__init__(f"{anchor} is past the last message index, {last}")
        self.anchor, self.last = anchor, last


def engine_page_token(conversation_sid: str, order: str, after: int) -> str:
    """A convo engine's message PageToken: the page after index `after` in `order`."""
    raw = f"messages|{conversation_sid}|{order}|{after}".encode()
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def last_index(client: Client, conversation_sid: str) -> int | None:
    newest = next(client.message_pages(conversation_sid, order="desc", page_size=1))
    return newest.items[0].index if newest.items else None


def read_window(client: Client, conversation_sid: str, *, page_size: int,
                anchor: int | None = None, backwards: bool = True) -> list[Message]:
    """The window, oldest first."""
    if anchor is None and backwards:
        page = next(client.message_pages(conversation_sid, order="desc", page_size=page_size))
        return page.items[::-1]
    last = last_index(client, conversation_sid)
    if anchor is None:
        if last is None:
            return []
        anchor = last
    if last is None or anchor > last:
        raise AnchorError(anchor, last)
    if client.seeks_message_index:
        return _seek(client, conversation_sid, page_size, anchor, backwards)
    return _scan(client, conversation_sid, page_size, anchor, last, backwards)


def _seek(client: Client, sid: str, page_size: int, anchor: int, backwards: bool) -> list[Message]:
    # Tokens are exclusive ("after this index"), the anchor inclusive: start one beyond it.
    order, after = ("desc", anchor + 1) if backwards else ("asc", anchor - 1)
    token = engine_page_token(sid, order, after)
    page = next(client.message_pages(sid, order=order, page_size=page_size, page_token=token))
    return page.items[::-1] if backwards else page.items


def _scan(client: Client, sid: str, page_size: int, anchor: int, last: int,
          backwards: bool) -> list[Message]:
    """Page from the nearer end. Indexes are gapless but for deletions, so an index is
    (about) a position: `anchor` messages lie before it, `last - anchor` after it."""
    before, after = anchor, last - anchor
    from_start = (before + 1 < after + page_size) if backwards else (before + page_size < after + 1)

    def stream(order: str) -> Iterator[Message]:
        return client.list_messages(sid, order=order, page_size=SCAN_PAGE)

    if backwards:
        if from_start:
            return list(_tail(takewhile(lambda m: m.index <= anchor, stream("asc")), page_size))
        newest_first = islice((m for m in stream("desc") if m.index <= anchor), page_size)
        return list(newest_first)[::-1]
    if from_start:
        return list(islice((m for m in stream("asc") if m.index >= anchor), page_size))
    newest_first = _tail(takewhile(lambda m: m.index >= anchor, stream("desc")), page_size)
    return list(newest_first)[::-1]


def _tail(items: Iterable[Message], n: int) -> deque[Message]:
    return deque(items, maxlen=n)


def read_all(client: Client, conversation_sid: str) -> Iterator[Message]:
    """The whole history, oldest first, streamed page by page."""
    return iterate_items(read_all_pages(client, conversation_sid))


def read_all_pages(client: Client, conversation_sid: str) -> Iterator[Page[Message]]:
    """The same, a page at a time (for a progress count)."""
    return client.message_pages(conversation_sid, order="asc", page_size=SCAN_PAGE)


def read_all_lines(client: Client, conversation_sid: str) -> Iterator[list[str]] | None:
    """The whole history as the lines `--json` writes (each message's JSON as json.dumps
    writes it), a page at a time, when the transport can render them itself (the in-process
    engine: engine/export.py); None otherwise, and the caller pages through `read_all`."""
    render = getattr(client.transport, "message_lines", None)
    if render is None or client.service_sid is not None:
        return None  # (a named service's messages carry its SID: paged, as served)
    return render(conversation_sid)


def message_at(client: Client, conversation_sid: str, index: int) -> Message | None:
    """The message with this index, or None when it was deleted (a gap). Seeks on a convo
    engine, pages on Twilio, as a window does; `AnchorError` past the last index."""
    window = read_window(client, conversation_sid, page_size=1, anchor=index, backwards=False)
    return window[0] if window and window[0].index == index else None
