"""Slowing password guessing: failed logins counted per client address and account.

After MAX_FAILURES wrong passwords from one address for one account, that address is
refused for that account (429, before the password is even checked) for LOCKOUT seconds,
doubling with each further failure. Other addresses are not affected, so a guesser cannot
lock the real users out; a right password resets the count.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable

# Wrong passwords from one address for one account before it is refused for a while.
MAX_FAILURES = 5
# The first refusal; each failure after it doubles the next one, up to MAX_LOCKOUT.
LOCKOUT = 60.0
MAX_LOCKOUT = 15 * 60.0
# Failures older than this are forgotten (a typo a day never adds up to a lockout).
FAILURE_WINDOW = 15 * 60.0
# (address, account) pairs remembered at once; beyond, the least recently failed is
# forgotten, so the table's memory is bounded whatever a flood of addresses does.
MAX_TRACKED = 10_000

Key = tuple[str, str]


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        # key -> [failures, time of the last one, refused until]
        self._entries: OrderedDict[Key, list[float]] = OrderedDict()

    def retry_after(self, key: Key) -> int:
        """Seconds this key is still refused for (0: it may try)."""
        entry = self._entries.get(key)
        if entry is None:
            return 0
        left = entry[2] - self.clock()
        return math.ceil(left) if left > 0 else 0

    def failed(self, key: Key) -> float:
        """Count a wrong password; the seconds of the refusal it starts (0: none)."""
        now = self.clock()
        entry = self._entries.pop(key, None)
        if entry is None or now - entry[1] > FAILURE_WINDOW:
            entry = [0, now, 0.0]
        entry[0] += 1
        entry[1] = now
        lockout = 0.0
        if entry[0] >= MAX_FAILURES:
            lockout = min(LOCKOUT * 2 ** (entry[0] - MAX_FAILURES), MAX_LOCKOUT)
            entry[2] = now + lockout
        self._entries[key] = entry  # last: the most recently failed
        while len(self._entries) > MAX_TRACKED:
            self._entries.popitem(last=False)
        return lockout

    def succeeded(self, key: Key) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


def client_key(address: str) -> str:
    """An IPv6 client is counted by its /64 network: one host is usually given a whole
    /64, and could otherwise guess from a fresh address every time."""
    if ":" not in address:
        return address  # IPv4
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
