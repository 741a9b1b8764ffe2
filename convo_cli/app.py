"""The Typer application: global options, and each command area registering its commands.

Command modules import only Typer and small modules at the top; the API client, the engine
and Rich load inside the code paths that use them (start-up time).
"""

from __future__ import annotations

from typing import Annotated

import typer

from convo_cli.commands import conversations, members, messages
from convo_cli.factory import Factory

HELP = """A command-line chat client for Conversations, with a built-in Conversations engine.

CONVERSATION is a CH… SID or a unique name everywhere. Output is a table or a chat on a
terminal, tab-separated lines when piped, and the REST resource JSON with --json."""


def build_app() -> typer.Typer:
    app = typer.Typer(name="convo", help=HELP, no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False)

    @app.callback()
    def root(
        ctx: typer.Context,
        profile: Annotated[str | None, typer.Option(
            "--profile", help="The profile to use for this call (default: local).")] = None,
        identity: Annotated[str | None, typer.Option(
            "--identity", help="Act as this identity (default: $CONVO_IDENTITY, the "
            "profile's, or your login name).")] = None,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    ) -> None:
        deps: Factory = ctx.obj
        deps.profile_name, deps.identity_flag = profile, identity
        deps.debug = deps.debug or debug

    conversations.register(app)
    members.register(app)
    messages.register(app)
    register_serve(app)
    return app


def register_serve(app: typer.Typer) -> None:
    """`convo serve` belongs to the HTTP server (issue 3): `convo_cli/engine/server.py` may
    define `register(app)`. That module must keep its server imports (uvicorn…) inside the
    command function, since importing it here happens on every run."""
    try:
        from convo_cli.engine import server
    except ImportError:
        return
    register = getattr(server, "register", None)
    if register is not None:
        register(app)
