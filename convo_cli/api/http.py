"""The network transport: HTTPS to Twilio or HTTP to a `convo serve`, with Basic auth,
timeouts, and retries where a retry cannot do a write twice.

httpx is imported inside, when the first network client is built: the in-process path
never pays its ~120 ms import.

Retries, with exponential backoff and jitter, honouring `Retry-After`:
- 429, for every method: Twilio documents that a 429 is never processed;
- 503 and a dropped connection, for GET and DELETE only: a POST may have been processed;
- a connection that could not be opened, for every method: no request was sent on it
  (but not when the host name does not exist).
A timeout is not retried: it has already cost the caller its whole wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from convo_cli.api.errors import TransportError
from convo_cli.api.transport import Request, Response

TWILIO_BASE_URL = "https://conversations.twilio.com"
IDEMPOTENT = ("GET", "DELETE")
RETRIES = 4  # after the first attempt: five in all
BACKOFF = 0.5  # seconds before the first retry, doubling each time, with jitter
MAX_WAIT = 30.0  # seconds: a longer Retry-After is not waited for; the 429 is the answer


class HttpTransport:
    def __init__(self, base_url: str, *, username: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 connect_timeout: float = 10.0, convo_engine: bool = False,
                 user_agent: str = "convo", transport: Any = None, retries: int = RETRIES,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.time,
                 debug: Callable[[str], None] | None = None) -> None:
        httpx = import_httpx()

        self.base_url = base_url.rstrip("/")
        # A served convo engine understands convo's message PageTokens (see api.history).
        self.convo_engine = convo_engine
        self.retries = retries
        self._timeout, self._connect_timeout = timeout, min(timeout, connect_timeout)
        # Injectable so that tests of the backoff need not wait for it.
        self.sleep, self.jitter, self.clock = sleep, jitter, clock
        auth = (username, password or "") if username is not None else None
        self._client: Any = httpx.Client(
            base_url=self.base_url, auth=auth, headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(timeout, connect=self._connect_timeout),
            transport=transport,  # an httpx transport: tests record requests through one
            event_hooks=_debug_hooks(debug) if debug else None,
            **_plain_http(self.base_url, transport),
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
        idempotent = request.method in IDEMPOTENT
        attempt = 0
        while True:
            try:
                answer = self._client.request(request.method, url, params=list(request.params),
                                              content=content, headers=headers)
            except self._httpx.TimeoutException as error:
                if isinstance(error, self._httpx.ConnectTimeout):
                    message = (f"cannot reach {self.base_url}: no connection within "
                               f"{self._connect_timeout:g} s")
                else:
                    message = f"no answer from {self.base_url} within {self._timeout:g} s"
                raise TransportError(message, url=url) from error
            except self._httpx.TransportError as error:
                if attempt < self.retries and self._may_retry(error, idempotent):
                    self.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                hint = "; to trust a private CA, set SSL_CERT_FILE to its certificate" \
                    if _untrusted(error) else ""
                raise TransportError(f"cannot reach {self.base_url}: "
                                     f"{error or 'the connection failed'}{hint}",
                                     url=url) from error
            response = Response(answer.status_code, answer.content,
                                {k.lower(): v for k, v in answer.headers.items()})
            retryable = response.status == 429 or (response.status == 503 and idempotent)
            if not retryable or attempt >= self.retries:
                return response
            wait = self._wait(attempt, response.headers.get("retry-after"))
            if wait is None:
                return response
            self.sleep(wait)
            attempt += 1

    def _may_retry(self, error: Exception, idempotent: bool) -> bool:
        if isinstance(error, self._httpx.ConnectError):
            # The connection never opened, so the request was not sent; but a host name
            # that does not exist will not exist in a second either, nor will a
            # certificate become trusted.
            return not (_unknown_host(error) or _untrusted(error))
        # The connection dropped: the request may have been processed, so only one that
        # is safe to repeat is.
        return idempotent and isinstance(error, (self._httpx.NetworkError,
                                                 self._httpx.RemoteProtocolError))

    def _backoff(self, attempt: int) -> float:
        """0.5 s, 1 s, 2 s, 4 s…, each between half and all of it at random, so that clients
        refused together do not all come back together."""
        full = BACKOFF * 2 ** attempt
        return full / 2 + self.jitter() * full / 2

    def _wait(self, attempt: int, retry_after: str | None) -> float | None:
        """How long to wait before the next attempt: the backoff, or longer if the server
        asked (`Retry-After`: seconds or an HTTP date); None when it asks for more than
        MAX_WAIT, as a caller is better told at once than kept waiting."""
        wait = self._backoff(attempt)
        if retry_after is None:
            return wait
        try:
            asked = float(retry_after)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                asked = parsedate_to_datetime(retry_after).timestamp() - self.clock()
            except (TypeError, ValueError):
                return wait  # unreadable: the backoff alone
        if asked > MAX_WAIT:
            return None
        return max(wait, asked)

    def close(self) -> None:
        self._client.close()


def import_httpx() -> Any:
    """httpx, without its command-line entry point: `import httpx` imports `httpx._main`,
    which imports Rich and Click for the `httpx` console script (~45 ms of a served
    profile's start-up, for a script convo never runs). Marked missing while httpx loads,
    httpx falls back to its stub `main` (its own `except ImportError`); the mark is then
    removed, so that anything else importing `httpx._main` later still gets it."""
    import sys

    if "httpx" in sys.modules:
        return sys.modules["httpx"]
    marked = sys.modules.setdefault("httpx._main", None) is None  # type: ignore[arg-type]
    try:
        import httpx
    finally:
        if marked and sys.modules.get("httpx._main", ...) is None:
            del sys.modules["httpx._main"]
    return httpx


def _plain_http(base_url: str, transport: Any) -> dict[str, Any]:
    """For an http:// base URL (a `convo serve` on this machine or behind a proxy), an SSL
    context that trusts nothing instead of httpx's default, whose CA bundle takes ~20 ms to
    load for a connection that never uses TLS (redirects are not followed, and requests go
    to the base URL only). Fails closed: a TLS handshake could verify no certificate. Not
    when a proxy is configured in the environment (an https:// proxy would need the CAs)."""
    import os

    if transport is not None or not base_url.startswith("http://") or any(
            os.environ.get(name) for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY",
                                              "all_proxy")):
        return {}
    import ssl

    return {"verify": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)}


def _unknown_host(error: BaseException | None) -> bool:
    import socket

    while error is not None:
        if isinstance(error, socket.gaierror) and error.errno == socket.EAI_NONAME:
            return True
        error = error.__cause__ or error.__context__
    return False


def _untrusted(error: BaseException | None) -> bool:
    import ssl

    while error is not None:
        if isinstance(error, ssl.SSLCertVerificationError) or \
                "CERTIFICATE_VERIFY_FAILED" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _debug_hooks(log: Callable[[str], None]) -> dict[str, list[Callable[[Any], None]]]:
    """`--debug`: each request as sent (the credentials in it redacted) and its answer."""

    def request(r: Any) -> None:
        log(f"> {r.method} {r.url}")
        for name, value in r.headers.items():
            if name.lower() in ("authorization", "proxy-authorization"):
                value = value.split(" ", 1)[0] + " [redacted]"
            log(f"> {name}: {value}")

    def response(r: Any) -> None:
        log(f"< {r.status_code} {r.reason_phrase} ({r.request.method} {r.request.url})")

    return {"request": [request], "response": [response]}
