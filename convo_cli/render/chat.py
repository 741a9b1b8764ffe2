"""How a message history reads on a terminal: who wrote (a stable colour per author, "you"
for my own messages, a phone number marked as SMS or WhatsApp) and when (relative while
recent). Plain strings and Rich style names: the Terminal draws them."""

from __future__ import annotations

import calendar
import re
import time
import zlib

# Author colours: 14 of the 256-colour palette, spread round the colour wheel (and, where
# hues come close, apart in lightness), mid-bright so that dark and light backgrounds keep
# them readable, and none of them red (red means an error). Neighbours in the list differ
# most, since a collision moves an author on to the next free one.
PALETTE = (
    "color(39)",   # sky blue
    "color(214)",  # orange
    "color(40)",   # green
    "color(129)",  # purple
    "color(44)",   # cyan
    "color(184)",  # yellow
    "color(27)",   # blue
    "color(213)",  # pink
    "color(150)",  # pale green
    "color(99)",   # violet
    "color(137)",  # tan
    "color(42)",   # spring green
    "color(110)",  # steel blue
    "color(201)",  # magenta
)
# A terminal of 16 colours would turn some of those into red: its own colours, but red.
PALETTE_16 = ("cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow",
              "bright_green", "bright_magenta", "bright_blue")
ME_STYLE = "bold"
# The author of a message from an SMS or WhatsApp participant is their address.
PHONE_AUTHOR = re.compile(r"(whatsapp:)?(\+[1-9][0-9]{1,14})")
SAME_GROUP = 120  # seconds: the same author's messages this close share one heading


def parse_time(iso: str | None) -> float | None:
    """`2026-11-23T10:00:00Z` as epoch seconds; None when absent or unparsable."""
    if not iso:
        return None
    try:
        return float(calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def relative_time(iso: str | None, now: float) -> str:
    """How long ago, while recent: "just now", "5 min ago", "today 14:03", "yesterday 14:03";
    then the local date and time. Unparsable text as it came, made safe (it is the service's)."""
    from convo_cli.render.text import one_line

    moment = parse_time(iso)
    if moment is None:
        return one_line(iso)
    ago = now - moment
    if abs(ago) < 60:  # a little in the future too: clocks differ
        return "just now"
    if 0 < ago < 3600:
        return f"{int(ago // 60)} min ago"
    then, today = local_time(moment), local_time(now)
    days = _day_number(today) - _day_number(then)
    if days in (0, 1):
        return f"{'today' if days == 0 else 'yesterday'} {then.tm_hour:02d}:{then.tm_min:02d}"
    return minute(then)


def local_time(moment: float) -> time.struct_time:
    """Local time; UTC for a moment whose local date would leave years 1-9999 (a service may
    send 0001-01-01T00:00:00Z, which is year 0 west of Greenwich, where Python's dates end)."""
    then = time.localtime(moment)
    return then if 1 <= then.tm_year <= 9999 else time.gmtime(moment)


def minute(then: time.struct_time) -> str:
    """`0999-01-02 03:04`: four-digit years always (strftime's `%Y` gives `999`)."""
    return (f"{then.tm_year:04d}-{then.tm_mon:02d}-{then.tm_mday:02d} "
            f"{then.tm_hour:02d}:{then.tm_min:02d}")


def _day_number(moment: time.struct_time) -> int:
    return calendar.timegm((moment.tm_year, moment.tm_mon, moment.tm_mday, 0, 0, 0)) // 86400


def author_label(author: str | None, me: str | None = None) -> str:
    """What the heading shows: `you`, `+15551234567 (SMS)`, or the identity as it is."""
    if author is None:
        return "system"
    if me is not None and author == me:
        return "you"
    phone = PHONE_AUTHOR.fullmatch(author)
    if phone:
        return f"{phone.group(2)} ({'WhatsApp' if phone.group(1) else 'SMS'})"
    return author


def author_style(author: str | None, me: str | None = None,
                 colours: AuthorColours | None = None) -> str:
    """My own messages stand apart; everyone else gets a colour. With `colours` (one per
    rendered history), authors get distinct colours as long as the palette lasts; without,
    the author's first choice, the same on every run and machine."""
    if me is not None and author == me:
        return ME_STYLE
    return "bold " + (colours or AuthorColours()).colour(author)


class AuthorColours:
    """Colours given out in order of first appearance, so that the authors of one history
    collide as rarely as possible: each starts from its own stable choice (a CRC of the
    identity: Python's `hash` is salted per process) and takes the next free colour when
    that one is taken. Deterministic for a given history; colours repeat only once every
    colour is in use."""

    def __init__(self, palette: tuple[str, ...] = PALETTE) -> None:
        self.palette = palette
        self._given: dict[str | None, int] = {}

    def colour(self, author: str | None) -> str:
        slot = self._given.get(author)
        if slot is None:
            size = len(self.palette)
            start = zlib.crc32((author or "").encode()) % size
            taken = set(self._given.values())
            slot = next((s % size for s in range(start, start + size) if s % size not in taken),
                        start)
            self._given[author] = slot
        return self.palette[slot]
