"""`convo chat` in a real terminal: tmux (a private server per test) runs the real process,
keys go in with send-keys, the screen comes back with capture-pane. Other identities act
from other processes. Needs tmux (Debian: tmux; .ci/run installs it)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from cli_helpers import as_, convo

DEADLINE = 15.0  # for start-up and the like on a busy machine; not a measure of speed
LIVE = 2.0  # the promise: another process's message shows within this


class Pane:
    def __init__(self, socket: str, name: str) -> None:
        self.socket, self.name = socket, name

    def tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                                text=True, check=True)
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)

    def flag(self, name: str) -> str:
        return self.tmux("display-message", "-p", "-t", self.name, f"#{{{name}}}").strip()

    def wait_for(self, text: str, deadline: float = DEADLINE) -> str:
        end = time.monotonic() + deadline
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > end:
                raise AssertionError(f"{text!r} not on screen within {deadline} s:\n{screen}")
            time.sleep(0.05)


@pytest.fixture
def terminal(tmp_path) -> Iterator[callable]:
    """Start a command in a 100x30 tmux pane; the shell then prints EXIT=<code>."""
    assert shutil.which("tmux"), "tmux is needed (Debian: apt-get install tmux)"
    socket = f"convo-test-{os.getpid()}-{time.monotonic_ns()}"
    panes: list[Pane] = []

    def start(command: str) -> Pane:
        name = f"p{len(panes)}"
        script = f'{command}; echo "EXIT=$?"; exec sleep 600'
        env = [f"{k}={v}" for k, v in os.environ.items()
               if k.startswith(("CONVO_", "XDG_", "PYTHON", "TWILIO_")) or k in ("HOME", "PATH")]
        args = ["tmux", "-L", socket, "new-session", "-d", "-s", name, "-x", "100", "-y", "30"]
        for pair in env:
            args += ["-e", pair]
        subprocess.run(args + ["bash", "-c", script], check=True)
        pane = Pane(socket, name)
        panes.append(pane)
        return pane

    yield start
    path = panes[0].flag("socket_path") if panes else None
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    if path and os.path.exists(path):  # tmux leaves the socket file behind
        os.unlink(path)


def chat_command(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "convo_cli", *args])


@pytest.fixture
def room():
    assert convo("create", "--unique-name", "standup", "--friendly-name",
                 "Daily standup").code == 0
    for who in ("alice", "bob"):
        assert as_(who, "join", "standup").code == 0


def send_from_another_process(identity: str, text: str) -> None:
    subprocess.run([sys.executable, "-m", "convo_cli", "--identity", identity, "send",
                    "standup", text], check=True, capture_output=True)


def test_two_identities_chat_in_two_terminals(terminal, room):
    alice = terminal(chat_command("--identity", "alice", "chat", "standup"))
    bob = terminal(chat_command("--identity", "bob", "chat", "standup"))
    alice.wait_for("Daily standup")
    bob.wait_for("Daily standup")
    alice.type("hello bob")
    alice.keys("Enter")
    alice.wait_for("you hello bob")
    bob.wait_for("alice hello bob")
    bob.type("hi alice")
    bob.keys("M-Enter")
    bob.type("second line")
    bob.keys("Enter")
    screen = alice.wait_for("second line")
    assert "bob hi alice" in screen


def test_a_message_from_another_process_appears_within_2_seconds(terminal, room):
    pane = terminal(chat_command("--identity", "alice", "chat", "standup"))
    pane.wait_for("Daily standup")
    send_from_another_process("bob", "sent from elsewhere")
    pane.wait_for("sent from elsewhere", deadline=LIVE)
    assert as_("carol", "join", "standup").code == 0
    pane.wait_for("carol joined")


def test_quit_exits_0_and_restores_the_terminal(terminal, room):
    pane = terminal(chat_command("--identity", "alice", "chat", "standup"))
    pane.wait_for("Daily standup")
    assert pane.flag("alternate_on") == "1"  # full screen while it runs
    pane.type("/quit")
    pane.keys("Enter")
    screen = pane.wait_for("EXIT=")
    assert "EXIT=0" in screen
    assert "Conversations" not in screen  # the screen before chat is back
    assert (pane.flag("alternate_on"), pane.flag("cursor_flag"),
            pane.flag("mouse_any_flag")) == ("0", "1", "0")


@pytest.mark.parametrize("key", ["C-c", "C-d"])
def test_ctrl_c_and_ctrl_d_leave_with_exit_0(terminal, room, key):
    pane = terminal(chat_command("--identity", "alice", "chat", "standup"))
    pane.wait_for("Daily standup")
    pane.keys(key)
    assert "EXIT=0" in pane.wait_for("EXIT=")
    assert pane.flag("alternate_on") == "0"


def test_without_a_terminal_chat_exits_2(terminal, room):
    # Standard output piped, standard input the terminal:
    pane = terminal(chat_command("--identity", "alice", "chat", "standup") + " | cat; "
                    'echo "PIPED=${PIPESTATUS[0]}"')
    screen = pane.wait_for("PIPED=")
    assert "PIPED=2" in screen and "convo messages CONVERSATION --follow" in screen
    # Neither a terminal:
    result = subprocess.run([sys.executable, "-m", "convo_cli", "--identity", "alice", "chat",
                             "standup"], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("convo: error: convo chat needs a terminal")


def test_a_missing_conversation_is_an_error_before_the_screen(terminal, room):
    pane = terminal(chat_command("--identity", "alice", "chat", "nope"))
    screen = pane.wait_for("EXIT=")
    assert "convo: error: conversation 'nope' not found" in screen and "EXIT=1" in screen


def test_chat_through_a_convo_serve_profile(terminal, served, tmp_path):
    logged = convo("login", "--profile", "team", "--server", served.url, "--account-sid",
                   served.account_sid, "--identity", "alice", "--insecure-storage",
                   stdin=served.auth_token + "\n")
    assert logged.code == 0, logged.err
    name = f"served-{os.urandom(3).hex()}"
    client = served.client()
    sid = client.create_conversation(unique_name=name, friendly_name="Served room").sid
    client.add_participant(sid, identity="alice")
    pane = terminal(chat_command("--profile", "team", "chat", name))
    pane.wait_for("Served room")
    pane.type("over the wire")
    pane.keys("Enter")
    pane.wait_for("you over the wire")
    client.send_message(sid, author="bob", body="bob over the wire")
    pane.wait_for("bob over the wire", deadline=LIVE + 1)  # a poll is an HTTP round trip
    pane.type("/quit")
    pane.keys("Enter")
    assert "EXIT=0" in pane.wait_for("EXIT=")
    client.close()


def test_quit_does_not_wait_for_a_service_that_stopped_answering(terminal, tmp_path):
    from server_helpers import start_server

    server = start_server(tmp_path / "hung.db")
    try:
        logged = convo("login", "--profile", "hung", "--server", server.url, "--account-sid",
                       server.account_sid, "--identity", "alice", "--insecure-storage",
                       stdin=server.auth_token + "\n")
        assert logged.code == 0, logged.err
        client = server.client()
        client.create_conversation(unique_name="standup", friendly_name="Daily standup")
        client.close()
        pane = terminal(chat_command("--profile", "hung", "chat", "standup"))
        pane.wait_for("Daily standup")
        server.process.send_signal(signal.SIGSTOP)  # requests now hang (30 s timeouts)
        time.sleep(1)  # a poll is under way
        pane.type("/quit")
        pane.keys("Enter")
        assert "EXIT=0" in pane.wait_for("EXIT=", deadline=DEADLINE)
    finally:
        server.process.send_signal(signal.SIGCONT)
        server.stop()
