"""`convo chat`: the full-screen terminal chat. The application is `convo_cli.chat`, loaded
here only (Textual costs ~200 ms to import, which no other command pays)."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import typer

from convo_cli.commands import command
from convo_cli.commands.checks import resolve_conversation
from convo_cli.completion import complete_conversation
from convo_cli.errors import ConvoError, UsageError
from convo_cli.factory import Factory

NOT_A_TERMINAL = ("convo chat needs a terminal on standard input and output; in a script, "
                  "send with `convo send CONVERSATION TEXT` and read with "
                  "`convo messages CONVERSATION --follow`")


class ChatOptions(NamedTuple):
    conversation: str | None = None


def run_chat(opts: ChatOptions, deps: Factory) -> None:
    if not (deps.io.stdin_tty and deps.io.stdout_tty):
        raise UsageError(NOT_A_TERMINAL)
    me = deps.identity()
    client = deps.client()
    # A wrong name is an error before the screen is taken over, as with every command.
    conversation = resolve_conversation(client, opts.conversation) \
        if opts.conversation is not None else None
    if conversation is None:
        client.check_service()  # a missing service: one line, before the screen is taken
    from convo_cli.chat.app import ChatApp

    app = ChatApp(client, me, conversation)
    app.run()
    if app.return_code:  # Textual has shown what went wrong; the exit code says it too
        raise ConvoError("convo chat stopped on an unexpected error")


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "chat", wanted)
    def chat(
        ctx: typer.Context,
        conversation: Annotated[str | None, typer.Argument(
            metavar="[CONVERSATION]", help="A CH… SID or a unique name; without it, chat "
            "opens on your conversations.", show_default=False,
            autocompletion=complete_conversation)] = None,
    ) -> None:
        """Chat in a full-screen terminal view: history, live messages, your conversations.

        Enter sends; Alt-Enter or Ctrl-J starts a new line; Up on an empty input edits your
        last message; PageUp reads older messages; F2 moves between the list and the input.
        Slash commands: /add IDENTITY, /sms ADDRESS PROXY, /remove WHO, /who, /rename TEXT,
        /leave, /quit, /help. Ctrl-C, Ctrl-D on an empty input or /quit leave.

        $ convo chat standup

        $ convo chat
        """
        run_chat(ChatOptions(conversation), ctx.obj)
