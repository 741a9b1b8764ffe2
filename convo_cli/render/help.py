"""`--help` fitted to the terminal. Typer draws help with Rich in boxed tables, which at
less than about 100 columns cut option names and URLs with `…` (`--page-s…`); below that
width convo uses Click's plain layout instead, which never cuts a name: a long option takes
a line of its own and its help folds under it."""

from __future__ import annotations

import shutil
from typing import Any

RICH_HELP_FROM = 100  # columns


def help_settings(command: Any, width: int | None = None) -> dict[str, int]:
    """Context settings for `command.main(...)`: the width help wraps at; and, on a narrow
    terminal, every command switched to the plain layout."""
    width = width or shutil.get_terminal_size(fallback=(80, 24)).columns
    if width < RICH_HELP_FROM:
        _plain(command)
    return {"terminal_width": max(width, 20)}


def _plain(command: Any) -> None:
    command.rich_markup_mode = None
    if command.help and not command.short_help:
        # Click cuts a command's summary in a list of commands to the width ("Make a…");
        # given as `short_help`, it folds instead.
        command.short_help = command.help.split("\n\n")[0]
    for sub in (getattr(command, "commands", None) or {}).values():
        _plain(sub)
