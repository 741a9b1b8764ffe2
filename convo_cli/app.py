"""The Typer application: global options, and each command area registering its commands.

Command modules import only Typer and small modules at the top; the API client, the engine
and Rich load inside the code paths that use them (start-up time).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import Annotated

import typer

from convo_cli.completion import complete_profile, complete_service
from convo_cli.factory import Factory

# Which module registers each command. Building every command's Click parameters costs
# ~1.5 ms each at start-up, so a run builds only the command it runs (`--help`, no command,
# and completion build them all).
COMMANDS = {
    "create": "conversations", "list": "conversations", "show": "conversations",
    "edit": "conversations", "delete": "conversations",
    "join": "members", "leave": "members", "add": "members", "add-sms": "members",
    "participants": "members", "remove": "members",
    "messages": "messages", "send": "messages", "edit-message": "messages",
    "delete-message": "messages",
    "chat": "chat",
    "login": "profiles", "logout": "profiles", "profiles": "profiles", "whoami": "profiles",
    "completion": "completion",
    "serve": "serve",
    "events": "events",
    "inbound": "phones", "outbox": "phones",
    "services": "services",
}
GLOBAL_OPTIONS_WITH_VALUES = ("--profile", "--identity", "--service")
HELP_OPTIONS = ("-h", "--help")
VERSION = "--version"  # command_in's answer for `convo --version`: no command to build

HELP = (
    "A command-line chat client for Conversations, with a built-in engine.\n\n"
    "CONVERSATION is a CH… SID or a unique name everywhere. Output is a table or a chat on a "
    "terminal, tab-separated lines when piped, and the REST resource JSON with --json.\n\n"
    '$ convo create --friendly-name "Daily standup" --unique-name standup\n\n'
    "$ convo join standup\n\n"
    '$ convo send standup "Deploy is done"\n\n'
    "$ convo messages standup"
)


def command_in(argv: Sequence[str]) -> str | None:
    """The command an argument list runs, if it names a known one, skipping global options."""
    args = iter(argv)
    for arg in args:
        if arg in GLOBAL_OPTIONS_WITH_VALUES:
            next(args, None)
        elif arg in HELP_OPTIONS:
            return None
        elif arg == VERSION:
            return VERSION
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_app(argv: Sequence[str] | None = None) -> typer.Typer:
    """The application; with `argv`, only the command it runs is registered."""
    app = typer.Typer(name="convo", help=HELP, no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False,
                      context_settings={"help_option_names": list(HELP_OPTIONS)})

    @app.callback()
    def root(
        ctx: typer.Context,
        profile: Annotated[str | None, typer.Option(
            "--profile", help="The profile for this call (default: $CONVO_PROFILE, the "
            "TWILIO_* variables, the active profile, or local).",
            autocompletion=complete_profile)] = None,
        identity: Annotated[str | None, typer.Option(
            "--identity", help="Act as this identity (default: $CONVO_IDENTITY, the "
            "profile's, or your login name).")] = None,
        service: Annotated[str | None, typer.Option(
            "--service", metavar="IS…", help="Work in this Conversation Service (default: "
            "$CONVO_SERVICE, the profile's, or the account's default service).",
            autocompletion=complete_service)] = None,
        debug: Annotated[bool, typer.Option(
            "--debug", help="Show HTTP requests (credentials redacted) and tracebacks.")] = False,
        version: Annotated[bool, typer.Option(
            VERSION, is_eager=True, callback=_print_version,
            help="Print convo's version and exit.")] = False,
    ) -> None:
        deps: Factory = ctx.obj
        if identity is not None:  # checked here, so that every command refuses a blank one
            from convo_cli.profiles import check_identity

            check_identity(identity, "--identity")
        if service is not None:
            from convo_cli.profiles import check_service

            check_service(service, "--service")
        deps.profile_name, deps.identity_flag = profile, identity
        deps.service_flag = service
        deps.debug = deps.debug or debug

    wanted = command_in(argv) if argv is not None else None
    for area in dict.fromkeys(COMMANDS.values()):  # in COMMANDS order, as help lists them
        if wanted is None or COMMANDS.get(wanted) == area:
            import_module(f"convo_cli.commands.{area}").register(app, wanted)
    return app


def _print_version(value: bool) -> None:
    """`convo --version`: the installed package's version, read from its metadata."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("convo")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown"
        print(f"convo {number}")
        raise typer.Exit()
