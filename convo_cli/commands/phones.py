"""`convo inbound` and `convo outbox`: the phone side of a convo engine, for testing an app
that talks to SMS and WhatsApp participants with no phone and no Twilio account."""

from __future__ import annotations

import re
from typing import Annotated, NamedTuple

import typer

from convo_cli.commands import JsonOption, command
from convo_cli.errors import UsageError
from convo_cli.factory import Factory

# What the engine accepts as a binding address: +E.164, or whatsapp:/rcs: before one.
ADDRESS = re.compile(r"^(?:(?:whatsapp|rcs):)?\+[1-9][0-9]{1,14}$", re.IGNORECASE)
ENGINES_ONLY = ("convo {name} works on a convo engine (the local profile or a convo serve): "
                "Twilio has no phone to simulate")


class InboundOptions(NamedTuple):
    sender: str
    proxy: str
    text: str
    as_json: bool = False


class OutboxOptions(NamedTuple):
    to: str | None = None
    follow: bool = False
    as_json: bool = False
    limit: int = 20


def _address(value: str, option: str) -> str:
    if not ADDRESS.match(value):
        raise UsageError(f"{option} must be a phone address: +E.164 (e.g. +15551234567) or "
                         f"whatsapp:+E.164, not {value!r}")
    return value


def _engine_only(deps: Factory, name: str) -> None:
    if deps.profile().kind not in ("local", "server"):
        raise UsageError(ENGINES_ONLY.format(name=name))


def run_inbound(opts: InboundOptions, deps: Factory) -> None:
    from convo_cli.api import phones
    from convo_cli.render import phones as render

    sender, proxy = _address(opts.sender, "--from"), _address(opts.proxy, "--to")
    if not opts.text:
        raise UsageError("TEXT is empty: a phone's message has a body")
    _engine_only(deps, "inbound")
    message = phones.inbound(deps.client(), sender, proxy, opts.text)
    render.delivered(deps.io, message, as_json=opts.as_json)


def run_outbox(opts: OutboxOptions, deps: Factory) -> None:
    from convo_cli.api import phones
    from convo_cli.render import phones as render
    from convo_cli.render.feed import Feed

    to = _address(opts.to, "--to") if opts.to is not None else None
    _engine_only(deps, "outbox")
    client = deps.client()
    items = phones.received(client, to, opts.limit)
    feed = Feed(deps.io, render.COLUMNS, render.fields, as_json=opts.as_json)
    feed.listing(items, empty="No messages sent to a phone.")
    if opts.follow:
        last = max((int(i["id"]) for i in items), default=0)
        feed.follow(phones.follow(client, to, last))


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "inbound", wanted)
    def inbound(
        ctx: typer.Context,
        text: Annotated[str, typer.Argument(metavar="TEXT", help="The message's body.",
                                            show_default=False)],
        sender: Annotated[str, typer.Option(
            "--from", metavar="ADDRESS", show_default=False,
            help="The phone that sends it: +E.164 or whatsapp:+E.164.")],
        proxy: Annotated[str, typer.Option(
            "--to", metavar="PROXY", show_default=False,
            help="The proxy address it is sent to (a participant's "
            "MessagingBinding.ProxyAddress).")],
        as_json: JsonOption = False,
    ) -> None:
        """Deliver a message as if a phone had sent it (SMS or WhatsApp).

        It goes to the conversation where a participant has this binding (address --from,
        proxy address --to), with the phone's address as author, and fires the webhooks a
        phone's message fires on Twilio (onMessageAdd, onMessageAdded: no header needed).
        When no participant has the binding, the message is dropped: exit 1.

        A convo extension (POST /convo/v1/Inbound), not Twilio's API.

        $ convo inbound --from +15551234567 --to +15550001111 "Is my order shipped?"
        """
        run_inbound(InboundOptions(sender, proxy, text, as_json), ctx.obj)

    @command(app, "outbox", wanted)
    def outbox(
        ctx: typer.Context,
        to: Annotated[str | None, typer.Option(
            "--to", metavar="ADDRESS", show_default=False,
            help="Only what this phone received (+E.164 or whatsapp:+E.164).")] = None,
        follow: Annotated[bool, typer.Option(
            "--follow", "-f", help="Then print each message as a phone receives it, until Ctrl-C.")]
        = False,
        as_json: JsonOption = False,
        limit: Annotated[int, typer.Option(
            "--limit", "-n", min=1, max=200, help="How many recent messages to show.")] = 20,
    ) -> None:
        """Show what the SMS and WhatsApp participants received: the phones' view.

        One line per message a phone was sent: time, phone, proxy address it came from,
        conversation, author, delivery status (with Twilio's error code when it failed, as
        for the magic test numbers +15005550001 and +15005550009), body. With --json, one
        JSON object per line.

        A convo extension (GET /convo/v1/Outbox), not Twilio's API; the same receipts are
        Twilio's Delivery Receipts (GET …/Messages/IM…/Receipts).

        $ convo outbox --to +15551234567

        $ convo outbox --follow --json
        """
        run_outbox(OutboxOptions(to, follow, as_json, limit), ctx.obj)
