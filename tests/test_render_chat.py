"""A history on a terminal (forced terminal mode, fixed width, a fixed clock): headings with
the author and a relative time, bodies wrapped and indented, a stable colour per author, SMS
and WhatsApp authors by their number, my own messages as "you". Piped output carries no
colour and no box drawing; `--all` counts pages on standard error on a terminal only."""

from __future__ import annotations

import os
import re
import time

import pytest

from cli_helpers import convo
from convo_cli.api import Client
from convo_cli.api.models import Message
from convo_cli.api.paging import Page
from convo_cli.engine.inprocess import InProcessTransport
from convo_cli.main import run
from convo_cli.render.chat import (PALETTE, PALETTE_16, AuthorColours, author_label,
                                   author_style, relative_time)
from convo_cli.render.output import Output
from convo_cli.render.streams import IOStreams

NOW = 1795428000.0  # 2026-11-23T10:00:00Z, a Monday
SGR = re.compile(r"\x1b\[([0-9;]*)m")
BOX_DRAWING = re.compile("[\u2500-\u257f]")


@pytest.fixture(autouse=True)
def _utc(utc):
    """Times in these tests read as UTC."""


def iso(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - seconds_ago))


def message(index: int, author: str | None, body: str, seconds_ago: float) -> Message:
    return Message.from_json({"sid": f"IM{index:032x}", "index": index, "author": author,
                              "body": body, "date_created": iso(seconds_ago)})


@pytest.mark.parametrize("seconds_ago, shown", [
    (0, "just now"), (59, "just now"), (-30, "just now"), (60, "1 min ago"),
    (5 * 60 + 59, "5 min ago"), (59 * 60, "59 min ago"), (3600, "today 09:00"),
    (10 * 3600, "today 00:00"), (10 * 3600 + 60, "yesterday 23:59"),
    (34 * 3600, "yesterday 00:00"), (34 * 3600 + 60, "2026-11-21 23:59"),
    (400 * 86400, "2025-10-19 10:00"), (-2 * 86400, "2026-11-25 10:00"),
])
def test_relative_time(seconds_ago, shown):
    assert relative_time(iso(seconds_ago), NOW) == shown


def test_relative_time_keeps_what_it_cannot_read():
    assert relative_time("not a date", NOW) == "not a date"
    assert relative_time(None, NOW) == ""


def test_authors_are_labelled_by_who_they_are():
    assert author_label("alice", me="alice") == "you"
    assert author_label("alice", me="bob") == "alice"
    assert author_label("+15551234567") == "+15551234567 (SMS)"
    assert author_label("whatsapp:+15551234567") == "+15551234567 (WhatsApp)"
    assert author_label("+1555 not a number") == "+1555 not a number"
    assert author_label(None) == "system"


def test_each_author_keeps_the_same_first_colour_on_every_run():
    # Pinned: a salted hash() would change these from one process to the next.
    assert [author_style(a) for a in ("alice", "bob", "+15551234567", "ci-bot")] == [
        "bold color(184)", "bold color(40)", "bold color(137)", "bold color(184)"]
    assert author_style("alice", me="alice") == "bold"


def test_the_authors_of_one_history_get_distinct_colours_while_the_palette_lasts():
    colours = AuthorColours()
    # alice and ci-bot would both start at yellow: ci-bot, second, takes the next free one.
    assert [colours.colour(a) for a in ("alice", "bob", "ci-bot", "alice")] == [
        "color(184)", "color(40)", "color(27)", "color(184)"]
    many = [f"user{n}" for n in range(len(PALETTE))]
    fresh = AuthorColours()
    assert sorted(fresh.colour(a) for a in many) == sorted(PALETTE)
    assert fresh.colour("one more") in PALETTE  # then colours repeat
    assert author_style("ci-bot", None, colours) == "bold color(27)"


@pytest.mark.parametrize("palette", [PALETTE, PALETTE_16])
def test_no_author_colour_is_red_and_there_are_at_least_twelve(palette):
    from rich.color import Color

    assert len(set(PALETTE)) >= 12 and len(set(PALETTE_16)) == len(PALETTE_16)
    for name in palette:
        assert "red" not in name
        r, g, b = Color.parse(name).get_truecolor()
        assert not (r > 150 and g < 100 and b < 100), name  # reddish
    # Clearly distinct: no two closer than 50 apart in RGB (of 441 between black and white).
    import itertools
    import math

    rgb = [Color.parse(name).get_truecolor() for name in PALETTE]
    assert min(math.dist(a, b) for a, b in itertools.combinations(rgb, 2)) > 50


