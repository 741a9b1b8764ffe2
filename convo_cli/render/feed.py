"""Records that arrive one at a time, as `convo events` and `convo outbox` print them (and go
on printing with --follow): one JSON object a line with --json; one tab-separated line a
record when piped (`fields`, untruncated, ISO times); on a terminal, a table of one line per
record like every other table (`Terminal.table`), each followed record laid out with the
last ones shown so that its columns stay where they were."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from convo_cli.render.columns import Column
from convo_cli.render.streams import IOStreams
from convo_cli.render.text import tsv_line

Item = dict[str, Any]
WINDOW = 50  # followed records laid out with this many of the last ones


class Feed:
    """`fields(item)`: the record's fields, its time (ISO) first; on a terminal the time is
    shown as other tables show it, and `columns` say how the fields fit the width."""

    def __init__(self, io: IOStreams, columns: Sequence[Column],
                 fields: Callable[[Item], Sequence[str]], *, as_json: bool) -> None:
        self.io, self.columns, self.fields = io, columns, fields
        self.mode = "json" if as_json else ("terminal" if io.stdout_tty else "tsv")
        self._shown: deque[list[str]] = deque(maxlen=WINDOW)
        self._terminal: Any = None

    def listing(self, items: Iterable[Item], *, empty: str) -> None:
        """The records at hand, under a header on a terminal."""
        if self.mode != "terminal":
            return self.follow(items)
        from convo_cli.render.terminal import Terminal

        self._terminal = Terminal(self.io)
        self._shown.extend(self._cells(item) for item in items)
        self._terminal.table(self.columns, list(self._shown), empty=empty)

    def follow(self, items: Iterable[Item]) -> None:
        """Records as they come, each written and flushed at once."""
        for item in items:
            if self.mode == "json":
                self.io.stdout.write(json.dumps(item) + "\n")
            elif self.mode == "tsv":
                self.io.stdout.write(tsv_line(*self.fields(item)))
            else:
                cells = self._cells(item)
                self._shown.append(cells)
                self._terminal.table_row(self.columns, cells, like=list(self._shown))
            self.io.stdout.flush()

    def _cells(self, item: Item) -> list[str]:
        time, *rest = self.fields(item)
        return [self._terminal.day(time) or "", *rest]
