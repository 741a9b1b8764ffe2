"""PROVISIONAL (branch `chat`): the smallest inbox `convo chat` needs, until the unread work
lands its own `convo_cli/api/inbox.py`, which replaces this file whole. `convo chat` uses
only the two names below and the fields of InboxEntry.

Your conversations, most recent activity first, with your unread count and read horizon
(the Conversations SDK's getUnreadMessagesCount and lastReadMessageIndex), from the
service's User Conversations resource; and advancing your read horizon.
"""

from __future__ import annotations

from typing import NamedTuple

from convo_cli.api.client import Client


class InboxEntry(NamedTuple):
    conversation_sid: str
    unique_name: str | None
    friendly_name: str | None
    state: str | None
    unread_count: int | None  # None: the service does not know
    last_read_message_index: int | None
    last_activity: str | None  # ISO-8601


def inbox(client: Client, identity: str) -> list[InboxEntry]:
    entries = [InboxEntry(c.conversation_sid, c.unique_name, c.friendly_name,
                          c.conversation_state, c.unread_messages_count,
                          c.last_read_message_index, c.date_updated or c.date_created)
               for c in client.list_user_conversations(identity)]
    # ISO-8601 UTC strings sort as times; newest first.
    return sorted(entries, key=lambda e: e.last_activity or "", reverse=True)


def mark_read(client: Client, conversation_sid: str, identity: str, index: int) -> None:
    """Advance `identity`'s read horizon to `index`; never move it backwards."""
    participant = client.fetch_participant(conversation_sid, identity)
    current = participant.raw.get("last_read_message_index")
    if isinstance(current, int) and current >= index:
        return
    client.update_participant(conversation_sid, participant.sid, last_read_message_index=index)
