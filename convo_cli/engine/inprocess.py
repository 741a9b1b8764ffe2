"""The in-process transport: the API layer's requests go straight into the engine.

No socket, no server, no httpx: this is the path every command takes on the `local`
profile, so it stays light.
"""

from __future__ import annotations

from urllib.parse import urlencode

from convo_cli.api.transport import Request, Response

BASE_URL = "convo://local"


class InProcessTransport:
    base_url = BASE_URL

    def __init__(self, db_path: str) -> None:
        from convo_cli.engine.wire import Engine

        self._engine = Engine(db_path, base_url=BASE_URL)

    def send(self, request: Request) -> Response:
        status, headers, body = self._engine.handle(
            request.method,
            request.path,
            urlencode(request.params),
            urlencode(request.form).encode(),
            dict(request.headers),
        )
        return Response(status, body, {k.lower(): v for k, v in headers})

    def close(self) -> None:
        self._engine.close()
