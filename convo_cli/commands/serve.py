"""`convo serve`: the built-in engine on HTTP, for a team, a CI job, or the twilio library."""

from __future__ import annotations

import os
from contextlib import closing
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from convo_cli.commands import command
from convo_cli.errors import ConvoError, UsageError
from convo_cli.factory import Factory

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine


class ServeOptions(NamedTuple):
    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = None
    rate_limit: int | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    public_url: str | None = None
    max_connections: int = 1000


def run_serve(opts: ServeOptions, deps: Factory) -> int:
    from convo_cli.config import data_dir
    from convo_cli.engine import guard, runner, server
    from convo_cli.engine.account import load_account

    runner.require_uvicorn()
    tls = _tls_files(opts)
    public_url = _public_url(opts.public_url) if opts.public_url else None
    guard.raise_file_limit(opts.max_connections)
    db = os.path.abspath(opts.db) if opts.db else str(data_dir(deps.env) / "local.db")
    account = load_account(deps.env, db)
    with closing(runner.listen(opts.host, opts.port)) as sock:
        url = server.url_of(opts.host, sock.getsockname()[1], "https" if tls else "http")
        with closing(_open_engine(db, url, account.sid)) as engine:
            app = server.App(engine, account.sid, account.token, base_url=url,
                             public_url=public_url, rate_limit=opts.rate_limit,
                             log=deps.io.stderr.write)
            limit = f", at most {opts.rate_limit} writes/s per conversation" \
                if opts.rate_limit else ""
            deps.io.info(f"convo serve: {db} on {url}{limit}")
            if public_url:
                deps.io.info(f"convo serve: URLs in answers start with {public_url}")
            deps.io.info(f"convo serve: account {account.sid}, auth token in {account.where}")
            _warn_if_open(deps, db)  # (its -wal and -shm files take its mode)
            if not tls and not _is_loopback(sock.getsockname()[0]):
                deps.io.info(f"convo serve: warning: plain HTTP on {opts.host}: the account's "
                             "credentials (HTTP Basic) and every message cross the network in "
                             "clear; use --tls-cert and --tls-key, or a TLS proxy in front")
            code = runner.run(app, sock, tls=tls, max_connections=opts.max_connections)
    deps.io.info("convo serve: stopped")
    return code


def _warn_if_open(deps: Factory, path: str) -> None:
    """convo creates its files 0600; one made otherwise is used, but not silently."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return
    if mode & 0o077:
        deps.io.info(f"convo serve: warning: {path} is open to other users (mode {mode:04o}): "
                     f"they can read every conversation; chmod 600 {path}")


def _tls_files(opts: ServeOptions) -> tuple[str, str] | None:
    if not (opts.tls_cert or opts.tls_key):
        return None
    if not (opts.tls_cert and opts.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    from convo_cli.engine.guard import check_tls

    check_tls(opts.tls_cert, opts.tls_key)
    return os.path.abspath(opts.tls_cert), os.path.abspath(opts.tls_key)


def _public_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username is not None or "@" in parts.netloc:
        raise UsageError(f"--public-url {url}: expected http(s)://HOST[:PORT][/PATH], "
                         "e.g. https://chat.example.com")
    return url.rstrip("/")


def _is_loopback(address: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _open_engine(db: str, url: str, account_sid: str) -> Engine:
    import sqlite3

    from convo_cli.engine.wire import Engine

    try:
        engine = Engine(db, base_url=url, account_sid=account_sid)
    except (sqlite3.Error, OSError) as error:
        raise ConvoError(f"cannot open the database {db}: {error}") from None
    # Served, the engine never waits for the lock on the event loop's thread: the server
    # waits between tries instead (server.App._answer).
    engine.store.set_busy_timeout(0)
    from convo_cli.engine.readcache import CachedEngine

    return CachedEngine(engine)  # type: ignore[return-value] - an Engine with kept reads


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
        tls_cert: Annotated[str | None, typer.Option(
            "--tls-cert", metavar="FILE",
            help="Serve HTTPS with this PEM certificate (chain); needs --tls-key.")] = None,
        tls_key: Annotated[str | None, typer.Option(
            "--tls-key", metavar="FILE",
            help="The certificate's private key (PEM, unencrypted).")] = None,
        public_url: Annotated[str | None, typer.Option(
            "--public-url", metavar="URL",
            help="The base of every URL in answers, as clients reach the server (e.g. "
            "behind a proxy).")] = None,
        max_connections: Annotated[int, typer.Option(
            "--max-connections", min=1, max=100_000, metavar="N",
            help="Open connections at once; beyond, the longest idle one is closed (503 when "
            "all are busy).")] = 1000,
    ) -> int:
        """Serve the built-in engine over HTTP, for other convo users and Twilio's libraries.

        Clients authenticate with HTTP Basic: the account SID and its auth token.

        Those are $CONVO_SERVE_ACCOUNT_SID and $CONVO_SERVE_AUTH_TOKEN (16 characters at
        least) when set, or else generated on the first start and kept beside the database,
        in DB.credentials.json (mode 0600). Failed logins are throttled per address.

        One line per request goes to standard error. SIGINT or SIGTERM stops it gracefully.
        Beyond loopback, serve HTTPS (--tls-cert, --tls-key) or put a TLS proxy in front.

        $ convo serve --port 8080

        $ CONVO_SERVE_ACCOUNT_SID=AC… CONVO_SERVE_AUTH_TOKEN=… convo serve --db team.db

        $ convo serve --host 0.0.0.0 --port 8443 --tls-cert cert.pem --tls-key key.pem
        """
        return run_serve(ServeOptions(host, port, db, rate_limit, tls_cert, tls_key,
                                      public_url, max_connections), ctx.obj)
