"""Typed records over the REST resources. Each keeps the raw JSON dict for `--json`, so the
command line prints the resource exactly as the service returned it.

NamedTuples rather than frozen dataclasses: as immutable and typed, and a fifth of the
cost to define (a dataclass execs generated code: ~1.5 ms each on every start-up)."""

from __future__ import annotations

from typing import Any, NamedTuple

Raw = dict[str, Any]


def _str(raw: Raw, name: str) -> str | None:
    value = raw.get(name)
    # Nearly always a string already: no str() call then (100,000 messages make 500,000).
    return value if value is None or value.__class__ is str else str(value)


class Conversation(NamedTuple):
    sid: str
    unique_name: str | None
    friendly_name: str | None
    state: str | None
    attributes: str | None
    date_created: str | None
    raw: Raw

    @classmethod
    def from_json(cls, raw: Raw) -> Conversation:
        return cls(str(raw["sid"]), _str(raw, "unique_name"), _str(raw, "friendly_name"),
                   _str(raw, "state"), _str(raw, "attributes"), _str(raw, "date_created"), raw)


class Participant(NamedTuple):
    sid: str
    conversation_sid: str | None
    identity: str | None
    address: str | None  # non-chat participants: the person's number
    proxy_address: str | None  # the service's number they talk to
    attributes: str | None
    date_created: str | None
    raw: Raw

    @classmethod
    def from_json(cls, raw: Raw) -> Participant:
        binding = raw.get("messaging_binding") or {}
        return cls(str(raw["sid"]), _str(raw, "conversation_sid"), _str(raw, "identity"),
                   _str(binding, "address"), _str(binding, "proxy_address"),
                   _str(raw, "attributes"), _str(raw, "date_created"), raw)


class Message(NamedTuple):
    sid: str
    conversation_sid: str | None
    index: int
    author: str | None
    body: str | None
    has_media: bool
    attributes: str | None
    date_created: str | None
    raw: Raw

    @classmethod
    def from_json(cls, raw: Raw) -> Message:
        return cls(str(raw["sid"]), _str(raw, "conversation_sid"), int(raw["index"]),
                   _str(raw, "author"), _str(raw, "body"), bool(raw.get("media")),
                   _str(raw, "attributes"), _str(raw, "date_created"), raw)


class ParticipantConversation(NamedTuple):
    conversation_sid: str
    conversation_unique_name: str | None
    conversation_friendly_name: str | None
    conversation_state: str | None
    conversation_date_created: str | None
    participant_sid: str | None
    participant_identity: str | None
    raw: Raw

    @classmethod
    def from_json(cls, raw: Raw) -> ParticipantConversation:
        return cls(str(raw["conversation_sid"]), _str(raw, "conversation_unique_name"),
                   _str(raw, "conversation_friendly_name"), _str(raw, "conversation_state"),
                   _str(raw, "conversation_date_created"), _str(raw, "participant_sid"),
                   _str(raw, "participant_identity"), raw)


class User(NamedTuple):
    sid: str
    identity: str
    friendly_name: str | None
    attributes: str | None
    date_created: str | None
    raw: Raw

    @classmethod
    def from_json(cls, raw: Raw) -> User:
        return cls(str(raw["sid"]), str(raw["identity"]), _str(raw, "friendly_name"),
                   _str(raw, "attributes"), _str(raw, "date_created"), raw)


class UserConversation(NamedTuple):
    """A user's view of a conversation it takes part in: its read horizon and unread count."""

    conversation_sid: str
    unique_name: str | None
    friendly_name: str | None
    conversation_state: str | None
    participant_sid: str | None
    last_read_message_index: int | None
    unread_messages_count: int | None
    date_created: str | None
    date_updated: str | None
    raw: Raw

    @classmethod
    def from_json(cls, raw: Raw) -> UserConversation:
        return cls(str(raw["conversation_sid"]), _str(raw, "unique_name"),
                   _str(raw, "friendly_name"), _str(raw, "conversation_state"),
                   _str(raw, "participant_sid"), _int(raw, "last_read_message_index"),
                   _int(raw, "unread_messages_count"), _str(raw, "date_created"),
                   _str(raw, "date_updated"), raw)


def _int(raw: Raw, name: str) -> int | None:
    value = raw.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
