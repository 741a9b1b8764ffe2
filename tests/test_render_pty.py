"""The real `convo` on a real pseudo-terminal 100, 80, 60 and 40 columns wide (the width
comes from the terminal, as for a user): `list`, `participants`, records (`create`, `show`), a chat
history and `--help`, with names long enough to need shortening, phone numbers, emoji, wide
characters, multi-line messages and nine authors. Every line fits the width as the terminal
measures it; a table keeps one line per record; a SID is whole or absent; every message is
marked apart; every author has a colour of their own, none of them red."""

from __future__ import annotations

import os
import re

import pytest
from rich.color import Color

from convo_cli.api import Client
from convo_cli.engine.inprocess import InProcessTransport
from pty_helpers import SGR, Screen, cells, convo_executable, run_in_pty

WIDTHS = [100, 80, 60, 40]
BIG = "platform-team-weekly-standup-and-retrospective"
ROOMS = [(BIG, "Platform team: weekly standup, retrospective and planning \U0001f680"),
         ("standup", "Daily"), ("\u65e5\u672c\u8a9e", "\u6771\u4eac\u30aa\u30d5\u30a3\u30b9"
                                "\u306e\u96d1\u8ac7\u30c1\u30e3\u30f3\u30cd\u30eb \U0001f363")]
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank", "heidi", "ivan",
          "a-very-long-identity-for-the-continuous-integration-bot@example.com"]
PHONES = [("whatsapp:+5511987654321", "whatsapp:+14155550100"), ("+15551234567", "+14445550100")]
AUTHORS = PEOPLE + [address for address, _ in PHONES]
BODIES = ["hi", "one of three separate messages", "two", "multi-line\nsecond line\n\nfourth",
          "a long message that wraps at forty columns and at sixty columns too, with emoji "
          + "\U0001f600" * 24,
          "\u65e5\u672c\u8a9e\u306e\u30e1\u30c3\u30bb\u30fc\u30b8\u306f\u3068\u3066\u3082"
          "\u9577\u304f\u3066\u3001\u56db\u5341\u5217\u3067\u306f\u6298\u308a\u8fd4\u3059"
          "\u5fc5\u8981\u304c\u3042\u308a\u307e\u3059\u3002", "ok", "https://example.com/"
          + "a" * 70]
