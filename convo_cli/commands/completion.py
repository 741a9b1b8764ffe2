"""`convo completion SHELL`: print the shell's completion script."""

from __future__ import annotations

from typing import Annotated

import typer

from convo_cli.commands import command
from convo_cli.completion import Shell, script
from convo_cli.factory import Factory


def run_completion(shell: Shell, deps: Factory) -> None:
    deps.io.stdout.write(script(shell.value))


def register(app: typer.Typer, wanted: str | None = None) -> None:
    @command(app, "completion", wanted)
    def completion(
        ctx: typer.Context,
        shell: Annotated[Shell, typer.Argument(
            metavar="SHELL", help="The shell to complete in.", show_default=False)],
    ) -> None:
        """Print a shell completion script (bash, zsh or fish).

        $ convo completion bash > ~/.local/share/bash-completion/completions/convo

        $ convo completion zsh > ~/.zfunc/_convo

        $ convo completion fish > ~/.config/fish/completions/convo.fish
        """
        run_completion(shell, ctx.obj)
