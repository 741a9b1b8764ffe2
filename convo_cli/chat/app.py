"""`convo chat`: the Textual application.

A view over the API layer, like every command: the history through `api.history`, live
changes through `api.live` (which polls), the side list and read horizon through
`api.inbox`, sending, editing and slash commands in `chat.writing`. Every API call runs on one worker thread
(`chat.worker`), in order, so the screen never waits on the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from rich.text import Text
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.keys import Keys
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.widgets import Footer, OptionList, Static

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError, TransportError
from convo_cli.api.follow import ConversationDeleted
from convo_cli.api.history import read_window
from convo_cli.api.inbox import InboxEntry, inbox, mark_read
from convo_cli.api.live import Added, Edited, Event, Joined, Left, Removed, Renamed, \
    StateChanged, Watch
from convo_cli.api.models import Conversation, Message
from convo_cli.chat import slash
from convo_cli.chat.widgets import Composer, ConversationList, MessageLog
from convo_cli.chat.worker import ApiWorker
from convo_cli.chat.writing import Writing
from convo_cli.errors import describe
from convo_cli.render.text import terminal_safe

# Alt-Enter is ESC then CR, which Textual reads as a plain Enter: read it as Ctrl-J, the
# newline key, instead (terminals with the kitty keyboard protocol report it themselves).
ANSI_SEQUENCES_KEYS.setdefault("\x1b\r", (Keys.ControlJ,))

PAGE = 30  # the Conversations SDK's getMessages default, as `convo messages`
INBOX_EVERY = 10.0  # seconds between refreshes of the side list while nothing happens
T = TypeVar("T")


NARROW = 70  # columns: below, the side list and the chat take turns on the screen (F2)


class ChatApp(Writing, App[None]):
    CSS_PATH = "chat.tcss"
    TITLE = "convo chat"
    ENABLE_COMMAND_PALETTE = False  # slash commands are the palette
    BINDINGS = [
        Binding("ctrl+c", "quit", "Quit", priority=True),
        Binding("f2", "toggle_focus", "Conversations"),
        Binding("pageup", "older", "Older", priority=True),
        Binding("pagedown", "newer", "Newer", priority=True, show=False),
    ]

    def __init__(self, client: Client, me: str, conversation: Conversation | None = None,
                 *, page_size: int = PAGE) -> None:
        super().__init__()
        self.client, self.me, self.page_size = client, me, page_size
        self.conversation = conversation
        self.live: Watch | None = None
        self.editing: Message | None = None
        self.entries: list[InboxEntry] = []
        self.read_up_to = -1
        self._api = ApiWorker()
        self._wake = asyncio.Event()
        self._loading_older = False
        self._inbox_error: str | None = None
        self.unseen = 0  # messages that arrived below the screen while reading older ones

    # Layout

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ConversationList(id="inbox")
            with Vertical(id="main"):
                yield Static(id="title")
                yield MessageLog(id="log")
                yield Composer(id="composer")
        yield Footer()

    @property
    def log_view(self) -> MessageLog:
        return self.query_one("#log", MessageLog)

    @property
    def composer(self) -> Composer:
        return self.query_one("#composer", Composer)

    async def on_mount(self) -> None:
        self.query_one("#inbox").border_title = "Conversations"
        self.set_class(self.size.width < NARROW, "-narrow")
        if self.conversation is None:
            self._set_title("Pick a conversation on the left (Enter or a click)")
            self.composer.placeholder = "/help for commands"
            self._listing(True)
        else:
            self._listing(False)
            await self.open(self.conversation)
        self.watch(self.log_view, "scroll_y", self._scrolled, init=False)
        self.run_worker(self._inbox_loop(), group="inbox")
        self.run_worker(self._poll_loop(), group="poll")

    async def watch_app_focus(self, focused: bool) -> None:
        """Back to a terminal that was in the background (where it reports focus): what
        arrived meanwhile is now seen."""
        for log in self.query(MessageLog):  # none before mount
            if focused and log.at_end:
                await self._mark_seen()

    async def on_unmount(self) -> None:
        self._api.stop()

    def _set_title(self, text: str) -> None:
        # Text, not a string: Static reads a string as markup, and names are untrusted.
        self.query_one("#title", Static).update(Text(terminal_safe(text)))

    def _conversation_title(self, conversation: Conversation) -> str:
        name = conversation.friendly_name or conversation.unique_name or conversation.sid
        extra = f"  ({conversation.unique_name})" if conversation.unique_name and \
            conversation.unique_name != name else ""
        state = f"  [{conversation.state}]" if conversation.state not in (None, "active") else ""
        below = f"  ↓ {self.unseen} new below" if self.unseen else ""
        return f"{name}{extra}{state}  as {self.me}{below}"

    # The API, off the screen's thread

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._api.call(partial(function, *args, **kwargs))

    async def _show_error(self, error: BaseException) -> None:
        await self.log_view.note(f"error: {describe(error)[0]}", error=True)

    # Opening a conversation

    async def open(self, conversation: Conversation | str) -> None:
        log = self.log_view
        self.live, self.editing, self.read_up_to, self.unseen = None, None, -1, 0
        await log.remove_children()
        try:
            if isinstance(conversation, str):
                conversation = await self._call(self.client.fetch_conversation, conversation)
            history = await self._call(read_window, self.client, conversation.sid,
                                       page_size=self.page_size)
            watch = await self._call(Watch.start, self.client, conversation, history)
        except (ApiError, TransportError) as error:
            await self._show_error(error)
            return
        self.conversation, self.live = conversation, watch
        self._set_title(self._conversation_title(conversation))
        self.composer.placeholder = "Message; /help for commands"
        if not history:
            await log.note("No messages yet: say something.")
        await log.append(history, self.me)
        await self._mark_seen()
        self._wake.set()

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and (self.conversation is None
                                or event.option.id != self.conversation.sid):
            await self.open(event.option.id)
        self._listing(False)

    def action_toggle_focus(self) -> None:
        self._listing(not self.query_one("#inbox").has_focus)

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    def _listing(self, on: bool) -> None:
        """Focus on the side list (on) or the input line; on a narrow terminal the one
        focused takes the whole screen (chat.tcss)."""
        self.set_class(on, "-listing")
        (self.query_one("#inbox") if on else self.composer).focus()

    # Reading: older pages, and the read horizon

    async def action_older(self) -> None:
        log = self.log_view
        if log.scroll_y > 0:
            log.scroll_page_up(animate=False)
            return
        await self.load_older()

    def action_newer(self) -> None:
        self.log_view.scroll_page_down(animate=False)

    async def _scrolled(self, scroll_y: float) -> None:
        """The reader scrolled (wheel, scroll bar, keys) to the top: read the older page;
        back to the bottom: what arrived meanwhile has been seen."""
        try:
            log = self.log_view
        except NoMatches:  # a scroll queued as the app quits, its widgets already gone
            return
        if scroll_y == 0 and log.max_scroll_y > 0 and log._anchor_released:
            await self.load_older()
        elif scroll_y >= log.max_scroll_y and self.unseen and self.live is not None:
            self.unseen = 0
            self._set_title(self._conversation_title(self.live.conversation))
            await self._mark_seen()

    async def load_older(self) -> None:
        """The page before the oldest message shown, as `messages --anchor N` reads it."""
        oldest = self.log_view.oldest_index()
        if self.live is None or oldest is None or oldest == 0 or self._loading_older:
            return
        self._loading_older = True
        try:
            older = await self._call(read_window, self.client, self.live.sid,
                                     page_size=self.page_size, anchor=oldest - 1)
        except (ApiError, TransportError) as error:
            await self._show_error(error)
            return
        finally:
            self._loading_older = False
        if not older:
            return
        before = self.log_view.max_scroll_y
        await self.log_view.prepend(older, self.me)
        # Keep the line that was on top where it was.
        self.call_after_refresh(lambda: self.log_view.scroll_to(
            y=self.log_view.max_scroll_y - before, animate=False))

    async def _mark_seen(self) -> None:
        """Seeing messages advances my read horizon, as the SDK's setAllMessagesRead does."""
        if self.live is None or self.live.last <= self.read_up_to:
            return
        index = self.live.last
        try:
            await self._call(mark_read, self.client, self.live.sid, self.me, index)
        except ApiError as error:
            if error.status != 404:  # reading a conversation I am not in: nothing to mark
                await self._show_error(error)
                return
        except TransportError as error:
            await self._show_error(error)
            return
        self.read_up_to = index

    # Live changes

    async def _poll_loop(self) -> None:
        while True:
            delay = self.live.delay if self.live is not None else None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            watch = self.live
            if watch is None:
                continue
            try:
                events = await self._call(watch.poll)
            except ConversationDeleted:
                if watch is self.live:
                    self.live = None
                    await self.log_view.note("This conversation was deleted.", error=True)
                    self._set_title("(deleted)")
                continue
            except (ApiError, TransportError) as error:
                watch.failed()
                await self._show_error(error)
                continue
            if watch is self.live and events:
                await self.apply(events)

    async def apply(self, events: list[Event]) -> None:
        log = self.log_view
        at_end = log.at_end
        added = [e.message for e in events if isinstance(e, Added)]
        if added:
            await log.append(added, self.me)
        for event in events:
            if isinstance(event, Edited):
                line = log.line(event.message.index)
                if line is not None:
                    line.edit(event.message)
            elif isinstance(event, Removed):
                line = log.line(event.index)
                if line is not None:
                    line.delete()
            elif isinstance(event, Joined):
                await log.note(f"— {slash.describe(event.participant)} joined")
            elif isinstance(event, Left):
                await log.note(f"— {slash.describe(event.participant)} left")
            elif isinstance(event, Renamed):
                name = event.conversation.friendly_name or event.conversation.unique_name or ""
                await log.note(f"— the conversation was renamed to {name}")
            elif isinstance(event, StateChanged):
                await log.note(f"— the conversation is now {event.conversation.state}")
        if at_end and self.app_focus:  # what arrived is on screen, and looked at: seen
            await self._mark_seen()
        else:
            self.unseen += len(added)
        if self.live is not None:
            self.conversation = self.live.conversation
            self._set_title(self._conversation_title(self.live.conversation))
        self.refresh_inbox()

    # The side list

    async def _inbox_loop(self) -> None:
        while True:
            await self._refresh_inbox()
            await asyncio.sleep(INBOX_EVERY)

    def refresh_inbox(self) -> None:
        self.run_worker(self._refresh_inbox(), group="inbox-once", exclusive=True)

    async def _refresh_inbox(self) -> None:
        try:
            self.entries = await self._call(inbox, self.client, self.me)
        except (ApiError, TransportError) as error:
            message = describe(error)[0]
            if message != self._inbox_error:  # said once, not every INBOX_EVERY seconds
                self._inbox_error = message
                await self.log_view.note(f"error: your conversations: {message}", error=True)
            return
        self._inbox_error = None
        current = self.conversation.sid if self.conversation else None
        for side in self.query(ConversationList):  # none once the app is closing
            side.show(self.entries, current)
