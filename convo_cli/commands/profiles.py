"""Profiles and credentials: `login`, `logout`, `profiles` (`use`, `remove`), `whoami`.

A secret is read from a hidden prompt on a terminal or from standard input otherwise, never
from a flag (it would show in the process list and the shell history). The behaviour lives
in `convo_cli.profiles` and `convo_cli.credentials`; these functions parse, check, and say
what happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from convo_cli.commands import command
from convo_cli.completion import complete_profile
from convo_cli.errors import AuthError, ConvoError, UsageError
from convo_cli.factory import Factory

if TYPE_CHECKING:
    from convo_cli.config import ProfileConfig

JsonOption = Annotated[bool, typer.Option("--json", help="Print the record as JSON.")]
ProfileOption = Annotated[str | None, typer.Option(
    "--profile", help="The profile (default: the one this call would use).",
    show_default=False, autocompletion=complete_profile)]
NameArg = Annotated[str, typer.Argument(metavar="NAME", show_default=False,
                                        autocompletion=complete_profile)]


class LoginOptions(NamedTuple):
    profile: str | None
    twilio: bool = False
    server: str | None = None
    account_sid: str | None = None
    api_key: str | None = None
    identity: str | None = None
    service_sid: str | None = None
    insecure_storage: bool = False
    verify: bool = True


def run_login(opts: LoginOptions, deps: Factory) -> None:
    from convo_cli import profiles

    name = opts.profile or deps.profile_name
    if not name:
        raise UsageError("login needs --profile NAME")
    if opts.twilio == (opts.server is not None):
        raise UsageError("login needs exactly one of --twilio or --server URL")
    # A convo serve tells an API key's holder its account (a Role names it): no --account-sid.
    learn = not opts.account_sid and bool(opts.server and opts.api_key and opts.verify)
    if not opts.account_sid and not learn:
        raise UsageError("login needs --account-sid AC…" + (
            " (with --server and --api-key, only when --no-verify is given)"
            if opts.server and opts.api_key else ""))
    profile = profiles.build_profile(
        name, kind="twilio" if opts.twilio else "server",
        account_sid=opts.account_sid or _UNKNOWN_ACCOUNT,
        base_url=opts.server, api_key=opts.api_key, identity=opts.identity,
        service_sid=opts.service_sid, insecure_storage=opts.insecure_storage)
    secret = _read_secret(deps, "API key secret" if opts.api_key else "Auth token",
                          profile.username or "")
    if opts.verify:
        account_sid = _verify(profile, secret, deps, learn=learn)
        if learn:
            profile = profile._replace(account_sid=account_sid)
    where = profiles.login(profile, secret, deps.env, activate=True)
    place = "the OS keyring" if where == "keyring" else "an unencrypted file (--insecure-storage)"
    service = f", Conversation Service {profile.service_sid}" if profile.service_sid else ""
    deps.io.info(f"Logged in: profile {name!r} ({profile.kind}, {profile.username}{service}); "
                 f"the secret is in {place}. {name!r} is now the active profile "
                 "(back to the built-in engine: convo profiles use local).")


def _read_secret(deps: Factory, what: str, username: str) -> str:
    from convo_cli.credentials import CredentialsError, check_secret

    if deps.io.stdin_tty:
        import getpass

        secret = getpass.getpass(f"{what} for {username} (hidden): ")
    else:
        secret = deps.io.stdin.read()
    if not secret.strip():
        raise CredentialsError(f"no {what.lower()} given: pipe it on standard input "
                               "(printf %s \"$TOKEN\" | convo login …) or run login on a terminal")
    return check_secret(secret)


_UNKNOWN_ACCOUNT = "AC" + "0" * 32  # until the server names it


def _verify(profile: ProfileConfig, secret: str, deps: Factory, *,
            learn: bool = False) -> str | None:
    """One cheap read with the new credentials, so a mistyped token fails now, not later.
    With `learn`, also the account SID the server names (on its first Role)."""
    from convo_cli import profiles
    from convo_cli.api.client import Client
    from convo_cli.api.errors import ApiError, ServiceNotFoundError, TransportError
    from convo_cli.api.http import TWILIO_BASE_URL, HttpTransport

    base_url = profile.base_url or TWILIO_BASE_URL
    transport = HttpTransport(base_url, username=profile.username, password=secret,
                              transport=deps.http_transport)
    client = Client(transport, service_sid=profile.service_sid)
    try:
        client.call("GET", client.path("Conversations"), params=(("PageSize", "1"),))
        if learn:
            roles = client.call("GET", "/v1/Roles", params=(("PageSize", "1"),))
            found = (roles.get("roles") or [{}])[0].get("account_sid") \
                if isinstance(roles, dict) else None
            if not (isinstance(found, str) and profiles.ACCOUNT_SID.fullmatch(found)):
                raise ConvoError(f"{base_url} did not name its account; give --account-sid AC…")
            return found
        return None
    except ApiError as error:
        if error.status in (401, 403):
            raise AuthError(f"{base_url} rejected the credentials for {profile.username}"
                            f"{error.detail()}; nothing was stored") from None
        raise ConvoError(f"cannot verify the credentials: {error}; nothing was stored "
                         "(--no-verify stores them unchecked)") from None
    except ServiceNotFoundError as error:
        raise ConvoError(f"{error}; nothing was stored") from None
    except TransportError as error:  # unreachable: its text names the URL
        raise ConvoError(f"{error}; nothing was stored (--no-verify stores the credentials "
                         "unchecked)") from None
    finally:
        client.close()


def run_logout(profile: str | None, deps: Factory) -> None:
    from convo_cli import profiles

    name = profile or deps.profile().name
    if name == profiles.LOCAL and profile is None:
        raise UsageError("the local profile has no credentials; name one: "
                         "convo logout --profile NAME")
    if profiles.logout(name, deps.env):
        deps.io.info(f"Logged out of {name!r}: its secret is deleted (the profile stays; "
                     f"convo profiles remove {name} forgets it).")
    else:
        deps.io.info(f"No secret was stored for {name!r}.")


def run_profiles(as_json: bool, deps: Factory) -> None:
    from convo_cli import profiles

    records = [{"name": p.name, "active": active, "kind": p.kind,
                "base_url": p.base_url or (profiles.TWILIO_BASE_URL if p.kind == "twilio"
                                           else None),
                "account_sid": p.account_sid, "api_key": p.api_key, "identity": p.identity,
                "service_sid": p.service_sid}
               for p, active in profiles.list_profiles(deps.env)]
    output = deps.output(as_json=as_json)
    headers = ["active", "name", "kind", "base_url", "account_sid", "identity", "service_sid"]
    if output.mode == "terminal":
        for record in records:
            record["active"] = "*" if record["active"] else ""
        if not any(record["service_sid"] for record in records):
            headers.remove("service_sid")  # an empty column only takes room
    output.records(headers, records, empty="No profiles.")


def run_use(name: str, deps: Factory) -> None:
    from convo_cli import profiles

    profiles.use(name, deps.env)
    deps.io.info(f"Active profile: {name}.")


def run_remove(name: str, deps: Factory) -> None:
    from convo_cli import profiles

    profiles.remove(name, deps.env)
    deps.io.info(f"Removed profile {name!r} and its secret.")


def run_whoami(as_json: bool, deps: Factory) -> None:
    from convo_cli.profiles import whoami

    deps.output(as_json=as_json).fields(whoami(deps.profile(), deps.env))


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "login", wanted)
    def login(
        ctx: typer.Context,
        profile: Annotated[str | None, typer.Option(
            "--profile", help="The profile to create or update.", show_default=False,
            autocompletion=complete_profile)] = None,
        twilio: Annotated[bool, typer.Option(
            "--twilio", help="A Twilio account (https://conversations.twilio.com).")] = False,
        server: Annotated[str | None, typer.Option(
            "--server", metavar="URL", help="A convo serve, e.g. http://127.0.0.1:8080.",
            show_default=False)] = None,
        account_sid: Annotated[str | None, typer.Option(
            "--account-sid", metavar="AC…", help="The account SID.", show_default=False)]
        = None,
        api_key: Annotated[str | None, typer.Option(
            "--api-key", metavar="SK…", help="Authenticate with this API key (Twilio, or a "
            "key from convo serve keys create: then --account-sid is learned).",
            show_default=False)] = None,
        identity: Annotated[str | None, typer.Option(
            "--identity", help="Who you are on this profile.", show_default=False)] = None,
        service_sid: Annotated[str | None, typer.Option(
            "--service", metavar="IS…", help="Work in this Conversation Service (default: "
            "the account's default one).", show_default=False)] = None,
        service_sid_alias: Annotated[str | None, typer.Option(
            "--service-sid", hidden=True, show_default=False)] = None,  # its former name
        insecure_storage: Annotated[bool, typer.Option(
            "--insecure-storage", help="Keep the secret in a 0600 file, not the OS keyring.")]
        = False,
        verify: Annotated[bool, typer.Option(
            "--verify/--no-verify", help="Check the credentials with one request first.")]
        = True,
    ) -> None:
        """Log in to a convo serve or a Twilio account; the secret goes to the OS keyring.

        The auth token (or API key secret) is read from a hidden prompt, or from standard input when it is not a terminal; never from a flag.

        $ convo login --profile team --server http://127.0.0.1:8080 --account-sid AC… --identity alice

        $ convo login --profile team --server http://127.0.0.1:8080 --api-key SK… --identity alice

        $ printf %s "$TOKEN" | convo login --profile prod --twilio --account-sid AC…

        $ convo login --profile support --twilio --account-sid AC… --service IS…
        """
        if service_sid is not None and service_sid_alias is not None:
            raise UsageError("give --service once (--service-sid is its former name)")
        run_login(LoginOptions(profile, twilio, server, account_sid, api_key, identity,
                               service_sid if service_sid is not None else service_sid_alias,
                               insecure_storage, verify), ctx.obj)

    @command(app, "logout", wanted)
    def logout(ctx: typer.Context, profile: ProfileOption = None) -> None:
        """Delete a profile's secret from the OS keyring.

        $ convo logout --profile team
        """
        run_logout(profile, ctx.obj)

    @command(app, "whoami", wanted)
    def whoami(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """Show the profile, identity and where the credentials come from (never the secret).

        $ convo whoami

        $ convo --profile team whoami --json
        """
        run_whoami(as_json, ctx.obj)

    if wanted is not None and wanted != "profiles":
        return
    group = typer.Typer(no_args_is_help=False, add_completion=False)

    @group.callback(invoke_without_command=True)
    def profiles(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """List profiles (* marks the active one); use or remove one.

        $ convo profiles

        $ convo profiles use team
        """
        if ctx.invoked_subcommand is None:
            run_profiles(as_json, ctx.obj)

    @group.command("use")
    def use(ctx: typer.Context, name: NameArg) -> None:
        """Make a profile the active one.

        $ convo profiles use team
        """
        run_use(name, ctx.obj)

    @group.command("remove")
    def remove(ctx: typer.Context, name: NameArg) -> None:
        """Forget a profile and delete its secret.

        $ convo profiles remove team
        """
        run_remove(name, ctx.obj)

    app.add_typer(group, name="profiles")
