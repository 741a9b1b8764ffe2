"""The published limits, in one place: the engine enforces them (answering Twilio's 400s) and
the commands check them before sending (exit 2), so both read the same numbers.

Twilio's Conversations limits: friendly and unique names 256 characters, a chat message body
32 KB, conversation attributes 16 KB, participant, message and user attributes 4 KB (bytes of
UTF-8). The nesting depth of JSON attributes is convo's own: deep enough for any real document,
shallow enough that no parser (Python's recursive one included) can be driven to exhaustion.
"""

from __future__ import annotations

import re

NAME_LIMIT = 256  # characters: friendly names, unique names, identities, addresses
BODY_LIMIT = 32 * 1024  # bytes of UTF-8: a chat message body
CONVERSATION_ATTRIBUTES_LIMIT = 16 * 1024  # bytes of UTF-8
ATTRIBUTES_LIMIT = 4 * 1024  # bytes of UTF-8: participants, messages, users
ATTRIBUTES_DEPTH_LIMIT = 32  # levels of nested JSON arrays and objects

# A JSON string (possibly unterminated), or a bracket outside one.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON document nest, counted without parsing
    (so without recursion): brackets inside strings do not count. For text that is not JSON
    the figure is still defined, which is all a check before parsing needs."""
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif token == "]" or token == "}":
            depth -= 1
    return deepest
