"""The chat screen's input side: sending, editing your last message, and slash commands, as
a part of ChatApp (a mixin, to keep each module small). Through the same API calls as the
commands: `send_message` as `convo send`, `update_message` as `convo edit-message`, and the
slash commands in `chat.slash`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convo_cli.api.errors import ApiError, TransportError
from convo_cli.chat import slash
from convo_cli.chat.widgets import Composer
from convo_cli.errors import ConvoError

if TYPE_CHECKING:
    from convo_cli.chat.app import ChatApp


class Writing:

    async def on_composer_submitted(self: ChatApp, event: Composer.Submitted) -> None:
        text = event.text
        command = slash.parse(text.strip()) if text.strip().startswith("/") else None
        if command is not None:
            self.composer.clear()
            await self.run_slash(command)
            return
        if not text.strip():
            return
        if text.startswith("//"):
            text = text[1:]
        if self.live is None:
            await self.log_view.note("Pick a conversation first (F2 or a click).", error=True)
            return
        editing, sid = self.editing, self.live.sid
        try:
            if editing is not None:
                await self._call(self.client.update_message, sid, editing.sid, body=text)
            else:
                await self._call(self.client.send_message, sid, author=self.me, body=text)
        except (ApiError, TransportError) as error:
            await self._show_error(error)  # the text stays in the input, to try again
            return
        self._stop_editing()
        self.composer.clear()
        self._wake.set()  # show it now, through the poll, like anyone else's

    def on_composer_edit_last(self: ChatApp) -> None:
        mine = [line.message for line in self.log_view.lines()
                if line.message.author == self.me and not line.deleted]
        if not mine:
            return
        self.editing = mine[-1]
        self.composer.text = self.editing.body or ""
        self.composer.move_cursor(self.composer.document.end)
        self.composer.border_title = f"Editing your message #{self.editing.index} (Esc cancels)"

    def on_composer_cancel(self: ChatApp) -> None:
        if self.editing is not None:
            self._stop_editing()
            self.composer.clear()

    def _stop_editing(self: ChatApp) -> None:
        self.editing = None
        self.composer.border_title = None

    def on_composer_leave(self: ChatApp) -> None:
        self.exit()

    async def run_slash(self: ChatApp, command: slash.Slash) -> None:
        log = self.log_view
        if command.name == "quit":
            self.exit()
            return
        if command.name == "help":
            for line in slash.help_lines():
                await log.note(line)
            return
        if self.live is None:
            await log.note(f"/{command.name}: pick a conversation first", error=True)
            return
        try:
            lines = await self._call(slash.run, command, self.client, self.live.sid, self.me)
        except (ApiError, TransportError, ConvoError) as error:
            await self._show_error(error)
            return
        for line in lines:
            await log.note(line)
        self._wake.set()
        self.refresh_inbox()

