"""Terminal rendering with Rich: tables, key/value records, and a chat-like history.

Untrusted text goes into Rich only as `Text` objects built from `terminal_safe` strings,
never as markup: `[bold]` in a message body shows as typed, and escape sequences are
already visible escapes by then. The console has markup, emoji codes and highlighting off.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from convo_cli.api.models import Message
from convo_cli.render.streams import IOStreams
from convo_cli.render.text import terminal_safe

Cell = str | int | None


def safe(value: Cell) -> Text:
    return Text("" if value is None else terminal_safe(str(value)))


class Terminal:
    def __init__(self, io: IOStreams) -> None:
        self.io = io
        self.console = Console(
            file=io.stdout, force_terminal=True, no_color=not io.color,
            color_system="auto" if io.color else None, width=io.width,
            markup=False, emoji=False, highlight=False, soft_wrap=False,
        )

    @staticmethod
    def when(iso: str | None) -> str | None:
        """`2026-11-23T10:00:00Z` in local time, to the minute; unparsable text as it came."""
        if not iso:
            return iso
        try:
            moment = calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return iso
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))

    def record(self, rows: Sequence[tuple[str, Cell]]) -> None:
        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in rows:
            table.add_row(Text(label), safe(value))
        self.console.print(table)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, empty: str) -> None:
        table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), header_style="bold")
        for number, header in enumerate(headers):
            # The first column is a SID: whole, so it can be copied.
            table.add_column(header, overflow="fold", no_wrap=number == 0)
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
        """One message a line, oldest first: time, author, body (its own lines kept). Printed
        as it comes, so a long `--all` history streams."""
        from convo_cli.render.output import message_text

        count = 0
        for m in messages:
            author_style = "bold green" if me is not None and m.author == me else "bold cyan"
            line = Text.assemble(
                (f"{self.when(m.date_created) or ''} ", "dim"),
                (terminal_safe(m.author or "system"), author_style),
                (": ", "dim"),
                terminal_safe(message_text(m)),
            )
            self.console.print(line)
            count += 1
        if count == 0 and empty:
            self.io.info(empty)
