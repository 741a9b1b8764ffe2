"""`convo serve`: the built-in engine on HTTP, for a team, a CI job, or the twilio library."""

from __future__ import annotations

import os
from contextlib import closing
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from convo_cli.commands import command
from convo_cli.errors import ConvoError
from convo_cli.factory import Factory

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine


class ServeOptions(NamedTuple):
    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = None
    rate_limit: int | None = None
    forward_to: str | None = None


def run_serve(opts: ServeOptions, deps: Factory) -> int:
    from convo_cli.config import data_dir
    from convo_cli.engine import server
    from convo_cli.engine.account import load_account

    server.require_uvicorn()
    db = os.path.abspath(opts.db) if opts.db else str(data_dir(deps.env) / "local.db")
    account = load_account(deps.env, db)
    with closing(server.listen(opts.host, opts.port)) as sock:
        url = server.url_of(opts.host, sock.getsockname()[1])
        with closing(_open_engine(db, url, account.sid, account.token)) as engine:
            worker = _start_deliveries(engine, db, account.token, opts.forward_to, deps)
            app = server.App(engine, account.sid, account.token, base_url=url,
                             rate_limit=opts.rate_limit, log=deps.io.stderr.write)
            limit = f", at most {opts.rate_limit} writes/s per conversation" \
                if opts.rate_limit else ""
            deps.io.info(f"convo serve: {db} on {url}{limit}")
            deps.io.info(f"convo serve: account {account.sid}, auth token in {account.where}")
            try:
                code = server.run(app, sock)
            finally:
                from convo_cli.engine import courier

                if worker is not None:
                    courier.stop(worker)
    deps.io.info("convo serve: stopped")
    return code


def _start_deliveries(engine: Engine, db: str, token: str, forward_to: str | None,
                      deps: Factory):
    """The webhook courier (engine/courier.py), a child process: one line per delivery."""
    from convo_cli.engine import courier
    from convo_cli.engine.webhooks import URL
    from convo_cli.errors import UsageError

    if forward_to is not None:
        if not URL.match(forward_to):
            raise UsageError(f"--forward-to {forward_to}: an http:// or https:// URL is needed")
        engine.events.forward_to = forward_to
        deps.io.info(f"convo serve: forwarding every event to {forward_to}")
    if engine.store.read_only:
        return None  # nothing can be queued, nor marked delivered
    return courier.start(db, token)


def _open_engine(db: str, url: str, account_sid: str, token: str) -> Engine:
    import sqlite3

    from convo_cli.engine.wire import Engine

    try:
        return Engine(db, base_url=url, account_sid=account_sid, auth_token=token)
    except (sqlite3.Error, OSError) as error:
        raise ConvoError(f"cannot open the database {db}: {error}") from None


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "serve", wanted)
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(
            "--host", help="The address to listen on; 0.0.0.0 for every interface.")]
        = "127.0.0.1",
        port: Annotated[int, typer.Option(
            "--port", min=0, max=65535, help="The port to listen on; 0 picks a free one.")]
        = 8080,
        db: Annotated[str | None, typer.Option(
            "--db", help="The database to serve (default: the local profile's).")] = None,
        rate_limit: Annotated[int | None, typer.Option(
            "--rate-limit", min=1, metavar="N",
            help="Answer writes beyond N per second per conversation with 429, as Twilio "
            "does.")] = None,
        forward_to: Annotated[str | None, typer.Option(
            "--forward-to", metavar="URL",
            help="Send the post-event webhooks (onMessageAdded, …) of every change made "
            "through this server to URL too, for this run, signed with the account's auth "
            "token.")] = None,
    ) -> int:
        """Serve the built-in engine over HTTP, for other convo users and Twilio's libraries.

        Clients authenticate with HTTP Basic: the account SID and its auth token.

        Those are $CONVO_SERVE_ACCOUNT_SID and $CONVO_SERVE_AUTH_TOKEN when set, or else
        generated on the first start and kept beside the database, in DB.credentials.json.

        One line per request goes to standard error, and one per webhook delivered. SIGINT or SIGTERM stops it gracefully.

        $ convo serve --port 8080

        $ CONVO_SERVE_ACCOUNT_SID=AC… CONVO_SERVE_AUTH_TOKEN=… convo serve --db team.db
        """
        return run_serve(ServeOptions(host, port, db, rate_limit, forward_to), ctx.obj)
