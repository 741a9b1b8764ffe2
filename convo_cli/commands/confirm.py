"""Asking before something that cannot be undone (`delete`, `delete-message`).

On a terminal (standard input and output both one) convo asks; anywhere else it never
prompts, since nobody may be there to answer and a script must not hang: it needs `--yes`.
"""

from __future__ import annotations

from convo_cli.errors import UsageError
from convo_cli.render.streams import IOStreams

YES = ("y", "yes")


def can_ask(io: IOStreams) -> bool:
    return io.stdin_tty and io.stdout_tty


def require_yes_or_terminal(io: IOStreams, yes: bool, command: str) -> None:
    """Checked before anything is sent (exit 2): without a terminal, `--yes` is the answer."""
    if not yes and not can_ask(io):
        raise UsageError(f"{command} needs --yes when not run on a terminal: nothing deleted")


def confirm(io: IOStreams, question: str, *, yes: bool, command: str) -> None:
    """Ask `question` on standard error, unless `--yes` answered it; anything but y/yes
    (Enter, end of input) is a no, and the command stops with exit 2."""
    require_yes_or_terminal(io, yes, command)
    if yes:
        return
    io.stderr.write(f"{question} [y/N] ")
    io.stderr.flush()
    answer = io.stdin.readline()
    if not answer.endswith("\n"):
        io.stderr.write("\n")  # end of input: finish the prompt's line
    if answer.strip().lower() not in YES:
        raise UsageError("not confirmed: nothing deleted")
