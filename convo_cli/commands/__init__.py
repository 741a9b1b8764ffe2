"""The commands: each a thin Typer function filling a frozen `<Cmd>Options` record, and a
`run_<cmd>(opts, deps)` holding the behaviour (gh's layout). No HTTP, no SQL here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from convo_cli.completion import complete_conversation

ConversationArg = Annotated[str, typer.Argument(
    metavar="CONVERSATION", help="A CH… SID or a unique name.", show_default=False,
    autocompletion=complete_conversation)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the REST resource JSON.")]
YesOption = Annotated[bool, typer.Option(
    "--yes", "-y", help="Do not ask; needed when not on a terminal.")]  # commands/confirm.py


def command(app: typer.Typer, name: str, wanted: str | None) -> Callable[[Any], Any]:
    """`app.command(name)`, or a no-op when this run needs another command (see
    `convo_cli.app.COMMANDS`: only the command being run is built)."""
    if wanted is None or wanted == name:
        return app.command(name)
    return lambda function: function
