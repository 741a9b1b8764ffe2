"""Everything convo reads from its surroundings about output: the streams, whether standard
output is a terminal, colour, width. Tests build one directly (httpie's Environment, gh's
IOStreams) instead of patching sys."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from typing import TextIO


class IOStreams:
    def __init__(self, stdout: TextIO, stderr: TextIO, stdin: TextIO, stdout_tty: bool,
                 stdin_tty: bool, color: bool, width: int | None = None, *,
                 stderr_tty: bool = False) -> None:
        self.stdout, self.stderr, self.stdin = stdout, stderr, stdin
        self.stdout_tty, self.stdin_tty, self.color = stdout_tty, stdin_tty, color
        self.stderr_tty = stderr_tty  # progress is drawn in place only on a terminal
        self.width = width  # None: ask the terminal

    @classmethod
    def system(cls, env: Mapping[str, str] | None = None) -> IOStreams:
        env = os.environ if env is None else env
        tty = _isatty(sys.stdout)
        # https://no-color.org: any non-empty NO_COLOR turns colour off.
        color = tty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
        return cls(sys.stdout, sys.stderr, sys.stdin, tty, _isatty(sys.stdin), color,
                   stderr_tty=_isatty(sys.stderr))

    @classmethod
    def test(cls, *, tty: bool = False, stdin: str = "", stdin_tty: bool = False,
             color: bool = False, width: int = 100, stderr_tty: bool = False) -> IOStreams:
        """Captured streams; `tty=True` forces terminal rendering at a fixed width."""
        return cls(io.StringIO(), io.StringIO(), io.StringIO(stdin), tty, stdin_tty, color, width,
                   stderr_tty=stderr_tty)

    def out(self) -> str:
        return self.stdout.getvalue()  # type: ignore[attr-defined]

    def err(self) -> str:
        return self.stderr.getvalue()  # type: ignore[attr-defined]

    def info(self, line: str) -> None:
        """Progress, hints and confirmations: standard error, never mixed with data."""
        self.stderr.write(line + "\n")
        self.stderr.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
