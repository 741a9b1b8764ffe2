"""Terminal rendering with Rich: tables, key/value records, and a chat-like history.

Untrusted text goes into Rich only as `Text` objects built from `terminal_safe` strings,
never as markup: `[bold]` in a message body shows as typed, and escape sequences are
already visible escapes by then. The console has markup, emoji codes and highlighting off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from convo_cli.api.models import Message
from convo_cli.render.chat import (SAME_GROUP, author_label, author_style, local_time, minute,
                                   parse_time, relative_time)
from convo_cli.render.streams import IOStreams
from convo_cli.render.text import one_line, terminal_safe

Cell = str | int | None
INDENT = 2  # a message body sits under its heading


def safe(value: Cell) -> Text:
    return Text("" if value is None else terminal_safe(str(value)))


class Terminal:
    def __init__(self, io: IOStreams, *, clock: Callable[[], float] = time.time) -> None:
        self.io, self.clock = io, clock
        # The author and time of the last chat heading: kept across calls, so that a followed
        # conversation gets a new heading only when the author changes or time has passed.
        self._heading: tuple[str | None, float] | None = None
        self.console = Console(
            file=io.stdout, force_terminal=True, no_color=not io.color,
            color_system="auto" if io.color else None, width=io.width,
            markup=False, emoji=False, highlight=False, soft_wrap=False,
        )

    @staticmethod
    def when(iso: str | None) -> str | None:
        """`2026-11-23T10:00:00Z` in local time, to the minute; unparsable text as it came
        (made safe: it is the service's)."""
        moment = parse_time(iso)
        if moment is None:
            return None if iso is None else one_line(iso)
        return minute(local_time(moment))

    def day(self, iso: str | None) -> str | None:
        """A table's time, short: "5 min ago", "today 14:03", "yesterday 09:12", then the
        date alone (the whole record shows the minute)."""
        if parse_time(iso) is None:
            return None if iso is None else one_line(iso)
        text = relative_time(iso, self.clock())
        return text[:10] if text[:1].isdigit() else text

    def record(self, rows: Sequence[tuple[str, Cell]]) -> None:
        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in rows:
            table.add_row(Text(label), safe(value))
        self.console.print(table)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, empty: str,
              wrap: Sequence[int] = ()) -> None:
        """Only the `wrap` columns (free text: names) fold when the width is short; SIDs,
        numbers, states and times stay whole on one line, so they can be read and copied."""
        table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
        for number, header in enumerate(headers):
            table.add_column(header, overflow="fold", no_wrap=number not in wrap)
        count = 0
        for row in rows:
            table.add_row(*(safe(cell) for cell in row))
            count += 1
        if count == 0:
            self.io.info(empty)
            return
        self.console.print(table)

    def chat(self, messages: Iterable[Message], *, me: str | None = None,
             empty: str | None = None) -> None:
        """Oldest first, as a chat reads: a heading (author, time) over each run of one
        author's messages, each body wrapped to the width and indented under it. Printed
        message by message, so a long `--all` history and `--follow` stream."""
        count = 0
        for m in messages:
            self.console.print(Text("\n").join(self._chat_lines(m, me)))
            count += 1
        if count == 0 and empty:
            self.io.info(empty)

    def _chat_lines(self, m: Message, me: str | None) -> list[Text]:
        from convo_cli.render.output import message_text

        lines = []
        moment, heading = parse_time(m.date_created), self._heading
        if (heading is None or moment is None or heading[0] != m.author
                or moment - heading[1] > SAME_GROUP):
            lines.append(Text.assemble(
                (terminal_safe(author_label(m.author, me)), author_style(m.author, me)),
                ("  " + relative_time(m.date_created, self.clock()), "dim")))
            self._heading = None if moment is None else (m.author, moment)
        body = Text(terminal_safe(message_text(m)))
        for line in body.wrap(self.console, max(self.console.width - INDENT, 1)):
            line.rstrip()
            lines.append(Text(" " * INDENT) + line if line.plain else line)
        return lines
