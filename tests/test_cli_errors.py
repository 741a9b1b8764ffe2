"""Bad input: one clear line on standard error, the documented exit code, nothing on
standard output, nothing written to the service, and no traceback without `--debug`."""

from __future__ import annotations

import os

import pytest

from cli_helpers import as_, convo
from convo_cli.api import Client
from convo_cli.engine.inprocess import InProcessTransport

LINK = "https://www.twilio.com/docs/errors/"
SMS, PROXY = "+15551234567", "+14445550100"


@pytest.fixture
def standup() -> Client:
    """`standup` with alice, bob and an SMS participant, and one message."""
    assert convo("create", "--unique-name", "standup").code == 0
    assert convo("join", "standup").code == 0
    assert convo("add", "standup", "bob").code == 0
    assert convo("add-sms", "standup", "--address", SMS, "--proxy-address", PROXY).code == 0
    assert convo("send", "standup", "hello").code == 0
    client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")))
    yield client
    client.close()


def state(client: Client) -> tuple:
    """Everything the commands below could have written."""
    conversations = [(c.sid, c.unique_name) for c in client.list_conversations()]
    participants = [p.sid for c in conversations for p in client.list_participants(c[0])]
    messages = [m.sid for c in conversations for m in client.list_messages(c[0])]
    return conversations, participants, messages


def fails(code: int, line: str, *argv: str, stdin: str = "") -> None:
    result = convo(*argv, stdin=stdin)
    assert (result.code, result.out, result.err) == (code, "", f"convo: error: {line}\n")


@pytest.mark.parametrize("argv, line", [
    (["create", "--attributes", "{nope"],
     "--attributes is not valid JSON: Expecting property name enclosed in double quotes: "
     "line 1 column 2 (char 1)"),
    (["add", "standup", "carol", "--attributes", "not json"],
     "--attributes is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    (["add-sms", "standup", "--address", "5551234567", "--proxy-address", PROXY],
     "--address '5551234567' is not a phone number in E.164 form (+15551234567, or "
     "whatsapp:+15551234567)"),
    (["add-sms", "standup", "--address", "+1", "--proxy-address", PROXY],
     "--address '+1' is not a phone number in E.164 form (+15551234567, or "
     "whatsapp:+15551234567)"),
    (["add-sms", "standup", "--address", SMS, "--proxy-address", "+1234567890123456"],
     "--proxy-address '+1234567890123456' is not a phone number in E.164 form "
     "(+15551234567, or whatsapp:+15551234567)"),
    (["add-sms", "standup", "--address", "+15550001111", "--proxy-address", "+15550001111"],
     "--address and --proxy-address are the same number"),
    (["add-sms", "standup", "--address", "whatsapp:+15550001111", "--proxy-address", PROXY],
     "--address and --proxy-address must both be SMS or both WhatsApp"),
    (["messages", "standup", "--page-size", "0"], "--page-size must be between 1 and 100, not 0"),
    (["messages", "standup", "--page-size", "101"],
     "--page-size must be between 1 and 100, not 101"),
    (["messages", "standup", "--direction", "sideways"],
     "--direction must be backwards or forwards, not 'sideways'"),
    (["messages", "standup", "--anchor", "-1"],
     "--anchor must be 'end' or a message index of 0 or more, not -1"),
    (["messages", "standup", "--anchor", "first"],
     "--anchor must be 'end' or a message index, not 'first'"),
    (["messages", "standup", "--anchor", "9"], "--anchor 9 is past the last message index, 0"),
    (["send", "standup", ""], "the message is empty: nothing sent"),
    (["create", "--friendly-name", "x" * 257],
     "--friendly-name is 257 characters long; names take at most 256"),
    (["--profile", "work", "list"], "unknown profile 'work'; see: convo profiles"),
])
def test_rejected_before_anything_is_written(standup, argv, line):
    before = state(standup)
    fails(2, line, *argv)
    assert state(standup) == before


@pytest.mark.parametrize("argv, line", [
    (["messages", "nope"], f"conversation 'nope' not found [Twilio error 20404] ({LINK}20404)"),
    (["send", "CH" + "0" * 32, "hi"],
     f"conversation 'CH{'0' * 32}' not found [Twilio error 20404] ({LINK}20404)"),
    (["join", "nope"], f"conversation 'nope' not found [Twilio error 20404] ({LINK}20404)"),
    (["create", "--unique-name", "standup"],
     f"Conversation with provided unique name already exists [Twilio error 50353] "
     f"({LINK}50353)"),
    (["add", "standup", "bob"],
     f"bob is already a participant of standup [Twilio error 50433] ({LINK}50433)"),
    (["join", "standup"],
     f"alice is already a participant of standup [Twilio error 50433] ({LINK}50433)"),
    (["add-sms", "standup", "--address", SMS, "--proxy-address", PROXY],
     f"A binding for this participant and proxy address already exists in Conversation "
     f"{{sid}} [Twilio error 50416] ({LINK}50416)"),
    (["--identity", "carol", "leave", "standup"],
     f"carol is not a participant of standup [Twilio error 20404] ({LINK}20404)"),
])
def test_refused_by_the_service(standup, argv, line):
    before = state(standup)
    fails(1, line.replace("{sid}", before[0][0][0]), *argv)
    assert state(standup) == before


@pytest.mark.parametrize("argv, line", [
    (["list", "--bogus"], "No such option: --bogus (see: convo list --help)"),
    (["messages"], "Missing argument 'CONVERSATION'. (see: convo messages --help)"),
    (["add-sms", "standup", "--address", SMS],
     "Missing option '--proxy-address'. (see: convo add-sms --help)"),
    (["messages", "standup", "--page-size", "many"],
     "Invalid value for '--page-size': 'many' is not a valid int. "
     "(see: convo messages --help)"),
    (["frobnicate"], "No such command 'frobnicate'. (see: convo --help)"),
])
def test_usage_errors_are_one_line_and_exit_2(argv, line):
    fails(2, line, *argv)


def test_no_traceback_without_debug_and_one_with_it(standup):
    plain = convo("messages", "nope")
    assert plain.code == 1 and "Traceback" not in plain.err
    debug = convo("--debug", "messages", "nope")
    assert debug.code == 1 and debug.out == ""
    assert debug.err.startswith("Traceback (most recent call last):")
    assert debug.err.endswith("convo: error: conversation 'nope' not found [Twilio error 20404] "
                              f"({LINK}20404)\n")


def test_leave_then_leave_again(standup):
    left = as_("bob", "leave", "standup")
    assert (left.code, left.out, left.err) == (0, "", "bob left standup.\n")
    fails(1, f"bob is not a participant of standup [Twilio error 20404] ({LINK}20404)",
          "--identity", "bob", "leave", "standup")
