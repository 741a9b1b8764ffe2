"""Conversations: `create`, `list`, `show`, `edit`, `delete`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from convo_cli.api.errors import ApiError
from convo_cli.commands import ConversationArg, JsonOption, YesOption, command
from convo_cli.commands.checks import (check_attributes, check_name, check_state,
                                       resolve_conversation)
from convo_cli.commands.confirm import confirm, require_yes_or_terminal
from convo_cli.errors import UsageError
from convo_cli.factory import Factory

if TYPE_CHECKING:
    from convo_cli.api.client import Client
    from convo_cli.api.models import Conversation

LIST_PAGE_SIZE = 50  # the most ParticipantConversations returns in one page


class CreateOptions(NamedTuple):
    friendly_name: str | None = None
    unique_name: str | None = None
    attributes: str | None = None
    as_json: bool = False
    if_missing: bool = False


def run_create(opts: CreateOptions, deps: Factory) -> None:
    attributes = check_attributes(opts.attributes)
    check_name(opts.friendly_name, "--friendly-name")
    check_name(opts.unique_name, "--unique-name")
    if opts.if_missing and not opts.unique_name:
        raise UsageError("--if-missing needs --unique-name: the name that finds an existing "
                         "conversation")
    client = deps.client()
    try:
        conversation = client.create_conversation(
            friendly_name=opts.friendly_name, unique_name=opts.unique_name, attributes=attributes)
    except ApiError as error:
        # Create first and fetch on conflict, rather than the reverse: two scripts racing
        # to create the same name both end up with the one conversation.
        if not (opts.if_missing and error.code == 50353):
            raise
        assert opts.unique_name is not None
        conversation = client.fetch_conversation(opts.unique_name)
        deps.io.info(f"{opts.unique_name} exists already: nothing created.")
    deps.output(as_json=opts.as_json).conversation(conversation)


class ListOptions(NamedTuple):
    all: bool = False
    as_json: bool = False


def run_list(opts: ListOptions, deps: Factory) -> None:
    """Only the conversations my identity takes part in: conversations are private. A table
    or tab-separated lines: most recent activity first, with my unread count. `--json`: the
    ParticipantConversation records, as the service lists them (DESIGN.md)."""
    me = deps.identity()
    if opts.as_json:
        return _list_records(opts, deps, me)
    from convo_cli.api.inbox import inbox

    # Ordering by activity needs every conversation in hand, so all are read either way.
    entries = inbox(deps.client(), me)
    deps.output().inbox(entries if opts.all else entries[:LIST_PAGE_SIZE])
    if not opts.all and len(entries) > LIST_PAGE_SIZE:
        deps.io.info(f"Showing the {LIST_PAGE_SIZE} most recently active of {len(entries)}; "
                     "add --all for every conversation.")


def _list_records(opts: ListOptions, deps: Factory, me: str) -> None:
    client = deps.client()
    output = deps.output(as_json=True)
    if opts.all:
        output.conversations(client.list_participant_conversations(
            identity=me, page_size=LIST_PAGE_SIZE))
        return
    page = next(client.participant_conversation_pages(identity=me, page_size=LIST_PAGE_SIZE))
    output.conversations(page.items)
    if page.next_page_url:
        deps.io.info(f"Showing the first {len(page.items)}; add --all for every conversation.")


class ShowOptions(NamedTuple):
    conversation: str
    as_json: bool = False


def run_show(opts: ShowOptions, deps: Factory) -> None:
    """`--json` is the Conversation resource as the service returns it; otherwise its fields
    with what other resources add: how many participants, the last message index, and your
    unread count (from your User Conversation)."""
    from convo_cli.api.history import last_index

    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    output = deps.output(as_json=opts.as_json)
    if opts.as_json:
        return output.conversation(conversation)
    timers = conversation.raw.get("timers") or {}
    output.fields({
        "sid": conversation.sid, "unique_name": conversation.unique_name,
        "friendly_name": conversation.friendly_name, "state": conversation.state,
        "attributes": conversation.attributes, "date_created": conversation.date_created,
        "date_updated": conversation.raw.get("date_updated"),
        "date_inactive": timers.get("date_inactive"), "date_closed": timers.get("date_closed"),
        "participants": sum(1 for _ in client.list_participants(conversation.sid)),
        "last_message_index": last_index(client, conversation.sid),
        "unread_messages_count": _unread(client, conversation.sid, deps),
    })


def _unread(client: Client, conversation_sid: str, deps: Factory) -> int | None:
    """None (not shown) when there is no identity, you are not a participant, or the
    service does not count."""
    try:
        me = deps.identity()
        return client.fetch_user_conversation(me, conversation_sid).unread_messages_count
    except UsageError:
        return None
    except ApiError as error:
        if error.status == 404:
            return None
        raise


class EditOptions(NamedTuple):
    conversation: str
    friendly_name: str | None = None
    unique_name: str | None = None
    attributes: str | None = None
    state: str | None = None
    as_json: bool = False


def run_edit(opts: EditOptions, deps: Factory) -> None:
    check_name(opts.friendly_name, "--friendly-name")
    check_name(opts.unique_name, "--unique-name")
    changes: dict[str, Any] = {
        "friendly_name": opts.friendly_name, "unique_name": opts.unique_name,
        "attributes": check_attributes(opts.attributes), "state": check_state(opts.state)}
    if all(value is None for value in changes.values()):
        raise UsageError("nothing to change: give --friendly-name, --unique-name, "
                         "--attributes or --state")
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    updated = client.update_conversation(conversation.sid, **changes)
    deps.output(as_json=opts.as_json).conversation(updated)


class DeleteOptions(NamedTuple):
    conversation: str
    yes: bool = False


def run_delete(opts: DeleteOptions, deps: Factory) -> None:
    require_yes_or_terminal(deps.io, opts.yes, "delete")
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    if not opts.yes:
        confirm(deps.io, f"Delete {_described(conversation)}{_contents(client, conversation)}? "
                "This cannot be undone.", yes=False, command="delete")
    client.delete_conversation(conversation.sid)
    deps.io.info(f"Deleted {_described(conversation)}.")


def _described(conversation: Conversation) -> str:
    from convo_cli.render.text import terminal_safe

    name = conversation.unique_name or conversation.friendly_name
    if name is None:
        return f"conversation {conversation.sid}"
    return f"conversation '{terminal_safe(name)}' ({conversation.sid})"


def _contents(client: Client, conversation: Conversation) -> str:
    """", with its 3 messages": what the question can say for one request. Indexes have
    gaps where messages were deleted, so past one page the last index is only a bound."""
    page = next(client.message_pages(conversation.sid, order="desc", page_size=100))
    if not page.items:
        return ", with no messages"
    if page.next_page_url is None:
        count = len(page.items)
        return f", with its {count} message{'s' if count != 1 else ''}"
    return f", with its messages (up to {page.items[0].index + 1})"


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "create", wanted)
    def create(
        ctx: typer.Context,
        friendly_name: Annotated[str | None, typer.Option(
            "--friendly-name", help="A human-readable name (up to 256 characters).")] = None,
        unique_name: Annotated[str | None, typer.Option(
            "--unique-name", help="A name that addresses it instead of its SID (up to 256 "
            "characters).")] = None,
        attributes: Annotated[str | None, typer.Option(
            "--attributes", help="A JSON document stored with it (up to 16 KB).")] = None,
        as_json: JsonOption = False,
        if_missing: Annotated[bool, typer.Option(
            "--if-missing", help="When --unique-name exists already, print that conversation "
            "instead of failing (get or create).")] = False,
    ) -> None:
        """Create a conversation.

        $ convo create --friendly-name "Daily standup" --unique-name standup

        $ SID=$(convo create --unique-name deploy-42 --json | jq -r .sid)

        $ convo create --unique-name deploy-42 --if-missing
        """
        run_create(CreateOptions(friendly_name, unique_name, attributes, as_json, if_missing),
                   ctx.obj)

    @command(app, "list", wanted)
    def list_(
        ctx: typer.Context,
        all_: Annotated[bool, typer.Option(
            "--all", help="Every conversation, not just the 50 most recently active.")]
        = False,
        as_json: JsonOption = False,
    ) -> None:
        """List your conversations, most recent activity first, with your unread counts.

        Unread counts messages past your read horizon; reading on a terminal moves it.

        $ convo list

        $ convo --identity bob list --json
        """
        run_list(ListOptions(all_, as_json), ctx.obj)

    @command(app, "show", wanted)
    def show(ctx: typer.Context, conversation: ConversationArg,
             as_json: JsonOption = False) -> None:
        """Show one conversation: names, state, counts, and your unread messages.

        Its names, state, attributes, timers and dates; how many participants; the last
        message index; and how many messages you have not read (when you take part).

        $ convo show standup

        $ convo show standup --json | jq .attributes
        """
        run_show(ShowOptions(conversation, as_json), ctx.obj)

    @command(app, "edit", wanted)
    def edit(
        ctx: typer.Context,
        conversation: ConversationArg,
        friendly_name: Annotated[str | None, typer.Option(
            "--friendly-name", help="A new human-readable name.")] = None,
        unique_name: Annotated[str | None, typer.Option(
            "--unique-name", help="A new name that addresses it instead of its SID.")] = None,
        attributes: Annotated[str | None, typer.Option(
            "--attributes", help="A JSON document that replaces the stored one.")] = None,
        state: Annotated[str | None, typer.Option(
            "--state", help="active, inactive or closed (closed is final).",
            metavar="STATE")] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Change a conversation's names, attributes or state; prints it as updated.

        $ convo edit standup --friendly-name "Standup (daily)"

        $ convo edit standup --state closed

        $ convo edit standup --attributes '{"team": "web"}' --json
        """
        run_edit(EditOptions(conversation, friendly_name, unique_name, attributes, state,
                             as_json), ctx.obj)

    @command(app, "delete", wanted)
    def delete(
        ctx: typer.Context,
        conversation: ConversationArg,
        yes: YesOption = False,
    ) -> None:
        """Delete a conversation, with its participants and messages.

        On a terminal it asks first; anywhere else it needs --yes.

        $ convo delete standup

        $ convo delete deploy-42 --yes
        """
        run_delete(DeleteOptions(conversation, yes), ctx.obj)
