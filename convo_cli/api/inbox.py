"""Your inbox: the conversations you take part in, how much of each you have not read, most
recent activity first; and your read horizon, which reading moves forward.

The counts and horizons are the service's: the User Conversations resource
(`/v1/Users/{identity}/Conversations`, `unread_messages_count` and `last_read_message_index`),
which the Conversations SDK's getUnreadMessagesCount() reads too. Twilio leaves the count null
until a horizon has been set; a convo engine counts every message then (README: "Unread
counts"). An entry keeps None where the service gave none.

"Last activity" is the newest message's time, or the conversation's `date_updated` when that is
later (created or renamed since). Twilio does not move a conversation's `date_updated` when a
message arrives (its own demo app orders by `lastMessage.dateCreated || dateUpdated`), and the
convo engine matches it, so the newest message is asked for: `Order=desc&PageSize=1`, one small
request per conversation (several in flight at once over the network), besides one per 50
conversations for the list itself. The cost does not grow with the histories.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError, TransportError
from convo_cli.api.models import Message, Participant, UserConversation

USER_CONVERSATIONS_PAGE = 50  # the most the User Conversations list returns per page


class InboxEntry(NamedTuple):
    conversation_sid: str
    unique_name: str | None
    friendly_name: str | None
    state: str | None
    participant_sid: str | None
    unread_messages_count: int | None  # None: the service has no count (Twilio, never read)
    last_read_message_index: int | None  # None: no horizon set
    last_message_index: int | None  # None: no messages
    last_activity: str | None  # ISO 8601, as the service writes times
    date_created: str | None

    @property
    def name(self) -> str:
        return self.friendly_name or self.unique_name or self.conversation_sid


def inbox(client: Client, identity: str) -> list[InboxEntry]:
    """Every conversation `identity` takes part in, most recent activity first."""
    try:
        conversations = list(client.list_user_conversations(
            identity, page_size=USER_CONVERSATIONS_PAGE))
    except ApiError as error:
        if error.status == 404:  # no User with that identity yet: in no conversation
            return []
        raise
    newest = _newest_messages(client, [c.conversation_sid for c in conversations])
    entries = [_entry(c, message) for c, message in zip(conversations, newest)
               if message is not _GONE]
    entries.sort(key=lambda e: (e.last_activity or "", e.date_created or "", e.conversation_sid),
                 reverse=True)
    return entries


_GONE: Any = object()  # a conversation deleted since the list was read
NETWORK_WORKERS = 8  # requests in flight at once to a server (Twilio answers each in ~0.1 s)


def _newest_messages(client: Client, sids: list[str]) -> list[Message | None]:
    """The newest message of each conversation (None: it has none), in the order given.
    Over the network a few at a time, so that 50 conversations cost a few round trips of
    waiting rather than 50; in-process one after the other (each is a fraction of a ms,
    and the engine's connection is not shared between threads)."""

    def newest(sid: str) -> Message | None:
        try:
            items = next(client.message_pages(sid, order="desc", page_size=1)).items
        except ApiError as error:
            if error.status == 404:
                return _GONE  # type: ignore[no-any-return]
            raise
        return items[0] if items else None

    if len(sids) < 2 or client.transport.base_url.startswith("convo://"):
        return [newest(sid) for sid in sids]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(NETWORK_WORKERS, len(sids))) as pool:
        return list(pool.map(newest, sids))


def _entry(c: UserConversation, newest: Message | None) -> InboxEntry:
    # Times are all `YYYY-MM-DDTHH:MM:SSZ` (Twilio's and the engine's): they sort as text.
    times = [t for t in (newest.date_created if newest else None, c.date_updated, c.date_created)
             if t]
    return InboxEntry(c.conversation_sid, c.unique_name, c.friendly_name, c.conversation_state,
                      c.participant_sid, c.unread_messages_count, c.last_read_message_index,
                      newest.index if newest else None, max(times) if times else None,
                      c.date_created)


class ReadHorizon:
    """Your read horizon in one conversation, only ever moved forward (the SDK's
    advanceLastReadMessageIndex). The first `advance` asks where it stands (one request); an
    advance that moves it sends one update, one that would not sends nothing. A reader that is
    not a participant has no horizon: `advance` then does nothing and returns None.

    What it knows is what it last saw or wrote: a long-lived reader (`--follow`, `chat`) does
    not ask again, since it is the one seeing the newest messages."""

    def __init__(self, client: Client, conversation_sid: str, identity: str) -> None:
        self.client, self.conversation_sid, self.identity = client, conversation_sid, identity
        self.index: int | None = None
        self._participant_sid: str | None = None
        self._loaded = False

    def advance(self, index: int) -> int | None:
        if not self._loaded:
            self._load()
        if self._participant_sid is None:
            return None
        if self.index is not None and self.index >= index:
            return self.index
        try:
            self.client.update_participant(self.conversation_sid, self._participant_sid,
                                           last_read_message_index=index)
        except ApiError as error:
            if error.status == 404:  # left, or removed, meanwhile
                self._participant_sid = None
                return None
            raise
        self.index = index
        return index

    def _load(self) -> None:
        try:
            mine = self.client.fetch_user_conversation(self.identity, self.conversation_sid)
        except ApiError as error:
            if error.status != 404:
                raise
        else:
            self._participant_sid, self.index = mine.participant_sid, mine.last_read_message_index
        self._loaded = True


def mark_read(client: Client, conversation_sid: str, identity: str, index: int) -> int | None:
    """Advance `identity`'s horizon in the conversation to `index`, never back: the horizon
    after the call, or None when `identity` is not a participant."""
    return ReadHorizon(client, conversation_sid, identity).advance(index)


def read_own(client: Client, me: Participant, index: int) -> int | None:
    """After participant `me` (as fetched just before sending) wrote message `index`: when
    nothing else was unread, move the horizon onto it, so that your own message does not make
    a conversation unread, and nothing you have not seen is marked read (Twilio's demo app
    moves the horizon to each message it sends; a command line has not necessarily shown
    what came before). One request at most; the horizon after, or None when left alone."""
    horizon = me.raw.get("last_read_message_index")
    up_to_date = index == 0 if horizon is None else horizon == index - 1
    if not up_to_date or me.conversation_sid is None:
        return None
    client.update_participant(me.conversation_sid, me.sid, last_read_message_index=index)
    return index


class Shown:
    """Messages on their way to the screen: once the last of `items` has been handed out (and
    so shown, by the time the reader asks for another), `newest` is the highest index among
    them. It looks one message ahead to know which one is the last."""

    def __init__(self, items: Iterable[Message]) -> None:
        self.items = items
        self.newest: int | None = None
        self.done = False

    def __iter__(self) -> Iterator[Message]:
        ahead = iter(self.items)
        previous = next(ahead, None)
        if previous is None:
            self.done = True
            return
        newest = previous.index
        for message in ahead:
            yield previous
            previous, newest = message, max(newest, message.index)
        self.newest, self.done = newest, True
        yield previous


def read_as_shown(items: Iterable[Message], history: Shown, horizon: ReadHorizon, *,
                  on_error: Callable[[Exception], None] | None = None) -> Iterator[Message]:
    """`items` (the history, then any live messages), advancing the horizon once the history
    has been shown, and after each message shown from then on. With `on_error`, a failure to
    move the horizon goes there, once, and the horizon is left alone from then on; the
    messages keep coming."""
    failed = False
    for message in items:
        yield message
        if history.done and not failed:
            try:
                horizon.advance(max(message.index, history.newest or 0))
            except (ApiError, TransportError) as error:
                if on_error is None:
                    raise
                on_error(error)
                failed = True
