"""Untrusted text is printed literally and harmlessly: escape sequences and control
characters become visible escapes, Rich markup shows as typed, TSV fields escape tab,
newline and backslash. And the terminal/pipe/colour decision."""

from __future__ import annotations

import json
import os
import sys


from convo_cli.api.models import Message
from convo_cli.render.output import Output
from convo_cli.render.streams import IOStreams
from convo_cli.render.text import terminal_safe, tsv_field, tsv_line

HOSTILE = ("[bold red]pwned[/] :smile: \x1b[31mred\x1b[0m \x1b]0;new title\x07 "
           "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\ \x9b2J \x7f \r over "
           "\u202egnp.exe \u2066iso\u2069 caf\u00e9 \U0001f600")
SENT = 1795428000.0  # 2026-11-23T10:00:00Z, when `message` was sent


def message(body: str | None, *, media: bool = False, author: str = "mallory") -> Message:
    raw = {"sid": "IM" + "0" * 32, "conversation_sid": "CH" + "0" * 32, "index": 7,
           "author": author, "body": body, "media": [{"sid": "ME" + "0" * 32}] if media else None,
           "attributes": "{}", "date_created": "2026-11-23T10:00:00Z"}
    return Message.from_json(raw)


def test_terminal_safe_shows_controls_and_bidi_as_visible_escapes():
    assert terminal_safe(HOSTILE) == (
        "[bold red]pwned[/] :smile: \\x1b[31mred\\x1b[0m \\x1b]0;new title\\x07 "
        "\\x1b]8;;http://evil.example\\x1b\\link\\x1b]8;;\\x1b\\ \\x9b2J \\x7f \\r over "
        "\\u202egnp.exe \\u2066iso\\u2069 caf\u00e9 \U0001f600")


def test_terminal_safe_keeps_newlines_and_tabs_of_a_multi_line_message():
    assert terminal_safe("line one\n\tline two") == "line one\n\tline two"
    assert terminal_safe(None) == ""


def test_tsv_field_escapes_structure_and_controls():
    assert tsv_field("a\tb\nc\\d\re\x1bf\u202eg") == "a\\tb\\nc\\\\d\\re\\x1bf\\u202eg"
    assert tsv_line(3, None, "x\ty") == "3\t\tx\\ty\n"




def test_a_hostile_body_on_a_terminal_prints_literally(utc):
    io = IOStreams.test(tty=True, width=400)
    Output(io, clock=lambda: SENT + 90).messages([message(HOSTILE)])
    assert io.out() == f"mallory  1 min ago\n• {terminal_safe(HOSTILE)}\n"
    assert "\x1b" not in io.out() and "\x07" not in io.out() and "\u202e" not in io.out()


def test_with_colour_only_convos_own_styles_reach_the_terminal(utc):
    io = IOStreams.test(tty=True, color=True, width=400)
    Output(io, clock=lambda: SENT).messages([message("\x1b]0;title\x07[red]x[/red]",
                                                     author="\x1b[2Jeve")])
    out = io.out()
    assert "\\x1b]0;title\\x07[red]x[/red]" in out and "\\x1b[2Jeve" in out
    # Every real escape is an SGR style (colour, bold, dim) that convo chose.
    import re

    assert re.findall(r"\x1b[^m]*m", out)
    assert re.sub(r"\x1b\[[0-9;]*m", "", out) == (
        "\\x1b[2Jeve  just now\n• \\x1b]0;title\\x07[red]x[/red]\n")


def test_hostile_text_in_a_terminal_table_is_neutralised():
    from convo_cli.api.models import ParticipantConversation

    raw = {"conversation_sid": "CH" + "1" * 32, "conversation_unique_name": "[b]u[/b]\x1b[5m",
           "conversation_friendly_name": "\u202eevil", "conversation_state": "active",
           "conversation_date_created": "not a date", "participant_sid": None,
           "participant_identity": "x"}
    io = IOStreams.test(tty=True, width=200)
    Output(io).conversations([ParticipantConversation.from_json(raw)])
    assert io.out().splitlines()[1].split() == [
        "CH" + "1" * 32, "[b]u[/b]\\x1b[5m", "\\u202eevil", "active", "not", "a", "date"]


def test_piped_messages_are_tab_separated_and_escaped():
    io = IOStreams.test()
    Output(io).messages([message("two\nlines\twith \\ and \x1b"), message(None, media=True)])
    assert io.out() == ("7\t2026-11-23T10:00:00Z\tmallory\ttwo\\nlines\\twith \\\\ and \\x1b\n"
                        "7\t2026-11-23T10:00:00Z\tmallory\t[media]\n")


def test_json_is_the_raw_resource_with_controls_escaped():
    io = IOStreams.test()
    hostile = message("\x1b[31m\u202e")
    Output(io, as_json=True).message(hostile)
    assert json.loads(io.out()) == hostile.raw
    assert "\x1b" not in io.out() and "\u202e" not in io.out()


def test_a_json_list_is_an_array_even_when_empty():
    io = IOStreams.test()
    Output(io, as_json=True).messages([])
    assert io.out() == "[]\n"


def _pty_streams(monkeypatch):
    master, slave = os.openpty()
    tty = os.fdopen(slave, "w")
    monkeypatch.setattr(sys, "stdout", tty)
    return master, tty


def test_a_real_terminal_gets_colour_unless_no_color(monkeypatch):
    master, tty = _pty_streams(monkeypatch)
    try:
        on_tty = IOStreams.system({"TERM": "xterm"})
        assert (on_tty.stdout_tty, on_tty.color) == (True, True)
        assert IOStreams.system({"TERM": "xterm", "NO_COLOR": "1"}).color is False
        assert IOStreams.system({"TERM": "dumb"}).color is False
        monkeypatch.setattr(sys, "stdout", open(os.devnull, "w"))
        piped = IOStreams.system({"TERM": "xterm"})
        assert (piped.stdout_tty, piped.color) == (False, False)
    finally:
        tty.close()
        os.close(master)