HISTORY = [
    message(0, "bob", "an old one", 9 * 86400),
    message(1, "carol", "from yesterday", 86400 + 3000),
    message(2, "alice", "my morning message, long enough to wrap at forty columns", 4000),
    message(3, "alice", "a second one, under the same heading", 3950),
    message(4, "+15551234567", "ok [bold]from sms[/]\n\nafter a blank line", 300),
    message(5, "whatsapp:+15551234567", "wa", 30),
    message(6, "alice", "much later: a new heading", 20),
    message(7, "bob", "hi\x1b[31m", 5),
]


def test_a_history_on_a_terminal_at_a_fixed_width():
    # Every message starts with a bullet; its own line breaks line up under its text, and
    # the lines it wraps onto sit further in.
    io = IOStreams.test(tty=True, width=40)
    Output(io, clock=lambda: NOW).messages(HISTORY, me="alice")
    assert io.out() == (
        "bob  2026-11-14 10:00\n"
        "• an old one\n"
        "carol  yesterday 09:10\n"
        "• from yesterday\n"
        "you  today 08:53\n"
        "• my morning message, long enough to\n"
        "    wrap at forty columns\n"
        "• a second one, under the same heading\n"
        "+15551234567 (SMS)  5 min ago\n"
        "• ok [bold]from sms[/]\n"
        "\n"
        "  after a blank line\n"
        "+15551234567 (WhatsApp)  just now\n"
        "• wa\n"
        "you  just now\n"
        "• much later: a new heading\n"
        "bob  just now\n"
        "• hi\\x1b[31m\n")


def test_a_long_history_shows_each_messages_index_and_time():
    io = IOStreams.test(tty=True, width=40)
    Output(io, clock=lambda: NOW).messages(HISTORY[2:6], me="alice", long=True)
    assert io.out() == (
        "#2  you  2026-11-23 08:53\n"
        "  my morning message, long enough to\n"
        "    wrap at forty columns\n"
        "#3  you  2026-11-23 08:54\n"
        "  a second one, under the same heading\n"
        "#4  +15551234567 (SMS)  2026-11-23 09:55\n"
        "  ok [bold]from sms[/]\n"
        "\n"
        "  after a blank line\n"
        "#5  +15551234567  2026-11-23 09:59\n"  # no room for "(WhatsApp)": the number whole
        "  wa\n")


def headings(out: str) -> dict[str, str]:
    """The SGR codes of each heading's author, by the author's plain text."""
    found = {}
    for line in out.splitlines():
        parts = SGR.split(line)  # text, code, text, code…
        if len(parts) > 2 and parts[0] == "" and not parts[2].startswith("\u2022"):
            found.setdefault(parts[2], parts[1])
    return found


