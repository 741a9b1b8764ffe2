"""Participants: `join`, `leave`, `add`, `add-sms`, `participants`."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import typer

from convo_cli.commands import ConversationArg, command
from convo_cli.api.errors import ApiError
from convo_cli.commands.checks import check_attributes, check_binding, resolve_conversation
from convo_cli.errors import ConvoError
from convo_cli.factory import Factory

JsonOption = Annotated[bool, typer.Option("--json", help="Print the REST resource JSON.")]


class AddOptions(NamedTuple):
    conversation: str
    identity: str
    attributes: str | None = None
    as_json: bool = False


def run_add(opts: AddOptions, deps: Factory) -> None:
    attributes = check_attributes(opts.attributes)
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    try:
        participant = client.add_participant(conversation.sid, identity=opts.identity,
                                             attributes=attributes)
    except ApiError as error:
        if error.code == 50433:
            raise ConvoError(f"{opts.identity} is already a participant of "
                             f"{opts.conversation}{error.detail()}") from error
        raise
    deps.output(as_json=opts.as_json).participant(participant)


class JoinOptions(NamedTuple):
    conversation: str
    as_json: bool = False


def run_join(opts: JoinOptions, deps: Factory) -> None:
    run_add(AddOptions(opts.conversation, deps.identity(), as_json=opts.as_json), deps)


class LeaveOptions(NamedTuple):
    conversation: str


def run_leave(opts: LeaveOptions, deps: Factory) -> None:
    """Find my participant by identity, then delete it by its MB SID: Twilio documents
    the identity in the path for fetching only."""
    me = deps.identity()
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    try:
        participant = client.fetch_participant(conversation.sid, me)
    except ApiError as error:
        if error.status == 404:
            raise ConvoError(f"{me} is not a participant of {opts.conversation}"
                             f"{error.detail()}") from error
        raise
    client.remove_participant(conversation.sid, participant.sid)
    deps.io.info(f"{me} left {opts.conversation}.")


class AddSmsOptions(NamedTuple):
    conversation: str
    address: str
    proxy_address: str
    as_json: bool = False


def run_add_sms(opts: AddSmsOptions, deps: Factory) -> None:
    check_binding(opts.address, opts.proxy_address)
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    participant = client.add_participant(conversation.sid, address=opts.address,
                                         proxy_address=opts.proxy_address)
    deps.output(as_json=opts.as_json).participant(participant)


class ParticipantsOptions(NamedTuple):
    conversation: str
    as_json: bool = False


def run_participants(opts: ParticipantsOptions, deps: Factory) -> None:
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    deps.output(as_json=opts.as_json).participants(client.list_participants(conversation.sid))


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "join", wanted)
    def join(ctx: typer.Context, conversation: ConversationArg, as_json: JsonOption = False) -> None:
        """Join a conversation as your identity.

        $ convo join standup
        """
        run_join(JoinOptions(conversation, as_json), ctx.obj)

    @command(app, "leave", wanted)
    def leave(ctx: typer.Context, conversation: ConversationArg) -> None:
        """Leave a conversation.

        $ convo leave standup
        """
        run_leave(LeaveOptions(conversation), ctx.obj)

    @command(app, "add", wanted)
    def add(
        ctx: typer.Context,
        conversation: ConversationArg,
        identity: Annotated[str, typer.Argument(metavar="IDENTITY", show_default=False,
                                                help="The chat user to add.")],
        attributes: Annotated[str | None, typer.Option(
            "--attributes", help="A JSON document stored with the participant.")] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Add a chat participant.

        $ convo add standup bob
        """
        run_add(AddOptions(conversation, identity, attributes, as_json), ctx.obj)

    @command(app, "add-sms", wanted)
    def add_sms(
        ctx: typer.Context,
        conversation: ConversationArg,
        address: Annotated[str, typer.Option(
            "--address", help="Their number: +15551234567 or whatsapp:+15551234567.",
            show_default=False)],
        proxy_address: Annotated[str, typer.Option(
            "--proxy-address", help="Your service's number they talk to.", show_default=False)],
        as_json: JsonOption = False,
    ) -> None:
        """Add an SMS or WhatsApp participant.

        $ convo add-sms standup --address +15551234567 --proxy-address +14445550100
        """
        run_add_sms(AddSmsOptions(conversation, address, proxy_address, as_json), ctx.obj)

    @command(app, "participants", wanted)
    def participants(ctx: typer.Context, conversation: ConversationArg,
                     as_json: JsonOption = False) -> None:
        """List a conversation's participants.

        $ convo participants standup
        """
        run_participants(ParticipantsOptions(conversation, as_json), ctx.obj)
