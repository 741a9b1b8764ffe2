"""`convo events`: the webhook deliveries of a convo engine (local or served), as
`stripe events` shows a Stripe account's; with --follow, each as it happens."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import typer

from convo_cli.commands import JsonOption, command
from convo_cli.errors import UsageError
from convo_cli.factory import Factory


class EventsOptions(NamedTuple):
    follow: bool = False
    as_json: bool = False
    limit: int = 20


def run_events(opts: EventsOptions, deps: Factory) -> None:
    from convo_cli.api import events
    from convo_cli.render import events as render
    from convo_cli.render.feed import Feed

    if deps.profile().kind not in ("local", "server"):
        raise UsageError("convo events reads a convo engine's webhook log (the local profile "
                         "or a convo serve); Twilio shows its webhook requests in its Console")
    client = deps.client()
    found = events.recent(client, opts.limit)
    # Oldest first, so the newest ends next to the prompt; the waiting ones last.
    items = list(reversed(found["finished"])) + list(reversed(found["waiting"]))
    feed = Feed(deps.io, render.COLUMNS, render.fields, as_json=opts.as_json)
    feed.listing(items, empty="No webhook deliveries.")
    if opts.follow:
        last = max((int(i["id"]) for i in found["finished"]), default=0)
        feed.follow(events.follow(client, last))


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "events", wanted)
    def events_(
        ctx: typer.Context,
        follow: Annotated[bool, typer.Option(
            "--follow", "-f", help="Then print each delivery as it finishes, until Ctrl-C.")]
        = False,
        as_json: JsonOption = False,
        limit: Annotated[int, typer.Option(
            "--limit", "-n", min=1, max=200, help="How many recent deliveries to show.")] = 20,
    ) -> None:
        """Show a convo engine's webhook deliveries: delivered, failed, or waiting.

        One line per delivery: time, event, conversation, URL, state (delivered, failed,
        pending), the receiver's HTTP status (or why there was none), attempts. With --json,
        one JSON object per line, with the event's parameters as sent.

        This log is a convo extension (GET /convo/v1/Events), not Twilio's API: on a Twilio
        profile, see the Console's webhook logs.

        $ convo events

        $ convo events --follow
        """
        run_events(EventsOptions(follow, as_json, limit), ctx.obj)
