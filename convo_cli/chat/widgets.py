"""The chat screen's widgets: the history, the input line and the side list.

Everything from the service is drawn as Rich `Text` built from `terminal_safe` strings, never
as markup, so a body reads exactly as typed (`[bold]` included) and cannot steer the terminal.
"""

from __future__ import annotations

import time

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message as TextualMessage
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from convo_cli.api.inbox import InboxEntry
from convo_cli.api.models import Message
from convo_cli.render.chat import author_label, author_style, parse_time
from convo_cli.render.text import terminal_safe

# Keys that put a newline in a message: Alt-Enter arrives as Ctrl-J (see app.py), and
# terminals with the kitty keyboard protocol report Shift-Enter and Alt-Enter themselves.
NEWLINE_KEYS = ("ctrl+j", "alt+enter", "shift+enter")


def clock(iso: str | None, now: float) -> str:
    """Today's messages by the time alone, older ones with their date (a live screen stays
    open for hours: "5 min ago" would go stale)."""
    moment = parse_time(iso)
    if moment is None:
        return terminal_safe(iso or "")
    then = time.localtime(moment)
    if time.strftime("%Y-%m-%d", then) == time.strftime("%Y-%m-%d", time.localtime(now)):
        return time.strftime("%H:%M", then)
    return time.strftime("%Y-%m-%d %H:%M", then)


def message_renderable(message: Message, me: str | None, *, deleted: bool = False,
                       edited: bool = False, now: float | None = None) -> RenderableType:
    """Time, author, body; a body's later lines stay under its first."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(no_wrap=True, max_width=24, overflow="ellipsis")  # names go to 256
    grid.add_column(ratio=1, overflow="fold")
    label = Text(terminal_safe(author_label(message.author, me)),
                 style=author_style(message.author, me))
    if deleted:
        body = Text("message deleted", style="dim italic")
    else:
        text = message.body if message.body is not None else ("[media]" if message.has_media
                                                              else "")
        body = Text(terminal_safe(text))
        # Times have whole seconds: an edit within the second is known from its event.
        if edited or message.raw.get("date_updated") not in (None, message.date_created):
            body.append(" (edited)", style="dim")
    grid.add_row(clock(message.date_created, time.time() if now is None else now), label, body)
    return grid


class Note(Static):
    """A line that is not a message: a join, a rename, a slash command's answer, an error."""

    def __init__(self, text: str, *, error: bool = False) -> None:
        super().__init__(Text(terminal_safe(text)), classes="error" if error else "note")


class MessageLine(Static):
    def __init__(self, message: Message, me: str | None) -> None:
        super().__init__(message_renderable(message, me), id=f"m{message.index}",
                         classes="message")
        self.message, self.me, self.deleted = message, me, False

    def edit(self, message: Message) -> None:
        self.message = message
        self.update(message_renderable(message, self.me, edited=True))

    def delete(self) -> None:
        self.deleted = True
        self.update(message_renderable(self.message, self.me, deleted=True))


class MessageLog(VerticalScroll):
    """The history, oldest first; older pages are put on top as they are read."""

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.can_focus = True

    def on_mount(self) -> None:
        # Stay at the newest line as lines arrive, until the reader scrolls up (and again
        # once they scroll back down).
        self.anchor()

    @property
    def at_end(self) -> bool:
        return self.is_vertical_scroll_end or self.max_scroll_y == 0 or \
            not self._anchor_released

    def lines(self) -> list[MessageLine]:
        return list(self.query(MessageLine))

    def line(self, index: int) -> MessageLine | None:
        found = self.query(f"#m{index}")
        return found.first(MessageLine) if found else None

    def oldest_index(self) -> int | None:
        lines = self.lines()
        return lines[0].message.index if lines else None

    async def append(self, messages: list[Message], me: str | None) -> None:
        at_end = self.at_end
        fresh = [MessageLine(m, me) for m in messages if self.line(m.index) is None]
        if fresh:
            await self.mount_all(fresh)
        if at_end:
            self.scroll_end(animate=False)  # once laid out; and anchored again

    async def prepend(self, messages: list[Message], me: str | None) -> None:
        fresh = [MessageLine(m, me) for m in messages if self.line(m.index) is None]
        if not fresh:
            return
        children = list(self.children)
        if children:
            await self.mount_all(fresh, before=children[0])
        else:
            await self.mount_all(fresh)

    async def note(self, text: str, *, error: bool = False) -> None:
        at_end = self.at_end
        await self.mount(Note(text, error=error))
        if at_end:
            self.scroll_end(animate=False)


class Composer(TextArea):
    """The input line: Enter sends, Alt-Enter (or Ctrl-J) is a newline inside the message,
    Up on an empty input edits your last message, Ctrl-D on an empty input leaves."""

    BINDINGS = [
        Binding("enter", "submit", "Send", show=True),
        Binding("ctrl+j", "newline", "Newline (Alt-Enter)", show=True),
        Binding("up", "cursor_up", "Edit last", show=True),
        Binding("escape", "cancel", "Cancel edit", show=False),
    ]

    class Submitted(TextualMessage):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class EditLast(TextualMessage):
        pass

    class Cancel(TextualMessage):
        pass

    class Leave(TextualMessage):
        pass

    def __init__(self, **options: str) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                         **options)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        await super()._on_key(event)

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self.text))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_cancel(self) -> None:
        self.post_message(self.Cancel())

    def action_cursor_up(self, select: bool = False) -> None:
        if not self.text and not select:
            self.post_message(self.EditLast())
            return
        super().action_cursor_up(select)

    def action_delete_right(self) -> None:
        if not self.text:
            self.post_message(self.Leave())
            return
        super().action_delete_right()


def entry_name(entry: InboxEntry) -> str:
    return entry.name


class ConversationList(OptionList):
    """Your conversations, most recent activity first, with your unread counts."""

    def show(self, entries: list[InboxEntry], current: str | None) -> None:
        keep = self.highlighted_option.id if self.highlighted_option else current
        options = []
        for entry in entries:
            label = Text(terminal_safe(entry_name(entry)),
                         style="bold" if entry.conversation_sid == current else "")
            if entry.state and entry.state != "active":
                label.append(f" ({terminal_safe(entry.state)})", style="dim")
            if entry.unread_messages_count:
                label.append(f" {entry.unread_messages_count}", style="bold reverse")
            options.append(Option(label, id=entry.conversation_sid))
        self.set_options(options)
        positions = [p for p, e in enumerate(entries) if e.conversation_sid == keep]
        self.highlighted = positions[0] if positions else (0 if entries else None)
