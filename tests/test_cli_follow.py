"""`convo messages --follow` as a user runs it: the real program in its own process, piped,
while a second writer (another identity, on the same database) sends; then Ctrl-C (SIGINT),
or the conversation deleted under it. Waits are bounded only to avoid hanging, never timed."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from cli_helpers import convo
from convo_cli.api import Client
from convo_cli.api.transport import Request, Response
from convo_cli.engine.inprocess import InProcessTransport
from convo_cli.main import run
from convo_cli.render.streams import IOStreams

PATIENCE = 60  # seconds: generous bounds against a hang, not a measure of speed


class Follower:
    """`python -m convo_cli messages standup --follow …`, its standard output read line by
    line on a thread so that a test can wait for the next line with a bound."""

    def __init__(self, *argv: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "convo_cli", "messages", "standup", "--follow", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_lines(self, count: int) -> list[str]:
        return [self.lines.get(timeout=PATIENCE) for _ in range(count)]

    def finish(self, *, interrupt: bool) -> tuple[int, str, str]:
        """Exit code, the rest of standard output, standard error."""
        if interrupt:
            self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=PATIENCE)
        rest = []
        while (line := self.lines.get(timeout=PATIENCE)) is not None:
            rest.append(line)
        assert self.process.stderr is not None
        return code, "".join(rest), self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def bob():
    """A second writer on the same database: bob, through the API."""
    client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")))
    sid = client.create_conversation(unique_name="standup").sid
    for n in range(35):
        client.send_message(sid, body=f"old {n}", author="alice")
    yield lambda *bodies: [client.send_message(sid, body=b, author="bob") for b in bodies]
    client.close()


@pytest.fixture
def follower():
    started: list[Follower] = []

    def start(*argv: str) -> Follower:
        started.append(Follower(*argv))
        return started[-1]

    yield start
    for one in started:
        one.kill()


def fields(line: str) -> tuple[int, str, str]:
    index, _, author, body = line.rstrip("\n").split("\t")
    return int(index), author, body


def test_follow_prints_the_history_then_each_new_message_once_in_order_until_ctrl_c(
        bob, follower):
    following = follower()
    assert [fields(line) for line in following.next_lines(30)] == [
        (n, "alice", f"old {n}") for n in range(5, 35)]  # the latest 30, as without --follow
    bob("one")
    assert fields(following.next_lines(1)[0]) == (35, "bob", "one")
    bob("two", "three")
    assert [fields(line) for line in following.next_lines(2)] == [
        (36, "bob", "two"), (37, "bob", "three")]
    burst = [f"burst {n}" for n in range(150)]  # more than a page
    bob(*burst)
    assert [fields(line) for line in following.next_lines(150)] == [
        (38 + n, "bob", body) for n, body in enumerate(burst)]
    code, rest, err = following.finish(interrupt=True)
    assert (code, rest, err) == (130, "", "")  # nothing printed twice, no traceback


def test_follow_ends_with_a_clear_message_when_the_conversation_is_deleted(bob, follower):
    following = follower("--page-size", "1")
    assert fields(following.next_lines(1)[0]) == (34, "alice", "old 34")
    client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")))
    client.delete_conversation("standup")
    client.close()
    code, rest, err = following.finish(interrupt=False)
    assert (code, rest) == (1, "")
    assert err == "convo: error: conversation 'standup' was deleted\n"


def test_follow_json_prints_one_resource_a_line(bob, follower):
    following = follower("--json", "--page-size", "2")
    history = [json.loads(line) for line in following.next_lines(2)]
    assert [(m["index"], m["body"]) for m in history] == [(33, "old 33"), (34, "old 34")]
    bob("new")
    arrived = json.loads(following.next_lines(1)[0])
    assert (arrived["index"], arrived["author"], arrived["body"]) == (35, "bob", "new")
    assert arrived["sid"].startswith("IM") and "url" in arrived  # the REST resource
    code, rest, err = following.finish(interrupt=True)
    assert (code, rest, err) == (130, "", "")


def test_follow_takes_no_anchor_or_direction(bob):
    for argv in (["--anchor", "3"], ["--direction", "forwards"]):
        result = convo("messages", "standup", "--follow", *argv)
        assert (result.code, result.out) == (2, "")
        assert result.err == ("convo: error: --follow starts from the latest messages: it takes "
                              "no --anchor or --direction\n")


class InterruptedPoll:
    """Ctrl-C landing inside a request: the first poll after `reads` reads of the history."""

    def __init__(self, inner: InProcessTransport, reads: int) -> None:
        self.inner, self.base_url, self.reads = inner, inner.base_url, reads

    def send(self, request: Request) -> Response:
        if request.method == "GET" and request.path.endswith("/Messages"):
            self.reads -= 1
            if self.reads < 0:
                raise KeyboardInterrupt
        return self.inner.send(request)

    def close(self) -> None:
        self.inner.close()


def interrupted(monkeypatch, argv: list[str], reads: int, **streams) -> tuple[int, IOStreams]:
    import convo_cli.factory

    real = convo_cli.factory.make_transport
    monkeypatch.setattr(convo_cli.factory, "make_transport",
                        lambda *a, **k: InterruptedPoll(real(*a, **k), reads))
    io = IOStreams.test(**streams)
    return run(argv, io, dict(os.environ)), io


def test_all_then_follow_and_an_interrupt_inside_a_request(bob, monkeypatch):
    bob(*(f"more {n}" for n in range(100)))  # 135 messages: two pages
    code, io = interrupted(monkeypatch, ["messages", "standup", "--all", "--follow"], 2)
    assert (code, io.err()) == (130, "")
    assert [int(line.split("\t")[0]) for line in io.out().splitlines()] == list(range(135))


def test_follow_on_a_terminal_says_how_to_stop(bob, monkeypatch):
    code, io = interrupted(monkeypatch, ["messages", "standup", "-f", "--page-size", "2"], 1,
                           tty=True, width=40)
    assert (code, io.err()) == (130, "Following standup; Ctrl-C to stop.\n")
    assert io.out() == "you  just now\n\u2022 old 33\n\u2022 old 34\n"  # USER=alice
