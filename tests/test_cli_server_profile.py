"""convo against a `convo serve` through a `server` profile: `login` with the token on
standard input (into the real Secret Service), then the commands over HTTP, `--follow`
included; the token in the keyring and nowhere else; `--debug` shows requests, never it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from cli_helpers import Result, convo
from convo_cli.credentials import load_backend
from keyring_helpers import files_containing
from server_helpers import start_server


@pytest.fixture
def team(real_keyring, served, tmp_path):
    """A `team` profile logged in to the served engine, as alice."""
    logged = convo("login", "--profile", "team", "--server", served.url, "--account-sid",
                   served.account_sid, "--identity", "alice", stdin=served.auth_token + "\n")
    assert (logged.code, logged.out) == (0, ""), logged.err
    yield served
    convo("profiles", "remove", "team")


def unique(name: str) -> str:
    # The served engine is shared by the module's tests.
    return f"{name}-{os.urandom(4).hex()}"


def test_login_then_every_command_through_the_server(team, tmp_path):
    room = unique("standup")
    steps: list[Result] = [
        convo("--profile", "team", "create", "--friendly-name", "Daily standup",
              "--unique-name", room),
        convo("--profile", "team", "join", room),
        convo("--profile", "team", "add", room, "bob"),
        convo("--profile", "team", "add-sms", room, "--address", "+15551234567",
              "--proxy-address", "+14445550100"),
    ]
    steps += [convo("send", room, f"message {n}") for n in range(40)]  # the active profile
    steps.append(convo("send", room, "-", stdin="from stdin\n"))
    assert [r.code for r in steps] == [0] * len(steps), [r.err for r in steps if r.code]
    assert steps[0].rows()[0][1:4] == [room, "Daily standup", "active"]

    latest = convo("messages", room)
    assert [int(row[0]) for row in latest.rows()] == list(range(11, 41))
    assert latest.rows()[-1][2:] == ["alice", "from stdin"]
    window = convo("messages", room, "--anchor", "5", "--direction", "forwards",
                   "--page-size", "3")
    assert [row[0] for row in window.rows()] == ["5", "6", "7"]
    people = convo("participants", room)
    assert [row[1] or row[2] for row in people.rows()] == ["alice", "bob", "+15551234567"]
    assert room in [row[1] for row in convo("--identity", "bob", "list").rows()]
    assert convo("--identity", "carol", "list").out == ""
    assert convo("leave", room).code == 0
    assert room not in [row[1] for row in convo("list").rows()]

    # The token is in the keyring and in no file of the client's, nor in any output.
    backend = load_backend({"PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"})
    assert backend.get_password("convo:team", team.account_sid) == team.auth_token
    assert files_containing(team.auth_token, tmp_path) == []
    for result in (*steps, latest, window, people):
        assert team.auth_token not in result.out + result.err


def test_debug_shows_the_requests_with_the_credentials_redacted(team):
    shown = convo("--debug", "--profile", "team", "list")
    assert shown.code == 0
    lines = shown.err.splitlines()
    assert f"> GET {team.url}/v1/Users/alice/Conversations?PageSize=50" in lines
    assert "> authorization: Basic [redacted]" in lines
    assert any(line.startswith("< 200 OK") for line in lines)
    assert team.auth_token not in shown.err and team.auth_token not in shown.out


def test_a_wrong_token_is_refused_at_login_and_later_says_how_to_log_in_again(team, tmp_path):
    refused = convo("login", "--profile", "other", "--server", team.url, "--account-sid",
                    team.account_sid, stdin="not-the-token")
    assert (refused.code, refused.out) == (4, "")
    assert refused.err.startswith(f"convo: error: {team.url} rejected the credentials for "
                                  f"{team.account_sid} [Twilio error 20003]")
    assert "other" not in convo("profiles").out
    # A token changed on the server after login: exit 4 and the way out.
    stale = convo("login", "--profile", "stale", "--server", team.url, "--account-sid",
                  team.account_sid, "--identity", "alice", "--no-verify", stdin="stale-token")
    assert stale.code == 0
    used = convo("--profile", "stale", "list")
    assert (used.code, used.out) == (4, "")
    assert used.err.endswith("; run: convo login --profile stale\n")
    convo("profiles", "remove", "stale")


def test_follow_through_the_server_prints_each_new_message_once(team, tmp_path):
    room = unique("live")
    assert convo("create", "--unique-name", room).code == 0
    assert convo("join", room).code == 0 and convo("add", room, "bob").code == 0
    assert convo("send", room, "before").code == 0
    env = {**os.environ, "CONVO_IDENTITY": "alice"}
    follower = subprocess.Popen([sys.executable, "-m", "convo_cli", "messages", room,
                                 "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, text=True)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().split("\t")[3] == "before\n"
        for n in range(3):
            assert convo("--identity", "bob", "send", room, f"live {n}").code == 0
        got = [follower.stdout.readline().rstrip("\n").split("\t")[2:] for _ in range(3)]
        assert got == [["bob", f"live {n}"] for n in range(3)]
    finally:
        follower.send_signal(signal.SIGINT)
        _, err = follower.communicate(timeout=30)
    assert (follower.returncode, err) == (130, "")


def test_a_server_that_went_away_is_one_line_naming_its_url(real_keyring, tmp_path):
    server = start_server(tmp_path / "gone.db")
    assert convo("login", "--profile", "gone", "--server", server.url, "--account-sid",
                 server.account_sid, stdin=server.auth_token).code == 0
    assert server.stop() == 0
    result = convo("--profile", "gone", "messages", "anything")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"convo: error: cannot reach {server.url}: ")
    assert result.err.count("\n") == 1
    convo("profiles", "remove", "gone")
