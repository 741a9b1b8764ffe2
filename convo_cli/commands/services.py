"""Conversation Services: `services` (list), `services create`, `services delete`,
`services use`.

A service is a separate set of conversations, users and roles on one account. Which one a
call works in: `--service` > `CONVO_SERVICE` > the profile's (`services use`, `login
--service`) > the account's default one (see `convo_cli.profiles`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from convo_cli.commands import JsonOption, YesOption
from convo_cli.commands.checks import check_name
from convo_cli.commands.confirm import confirm, require_yes_or_terminal
from convo_cli.completion import complete_service
from convo_cli.errors import ConvoError, UsageError
from convo_cli.factory import Factory

if TYPE_CHECKING:
    from convo_cli.api.client import Client
    from convo_cli.api.services import Service

DEFAULT = "default"  # `services use default`: back to the account's default service

ServiceArg = Annotated[str, typer.Argument(
    metavar="IS…", help="The service's SID.", show_default=False,
    autocompletion=complete_service)]


def run_list(as_json: bool, deps: Factory) -> None:
    from convo_cli.api.services import list_services
    from convo_cli.render import services as render

    client = deps.client()
    default = _default(client)
    items = list(list_services(client))
    in_use = deps.profile().service_sid or default
    render.services(deps.output(as_json=as_json), items, default=default, in_use=in_use)
    _remember(deps, {s.sid: s.friendly_name for s in items}, replace=True)
    if in_use and in_use not in {s.sid for s in items}:
        source = deps.profile().service_source or "profile"
        deps.io.info(f"This call's service {in_use} (from {_source(source)}) is not one of "
                     "the account's.")


def _default(client: Client) -> str | None:
    """None when the far end has no `/v1/Configuration` to ask."""
    from convo_cli.api.errors import ApiError
    from convo_cli.api.services import default_service_sid

    try:
        return default_service_sid(client)
    except ApiError as error:
        if error.status in (404, 405):
            return None
        raise


class CreateOptions(NamedTuple):
    friendly_name: str
    as_json: bool = False


def run_create(opts: CreateOptions, deps: Factory) -> None:
    from convo_cli.api.services import create_service
    from convo_cli.render import services as render

    if not opts.friendly_name.strip():
        raise UsageError("NAME is blank: a service needs a friendly name")
    check_name(opts.friendly_name, "NAME")
    service = create_service(deps.client(), opts.friendly_name)
    render.service(deps.output(as_json=opts.as_json), service, default=None,
                   in_use=deps.profile().service_sid)
    _remember(deps, {service.sid: service.friendly_name})
    # Two lines, each within 80 columns, so that no SID is folded on a common terminal.
    deps.io.info(f"Work in it with: convo --service {service.sid} …")
    deps.io.info(f"or make it the profile's: convo services use {service.sid}")


class DeleteOptions(NamedTuple):
    sid: str
    yes: bool = False


def run_delete(opts: DeleteOptions, deps: Factory) -> None:
    from convo_cli.api.services import delete_service
    from convo_cli.profiles import check_service

    check_service(opts.sid, "IS…")
    require_yes_or_terminal(deps.io, opts.yes, "services delete")
    client = deps.client()
    service = _existing(client, opts.sid, "nothing deleted")
    if not opts.yes:
        confirm(deps.io, f"Delete {_described(service)} with every conversation, message "
                "and user in it? This cannot be undone.", yes=False, command="services delete")
    delete_service(client, service.sid)
    _forget(deps, service.sid)
    deps.io.info(f"Deleted {_described(service)}.")
    profile = deps.profile()
    if profile.stored is not None and profile.stored.service_sid == service.sid:
        deps.io.info(f"Profile {profile.name!r} still names it: convo services use default")


def run_use(sid: str, deps: Factory) -> None:
    from convo_cli import profiles

    if sid != DEFAULT:
        profiles.check_service(sid, "IS…")
    profile = deps.profile()
    if profile.name == profiles.ENV_PROFILE:  # checked before asking the service
        raise UsageError(profiles.ENV_NOT_STORED.format(instead="set CONVO_SERVICE"))
    chosen = None if sid == DEFAULT else _existing(deps.client(), sid, "nothing changed")
    profiles.set_service(profile.name, chosen.sid if chosen else None, deps.env)
    what = _described(chosen) if chosen else "the account's default Conversation Service"
    deps.io.info(f"Profile {profile.name!r} now works in {what}.")
    if profile.service_source in ("--service", "CONVO_SERVICE"):
        deps.io.info(f"({_source(profile.service_source)} still overrides it where it is set.)")


def _existing(client: Client, sid: str, consequence: str) -> Service:
    from convo_cli.api.errors import ApiError
    from convo_cli.api.services import fetch_service

    try:
        return fetch_service(client, sid)
    except ApiError as error:
        if error.status == 404:
            raise ConvoError(f"no Conversation Service {sid} on this account: {consequence} "
                             "(see: convo services)") from None
        raise


def _described(service: Service) -> str:
    from convo_cli.render.text import terminal_safe

    if not service.friendly_name:
        return f"Conversation Service {service.sid}"
    return f"Conversation Service '{terminal_safe(service.friendly_name)}' ({service.sid})"


def _source(source: str) -> str:
    return {"profile": "the profile"}.get(source, source)


def _remember(deps: Factory, seen: dict[str, str | None], *, replace: bool = False) -> None:
    """What `--service <TAB>` offers: the services last listed through this profile."""
    from convo_cli.cache import read_services, services_file, write_services

    path = services_file(deps.env, deps.profile().name)
    known = {} if replace else read_services(path)
    if known.items() >= seen.items() and not replace:
        return
    write_services(path, {**known, **seen})


def _forget(deps: Factory, sid: str) -> None:
    from convo_cli.cache import read_services, services_file, write_services

    path = services_file(deps.env, deps.profile().name)
    known = read_services(path)
    if known.pop(sid, False) is not False:
        write_services(path, known)


def register(app: typer.Typer, wanted: str | None = None) -> None:
    if wanted is not None and wanted != "services":
        return
    group = typer.Typer(no_args_is_help=False, add_completion=False)

    @group.callback(invoke_without_command=True)
    def services(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """List the account's Conversation Services (* marks the one this call works in).

        A service is a separate set of conversations, users and roles. A call works in
        --service IS…, else $CONVO_SERVICE, else the profile's (services use), else the
        account's default service.

        $ convo services

        $ convo services create Support

        $ convo --service IS0123456789abcdef0123456789abcdef list

        $ convo services use IS0123456789abcdef0123456789abcdef
        """
        if ctx.invoked_subcommand is None:
            run_list(as_json, ctx.obj)

    @group.command("create")
    def create(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(metavar="NAME", help="Its friendly name.",
                                            show_default=False)],
        as_json: JsonOption = False,
    ) -> None:
        """Create a Conversation Service and print it (its SID first).

        $ convo services create Support

        $ SERVICE=$(convo services create Support --json | jq -r .sid)
        """
        run_create(CreateOptions(name, as_json), ctx.obj)

    @group.command("delete")
    def delete(
        ctx: typer.Context,
        sid: ServiceArg,
        yes: YesOption = False,
    ) -> None:
        """Delete a Conversation Service and everything in it.

        $ convo services delete IS0123456789abcdef0123456789abcdef --yes
        """
        run_delete(DeleteOptions(sid, yes), ctx.obj)

    @group.command("use")
    def use(
        ctx: typer.Context,
        sid: Annotated[str, typer.Argument(
            metavar="IS…|default", help="The service's SID, or default.",
            show_default=False, autocompletion=complete_service)],
    ) -> None:
        """Make a service the profile's (any profile, local included); default goes back
        to the account's default service.

        $ convo services use IS0123456789abcdef0123456789abcdef

        $ convo --profile team services use default
        """
        run_use(sid, ctx.obj)

    app.add_typer(group, name="services")
