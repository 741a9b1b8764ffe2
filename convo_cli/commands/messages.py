"""`convo messages` (a window of the history, or all of it) and `convo send`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from convo_cli.commands import ConversationArg, JsonOption, command
from convo_cli.commands.checks import (check_page_size, parse_anchor, parse_direction,
                                       resolve_conversation)
from convo_cli.errors import ConvoError, UsageError
from convo_cli.factory import Factory

if TYPE_CHECKING:
    from convo_cli.api.models import Message

DEFAULT_PAGE_SIZE = 30  # the Conversations SDK's getMessages default


class MessagesOptions(NamedTuple):
    conversation: str
    page_size: int = DEFAULT_PAGE_SIZE
    anchor: str = "end"
    direction: str = "backwards"
    all: bool = False
    as_json: bool = False
    follow: bool = False


def run_messages(opts: MessagesOptions, deps: Factory) -> None:
    from convo_cli.api.follow import ConversationDeleted, follow
    from convo_cli.api.history import AnchorError, read_all_pages, read_window

    page_size = check_page_size(opts.page_size)
    anchor = parse_anchor(opts.anchor)
    backwards = parse_direction(opts.direction)
    if opts.all and (anchor is not None or not backwards or page_size != DEFAULT_PAGE_SIZE):
        raise UsageError("--all reads the whole history, oldest first: it takes no "
                         "--anchor, --direction or --page-size")
    if opts.follow and (anchor is not None or not backwards):
        raise UsageError("--follow starts from the latest messages: it takes no --anchor or "
                         "--direction")
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    output = deps.output(as_json=opts.as_json)
    me = _identity_or_none(deps)
    if opts.all:
        history: Iterable[Message] = output.progress(
            read_all_pages(client, conversation.sid), "Reading messages\u2026")
    else:
        try:
            history = read_window(client, conversation.sid, page_size=page_size, anchor=anchor,
                                  backwards=backwards)
        except AnchorError as error:
            raise UsageError(f"--anchor {error}") from None
    if opts.follow and output.mode == "terminal":
        deps.io.info(f"Following {opts.conversation}; Ctrl-C to stop.")
    # Read on a terminal, the messages are seen: my read horizon moves up to the newest one
    # shown (never back). Piped and --json reads are a program's, and change nothing.
    marking = me is not None and output.mode == "terminal"
    if marking:
        from convo_cli.api.inbox import ReadHorizon, Shown, read_as_shown

        history = shown = Shown(history)
    items = follow(client, conversation.sid, history) if opts.follow else history
    if marking:
        assert me is not None
        # A horizon that cannot be moved leaves what was shown shown: a warning, once.
        items = read_as_shown(items, shown, ReadHorizon(client, conversation.sid, me),
                              on_error=lambda error: deps.io.info(
                                  f"convo: warning: could not mark the messages read: {error}"))
    try:
        (output.message_stream if opts.follow else output.messages)(items, me=me)
    except ConversationDeleted:  # only --follow raises it
        raise ConvoError(f"conversation {opts.conversation!r} was deleted") from None


def _identity_or_none(deps: Factory) -> str | None:
    """Only to set my own messages apart on a terminal: reading needs no identity."""
    if deps.output().mode != "terminal":
        return None
    try:
        return deps.identity()
    except UsageError:
        return None


class SendOptions(NamedTuple):
    conversation: str
    text: str
    as_json: bool = False


def run_send(opts: SendOptions, deps: Factory) -> None:
    text = opts.text
    if text == "-":
        text = deps.io.stdin.read()
        # `echo hi | convo send c -` sends "hi": the newline ends the input, not the message.
        if text.endswith("\n"):
            text = text[:-1]
    if not text:
        raise UsageError("the message is empty: nothing sent")
    me = deps.identity()
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    message = client.send_message(conversation.sid, author=me, body=text)
    deps.output(as_json=opts.as_json).message(message)
    # Your own message leaves you up to date, if you were. The message is sent whatever
    # happens here: a failure is a warning, never an exit code that invites a second send.
    from convo_cli.api.errors import ApiError, TransportError
    from convo_cli.api.inbox import read_own

    try:
        read_own(client, conversation.sid, me, message.index)
    except (ApiError, TransportError) as error:
        deps.io.info(f"convo: warning: sent, but could not mark it read: {error}")


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "messages", wanted)
    def messages(
        ctx: typer.Context,
        conversation: ConversationArg,
        page_size: Annotated[int, typer.Option(
            "--page-size", help="How many messages (1 to 100).")] = DEFAULT_PAGE_SIZE,
        anchor: Annotated[str, typer.Option(
            "--anchor", help="'end', or the message index to start at (inclusive).")] = "end",
        direction: Annotated[str, typer.Option(
            "--direction", help="backwards (older) or forwards (newer) from the anchor.")]
        = "backwards",
        all_: Annotated[bool, typer.Option(
            "--all", help="The whole history, oldest first, streamed.")] = False,
        as_json: JsonOption = False,
        follow: Annotated[bool, typer.Option(
            "--follow", "-f", help="Then print new messages as they arrive, until Ctrl-C "
            "(with --json, one object a line).")] = False,
    ) -> None:
        """Show a conversation's messages, oldest first: the latest 30 by default.

        On a terminal this marks them read (your read horizon); piped and --json reads do not.

        $ convo messages standup

        $ convo messages standup --anchor 100 --direction forwards --page-size 10

        $ convo messages standup --all --json > history.json

        $ convo messages standup --follow
        """
        run_messages(MessagesOptions(conversation, page_size, anchor, direction, all_, as_json,
                                     follow), ctx.obj)

    @command(app, "send", wanted)
    def send(
        ctx: typer.Context,
        conversation: ConversationArg,
        text: Annotated[str, typer.Argument(
            metavar="TEXT", help="The message; '-' reads standard input.", show_default=False)],
        as_json: JsonOption = False,
    ) -> None:
        """Send a message as your identity.

        $ convo send standup "Deploy is done"

        $ git log -1 --format=%s | convo send standup -
        """
        run_send(SendOptions(conversation, text, as_json), ctx.obj)
