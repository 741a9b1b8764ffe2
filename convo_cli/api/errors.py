"""The API layer's two failures: the service answered with an error, or it could not be reached."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A non-2xx answer, carrying Twilio's error JSON (`code`, `message`, `more_info`, `status`)."""

    def __init__(self, status: int, code: int | None, message: str, more_info: str | None = None,
                 *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.more_info = status, code, message, more_info
        self.method, self.path = method, path

    @classmethod
    def from_response(cls, status: int, body: Any, *, method: str = "", path: str = "") -> ApiError:
        if isinstance(body, dict) and "message" in body:
            code = body.get("code")
            return cls(status, code if isinstance(code, int) else None, str(body["message"]),
                       body.get("more_info"), method=method, path=path)
        # Not Twilio's error JSON (a proxy's HTML page, an empty 5xx): say what we know.
        return cls(status, None, f"HTTP {status} from {method} {path}", method=method, path=path)

    def detail(self) -> str:
        """` [Twilio error 50433] (https://…)`, or nothing when the service gave no code."""
        if self.code is None:
            return ""
        link = f" ({self.more_info})" if self.more_info else ""
        return f" [Twilio error {self.code}]{link}"

    def __str__(self) -> str:
        return self.message + self.detail()


class TransportError(Exception):
    """The request never got an answer: connection refused, timeout, DNS failure."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class ServiceNotFoundError(Exception):
    """The Conversation Service a client is scoped to does not exist (or is not this
    account's): every path under it answers 404, which would otherwise read as "conversation
    not found" or "no conversations". Not an ApiError, so no handler takes it for one."""

    def __init__(self, service_sid: str) -> None:
        super().__init__(f"no Conversation Service {service_sid} on this account "
                         "(see: convo services)")
        self.service_sid = service_sid
