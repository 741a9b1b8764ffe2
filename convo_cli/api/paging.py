"""Following a list through its pages, as Twilio's helper libraries do: GET
`meta.next_page_url` until it is null. The URL is absolute on the service's base URL; the
transport wants a path and query pairs, so the base is stripped and the query parsed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlsplit

from convo_cli.api.transport import Request

T = TypeVar("T")


class Page(NamedTuple, Generic[T]):
    items: list[T]
    next_page_url: str | None


def request_for_url(base_url: str, url: str, headers: tuple[tuple[str, str], ...] = ()) -> Request:
    """The GET request for a `next_page_url`. A URL on another host than the transport's (a
    proxy rewriting hosts) is still followed by its path: the transport decides where to go."""
    rest = url[len(base_url.rstrip("/")):] if url.startswith(base_url.rstrip("/")) else url
    parts = urlsplit(rest)
    return Request("GET", parts.path, tuple(parse_qsl(parts.query, keep_blank_values=True)),
                   headers=headers)


def iterate_pages(fetch: Callable[[Request], Any], first: Request, base_url: str,
                  make: Callable[[dict[str, Any]], T]) -> Iterator[Page[T]]:
    """Pages lazily: the next request is made only when the caller asks for more, so a
    consumer that stops early (or streams) never reads, or holds, the rest."""
    request: Request | None = first
    while request is not None:
        body = fetch(request)
        meta = body.get("meta") or {}
        key = meta.get("key")
        if key is None:  # no meta.key: the one list in the body
            key = next(k for k, v in body.items() if isinstance(v, list))
        next_url = meta.get("next_page_url")
        yield Page([make(raw) for raw in body.get(key) or []], next_url)
        request = request_for_url(base_url, next_url, first.headers) if next_url else None


def iterate_items(pages: Iterator[Page[T]]) -> Iterator[T]:
    for page in pages:
        yield from page.items
