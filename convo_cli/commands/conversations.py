"""`convo create` and `convo list`."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import typer

from convo_cli.api.errors import ApiError
from convo_cli.commands import JsonOption, command
from convo_cli.commands.checks import check_attributes
from convo_cli.errors import UsageError
from convo_cli.factory import Factory

LIST_PAGE_SIZE = 50  # the most ParticipantConversations returns in one page


class CreateOptions(NamedTuple):
    friendly_name: str | None = None
    unique_name: str | None = None
    attributes: str | None = None
    as_json: bool = False
    if_missing: bool = False


def run_create(opts: CreateOptions, deps: Factory) -> None:
    attributes = check_attributes(opts.attributes)
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


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "create", wanted)
    def create(
        ctx: typer.Context,
        friendly_name: Annotated[str | None, typer.Option(
            "--friendly-name", help="A human-readable name (up to 256 characters).")] = None,
        unique_name: Annotated[str | None, typer.Option(
            "--unique-name", help="A name that addresses it instead of its SID.")] = None,
        attributes: Annotated[str | None, typer.Option(
            "--attributes", help="A JSON document stored with it.")] = None,
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
