"""`convo serve`: the built-in engine on HTTP, for a team, a CI job, or the twilio library."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from convo_cli.commands import JsonOption
from convo_cli.errors import ConvoError, ExitCode, UsageError
from convo_cli.factory import Factory

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine


KeysDb = Annotated[str | None, typer.Option(
    "--db", help="The server's database (default: the local profile's).")]


class ServeOptions(NamedTuple):
    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = None
    rate_limit: int | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    public_url: str | None = None
    max_connections: int = 1000
    forward_to: str | None = None


def run_serve(opts: ServeOptions, deps: Factory) -> int:
    from convo_cli.engine import guard, runner, server
    from convo_cli.engine.account import load_account

    runner.require_uvicorn()
    tls = _tls_files(opts)
    public_url = _public_url(opts.public_url) if opts.public_url else None
    guard.raise_file_limit(opts.max_connections)
    db = _db_path(opts.db, deps)
    account = load_account(deps.env, db)
    with closing(runner.listen(opts.host, opts.port)) as sock:
        url = server.url_of(opts.host, sock.getsockname()[1], "https" if tls else "http")
        with closing(_open_engine(db, url, account.sid, account.token)) as engine:
            worker = _start_deliveries(engine, db, account.token, opts.forward_to, deps)
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
            try:
                code = runner.run(app, sock, tls=tls, max_connections=opts.max_connections)
            finally:
                from convo_cli.engine import courier

                if worker is not None:
                    courier.stop(worker)
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


def _start_deliveries(engine: Engine, db: str, token: str, forward_to: str | None,
                      deps: Factory):
    """The webhook courier (engine/courier.py), a child process: one line per delivery."""
    from convo_cli.engine import courier
    from convo_cli.engine.webhooks import URL

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
        engine = Engine(db, base_url=url, account_sid=account_sid, auth_token=token)
    except (sqlite3.Error, OSError) as error:
        raise ConvoError(f"cannot open the database {db}: {error}") from None
    # Served, the engine never waits for the lock on the event loop's thread: the server
    # waits between tries instead (server.App._answer).
    engine.store.set_busy_timeout(0)
    from convo_cli.engine.readcache import CachedEngine

    return CachedEngine(engine)  # type: ignore[return-value] - an Engine with kept reads


def _db_path(db: str | None, deps: Factory) -> str:
    from convo_cli.config import data_dir

    return os.path.abspath(db) if db else str(data_dir(deps.env) / "local.db")


@contextmanager
def _keys_store(db: str) -> Iterator[Any]:
    """The database's store (engine.store.Store, imported here: start-up time), closed
    after; a database that cannot be opened or written is one line (exit 1)."""
    import sqlite3

    from convo_cli.engine.store import Store

    try:
        store = Store(db)
    except (sqlite3.Error, OSError) as error:
        raise ConvoError(f"cannot open the database {db}: {error}") from None
    try:
        yield store
    except sqlite3.Error as error:
        raise ConvoError(f"cannot change the keys in {db}: {error}") from None
    finally:
        store.close()


def run_keys_create(identity: str | None, db: str | None, as_json: bool, deps: Factory) -> None:
    from convo_cli.engine.keys import create_key

    if identity is not None:
        from convo_cli.profiles import check_identity

        check_identity(identity, "--identity")
    path = _db_path(db, deps)
    with _keys_store(path) as store:
        row, secret = create_key(store, identity)
    deps.output(as_json=as_json).fields(
        {"sid": row["sid"], "identity": row["identity"], "secret": secret,
         "date_created": row["date_created"]})
    who = f"acts only as {identity!r}" if identity else "is account-wide (full power)"
    deps.io.info(f"The key {who}. Its secret is shown only this once; {path} keeps a hash.")


def run_keys_list(db: str | None, as_json: bool, deps: Factory) -> None:
    from convo_cli.engine.keys import list_keys

    with _keys_store(_db_path(db, deps)) as store:
        rows = list_keys(store)
    records = [{"sid": r["sid"], "identity": r["identity"] or "(account-wide)"
                if not as_json else r["identity"], "date_created": r["date_created"]}
               for r in rows]
    deps.output(as_json=as_json).records(["sid", "identity", "date_created"], records,
                                         empty="No API keys.")


def run_keys_revoke(sid: str, db: str | None, deps: Factory) -> None:
    from convo_cli.engine.keys import KEY_SID, revoke_key

    if not KEY_SID.match(sid):
        raise UsageError("an API key SID is SK followed by 32 lowercase hex digits")
    with _keys_store(_db_path(db, deps)) as store:
        if not revoke_key(store, sid):
            raise ConvoError(f"no API key {sid} in this database (convo serve keys list)")
    deps.io.info(f"Revoked {sid}: a running server refuses it from its next request on.")


def register(app: typer.Typer, wanted: str | None = None) -> None:
    if wanted is not None and wanted != "serve":
        return
    group = typer.Typer(no_args_is_help=False, add_completion=False)

    @group.callback(invoke_without_command=True)
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
        forward_to: Annotated[str | None, typer.Option(
            "--forward-to", metavar="URL",
            help="Send the post-event webhooks (onMessageAdded, …) of every change made "
            "through this server to URL too, for this run, signed with the account's auth "
            "token.")] = None,
    ) -> int:
        """Serve the built-in engine over HTTP, for other convo users and Twilio's libraries.

        Clients authenticate with HTTP Basic: the account SID and its auth token.

        Those are $CONVO_SERVE_ACCOUNT_SID and $CONVO_SERVE_AUTH_TOKEN (16 characters at
        least) when set, or else generated on the first start and kept beside the database,
        in DB.credentials.json (mode 0600). Failed logins are throttled per address.

        One line per request goes to standard error, and one per webhook delivered. SIGINT or
        SIGTERM stops it gracefully. Beyond loopback, serve HTTPS (--tls-cert, --tls-key) or put
        a TLS proxy in front.

        $ convo serve --port 8080

        API keys (convo serve keys create) authenticate one person each: an identity key
        acts only as that identity, under Twilio's Roles.

        $ CONVO_SERVE_ACCOUNT_SID=AC… CONVO_SERVE_AUTH_TOKEN=… convo serve --db team.db

        $ convo serve --host 0.0.0.0 --port 8443 --tls-cert cert.pem --tls-key key.pem

        $ convo serve keys create --identity alice --db team.db
        """
        if ctx.invoked_subcommand is not None:
            return ExitCode.OK
        return run_serve(ServeOptions(host, port, db, rate_limit, tls_cert, tls_key,
                                      public_url, max_connections, forward_to), ctx.obj)

    keys = typer.Typer(no_args_is_help=True, add_completion=False)
    group.add_typer(keys, name="keys", help="Create, list and revoke the server's API keys.")

    @keys.command("create")
    def create(
        ctx: typer.Context,
        identity: Annotated[str | None, typer.Option(
            "--identity", help="The identity the key acts as (default: an account-wide key, "
            "with full power).")] = None,
        db: KeysDb = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create an API key and print its SID and secret, once.

        $ convo serve keys create --identity alice --db team.db
        """
        run_keys_create(identity, db or _parent_db(ctx), as_json, ctx.obj)

    @keys.command("list")
    def list_(ctx: typer.Context, db: KeysDb = None, as_json: JsonOption = False) -> None:
        """List the API keys: SID, identity, created (never a secret).

        $ convo serve keys list --db team.db
        """
        run_keys_list(db or _parent_db(ctx), as_json, ctx.obj)

    @keys.command("revoke")
    def revoke(
        ctx: typer.Context,
        sid: Annotated[str, typer.Argument(metavar="SK…", help="The key to revoke.",
                                           show_default=False)],
        db: KeysDb = None,
    ) -> None:
        """Revoke an API key: a running server refuses it from its next request on.

        $ convo serve keys revoke SK0123456789abcdef0123456789abcdef --db team.db
        """
        run_keys_revoke(sid, db or _parent_db(ctx), ctx.obj)

    app.add_typer(group, name="serve")


def _parent_db(ctx: typer.Context) -> str | None:
    """`convo serve --db X keys …`: the serve group's --db, when the key command has none."""
    parent = ctx.parent.parent if ctx.parent else None
    return parent.params.get("db") if parent else None