MESSAGES = 22
SID = re.compile(r"(?<![A-Za-z0-9])(?:CH|MB|IM)[0-9a-f]+")  # a cut SID is still found


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A data directory with three conversations, eleven participants and 22 messages."""
    root = tmp_path_factory.mktemp("pty")
    client = Client(InProcessTransport(str(root / "data" / "local.db")))
    sids = [client.create_conversation(unique_name=u, friendly_name=f).sid for u, f in ROOMS]
    for sid in sids[1:]:
        client.add_participant(sid, identity="alice")
    for person in PEOPLE:
        client.add_participant(sids[0], identity=person)
    for address, proxy in PHONES:
        client.add_participant(sids[0], address=address, proxy_address=proxy)
    for n in range(MESSAGES):
        client.send_message(sids[0], author=AUTHORS[n % len(AUTHORS)],
                            body=BODIES[n % len(BODIES)])
    client.close()
    return root


def env(root) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("CONVO_", "TWILIO_", "XDG_"))}
    return {**keep, "HOME": str(root), "CONVO_DATA_DIR": str(root / "data"),
            "CONVO_CONFIG_DIR": str(root / "config"), "CONVO_CACHE_DIR": str(root / "cache"),
            "CONVO_IDENTITY": "alice", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "TERM": "xterm-256color", "TZ": "UTC"}


def screen(root, width: int, *argv: str) -> Screen:
    shown = run_in_pty([*convo_executable(), *argv], width, env=env(root))
    assert shown.code == 0, shown.raw
    lines = shown.lines()
    assert lines and all(cells(line) <= width for line in lines), (width, lines)
    assert all(len(sid) == 34 for line in lines for sid in SID.findall(line)), lines
    return shown


def sids(lines: list[str]) -> list[str]:
    return [sid for line in lines for sid in SID.findall(line)]


@pytest.mark.parametrize("width", WIDTHS)
def test_list_keeps_one_line_per_conversation(home, width):
    lines = screen(home, width, "list").lines()
    assert len(lines) == 1 + len(ROOMS)  # the header and one line each
    assert len(sids(lines)) == len(ROOMS)  # whole, at every one of these widths
    if width < 100:
        assert any("\u2026" in line for line in lines)  # a name shortened, visibly


@pytest.mark.parametrize("width", WIDTHS)
def test_participants_keep_one_line_each_and_phone_numbers_whole(home, width):
    lines = screen(home, width, "participants", BIG).lines()
    assert len(lines) == 1 + len(PEOPLE) + len(PHONES)
    assert len(sids(lines)) == len(PEOPLE) + len(PHONES)
    text = "\n".join(lines)
    # A phone number is never shortened: whole, or its column is left out.
    assert ("whatsapp:+5511987654321" in text) == (width >= 60)
    assert ("whatsapp:+14155550100" in text) == (width >= 100)
    assert "whatsapp:+\u2026" not in text and "+1555\u2026" not in text


@pytest.mark.parametrize("width", WIDTHS)
def test_a_record_keeps_labels_whole_and_folds_values(home, width):
    lines = screen(home, width, "create", "--unique-name", f"record-{width}",
                   "--friendly-name", "A friendly name long enough to fold at forty columns "
                   "\U0001f680 \u6771\u4eac").lines()
    text = "\n".join(lines)
    for label in ("SID", "Unique name", "Friendly name", "State", "Created", "Attributes"):
        assert re.search(rf"^{label}\b", text, re.M), (label, lines)
    assert len(sids(lines)) == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_show_keeps_labels_whole_and_the_sid_whole(home, width):
    lines = screen(home, width, "show", BIG).lines()
    text = "\n".join(lines)
    for label in ("SID", "Unique name", "Friendly name", "State", "Participants",
                  "Last message index", "Unread messages count"):
        assert re.search(rf"^{label}\b", text, re.M), (label, lines)
    assert len(sids(lines)) == 1
    assert re.search(r"^Participants\s+11$", text, re.M), lines
    assert re.search(rf"^Last message index\s+{MESSAGES - 1}$", text, re.M), lines


def authors_and_codes(raw: str) -> dict[str, str]:
    """Each heading's author (plain text) and the SGR code it is drawn in."""
    found = {}
    for line in raw.split("\n"):
        parts = SGR.split(line)
        if len(parts) > 2 and parts[0] == "" and parts[2] and parts[2][0] not in "\u2022 #":
            found.setdefault(parts[2], parts[1])
    return found


def reddish(code: str) -> bool:
    numbers = code.split(";")
    if "31" in numbers or "91" in numbers:
        return True
    if "38" in numbers and numbers[numbers.index("38") + 1] == "5":
        r, g, b = Color.parse(f"color({numbers[numbers.index('38') + 2]})").get_truecolor()
        return r > 150 and g < 100 and b < 100
    return False


@pytest.mark.parametrize("width", WIDTHS)
def test_a_chat_marks_every_message_and_colours_every_author_apart(home, width):
    shown = screen(home, width, "messages", BIG, "--page-size", "50")
    lines = shown.lines()
    # Every message starts with a bullet; nothing else does; the rest is indented or a heading.
    assert sum(line.startswith("\u2022 ") for line in lines) == MESSAGES
    bodies = [line for line in lines if line.startswith((" ", "\u2022")) or not line]
    headings = [line for line in lines if line not in bodies]
    assert all(any(label in h for label in ("you", "bob", "+1555", "+5511", "a-very", "carol",
                                            "dave", "erin", "frank", "heidi", "ivan"))
               for h in headings), headings
    # A message's own line breaks line up under its text; wrapped lines sit further in.
    assert "  second line" in lines and "  fourth" in lines
    if width <= 60:
        assert any(line.startswith("    ") for line in lines)
    codes = authors_and_codes(shown.raw)
    others = {label: code for label, code in codes.items() if not label.startswith("you")}
    assert len(others) == len(AUTHORS) - 1 and "you" in codes
    assert len(set(others.values())) == len(others), others
    assert not any(reddish(code) for code in codes.values()), codes


