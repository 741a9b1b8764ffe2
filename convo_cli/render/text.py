"""Untrusted text made safe to print. Bodies, names, identities and attributes come from
other people (an SMS can carry anything): an ESC could recolour or retitle the terminal,
rewrite earlier lines or hide text; bidi overrides can reorder what is shown. Such
characters become visible escapes; the rest prints literally."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings, overrides and
# isolates (plus the marks) that can make text read differently from what it is.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                              "\u2066-\u2069]")
# In a tab-separated line, tab and newline are structure too; backslash starts an escape.
_TSV_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# On one line (an error line on standard error): tab and newline are structure too.
_LINE_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str | None) -> str:
    """For a terminal: newlines and tabs stay (a message may have several lines); every
    other control character and bidi override shows as `\\xNN` / `\\uNNNN`."""
    if not text:
        return ""
    return _TERMINAL_UNSAFE.sub(_visible, text)


def one_line(text: str | None) -> str:
    """For a one-line message (`convo: error: …`) that quotes a service's text: every
    control character, newline and tab included, and every bidi override shows as an
    escape; backslashes stay as they are."""
    if not text:
        return ""
    return _LINE_UNSAFE.sub(_visible, text)


def tsv_field(text: str | None) -> str:
    """One tab-separated field: `\\t`, `\\n`, `\\\\` escaped, other controls visible."""
    if text is None:
        return ""
    return _TSV_UNSAFE.sub(_visible, str(text))


def tsv_line(*fields: str | int | None) -> str:
    return "\t".join(tsv_field(None if f is None else str(f)) for f in fields) + "\n"
