"""Terminal rendering with Rich: tables, key/value records, and a chat-like history, each
fitted to the terminal's width as the terminal measures it (wide characters and emoji take
two cells): no line is ever longer than the width, so nothing wraps where convo did not.

Untrusted text goes into Rich only as `Text` objects built from `terminal_safe` strings,
never as markup: `[bold]` in a message body shows as typed, and escape sequences are
already visible escapes by then. The console has markup, emoji codes and highlighting off.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text

from convo_cli.api.models import Message
from convo_cli.render.chat import (PALETTE, PALETTE_16, PHONE_AUTHOR, SAME_GROUP, AuthorColours,
                                   author_label, author_style, local_time, minute, parse_time,
                                   relative_time)
from convo_cli.render.columns import GAP, Column, fit
from convo_cli.render.streams import IOStreams
from convo_cli.render.text import terminal_safe

Cell = str | int | None
INDENT = 2  # a message's text, and a record's value under its label, sit this far in
HANG = 4  # the lines a long line of a message wraps onto sit further in than its own lines
ELLIPSIS = "\u2026"
BULLET = "\u2022"  # starts every message: count the bullets, count the messages
TAB = 4
_SPACES = re.compile(r"\s+")


def safe(value: Cell) -> str:
    return "" if value is None else terminal_safe(str(value)).expandtabs(TAB)


def one_line(value: Cell) -> str:
    """A table cell: line breaks and tabs in a name become spaces, since a record keeps to
    one line."""
    return _SPACES.sub(" ", safe(value)).strip()


def shorten(text: str, width: int) -> str:
    """At most `width` cells: whole, or cut with `…` (no space before it, even where the
    cut falls in the middle of a wide character)."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(width - 1, 0)).rstrip() + ELLIPSIS


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
        # Kept across calls too: an author keeps their colour while a conversation is followed.
        self.colours = AuthorColours(PALETTE_16 if self.console.color_system == "standard"
                                     else PALETTE)

    @property
    def width(self) -> int:
        return max(self.console.width, 1)

    def _print(self, lines: Iterable[Text]) -> None:
        """Lines already fitted to the width, with no trailing spaces."""
        fitted = list(lines)
        for line in fitted:
            line.rstrip()
        self.console.print(Text("\n").join(fitted), overflow="ignore", crop=False)

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

    # One record

    def record(self, rows: Sequence[tuple[str, Cell]]) -> None:
        """Labels whole in a column of their own, each value folded under itself. When a
        value's words (a SID) would not fit beside the labels but would fit the width, every
        value goes under its label instead, so that a SID is never split over two lines."""
        shown = [(terminal_safe(label), safe(value)) for label, value in rows]
        if not shown:
            return
        label_width = max(cell_len(label) for label, _ in shown)
        beside = self.width - label_width - GAP
        words = [cell_len(w) for _, value in shown for w in value.split()]
        needed = max([w for w in words if w <= self.width - INDENT], default=0)
        lines: list[Text] = []
        if beside >= max(needed, 12):
            pad = " " * (label_width + GAP)
            for label, value in shown:
                folded = self._wrap(value, beside) or [""]
                padding = " " * (label_width + GAP - cell_len(label))
                lines.append(Text(label, style="bold") + Text(padding + folded[0]))
                lines += [Text(pad + line) for line in folded[1:]]
        else:
            for label, value in shown:
                lines.append(Text(label, style="bold"))
                lines += [Text(" " * INDENT + line) for line in
                          self._wrap(value, self.width - INDENT)]
        self._print(lines)

    def _wrap(self, text: str, width: int) -> list[str]:
        """Lines of at most `width` cells: at spaces where it can, folding a longer word."""
        return [line.plain.rstrip() for line in
                Text(text).wrap(self.console, max(width, 1), overflow="fold")]

    # A table

    def table(self, headers: Sequence[str | Column], rows: Iterable[Sequence[Cell]], *,
              empty: str, wrap: Sequence[int] = ()) -> None:
        """One line per record at any width (see `columns.fit`). Plain string headers are
        columns of decreasing priority, left to right, and the `wrap` ones are free text
        that may be shortened."""
        count = len(headers)
        columns = [h if isinstance(h, Column) else
                   Column(h, priority=count - n, shrink=n in wrap)
                   for n, h in enumerate(headers)]
        cells = [[one_line(cell) for cell in row] for row in rows]
        if not cells:
            self.io.info(empty)
            return
        layout = fit(columns, cells, self.width)
        lines = [self._line([columns[i].header for i, _ in layout], layout, style="bold")]
        lines += [self._line([row[i] for i, _ in layout], layout) for row in cells]
        self._print(lines)

    def table_row(self, columns: Sequence[Column], row: Sequence[Cell], *,
                  like: Sequence[Sequence[Cell]] = ()) -> None:
        """One more record of a table already printed (a followed listing), laid out with
        the records `like` it (the last ones shown), so that its columns stay in place."""
        cells = [one_line(cell) for cell in row]
        layout = fit(columns, [[one_line(cell) for cell in r] for r in like] or [cells],
                     self.width)
        self._print([self._line([cells[i] for i, _ in layout], layout)])

    @staticmethod
    def _line(cells: Sequence[str], layout: Sequence[tuple[int, int]], style: str = "") -> Text:
        line = Text(style=style)
        for n, (cell, (_, width)) in enumerate(zip(cells, layout, strict=True)):
            text = Text(shorten(cell, width))
            if n < len(layout) - 1:  # no trailing spaces after the last column
                text.pad_right(width - cell_len(text.plain) + GAP)
            line.append_text(text)
        line.rstrip()
        return line

    # A chat

    def chat(self, messages: Iterable[Message], *, me: str | None = None,
             empty: str | None = None, long: bool = False) -> None:
        """Oldest first, as a chat reads: a heading (author, time) over each run of one
        author's messages, then each message starting with a bullet; its own line breaks
        line up under its first line, and the lines a long line wraps onto sit further in.
        `long`: each message under a heading of its own with its index and absolute time.
        Printed message by message, so a long `--all` history and `--follow` stream."""
        count = 0
        for m in messages:
            self._print(self._long_lines(m, me) if long else self._chat_lines(m, me))
            count += 1
        if count == 0 and empty:
            self.io.info(empty)

    def _chat_lines(self, m: Message, me: str | None) -> list[Text]:
        lines = []
        moment, heading = parse_time(m.date_created), self._heading
        if (heading is None or moment is None or heading[0] != m.author
                or moment - heading[1] > SAME_GROUP):
            lines.append(self._heading_line(m, me, [relative_time(m.date_created,
                                                                  self.clock())]))
            self._heading = None if moment is None else (m.author, moment)
        bullet = Text(BULLET + " " * (INDENT - 1), style=self._style(m.author, me))
        return lines + self._body(m, bullet)

    def _long_lines(self, m: Message, me: str | None) -> list[Text]:
        self._heading = None  # each message has its own heading
        return [self._heading_line(m, me, [self.when(m.date_created) or ""], index=m.index),
                *self._body(m, Text(" " * INDENT))]

    def _style(self, author: str | None, me: str | None) -> str:
        return author_style(author, me, self.colours)

    def _heading_line(self, m: Message, me: str | None, after: list[str],
                      index: int | None = None) -> Text:
        """`[#index  ]author  time`, the author shortened with `…` to keep to one line."""
        lead = Text(f"#{index}" + " " * GAP, style="bold") if index is not None else Text()
        tail = Text(" " * GAP + "  ".join(after), style="dim")
        room = self.width - cell_len(lead.plain) - cell_len(tail.plain)
        label = terminal_safe(author_label(m.author, me))
        phone = PHONE_AUTHOR.fullmatch(m.author or "")
        if cell_len(label) > room and phone and label != "you":
            label = phone.group(2)  # the number, whole, rather than "+1555… (SMS)" cut
        label = shorten(label, max(room, 1))
        return Text.assemble(lead, Text(label, style=self._style(m.author, me)), tail)

    def _body(self, m: Message, first: Text) -> list[Text]:
        from convo_cli.render.output import message_text

        lines = []
        for number, text in enumerate(safe(message_text(m)).split("\n")):
            lead = first if number == 0 else Text(" " * INDENT)
            wrapped = self._wrap(text, self.width - INDENT) if text else [""]
            lines.append(lead + Text(wrapped[0]) if wrapped[0] or number == 0 else Text(""))
            rest = text[len(wrapped[0]):].strip(" ") if len(wrapped) > 1 else ""
            lines += [Text(" " * HANG + line) for line in self._wrap(rest, self.width - HANG)
                      if rest]
        return lines
