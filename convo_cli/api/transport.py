"""How the API layer hands a request to a back end, and what comes back.

A transport is chosen by the profile: HTTPS to Twilio, HTTP to a `convo serve`, or the
engine in-process. The in-process one must not import httpx (start-up time), so the
request is a plain record rather than an httpx.Request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    method: str  # "GET", "POST", "DELETE"
    path: str  # "/v1/Conversations/CH…", each segment already percent-encoded
    params: Pairs = ()  # query string pairs, PascalCase names
    form: Pairs = ()  # form body pairs (POST), PascalCase names
    headers: Pairs = ()


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Transport(Protocol):
    base_url: str  # "https://conversations.twilio.com", "http://127.0.0.1:8080", "convo://local"

    def send(self, request: Request) -> Response: ...

    def close(self) -> None: ...
