"""The network transport: HTTPS to Twilio or HTTP to a `convo serve`, with Basic auth.

httpx is imported inside, when the first network client is built: the in-process path
never pays its ~120 ms import.
"""

from __future__ import annotations

from typing import Any

from convo_cli.api.errors import TransportError
from convo_cli.api.transport import Request, Response

TWILIO_BASE_URL = "https://conversations.twilio.com"


class HttpTransport:
    def __init__(self, base_url: str, *, username: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 convo_engine: bool = False, user_agent: str = "convo",
                 transport: Any = None) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        # A served convo engine understands convo's message PageTokens (see api.history).
        self.convo_engine = convo_engine
        auth = (username, password or "") if username is not None else None
        self._client: Any = httpx.Client(
            base_url=self.base_url, auth=auth, headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,  # an httpx transport: tests record requests through one
        )
        self._httpx = httpx

    def send(self, request: Request) -> Response:
        content = None
        headers = dict(request.headers)
        if request.method == "POST":
            from urllib.parse import urlencode

            content = urlencode(request.form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = self.base_url + request.path
        try:
            answer = self._client.request(request.method, url, params=list(request.params),
                                          content=content, headers=headers)
        except self._httpx.TransportError as error:
            raise TransportError(f"cannot reach {self.base_url}: {error or type(error).__name__}",
                                 url=url) from error
        return Response(answer.status_code, answer.content,
                        {k.lower(): v for k, v in answer.headers.items()})

    def close(self) -> None:
        self._client.close()
