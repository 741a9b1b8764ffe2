"""`convo messages` (a window of the history, or all of it), `convo send`, and changing or
deleting one of your own messages: `edit-message`, `delete-message`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from convo_cli.commands import ConversationArg, JsonOption, YesOption, command
from convo_cli.commands.checks import (check_body, check_page_size, join_command,
                                       parse_anchor, parse_direction, read_body,
                                       require_participant, resolve_conversation)
from convo_cli.commands.confirm import confirm, require_yes_or_terminal
from convo_cli.errors import ConvoError, UsageError
from convo_cli.factory import Factory

if TYPE_CHECKING:
    from convo_cli.api.client import Client
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
    long: bool = False


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
    if opts.all and output.mode == "json" and not opts.follow:
        # An export: the in-process engine renders the lines itself (5 times as fast).
        from convo_cli.api.history import read_all_lines

        lines = read_all_lines(client, conversation.sid)
        if lines is not None:
            return output.json_lines(lines)
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
        (output.message_stream if opts.follow else output.messages)(items, me=me,
                                                                     long=opts.long)
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


def read_text(text: str, deps: Factory, *, nothing: str = "nothing sent") -> str:
    """TEXT, or standard input for `-` (`echo hi | convo send c -` sends "hi": the newline
    ends the input, not the message); within the service's limits."""
    body = read_body(deps.io.stdin, nothing=nothing) if text == "-" else text
    return check_body(body, nothing=nothing)


def run_send(opts: SendOptions, deps: Factory) -> None:
    text = read_text(opts.text, deps)
    me = deps.identity()
    client = deps.client()
    # Refused locally, since the service stores a message from any author: a typo in
    # --identity would otherwise post as nobody.
    join = join_command(opts.conversation, me, deps.profile().identity_source,
                        profile_flag=deps.profile_name, service_flag=deps.service_flag)
    participant = require_participant(client, opts.conversation, me, join=join)
    message = client.send_message(participant.conversation_sid, author=me, body=text)
    deps.output(as_json=opts.as_json).message(message, me=me)
    # Your own message leaves you up to date, if you were. The message is sent whatever
    # happens here: a failure is a warning, never an exit code that invites a second send.
    from convo_cli.api.errors import ApiError, TransportError
    from convo_cli.api.inbox import read_own

    try:
        read_own(client, participant, message.index)
    except (ApiError, TransportError) as error:
        deps.io.info(f"convo: warning: sent, but could not mark it read: {error}")


class EditMessageOptions(NamedTuple):
    conversation: str
    index: int
    text: str
    as_json: bool = False


def run_edit_message(opts: EditMessageOptions, deps: Factory) -> None:
    text = read_text(opts.text, deps, nothing="nothing changed")
    client = deps.client()
    message = _own_message(client, deps, opts.conversation, opts.index, "change")
    assert message.conversation_sid is not None
    updated = client.update_message(message.conversation_sid, message.sid, body=text)
    deps.output(as_json=opts.as_json).message(updated)


class DeleteMessageOptions(NamedTuple):
    conversation: str
    index: int
    yes: bool = False


def run_delete_message(opts: DeleteMessageOptions, deps: Factory) -> None:
    require_yes_or_terminal(deps.io, opts.yes, "delete-message")
    client = deps.client()
    message = _own_message(client, deps, opts.conversation, opts.index, "delete")
    assert message.conversation_sid is not None
    if not opts.yes:
        from convo_cli.render.output import message_text
        from convo_cli.render.text import terminal_safe

        body = " ".join(terminal_safe(message_text(message)).split())  # one line, however long
        quoted = body if len(body) <= 60 else body[:59] + "\u2026"
        confirm(deps.io, f"Delete message {message.index} in {opts.conversation}, "
                f'"{quoted}"?', yes=False, command="delete-message")
    client.delete_message(message.conversation_sid, message.sid)
    deps.io.info(f"Deleted message {message.index} from {opts.conversation}.")


def _own_message(client: Client, deps: Factory, conversation_key: str, index: int,
                 verb: str) -> Message:
    """The message at `index`, if my identity wrote it: a chat client changes only your own
    (the service, with account credentials, would let anyone)."""
    from convo_cli.api.history import AnchorError, message_at

    if index < 0:
        raise UsageError(f"INDEX must be a message index of 0 or more, not {index}")
    me = deps.identity()
    conversation = resolve_conversation(client, conversation_key)
    try:
        message = message_at(client, conversation.sid, index)
    except AnchorError as error:
        raise ConvoError(f"no message {index} in {conversation_key}: "
                         f"{_history_end(error)}") from None
    if message is None:
        raise ConvoError(f"no message {index} in {conversation_key}: it was deleted")
    if message.author != me:
        from convo_cli.render.text import terminal_safe

        author = terminal_safe(message.author) if message.author else "nobody"
        raise UsageError(f"message {index} in {conversation_key} is {author}'s, not yours "
                         f"({me}): you can {verb} only your own messages")
    return message._replace(conversation_sid=conversation.sid)


def _history_end(error: Exception) -> str:
    last = getattr(error, "last", None)
    return "the conversation has no messages" if last is None else f"the last index is {last}"


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
        long: Annotated[bool, typer.Option(
            "--long", "-l", help="Show each message's index (for --anchor) and time.")] = False,
    ) -> None:
        """Show a conversation's messages, oldest first: the latest 30 by default.

        On a terminal this marks them read (your read horizon); piped and --json reads do not.

        $ convo messages standup

        $ convo messages standup --anchor 100 --direction forwards --page-size 10

        $ convo messages standup --all --json > history.json

        $ convo messages standup --follow

        $ convo messages standup --long
        """
        run_messages(MessagesOptions(conversation, page_size, anchor, direction, all_, as_json,
                                     follow, long), ctx.obj)

    @command(app, "send", wanted)
    def send(
        ctx: typer.Context,
        conversation: ConversationArg,
        text: Annotated[str, typer.Argument(
            metavar="TEXT", help="The message; '-' reads standard input.", show_default=False)],
        as_json: JsonOption = False,
    ) -> None:
        """Send a message as your identity, a participant of the conversation (up to 32 KB).

        $ convo send standup "Deploy is done"

        $ git log -1 --format=%s | convo send standup -
        """
        run_send(SendOptions(conversation, text, as_json), ctx.obj)

    @command(app, "edit-message", wanted)
    def edit_message(
        ctx: typer.Context,
        conversation: ConversationArg,
        index: Annotated[int, typer.Argument(
            metavar="INDEX", show_default=False, help="The message's index.")],
        text: Annotated[str, typer.Argument(
            metavar="TEXT", help="The new text; '-' reads standard input.", show_default=False)],
        as_json: JsonOption = False,
    ) -> None:
        """Change the text of one of your own messages.

        $ convo edit-message standup 0 "Deploy is done (v2.1)"

        $ cat notes.txt | convo edit-message standup 7 -
        """
        run_edit_message(EditMessageOptions(conversation, index, text, as_json), ctx.obj)

    @command(app, "delete-message", wanted)
    def delete_message(
        ctx: typer.Context,
        conversation: ConversationArg,
        index: Annotated[int, typer.Argument(
            metavar="INDEX", show_default=False, help="The message's index.")],
        yes: YesOption = False,
    ) -> None:
        """Delete one of your own messages.

        On a terminal it asks first; anywhere else it needs --yes. The other messages keep
        their indexes.

        $ convo delete-message standup 7

        $ convo delete-message standup 7 --yes
        """
        run_delete_message(DeleteMessageOptions(conversation, index, yes), ctx.obj)
