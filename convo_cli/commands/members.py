"""Participants: `join`, `leave`, `add`, `add-sms`, `participants`, `remove`."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import typer

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError
from convo_cli.api.models import Participant
from convo_cli.commands import ConversationArg, JsonOption, command
from convo_cli.commands.checks import (PHONE, check_binding, check_identity,
                                       check_participant_attributes, resolve_conversation)
from convo_cli.errors import ConvoError, UsageError
from convo_cli.factory import Factory

ExistsOkOption = Annotated[bool, typer.Option(
    "--exists-ok", help="Already a participant is a success: print that participant.")]


class AddOptions(NamedTuple):
    conversation: str
    identity: str
    attributes: str | None = None
    as_json: bool = False
    exists_ok: bool = False


def run_add(opts: AddOptions, deps: Factory) -> None:
    check_identity(opts.identity, "IDENTITY")
    attributes = check_participant_attributes(opts.attributes)
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    try:
        participant = client.add_participant(conversation.sid, identity=opts.identity,
                                             attributes=attributes)
    except ApiError as error:
        if error.code != 50433:
            raise
        if not opts.exists_ok:
            raise ConvoError(f"{opts.identity} is already a participant of "
                             f"{opts.conversation}{error.detail()}") from error
        participant = client.fetch_participant(conversation.sid, opts.identity)
        deps.io.info(f"{opts.identity} is already a participant of {opts.conversation}.")
    deps.output(as_json=opts.as_json).participant(participant)


class JoinOptions(NamedTuple):
    conversation: str
    as_json: bool = False
    exists_ok: bool = False


def run_join(opts: JoinOptions, deps: Factory) -> None:
    run_add(AddOptions(opts.conversation, deps.identity(), as_json=opts.as_json,
                       exists_ok=opts.exists_ok), deps)


class LeaveOptions(NamedTuple):
    conversation: str
    if_member: bool = False


def run_leave(opts: LeaveOptions, deps: Factory) -> None:
    """Find my participant by identity, then delete it by its MB SID: Twilio documents
    the identity in the path for fetching only."""
    me = deps.identity()
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    try:
        participant = client.fetch_participant(conversation.sid, me)
    except ApiError as error:
        if error.status != 404:
            raise
        if opts.if_member:
            deps.io.info(f"{me} is not a participant of {opts.conversation}: nothing to leave.")
            return
        raise ConvoError(f"{me} is not a participant of {opts.conversation}"
                         f"{error.detail()}") from error
    client.remove_participant(conversation.sid, participant.sid)
    deps.io.info(f"{me} left {opts.conversation}.")


class AddSmsOptions(NamedTuple):
    conversation: str
    address: str
    proxy_address: str
    as_json: bool = False
    exists_ok: bool = False


def run_add_sms(opts: AddSmsOptions, deps: Factory) -> None:
    check_binding(opts.address, opts.proxy_address)
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    try:
        participant = client.add_participant(conversation.sid, address=opts.address,
                                             proxy_address=opts.proxy_address)
    except ApiError as error:
        existing = None
        if opts.exists_ok and error.code == 50416:
            existing = _with_binding(client, conversation.sid, opts.address, opts.proxy_address)
        if existing is None:
            raise
        participant = existing
        deps.io.info(f"{opts.address} is already a participant of {opts.conversation}.")
    deps.output(as_json=opts.as_json).participant(participant)


def _with_binding(client: Client, conversation_sid: str, address: str,
                  proxy_address: str) -> Participant | None:
    """The participant bound to this very pair. There is no fetch by address, and on Twilio
    50416 also means the pair is bound in another conversation: that is still a failure."""
    return next((p for p in client.list_participants(conversation_sid)
                 if (p.address, p.proxy_address) == (address, proxy_address)), None)


class ParticipantsOptions(NamedTuple):
    conversation: str
    as_json: bool = False


def run_participants(opts: ParticipantsOptions, deps: Factory) -> None:
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    deps.output(as_json=opts.as_json).participants(client.list_participants(conversation.sid))


class RemoveOptions(NamedTuple):
    conversation: str
    who: str


def run_remove(opts: RemoveOptions, deps: Factory) -> None:
    if not opts.who.strip():
        raise UsageError("WHO is empty: give an identity, an address or an MB… SID")
    client = deps.client()
    conversation = resolve_conversation(client, opts.conversation)
    participant = _find_member(client, conversation.sid, opts.who, opts.conversation)
    client.remove_participant(conversation.sid, participant.sid)
    deps.io.info(f"Removed {opts.who} from {opts.conversation}.")


def _find_member(client: Client, conversation_sid: str, who: str, name: str) -> Participant:
    """WHO as an MB SID, an SMS/WhatsApp address (there is no fetch by address: the list
    is read), or an identity."""
    if PHONE.match(who):
        bound = [p for p in client.list_participants(conversation_sid) if p.address == who]
        if len(bound) > 1:
            from convo_cli.render.text import terminal_safe

            sids = ", ".join(f"{p.sid} (through {terminal_safe(p.proxy_address)})"
                             for p in bound)
            raise UsageError(f"{who} takes part in {name} through {len(bound)} proxy "
                             f"addresses; give the participant's SID: {sids}")
        if bound:
            return bound[0]
    try:
        return client.fetch_participant(conversation_sid, who)
    except ApiError as error:
        if error.status == 404:
            raise ConvoError(f"{who} is not a participant of {name}{error.detail()}; "
                             f"see: convo participants {name}") from error
        raise


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "join", wanted)
    def join(ctx: typer.Context, conversation: ConversationArg, as_json: JsonOption = False,
             exists_ok: ExistsOkOption = False) -> None:
        """Join a conversation as your identity.

        $ convo join standup

        $ convo join deploy-42 --exists-ok
        """
        run_join(JoinOptions(conversation, as_json, exists_ok), ctx.obj)

    @command(app, "leave", wanted)
    def leave(
        ctx: typer.Context,
        conversation: ConversationArg,
        if_member: Annotated[bool, typer.Option(
            "--if-member", help="Not a participant is a success: nothing to do.")] = False,
    ) -> None:
        """Leave a conversation.

        $ convo leave standup

        $ convo leave deploy-42 --if-member
        """
        run_leave(LeaveOptions(conversation, if_member), ctx.obj)

    @command(app, "add", wanted)
    def add(
        ctx: typer.Context,
        conversation: ConversationArg,
        identity: Annotated[str, typer.Argument(metavar="IDENTITY", show_default=False,
                                                help="The chat user to add.")],
        attributes: Annotated[str | None, typer.Option(
            "--attributes", help="A JSON document stored with the participant (up to 4 KB).")]
        = None,
        as_json: JsonOption = False,
        exists_ok: ExistsOkOption = False,
    ) -> None:
        """Add a chat participant.

        $ convo add standup bob

        $ convo add deploy-42 ci-bot --exists-ok
        """
        run_add(AddOptions(conversation, identity, attributes, as_json, exists_ok), ctx.obj)

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
        exists_ok: ExistsOkOption = False,
    ) -> None:
        """Add an SMS or WhatsApp participant.

        $ convo add-sms standup --address +15551234567 --proxy-address +14445550100

        $ convo add-sms deploy-42 --address +15551234567 --proxy-address +14445550100 --exists-ok
        """
        run_add_sms(AddSmsOptions(conversation, address, proxy_address, as_json, exists_ok),
                    ctx.obj)

    @command(app, "participants", wanted)
    def participants(ctx: typer.Context, conversation: ConversationArg,
                     as_json: JsonOption = False) -> None:
        """List a conversation's participants.

        $ convo participants standup
        """
        run_participants(ParticipantsOptions(conversation, as_json), ctx.obj)

    @command(app, "remove", wanted)
    def remove(
        ctx: typer.Context,
        conversation: ConversationArg,
        who: Annotated[str, typer.Argument(
            metavar="WHO", show_default=False,
            help="An identity, an address (+15551234567, whatsapp:+…) or an MB… SID.")],
    ) -> None:
        """Remove a participant: a chat user, or an SMS or WhatsApp number.

        $ convo remove standup bob

        $ convo remove standup +15551234567

        $ convo remove standup MB0123456789abcdef0123456789abcdef
        """
        run_remove(RemoveOptions(conversation, who), ctx.obj)
