"""A request's form: Twilio's `application/x-www-form-urlencoded` parameters, checked by name
against what the spec defines for the operation (anything else is answered 20001)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from convo_cli.engine.service import EngineError

_SNAKE = re.compile(r"(?<!^)(?<!\.)(?=[A-Z])")


def snake(name: str) -> str:
    """`MessagingBinding.ProxyAddress` -> `messaging_binding_proxy_address`."""
    return _SNAKE.sub("_", name).replace(".", "_").lower()


class Params(dict[str, str]):
    """The request's parameters, the last value of each; `lists` has every value of the
    repeated ones (Twilio's array parameters: `Filters=a&Filters=b`)."""

    lists: dict[str, list[str]]


def parameters(query: str, body: bytes, allowed: set[str]) -> Params:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        if body:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise EngineError(400, 20422, "Malformed request: parameters are not valid "
                          "application/x-www-form-urlencoded UTF-8") from None
    unknown = sorted({name for name, _ in pairs} - allowed)
    if unknown:
        raise EngineError(400, 20001, f"Unknown parameters: {', '.join(unknown)}")
    params = Params(pairs)
    params.lists = {}
    for name, value in pairs:
        params.lists.setdefault(name, []).append(value)
    return params


def kw(params: dict[str, str]) -> dict[str, str]:
    return {snake(name): value for name, value in params.items()}
