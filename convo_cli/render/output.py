"""What a command prints, in the mode standard output calls for:

- `--json`: the REST resource exactly as the service returned it; an object for one, an
  array for a list, written item by item (a long history is never held in memory);
- piped: one untruncated tab-separated line per record, ISO-8601 times, no colour, no header;
- a terminal: Rich tables and a chat-like history (see `terminal`; Rich is imported only there,
  so pipes and `--json` never pay for it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from convo_cli.api.models import Conversation, Message, Participant, ParticipantConversation
from convo_cli.api.paging import Page, iterate_items
from convo_cli.render.columns import Column
from convo_cli.render.streams import IOStreams
from convo_cli.render.text import tsv_line

if TYPE_CHECKING:
    from convo_cli.api.inbox import InboxEntry

MEDIA = "[media]"  # a message with media and no body
# The tables' columns, most important first: as the terminal narrows, names are shortened
# with `…`, then dates, states and names are dropped; the SID goes last, and is never cut.
CONVERSATION_COLUMNS = (
    Column("SID", priority=10), Column("Unique name", priority=8, shrink=True, min_width=4),
    Column("Friendly name", priority=6, shrink=True, min_width=8), Column("State", priority=4),
    Column("Created", priority=2))
PARTICIPANT_COLUMNS = (
    Column("SID", priority=10), Column("Participant", priority=8, shrink=True, min_width=4),
    Column("Proxy address", priority=4), Column("Joined", priority=2))
T = TypeVar("T")


def message_text(message: Message) -> str:
    if message.body is None or (message.body == "" and message.has_media):
        return MEDIA if message.has_media else ""
    return message.body


class Output:
    def __init__(self, io: IOStreams, *, as_json: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.io, self.clock = io, clock  # the clock says how long ago a message was sent
        self.mode = "json" if as_json else ("terminal" if io.stdout_tty else "tsv")
        self._terminal: Any = None

    @property
    def terminal(self) -> Any:
        if self._terminal is None:
            from convo_cli.render.terminal import Terminal

            self._terminal = Terminal(self.io, clock=self.clock)
        return self._terminal

    def _write(self, text: str) -> None:
        self.io.stdout.write(text)

    # One resource

    def conversation(self, c: Conversation) -> None:
        if self.mode == "json":
            return self._json_object(c.raw)
        if self.mode == "tsv":
            return self._write(tsv_line(c.sid, c.unique_name, c.friendly_name, c.state,
                                        c.date_created))
        self.terminal.record([("SID", c.sid), ("Unique name", c.unique_name),
                              ("Friendly name", c.friendly_name), ("State", c.state),
                              ("Created", self.terminal.when(c.date_created)),
                              ("Attributes", c.attributes)])

    def participant(self, p: Participant) -> None:
        if self.mode == "json":
            return self._json_object(p.raw)
        if self.mode == "tsv":
            return self._write(_participant_line(p))
        rows = [("SID", p.sid), ("Conversation", p.conversation_sid)]
        if p.identity is not None:
            rows.append(("Identity", p.identity))
        else:
            rows += [("Address", p.address), ("Proxy address", p.proxy_address)]
        rows += [("Joined", self.terminal.when(p.date_created)), ("Attributes", p.attributes)]
        self.terminal.record(rows)

    def message(self, m: Message, *, me: str | None = None) -> None:
        if self.mode == "json":
            return self._json_object(m.raw)
        if self.mode == "tsv":
            return self._write(_message_line(m))
        self.terminal.chat([m], me=me)

    # Lists

    def participants(self, items: Iterable[Participant]) -> None:
        if self.mode == "json":
            return self._json_array(p.raw for p in items)
        if self.mode == "tsv":
            for p in items:
                self._write(_participant_line(p))
            return
        people = list(items)
        rows = [(p.sid, p.identity if p.identity is not None else p.address,
                 p.proxy_address, self.terminal.day(p.date_created)) for p in people]
        # An identity may be shortened, a phone number not ("whatsapp:+…" is no number): the
        # column keeps the longest address whole, or goes.
        who, *rest = PARTICIPANT_COLUMNS[1:]
        longest = max([len(p.address) for p in people if p.identity is None and p.address],
                      default=0)
        columns = (PARTICIPANT_COLUMNS[0], replace(who, min_width=max(who.min_width, longest)),
                   *rest)
        self.terminal.table(columns, rows, empty="No participants.")

    def conversations(self, items: Iterable[ParticipantConversation]) -> None:
        if self.mode == "json":
            return self._json_array(c.raw for c in items)
        if self.mode == "tsv":
            for c in items:
                self._write(tsv_line(c.conversation_sid, c.conversation_unique_name,
                                     c.conversation_friendly_name, c.conversation_state,
                                     c.conversation_date_created))
            return
        rows = [(c.conversation_sid, c.conversation_unique_name, c.conversation_friendly_name,
                 c.conversation_state, self.terminal.day(c.conversation_date_created))
                for c in items]
        self.terminal.table(CONVERSATION_COLUMNS, rows, empty="No conversations.")

    def inbox(self, items: Iterable[InboxEntry]) -> None:
        """`convo list`: the conversation columns, then the unread count (last, so that piped
        columns keep their place; empty where the service has no count)."""
        if self.mode == "json":
            raise ValueError("an inbox has no JSON form of its own: print the records instead")
        if self.mode == "tsv":
            for e in items:
                self._write(tsv_line(e.conversation_sid, e.unique_name, e.friendly_name, e.state,
                                     e.date_created, e.unread_messages_count))
            return
        rows = [(e.conversation_sid, e.unique_name, e.friendly_name, e.state,
                 self.terminal.day(e.date_created), e.unread_messages_count) for e in items]
        self.terminal.table((*CONVERSATION_COLUMNS, Column("Unread", priority=7)), rows,
                            empty="No conversations.")

    def messages(self, items: Iterable[Message], *, me: str | None = None,
                 long: bool = False) -> None:
        """`long`: on a terminal, each message's index and absolute time (piped lines and
        JSON always carry both)."""
        if self.mode == "json":
            return self._json_array(m.raw for m in items)
        if self.mode == "tsv":
            for m in items:
                self._write(_message_line(m))
            return
        self.terminal.chat(items, me=me, empty="No messages.", long=long)

    # convo's own records (profiles, whoami): plain dicts rather than REST resources

    def fields(self, record: dict[str, Any]) -> None:
        """One record: `key<TAB>value` lines when piped, a key/value table on a terminal."""
        if self.mode == "json":
            return self._json_object(record)
        shown = [(key, _plain(value)) for key, value in record.items() if value is not None]
        if self.mode == "tsv":
            for key, value in shown:
                self._write(tsv_line(key, value))
            return
        # On a terminal: labels as words, and times in local time to the minute.
        self.terminal.record([(_label(key), self.terminal.when(value) if key.startswith("date_")
                               else value) for key, value in shown])

    def records(self, headers: list[str], records: list[dict[str, Any]], *, empty: str) -> None:
        """Several records, the columns named by `headers` (keys of each record)."""
        if self.mode == "json":
            return self._json_array(records)
        rows = [[_plain(r.get(h)) for h in headers] for r in records]
        if self.mode == "tsv":
            for row in rows:
                self._write(tsv_line(*row))
            return
        # The first column (a mark, a name) matters most, then left to right; any text but a
        # SID may be shortened.
        columns = [Column(h.replace("_", " ").capitalize(), priority=len(headers) - n,
                          shrink=n > 0 and not h.endswith("sid"))
                   for n, h in enumerate(headers)]
        self.terminal.table(columns, rows, empty=empty)

    def message_stream(self, items: Iterable[Message], *, me: str | None = None,
                       long: bool = False) -> None:
        """Messages as they come, for as long as they come (`--follow`): each is written and
        flushed at once, for a pipe's reader too; as JSON, one object a line."""
        for m in items:
            if self.mode == "json":
                self._write(json.dumps(m.raw) + "\n")
            elif self.mode == "tsv":
                self._write(_message_line(m))
            else:
                self.terminal.chat([m], me=me, long=long)
            self.io.stdout.flush()

    def progress(self, pages: Iterator[Page[T]], label: str) -> Iterator[T]:
        """The items of a listing read page by page, counted on standard error while the
        next page loads, when both standard output and error are a terminal (not piped,
        not `--json`)."""
        if self.mode != "terminal" or not self.io.stderr_tty:
            return iterate_items(pages)
        from convo_cli.render.progress import counted

        return counted(pages, self.io.stderr, label)

    def json_lines(self, pages: Iterable[list[str]]) -> None:
        """A JSON array of items already encoded, each as `json.dumps` writes it, in pages:
        the same text `_json_array` writes for their objects, a page per write."""
        started = False
        for lines in pages:
            if not lines:
                continue
            self._write(("[\n" if not started else ",\n") + ",\n".join(lines))
            self.io.stdout.flush()
            started = True
        self._write("\n]\n" if started else "[]\n")

    # JSON

    def _json_object(self, raw: dict[str, Any]) -> None:
        self._write(json.dumps(raw, indent=2) + "\n")

    def _json_array(self, raws: Iterable[dict[str, Any]]) -> None:
        """Streamed: `[` is written once the first item is in hand (an error before it leaves
        standard output empty), then one item a line. An error midway leaves the array
        unclosed, and the exit code says the listing failed."""
        items: Iterator[dict[str, Any]] = iter(raws)
        first = next(items, None)
        if first is None:
            return self._write("[]\n")
        # On a terminal each item shows as it comes; piped, they go out a page (100) at a
        # time: a reader still sees the listing stream, without a write and a flush per item
        # (a tenth of the cost of `--all --json`).
        batch = 1 if self.io.stdout_tty else 100
        encode = json.dumps
        chunk = ["[\n" + encode(first)]
        for raw in items:
            chunk.append(encode(raw))
            if len(chunk) >= batch:
                self._write(",\n".join(chunk))
                self.io.stdout.flush()
                chunk = [""]  # the next batch starts after a `,\n`
        self._write(",\n".join(chunk) + "\n]\n")


_ACRONYMS = {"sid": "SID", "url": "URL", "json": "JSON"}


def _label(key: str) -> str:
    """`date_created` -> `Date created`, `account_sid` -> `Account SID`."""
    words = [_ACRONYMS.get(word, word) for word in key.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _plain(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _participant_line(p: Participant) -> str:
    return tsv_line(p.sid, p.identity, p.address, p.proxy_address, p.date_created)


def _message_line(m: Message) -> str:
    return tsv_line(m.index, m.date_created, m.author, message_text(m))