def test_with_colour_each_author_has_a_colour_of_their_own_and_mine_is_plain_bold(
        monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("COLORTERM", raising=False)
    first, second = IOStreams.test(tty=True, color=True, width=40), IOStreams.test(
        tty=True, color=True, width=40)
    Output(first, clock=lambda: NOW).messages(HISTORY, me="alice")
    Output(second, clock=lambda: NOW).messages(HISTORY, me="alice")
    assert headings(first.out()) == {
        "bob": "1;38;5;40", "carol": "1;38;5;184", "you": "1",
        "+15551234567 (SMS)": "1;38;5;137", "+15551234567 (WhatsApp)": "1;38;5;214"}
    assert second.out() == first.out()  # the same history, the same colours
    # Each message's bullet has its author's style.
    bullets = [SGR.split(line)[1] for line in first.out().splitlines()
               if SGR.sub("", line).startswith("\u2022")]
    assert bullets[:3] == ["1;38;5;40", "1;38;5;184", "1"]
    # The time beside each heading is dim; no other escapes than convo's own styles.
    assert re.sub(SGR, "", first.out()).splitlines()[0] == "bob  2026-11-14 10:00"
    assert "\x1b[2m" in first.out()


def test_on_a_terminal_of_16_colours_authors_get_its_colours_but_red(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM", raising=False)
    io = IOStreams.test(tty=True, color=True, width=40)
    Output(io, clock=lambda: NOW).messages(HISTORY, me="alice")
    codes = set(headings(io.out()).values())
    assert len(codes) == 5 and not any(c.endswith(("31", "91")) for c in codes), codes


def test_a_followed_conversation_keeps_its_headings_across_messages():
    io = IOStreams.test(tty=True, width=40)
    output = Output(io, clock=lambda: NOW)
    output.message_stream(iter(HISTORY[2:4]), me="alice")
    output.message_stream(iter([message(8, "alice", "still me", 3900)]), me="alice")
    assert io.out().splitlines() == [
        "you  today 08:53", "\u2022 my morning message, long enough to",
        "    wrap at forty columns", "\u2022 a second one, under the same heading",
        "\u2022 still me"]


@pytest.fixture
def standup():
    client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")))
    sid = client.create_conversation(unique_name="standup", friendly_name="Daily").sid
    client.add_participant(sid, identity="alice")
    client.add_participant(sid, address="+15551234567", proxy_address="+14445550100")
    for n in range(250):
        client.send_message(sid, body=f"message {n}",
                            author=("alice", "bob", "+15551234567")[n % 3])
    yield client
    client.close()


def test_piped_output_has_no_colour_and_no_box_drawing(standup):
    for argv in (["messages", "standup"], ["messages", "standup", "--all"],
                 ["participants", "standup"], ["list"], ["create", "--unique-name", "x"]):
        result = convo(*argv)
        assert result.code == 0 and result.out, argv
        assert "\x1b" not in result.out and not BOX_DRAWING.search(result.out), argv
        assert result.err == ""


def test_long_changes_the_terminal_view_only(standup):
    for argv in (["messages", "standup"], ["messages", "standup", "--json"]):
        assert convo(*argv, "--long").out == convo(*argv).out
    assert convo("messages", "standup", "--long", tty=True).out != convo(
        "messages", "standup", tty=True).out


def cli(argv: list[str], *, tty: bool, stderr_tty: bool) -> IOStreams:
    io = IOStreams.test(tty=tty, stderr_tty=stderr_tty)
    assert run(argv, io, dict(os.environ)) == 0, io.err()
    return io


def test_reading_all_of_a_long_history_on_a_terminal_counts_pages_on_stderr(standup):
    io = cli(["messages", "standup", "--all"], tty=True, stderr_tty=True)
    # Shown while the second and third pages load, each wiped before messages print.
    shown = "\rReading messages\u2026 100"
    wipe = "\r" + " " * (len(shown) - 1) + "\r"
    assert io.err() == (shown + wipe + shown.replace("100", "200") + wipe)
    assert io.out().count("message ") == 250


@pytest.mark.parametrize("argv, tty, stderr_tty", [
    (["messages", "standup", "--all"], False, True),  # piped
    (["messages", "standup", "--all", "--json"], True, True),
    (["messages", "standup", "--all"], True, False),  # standard error redirected
    (["messages", "standup"], True, True),  # a window: one page
])
def test_no_count_when_piped_as_json_or_for_a_single_page(standup, argv, tty, stderr_tty):
    assert cli(argv, tty=tty, stderr_tty=stderr_tty).err() == ""


def test_the_count_is_wiped_when_the_listing_fails():
    from convo_cli.render.progress import counted

    def pages():
        yield Page([1, 2], "next")
        raise RuntimeError("the service broke")

    io = IOStreams.test()
    items = counted(pages(), io.stderr, "Reading")
    assert [next(items), next(items)] == [1, 2]
    with pytest.raises(RuntimeError):
        next(items)
    assert io.err() == "\rReading 2\r         \r"


def test_tables_keep_sids_and_numbers_whole_and_times_short():
    from convo_cli.api.models import Participant, ParticipantConversation

    people = [Participant.from_json({"sid": "MB" + "a" * 32, "identity": "alice",
                                     "date_created": iso(90)}),
              Participant.from_json({"sid": "MB" + "b" * 32, "date_created": iso(3 * 86400),
                                     "messaging_binding": {"address": "+15551234567",
                                                           "proxy_address": "+14445550100"}})]
    io = IOStreams.test(tty=True, width=80)
    Output(io, clock=lambda: NOW).participants(people)
    assert [line.rstrip() for line in io.out().splitlines()] == [
        "SID                                 Participant   Proxy address  Joined",
        f"MB{'a' * 32}  alice                        1 min ago",
        f"MB{'b' * 32}  +15551234567  +14445550100   2026-11-20",
    ]
    rooms = [ParticipantConversation.from_json({
        "conversation_sid": "CH" + "c" * 32, "conversation_unique_name": "standup",
        "conversation_friendly_name": "Daily standup of the platform team",
        "conversation_state": "active", "conversation_date_created": iso(3600)})]
    io = IOStreams.test(tty=True, width=80)
    Output(io, clock=lambda: NOW).conversations(rooms)
    # One line per record: the free text is shortened with "…" to make room.
    assert io.out().splitlines() == [
        "SID                                 Unique na…  Friendly n…  State   Created",
        f"CH{'c' * 32}  standup     Daily stan…  active  today 09:00"]
