"""`convo messages` windows over a 45-message history: `--page-size`, `--anchor`,
`--direction`, `--all`, deleted indexes, an anchor beyond the end, and a listing that fails
midway."""

from __future__ import annotations

import os

import pytest

from cli_helpers import convo
from convo_cli.api import Client
from convo_cli.api.transport import Request, Response
from convo_cli.engine.inprocess import InProcessTransport

COUNT = 45


def indexes(result) -> list[int]:
    assert result.code == 0, result.err
    return [int(row[0]) for row in result.rows()]


@pytest.fixture
def history() -> Client:
    """`standup` with messages 0…44, bodies `message N`, alternating alice and bob."""
    client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")))
    sid = client.create_conversation(unique_name="standup").sid
    client.add_participant(sid, identity="alice")  # who `convo send` acts as
    for n in range(COUNT):
        client.send_message(sid, body=f"message {n}", author="alice" if n % 2 else "bob")
    yield client
    client.close()


def test_default_is_the_latest_30_oldest_first(history):
    result = convo("messages", "standup")
    assert indexes(result) == list(range(15, 45))
    assert result.rows()[-1][2:] == ["bob", "message 44"]


@pytest.mark.parametrize("argv, expected", [
    (["--page-size", "5"], range(40, 45)),
    (["--page-size", "100"], range(0, 45)),
    (["--anchor", "10"], range(0, 11)),
    (["--anchor", "10", "--page-size", "5"], range(6, 11)),
    (["--anchor", "10", "--direction", "forwards", "--page-size", "5"], range(10, 15)),
    (["--anchor", "10", "--direction", "forward", "--page-size", "5"], range(10, 15)),
    (["--anchor", "12", "--direction", "backward", "--page-size", "2"], range(11, 13)),
    (["--anchor", "0", "--direction", "forwards"], range(0, 30)),
    (["--anchor", "0"], range(0, 1)),
    (["--anchor", "44"], range(15, 45)),
    (["--anchor", "40", "--direction", "forwards"], range(40, 45)),
    (["--anchor", "end", "--direction", "forwards"], range(44, 45)),
    (["--anchor", "END", "--page-size", "3"], range(42, 45)),
])
def test_windows(history, argv, expected):
    assert indexes(convo("messages", "standup", *argv)) == list(expected)


def test_json_window_is_an_array_of_the_resources(history):
    result = convo("messages", "standup", "--anchor", "3", "--page-size", "2", "--json")
    assert [(m["index"], m["body"]) for m in result.json()] == [(2, "message 2"),
                                                               (3, "message 3")]


def test_a_deleted_anchor_starts_at_the_nearest_message_in_the_reading_direction(history):
    sid = history.fetch_conversation("standup").sid
    doomed = [m for m in history.list_messages(sid) if m.index in (10, 11)]
    for message in doomed:
        history.transport.send(Request("DELETE", history.path(
            "Conversations", sid, "Messages", message.sid)))
    assert indexes(convo("messages", "standup", "--anchor", "10", "--page-size", "3")) == [
        7, 8, 9]
    assert indexes(convo("messages", "standup", "--anchor", "11", "--page-size", "3",
                         "--direction", "forwards")) == [12, 13, 14]


def test_an_anchor_beyond_the_history_is_an_error(history):
    result = convo("messages", "standup", "--anchor", "45")
    assert (result.code, result.out) == (2, "")
    assert result.err == "convo: error: --anchor 45 is past the last message index, 44\n"


def test_an_anchor_in_an_empty_conversation_is_an_error_but_the_end_is_not():
    convo("create", "--unique-name", "empty")
    assert convo("messages", "empty").out == ""
    result = convo("messages", "empty", "--anchor", "0")
    assert result.code == 2
    assert result.err == "convo: error: --anchor 0: the conversation has no messages\n"


def test_all_reads_the_whole_history_oldest_first(history):
    assert indexes(convo("messages", "standup", "--all")) == list(range(COUNT))
    result = convo("messages", "standup", "--all", "--json")
    assert [m["index"] for m in result.json()] == list(range(COUNT))
    # Streamed: one resource a line between the brackets.
    assert result.lines()[0] == "[" and result.lines()[-1] == "]"
    assert len(result.lines()) == COUNT + 2


def test_all_takes_no_window_options(history):
    result = convo("messages", "standup", "--all", "--anchor", "3")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("convo: error: --all reads the whole history")


class FailingSecondPage:
    """A service that breaks midway through a listing: the second page answers 500."""

    def __init__(self, inner: InProcessTransport) -> None:
        self.inner, self.base_url, self.pages = inner, inner.base_url, 0

    def send(self, request: Request) -> Response:
        if request.method == "GET" and request.path.endswith("/Messages"):
            self.pages += 1
            if self.pages == 2:
                return Response(500, b'{"code": 20500, "message": "Internal Server Error", '
                                     b'"more_info": "https://www.twilio.com/docs/errors/20500", '
                                     b'"status": 500}')
        return self.inner.send(request)

    def close(self) -> None:
        self.inner.close()


def test_a_streamed_json_listing_that_fails_midway_exits_1_with_an_unclosed_array(
        history, monkeypatch):
    import convo_cli.factory

    sid = history.fetch_conversation("standup").sid
    for n in range(COUNT, 105):  # past one page of 100
        history.send_message(sid, body=f"message {n}")
    real = convo_cli.factory.make_transport
    monkeypatch.setattr(convo_cli.factory, "make_transport",
                        lambda *args, **kwargs: FailingSecondPage(real(*args, **kwargs)))
    result = convo("messages", "standup", "--all", "--json")
    assert result.code == 1
    assert result.lines()[0] == "[" and len(result.lines()) == 1 + 100
    assert not result.out.rstrip().endswith("]")
    assert result.err == ("convo: error: Internal Server Error [Twilio error 20500] "
                          "(https://www.twilio.com/docs/errors/20500)\n")


def test_send_rejects_an_empty_message_and_writes_nothing(history):
    for argv, stdin in ((["send", "standup", ""], ""), (["send", "standup", "-"], "\n"),
                        (["send", "standup", "-"], "")):
        result = convo(*argv, stdin=stdin)
        assert (result.code, result.out) == (2, "")
        assert result.err == "convo: error: the message is empty: nothing sent\n"
    assert indexes(convo("messages", "standup", "--page-size", "1")) == [44]


def test_send_from_stdin_drops_exactly_one_trailing_newline(history):
    result = convo("send", "standup", "-", "--json", stdin="line\n\n")
    assert result.json()["body"] == "line\n"
    raw = convo("messages", "standup", "--page-size", "1")
    assert raw.rows()[0][3] == "line\\n"  # TSV escapes the newline inside the field
