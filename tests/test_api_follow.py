"""The follow generator against the real in-process engine, on a scripted clock: each sleep
the generator asks for advances the clock and lets the script act (send, delete…) before
the next poll. Both ways of polling: the engine's own PageToken (a convo engine), and
paging back from the newest message (a transport that hides the engine, as Twilio's
opaque tokens would)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from convo_cli.api import Client
from convo_cli.api.follow import (ACTIVE_MAX, FIRST_DELAY, QUIET_AFTER, QUIET_MAX,
                                  ConversationDeleted, follow, next_delay)
from convo_cli.api.history import read_window
from convo_cli.api.transport import Request, Response
from convo_cli.engine.inprocess import InProcessTransport


class Recording:
    """The engine behind a transport that records requests and, with `hide=True`, does not
    say it is a convo engine, so the client cannot seek by index."""

    def __init__(self, inner: InProcessTransport, *, hide: bool) -> None:
        self.inner, self.requests = inner, []
        self.base_url = "https://conversations.example" if hide else inner.base_url

    def send(self, request: Request) -> Response:
        self.requests.append(request)
        return self.inner.send(request)

    def close(self) -> None:
        pass


class ScriptDone(Exception):
    pass


class Script:
    """A fake clock and sleep: before the n-th poll, `actions[n]` runs (None: nothing
    happens). Once the actions run out, the next sleep ends the test."""

    def __init__(self, actions: list[Callable[[], None] | None]) -> None:
        self.actions, self.now, self.sleeps = list(actions), 1000.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if not self.actions:
            raise ScriptDone
        action = self.actions.pop(0)
        if action is not None:
            action()


@pytest.fixture(params=[False, True], ids=["seek", "page"])
def setup(request, tmp_path):
    engine = InProcessTransport(str(tmp_path / "follow.db"))
    writer = Client(engine)
    sid = writer.create_conversation(unique_name="standup").sid
    transport = Recording(engine, hide=request.param)
    reader = Client(transport)
    assert reader.seeks_message_index is not request.param
    yield writer, reader, sid, transport
    engine.close()


def send(writer: Client, sid: str, *bodies: str) -> Callable[[], None]:
    return lambda: [writer.send_message(sid, body=body, author="bob") for body in bodies]


def delete(writer: Client, sid: str, index: int) -> Callable[[], None]:
    def action() -> None:
        message = next(m for m in writer.list_messages(sid) if m.index == index)
        writer.transport.send(Request("DELETE", writer.path(
            "Conversations", sid, "Messages", message.sid)))
    return action


def run(reader: Client, sid: str, script: Script, history=()) -> list[tuple[int, str]]:
    seen = []
    with pytest.raises(ScriptDone):
        for message in follow(reader, sid, history, sleep=script.sleep, clock=script.clock):
            seen.append((message.index, message.body))
    return seen


def test_history_then_each_new_message_once_in_order(setup):
    writer, reader, sid, _ = setup
    send(writer, sid, "m0", "m1", "m2", "m3")()
    history = read_window(reader, sid, page_size=2)
    burst = [f"b{n}" for n in range(150)]  # more than a page of 100
    script = Script([
        send(writer, sid, "m4"), None, send(writer, sid, "m5", "m6"), None, None,
        send(writer, sid, *burst), None,
    ])
    seen = run(reader, sid, script, history)
    assert seen == [(2, "m2"), (3, "m3"), (4, "m4"), (5, "m5"), (6, "m6"),
                    *((7 + n, body) for n, body in enumerate(burst))]


def test_an_empty_conversation_is_followed_from_its_first_message(setup):
    writer, reader, sid, _ = setup
    script = Script([None, send(writer, sid, "first"), None, send(writer, sid, "second")])
    assert run(reader, sid, script) == [(0, "first"), (1, "second")]


def test_deleted_messages_leave_gaps_and_nothing_is_repeated(setup):
    writer, reader, sid, _ = setup
    send(writer, sid, "m0", "m1")()
    script = Script([
        delete(writer, sid, 1),  # seen already: nothing to print
        send(writer, sid, "m2", "m3"),
        None,
        lambda: (send(writer, sid, "m4", "m5")(), delete(writer, sid, 4)()),  # never seen
        delete(writer, sid, 5),  # the newest is now older than the last seen
        send(writer, sid, "m6"),
    ])
    seen = run(reader, sid, script, read_window(reader, sid, page_size=30))
    assert seen == [(0, "m0"), (1, "m1"), (2, "m2"), (3, "m3"), (5, "m5"), (6, "m6")]


def test_an_idle_poll_is_one_small_request(setup):
    _, reader, sid, transport = setup
    script = Script([None, None, None])
    run(reader, sid, script)
    assert len(transport.requests) == 3  # one a poll
    for poll in transport.requests:
        params = dict(poll.params)
        if reader.seeks_message_index:  # forwards from the last index seen
            assert params["Order"] == "asc" and "PageToken" in params
        else:  # only the newest message, to compare with the last index seen
            assert (params["Order"], params["PageSize"]) == ("desc", "1")


def test_new_messages_cost_a_poll_and_one_page(setup):
    writer, reader, sid, transport = setup
    send(writer, sid, "m0")()
    script = Script([send(writer, sid, *(f"m{n}" for n in range(1, 31)))])
    run(reader, sid, script, read_window(reader, sid, page_size=30))
    # The window, then the poll: one page forwards, or the newest index and one page back.
    assert len(transport.requests) == (2 if reader.seeks_message_index else 3)


def test_a_deleted_conversation_ends_the_follow(setup):
    writer, reader, sid, _ = setup
    send(writer, sid, "m0")()
    script = Script([send(writer, sid, "m1"), lambda: writer.delete_conversation(sid)])
    seen = []
    with pytest.raises(ConversationDeleted) as caught:
        for message in follow(reader, sid, read_window(reader, sid, page_size=30),
                              sleep=script.sleep, clock=script.clock):
            seen.append(message.index)
    assert seen == [0, 1]
    assert caught.value.conversation_sid == sid


def test_polls_slow_down_while_quiet_and_speed_up_when_something_arrives(setup):
    writer, reader, sid, _ = setup
    quiet = [None] * 60
    script = Script([*quiet, send(writer, sid, "wake"), None, None])
    run(reader, sid, script)
    sleeps = script.sleeps
    assert sleeps[:7] == [0.25, 0.375, 0.5625, 0.84375, 1.265625, 1.5, 1.5]
    # A reply to a conversation active within the last minute shows within two seconds…
    waited = 0.0
    for delay in sleeps:
        if waited + delay >= QUIET_AFTER:
            break
        assert delay <= ACTIVE_MAX
        waited += delay
    # …then polls grow further apart, up to QUIET_MAX…
    assert max(sleeps[:61]) == QUIET_MAX
    # …and snap back once a message arrives.
    assert sleeps[61:] == [FIRST_DELAY, FIRST_DELAY * 1.5, FIRST_DELAY * 1.5 ** 2]


@pytest.mark.parametrize("delay, quiet_for, expected", [
    (0.25, 0, 0.375), (1.2, 10, ACTIVE_MAX), (ACTIVE_MAX, 59.9, ACTIVE_MAX),
    (ACTIVE_MAX, 60, 2.25), (4, 600, QUIET_MAX), (QUIET_MAX, 600, QUIET_MAX),
])
def test_next_delay(delay, quiet_for, expected):
    assert next_delay(delay, quiet_for) == expected
