"""Watching one conversation live, for `convo chat`: the SDK's messageAdded, messageUpdated,
messageRemoved, participantJoined, participantLeft and conversationUpdated, from the REST API
alone (there is no push channel in it), so the same code serves the built-in engine, a
`convo serve` and Twilio.

One `poll()` is a round of requests and returns what changed since the last one:
- new messages: `follow.newer_messages`, the same poll as `messages --follow`;
and, at most every SLOW_EVERY seconds:
- edits and deletions among the latest RECENT messages: one page of them, compared with
  what was seen (older edits are not watched: they would cost a page each);
- joins and leaves: the participant list, compared by SID;
- a rename or a state change (closed, inactive): the conversation itself.

The wait between polls is `messages --follow`'s (`follow.next_delay`): quick while things
happen, slower when quiet. No threads and no timers here: the caller sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple, Union

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError
from convo_cli.api.follow import FIRST_DELAY, QUIET_MAX, ConversationDeleted, newer_messages, \
    next_delay
from convo_cli.api.models import Conversation, Message, Participant

RECENT = 50  # the latest messages watched for edits and deletions
# New messages are looked for on every poll; edits, members and the conversation itself (three
# more requests) at most this often, so that a busy conversation does not triple the load
# on the service (Twilio's rate limits).
SLOW_EVERY = 1.5  # seconds


class Added(NamedTuple):
    message: Message


class Edited(NamedTuple):
    message: Message


class Removed(NamedTuple):
    index: int


class Joined(NamedTuple):
    participant: Participant


class Left(NamedTuple):
    participant: Participant


class Renamed(NamedTuple):
    conversation: Conversation


class StateChanged(NamedTuple):
    conversation: Conversation


Event = Union[Added, Edited, Removed, Joined, Left, Renamed, StateChanged]


class Watch:
    def __init__(self, client: Client, conversation: Conversation, history: list[Message],
                 participants: list[Participant], *,
                 clock: Callable[[], float] = time.monotonic,
                 slow_every: float = SLOW_EVERY) -> None:
        self.client, self.conversation, self.clock = client, conversation, clock
        self.slow_every, self._checked_at = slow_every, clock()
        self.last = max((m.index for m in history), default=-1)
        self.recent = {m.index: m for m in history[-RECENT:]}
        self.participants = {p.sid: p for p in participants}
        self.delay, self._active_at = FIRST_DELAY, clock()

    @classmethod
    def start(cls, client: Client, conversation: Conversation, history: list[Message],
              **options: Any) -> Watch:
        return cls(client, conversation, history,
                   list(client.list_participants(conversation.sid)), **options)

    @property
    def sid(self) -> str:
        return self.conversation.sid

    def poll(self) -> list[Event]:
        """One round; sets `delay`, the wait before the next. Raises ConversationDeleted
        when the conversation is gone, ApiError or TransportError when the service fails."""
        try:
            events = self._new_messages()
            if self.clock() - self._checked_at >= self.slow_every:
                events += self._recent_messages() + self._members() + self._conversation()
                self._checked_at = self.clock()
        except ApiError as error:
            if error.status == 404:
                raise ConversationDeleted(self.sid) from error
            raise
        if events:
            self.delay, self._active_at = FIRST_DELAY, self.clock()
        else:
            self.delay = next_delay(self.delay, self.clock() - self._active_at)
        return events

    def failed(self) -> None:
        """After a failed poll: wait as long as a quiet conversation does."""
        self.delay = QUIET_MAX

    def _new_messages(self) -> list[Event]:
        events: list[Event] = []
        for message in newer_messages(self.client, self.sid, self.last):
            events.append(Added(message))
            self.recent[message.index] = message
            self.last = message.index
        return events

    def _recent_messages(self) -> list[Event]:
        events: list[Event] = []
        page = next(self.client.message_pages(self.sid, order="desc", page_size=RECENT)).items
        now = {m.index: m for m in page if m.index <= self.last}  # later ones: the next poll
        # A full page covers indexes from its oldest up; a short one, the whole history.
        floor = page[-1].index if len(page) == RECENT else -1
        for index in sorted(self.recent):
            seen = self.recent[index]
            if index < floor:
                del self.recent[index]
            elif index not in now:
                events.append(Removed(index))
                del self.recent[index]
            elif _changed(seen, now[index]):
                events.append(Edited(now[index]))
                self.recent[index] = now[index]
        return events

    def _members(self) -> list[Event]:
        current = {p.sid: p for p in self.client.list_participants(self.sid)}
        events: list[Event] = [Joined(p) for sid, p in current.items()
                               if sid not in self.participants]
        events += [Left(p) for sid, p in self.participants.items() if sid not in current]
        self.participants = current
        return events

    def _conversation(self) -> list[Event]:
        before, after = self.conversation, self.client.fetch_conversation(self.sid)
        self.conversation = after
        events: list[Event] = []
        if (before.friendly_name, before.unique_name) != (after.friendly_name, after.unique_name):
            events.append(Renamed(after))
        if before.state != after.state:
            events.append(StateChanged(after))
        return events


def _changed(before: Message, after: Message) -> bool:
    return ((before.body, before.attributes, before.has_media, before.raw.get("date_updated"))
            != (after.body, after.attributes, after.has_media, after.raw.get("date_updated")))
