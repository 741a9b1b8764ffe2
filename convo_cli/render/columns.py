"""Which columns of a table fit a terminal, and how wide each is: one line per record at any
width, as gh prints its tables. Plain strings in, widths out; the Terminal draws them.

When the records are wider than the terminal, free text (names, identities) is shortened
first, each column down to its `min_width`; when that is not enough, the column of lowest
`priority` is dropped and the rest are fitted again. A column that may not be shortened
(a SID, a phone number, a state) is shown whole or not at all: a SID cut short looks valid
and is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

GAP = 2  # spaces between two columns


@dataclass(frozen=True)
class Column:
    """A table column as a caller declares it.

    `priority`: the column of lowest priority is dropped first when the table is too wide
    (dates low, names higher, the SID highest: it is what a script or a person acts on).
    `shrink`: free text that may be shortened with `…`; never a SID, number or time.
    `min_width`: how narrow a shortened column may get, in terminal cells.
    """
    header: str
    priority: int = 0
    shrink: bool = False
    min_width: int = 6


def fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int,
        *, gap: int = GAP) -> list[tuple[int, int]]:
    """The columns to show, as (index into `columns`, width in cells), left to right, so
    that every line is at most `width` cells. Cells are measured as the terminal draws them
    (wide characters and emoji take two cells). An empty list when nothing fits whole."""
    from rich.cells import cell_len  # here: a piped listing never loads Rich

    natural = [max([cell_len(c.header), *(cell_len(row[i]) for row in rows)])
               for i, c in enumerate(columns)]
    # A column that may not be shortened and is wider than the terminal can never be shown.
    kept = [i for i, c in enumerate(columns) if c.shrink or natural[i] <= width]
    while kept:
        widths = _shrink(columns, natural, kept, width - gap * (len(kept) - 1))
        if widths is not None:
            return list(zip(kept, widths, strict=True))
        # Drop the least important column; of equals, the rightmost.
        kept.remove(min(reversed(kept), key=lambda i: columns[i].priority))
    return []


def _shrink(columns: Sequence[Column], natural: Sequence[int], kept: Sequence[int],
            room: int) -> list[int] | None:
    """Widths for `kept` that add up to at most `room`, shortening the widest free text
    first (so that two long names end up about equally long); None if they cannot."""
    widths = [natural[i] for i in kept]
    excess = sum(widths) - room
    if excess <= 0:
        return widths
    # The last column left may shrink below its minimum: some of it beats nothing.
    least = 1 if len(kept) == 1 else None
    floors = [min(natural[i], least or columns[i].min_width) if columns[i].shrink
              else natural[i] for i in kept]
    if sum(widths) - sum(floors) < excess:
        return None
    while excess > 0:
        # Lower the widest shortenable column(s) to the next width down, or by what is left.
        over = [k for k, w in enumerate(widths) if w > floors[k]]
        top = max(widths[k] for k in over)
        widest = [k for k in over if widths[k] == top]
        below = max([floors[k] for k in widest] +
                    [widths[k] for k in over if widths[k] < top])
        step = min(top - below, -(-excess // len(widest)))
        for k in widest:
            if excess <= 0:
                break
            cut = min(step, excess)
            widths[k] -= cut
            excess -= cut
    return widths
