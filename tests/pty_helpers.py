"""Running the real `convo` executable on a real pseudo-terminal of a given size, as a user
at a terminal of that width sees it: standard input, output and error are the terminal, and
the program asks the terminal (TIOCSWINSZ) how wide it is, as it would anywhere.

`run_in_pty(argv, width)` returns what was written to the terminal, raw (colours and all),
with `lines()` for the text a reader sees and `cells(line)` for its width in terminal cells.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import sys
import termios
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len

SGR = re.compile(r"\x1b\[([0-9;]*)m")
# Variables that would override the terminal's own size or colour.
_OVERRIDES = ("COLUMNS", "LINES", "TERMINAL_WIDTH", "NO_COLOR", "FORCE_COLOR", "COLORTERM")
GUARD = 120  # seconds: a hung child is killed so that the suite ends (not an assertion)


@dataclass
class Screen:
    code: int
    raw: str  # as written to the terminal, "\r\n" made "\n"

    def lines(self) -> list[str]:
        """The text of each line, colours removed."""
        text = SGR.sub("", self.raw)
        return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def cells(line: str) -> int:
    """How many terminal cells a line of plain text takes."""
    return cell_len(line)


def convo_executable() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "convo")
    return [script] if os.access(script, os.X_OK) else [shutil.which("convo") or "convo"]


def run_in_pty(argv: Sequence[str], width: int, height: int = 50,
               env: Mapping[str, str] | None = None, *, typed: str = "") -> Screen:
    """`argv` (e.g. `[*convo_executable(), "list"]`) on a terminal `width` columns wide;
    `typed` is what the user types (an answer to a prompt: "y\n"), echoed as a terminal
    echoes it."""
    environ = {k: v for k, v in (os.environ if env is None else env).items()
               if k not in _OVERRIDES}
    environ.setdefault("TERM", "xterm-256color")
    if environ["TERM"] in ("", "dumb"):
        environ["TERM"] = "xterm-256color"
    pid, master = pty.fork()
    if pid == 0:  # the child: its standard streams are the terminal
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
            os.execvpe(argv[0], list(argv), environ)
        finally:
            os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    if typed:
        os.write(master, typed.encode())
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], GUARD)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    raw = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return Screen(os.waitstatus_to_exitcode(status), raw)
