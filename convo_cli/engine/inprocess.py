"""The in-process transport: the API layer's requests go straight into the engine.

No socket, no server, no httpx: this is the path every command takes on the `local`
profile, so it stays light.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlencode

from convo_cli.api.errors import TransportError
from convo_cli.api.transport import Request, Response

BASE_URL = "convo://local"
DELIVERY_BUDGET = 5.0  # seconds a command spends delivering its webhooks before it exits


class _Failures(logging.Handler):
    """What the engine logs as a failure (its 500s). Served, that goes to the server's log;
    in-process there is no log but the user's terminal, so the transport raises it instead:
    one line (and the traceback with --debug), rather than a traceback printed by logging."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.error: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.error = record.exc_info[1]


class InProcessTransport:
    base_url = BASE_URL

    def __init__(self, db_path: str) -> None:
        from convo_cli.engine.wire import Engine

        self._engine = Engine(db_path, base_url=BASE_URL)
        self._read_only = self._engine.store.read_only
        self._failures = _Failures()
        logging.getLogger("convo.engine").addHandler(self._failures)

    def send(self, request: Request) -> Response:
        if self._read_only and request.method != "GET":
            # Said before the engine tries: the file, not the service, refuses the write.
            raise TransportError(f"{self._engine.store.path} is read-only: convo can read it "
                                 "but not change it", url=BASE_URL)
        status, headers, body = self._engine.handle(
            request.method,
            request.path,
            urlencode(request.params),
            urlencode(request.form).encode(),
            dict(request.headers),
        )
        if status >= 500 and self._failures.error is not None:
            self._raise_failure()
        return Response(status, body, {k.lower(): v for k, v in headers})

    def message_lines(self, conversation_sid: str) -> Iterator[list[str]] | None:
        """`--all --json`, rendered by the store rather than paged (engine/export.py)."""
        from convo_cli.engine.export import message_lines

        return message_lines(self._engine, conversation_sid)

    def _raise_failure(self) -> None:
        import sqlite3

        from convo_cli.engine.database import unusable

        error, self._failures.error = self._failures.error, None
        if isinstance(error, sqlite3.DatabaseError):  # a damaged file, a full disk…
            raise unusable(self._engine.store.path, error) from error
        assert error is not None
        raise error

    def close(self) -> None:
        logging.getLogger("convo.engine").removeHandler(self._failures)
        try:
            # The command that made a change delivers its webhooks before it exits, within a
            # bound; what fails stays queued (engine/delivery.py). A named service's change
            # is in that service's own outbox.
            queued = [engine for engine in self._engine.engines() if engine.events.queued]
            if queued:
                import time

                from convo_cli.engine.delivery import drain

                deadline = time.monotonic() + DELIVERY_BUDGET
                for engine in queued:
                    drain(engine.store, engine.auth_token, max(0.0, deadline - time.monotonic()))
        finally:
            self._engine.close()