@pytest.mark.parametrize("width", [80, 40])
def test_a_long_chat_shows_each_index_for_anchor(home, width):
    lines = screen(home, width, "messages", BIG, "--page-size", "50", "--long").lines()
    marks = [int(m.group(1)) for line in lines if (m := re.match(r"#(\d+)  ", line))]
    assert marks == list(range(MESSAGES))
    first = next(line for line in lines if line.startswith("#3  "))
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d$", first)
    anchored = screen(home, width, "messages", BIG, "--anchor", "3", "--direction", "forwards",
                      "--page-size", "2", "-l").lines()
    assert [line.split()[0] for line in anchored if line.startswith("#")] == ["#3", "#4"]


def test_sends_echo_is_you(home):
    lines = screen(home, 40, "send", "standup", "my own \U0001f600 message").lines()
    assert lines[0].startswith("you  ") and lines[1] == "\u2022 my own \U0001f600 message"


@pytest.mark.parametrize("width", WIDTHS)
def test_help_never_cuts_an_option_name(home, width):
    lines = screen(home, width, "messages", "--help").lines()
    text = "\n".join(lines)
    for option in ("--page-size", "--anchor", "--direction", "--all", "--json", "--follow",
                   "--long", "-l", "--help"):
        assert re.search(rf"(?<![\w-]){option}(?![\w-])", text), (option, lines)
    assert "--page-s\u2026" not in text


def command_paths() -> list[tuple[str, ...]]:
    import typer

    from convo_cli.app import build_app

    root = typer.main.get_command(build_app())
    paths: list[tuple[str, ...]] = [()]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        paths.append((name,))
        paths += [(name, sub) for sub in getattr(command, "commands", {})]
    return paths


def option_names(path: tuple[str, ...]) -> list[str]:
    import typer

    from convo_cli.app import build_app

    command = typer.main.get_command(build_app())
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return [opt for param in command.params for opt in (*param.opts, *param.secondary_opts)
            if opt.startswith("-") and not getattr(param, "hidden", False)]  # a former name


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "convo")
def test_every_commands_help_is_whole_at_forty_columns(home, path):
    text = "\n".join(screen(home, 40, *path, "--help").lines())
    assert text.startswith("Usage: convo")
    for option in [*option_names(path), "--help"]:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), (option, text)
    # A command's summary in a list of commands folds rather than ending in "...".
    assert not [line for line in text.splitlines()
                if line.endswith("...") and not line.endswith("[ARGS]...")], text


@pytest.mark.parametrize("width", [120, 40])
def test_convo_alone_shows_its_help_at_any_width(home, width):
    shown = run_in_pty([*convo_executable()], width, env=env(home))
    lines = [line.strip() for line in shown.lines()]
    assert shown.code == 2 and "Usage: convo [OPTIONS] COMMAND [ARGS]..." in lines, shown.raw
    assert all(cells(line) <= width for line in shown.lines())


def test_the_pty_helper_types_what_a_user_types(home):
    # `send -` reads the message from the terminal until end of input (Ctrl-D).
    shown = run_in_pty([*convo_executable(), "send", "standup", "-"], 60, env=env(home),
                       typed="typed at the terminal\n\x04")
    assert shown.code == 0, shown.raw
    assert "\u2022 typed at the terminal" in shown.lines()
