"""Twilio's lists: one page at a time, keyset-paged, with its `meta` and page token.

Every list query takes the last key of the previous page (engine/store.py), so a deep page
costs what the first one does; the token carries that key, and the list it belongs to.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from convo_cli.engine.service import INT64_MAX, EngineError, integer
from convo_cli.engine.store import Row
from convo_cli.engine.views import Resource, Views

PAGING = {"PageSize", "Page", "PageToken"}


def page(views: Views, p: dict[str, str], segments: tuple[str, ...], key: str, kind: str, owner: str,
         max_size: int, filters: list[tuple[str, str]],
         fetch: Callable[[str | None, int], list[Row]], view: Callable[[Row], Resource],
         key_of: Callable[[Row], Any], *, order: str = "asc") -> tuple[int, Resource]:
    """One page of a list, keyset-paged: the token carries the last key seen."""
    size = min(_positive(p.get("PageSize", "50"), "PageSize", 1), max_size)
    number = _positive(p.get("Page", "0"), "Page", 0)
    after = decode_token(p["PageToken"], kind, owner, order) if "PageToken" in p else None
    rows = fetch(after, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    base = views.url(*segments)

    def page_url(number: int, token: str | None) -> str:
        pairs = [*filters, ("PageSize", str(size)), ("Page", str(number))]
        if token is not None:
            pairs.append(("PageToken", token))
        return f"{base}?{urlencode(pairs)}"

    next_url = None
    if more:
        next_url = page_url(number + 1, encode_token(kind, owner, order, key_of(rows[-1])))
    return 200, {
        key: [view(row) for row in rows],
        "meta": {
            "page": number,
            "page_size": size,
            "first_page_url": page_url(0, None),
            "previous_page_url": None,
            "url": page_url(number, p.get("PageToken")),
            "next_page_url": next_url,
            "key": key,
        },
    }


def encode_token(kind: str, owner: str, order: str, key: Any) -> str:
    raw = f"{kind}|{owner}|{order}|{key}".encode()
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, kind: str, owner: str, order: str) -> str:
    """The last key of the previous page; a token from another list is refused (21481)."""
    try:
        if not token.startswith("PT"):
            raise ValueError
        data = token[2:]
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
        token_kind, rest = raw.split("|", 1)
        token_owner, token_order, key = rest.rsplit("|", 2)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise EngineError(400, 21481, "Invalid PageToken") from None
    if (token_kind, token_owner, token_order) != (kind, owner, order):
        raise EngineError(400, 21481, "Invalid PageToken")
    return key


def int_key(key: str | None, default: int) -> int:
    if key is None:
        return default
    try:
        return integer(key, "PageToken", -INT64_MAX - 1)
    except EngineError:
        raise EngineError(400, 21481, "Invalid PageToken") from None


def _positive(value: str, name: str, minimum: int) -> int:
    try:
        return integer(value, name, minimum)
    except EngineError:
        raise EngineError(400, 20422, f"Invalid parameter: {name} must be an integer from "
                          f"{minimum} to {INT64_MAX}") from None
