"""A count on standard error while a long listing is read page by page ("Reading messages…
1,200"), redrawn in place and wiped before anything else is printed.

The listing itself streams to standard output on the same terminal, so the count is shown
only while the next page is being fetched and wiped before its items are printed: the two
never share a line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO, TypeVar

from convo_cli.api.paging import Page

T = TypeVar("T")


def counted(pages: Iterator[Page[T]], stream: TextIO, label: str) -> Iterator[T]:
    """The items of `pages`, with `label` and the count so far on `stream` between pages."""
    shown = ""
    count = 0
    try:
        for page in pages:  # the next page is fetched here, while the count is shown
            shown = _wipe(stream, shown)
            yield from page.items
            count += len(page.items)
            if page.next_page_url:
                shown = f"{label} {count:,}"
                stream.write("\r" + shown)
                stream.flush()
    finally:
        _wipe(stream, shown)


def _wipe(stream: TextIO, shown: str) -> str:
    # Spaces rather than an erase-line escape: right on every terminal, even a dumb one.
    if shown:
        stream.write("\r" + " " * len(shown) + "\r")
        stream.flush()
    return ""
