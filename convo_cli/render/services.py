"""`convo services`: the account's Conversation Services, one record each.

On a terminal a table, `*` marking the service this call works in, `yes` under Default
for the account's default one; piped, one untruncated line per service (SID, friendly name,
created, default, in use: `true`/`false`); `--json`, the Service resources as the API
returns them, an array.
"""

from __future__ import annotations

from collections.abc import Iterable

from convo_cli.api.services import Service
from convo_cli.render.columns import Column
from convo_cli.render.output import Output
from convo_cli.render.text import tsv_line

# As the terminal narrows: the date goes first, then the Default column, then the friendly
# name (shortened before it goes); the SID and the in-use mark stay.
COLUMNS = (Column("", priority=9), Column("SID", priority=10),
           Column("Friendly name", priority=7, shrink=True, min_width=6),
           Column("Created", priority=2), Column("Default", priority=5))


def services(output: Output, items: Iterable[Service], *, default: str | None,
             in_use: str | None) -> None:
    if output.mode == "json":
        return output.records([], [s.raw for s in items], empty="")
    if output.mode == "tsv":
        for s in items:
            output.io.stdout.write(line(s, default=default, in_use=in_use))
        return
    rows = [("*" if s.sid == in_use else "", s.sid, s.friendly_name,
             output.terminal.day(s.date_created), "yes" if s.sid == default else "")
            for s in items]
    output.terminal.table(COLUMNS, rows, empty="No Conversation Services.")


def line(s: Service, *, default: str | None, in_use: str | None) -> str:
    return tsv_line(s.sid, s.friendly_name, s.date_created, _flag(s.sid == default),
                    _flag(s.sid == in_use))


def service(output: Output, s: Service, *, default: str | None, in_use: str | None) -> None:
    """One service (`services create`): the resource, its listing line, or a record."""
    if output.mode == "json":
        return output.fields(s.raw)
    if output.mode == "tsv":
        return output.io.stdout.write(line(s, default=default, in_use=in_use))
    output.terminal.record([("SID", s.sid), ("Friendly name", s.friendly_name),
                            ("Created", output.terminal.when(s.date_created))])


def _flag(value: bool) -> str:
    return "true" if value else "false"
