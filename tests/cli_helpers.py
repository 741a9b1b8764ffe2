"""Running the real CLI in-process (through `convo_cli.main.run`, the same path the console
script takes) against the real engine, with captured streams."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from convo_cli.main import run
from convo_cli.render.streams import IOStreams


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[str]:
        return self.out.splitlines()

    def rows(self) -> list[list[str]]:
        return [line.split("\t") for line in self.out.splitlines()]


def convo(*argv: str, stdin: str = "", tty: bool = False, width: int = 100,
          http_transport: Any = None, **env: str) -> Result:
    """`convo ARGV…` with standard output piped (default) or a forced terminal."""
    io = IOStreams.test(tty=tty, stdin=stdin, width=width)
    code = run(list(argv), io, {**os.environ, **env}, http_transport=http_transport)
    return Result(code, io.out(), io.err())


def as_(identity: str, *argv: str, **kwargs: Any) -> Result:
    return convo("--identity", identity, *argv, **kwargs)
