"""`convo serve`'s answers to reads, kept while the database has not changed.

Clients poll: a chat window reads the same page of messages, a script the same conversation,
again and again between writes. Each such read costs a SELECT, a dict per row and a JSON
encoding (30 µs for a conversation, 200 for a page of 50); answering it from here costs a
look at SQLite's change counters. An answer is kept only while nothing at all has changed in
the database since it was made: `total_changes` counts this connection's own writes (looked
at on every read), `PRAGMA data_version` those committed by any other (another convo process
on the same file; looked at once per turn of the event loop, see `_current_version`), and
when either moves every kept answer is dropped. Named Conversation Services have files of
their own (engine/services.py): every open one's counters count. Only 200s to GETs are kept,
keyed by everything the engine was given (path, query, base URL and every header, so that
an answer made for one client's credentials is never handed to another's), and at most
`SIZE` of them; no read depends on the clock, so none goes stale by itself.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

SIZE = 512
Answer = tuple[int, list[tuple[str, str]], bytes]


class CachedEngine:
    """An `Engine` (its `handle`, and everything else passed through) with kept reads."""

    def __init__(self, engine: Engine, size: int = SIZE) -> None:
        self.engine, self.size = engine, size
        self._answers: dict[tuple[Any, ...], Answer] = {}
        self._version: tuple[int, ...] | None = None
        # Other processes' commits as seen in this turn of this event loop, by these engines.
        self._seen: tuple[tuple[Any, ...], tuple[int, ...]] | None = None
        self.hits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def close(self) -> None:
        self.engine.close()

    def handle(self, method: str, path: str, query: str, body: bytes, headers: dict[str, str],
               *, base_url: str | None = None, **options: Any) -> Answer:
        """`Engine.handle`; `options` (the actor, a pre-event answer) follow from the headers
        or belong to writes, so the key need not hold them."""
        if method != "GET":
            return self.engine.handle(method, path, query, body, headers, base_url=base_url,
                                      **options)
        version = self._current_version()
        if version != self._version:
            self._answers.clear()
            self._version = version
        key = (path, query, base_url, *headers.items())
        answer = self._answers.get(key)
        if answer is not None:
            self.hits += 1
            return answer
        answer = self.engine.handle(method, path, query, body, headers, base_url=base_url,
                                    **options)
        if answer[0] == 200:
            if len(self._answers) >= self.size:
                self._answers.clear()  # simplest bound: a poller's working set refills it
            self._answers[key] = answer
        return answer

    def _current_version(self) -> tuple[int, ...]:
        """This process's writes (`total_changes`, looked at on every read: a write and a
        read in one turn of the event loop are told apart) and other processes' commits
        (`PRAGMA data_version`, which takes SQLite's shared-memory read lock: ~10 µs under
        load; asked once per turn of the event loop, so the reads of one turn see other
        processes' commits as the turn's first read saw them: as if answered a moment
        earlier, while their requests were already in)."""
        engines = self.engine.engines()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (tests, tools): asked every time
            loop = None
        which = (loop, *map(id, engines))
        kept = self._seen
        if loop is not None and kept is not None and kept[0] == which:
            seen = kept[1]
        else:
            seen = tuple(_data_version(engine.store.db) for engine in engines)
            if loop is not None:
                self._seen = (which, seen)
                loop.call_soon(self._forget_seen)
        return (*seen, *(engine.store.db.total_changes for engine in engines))

    def _forget_seen(self) -> None:
        self._seen = None


def _data_version(db: Any) -> int:
    row = db.execute("PRAGMA data_version").fetchone()
    return int(row["data_version"] if isinstance(row, dict) else row[0])
