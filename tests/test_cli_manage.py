"""Managing what you created, through the real CLI: `show`, `edit`, `delete`, `remove`,
`edit-message`, `delete-message`, `leave --if-member`, and "did you mean". Each test runs on
the built-in engine (the `local` profile) and through `convo serve` (a `server` profile),
refusals included; the name cache that completion reads forgets what was deleted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cli_helpers import Result, convo
from convo_cli.api import Client
from convo_cli.cache import names_file, read_names
from convo_cli.engine.inprocess import InProcessTransport
from convo_cli.main import run
from convo_cli.render.streams import IOStreams


@dataclass
class Backend:
    """One back end as a user reaches it: the profile's flags, and a client of its own to
    check what the service holds, behind convo's back."""

    name: str
    profile: str
    client: Client
    room: str  # a unique name no other test on a shared server uses

    def __call__(self, *argv: str, identity: str | None = None, **kwargs: Any) -> Result:
        flags = ["--profile", self.profile] + (["--identity", identity] if identity else [])
        return convo(*flags, *argv, **kwargs)

    def on_terminal(self, *argv: str, answer: str, identity: str | None = None) -> Result:
        """On a terminal (standard input and output), answering `answer` to any question."""
        io = IOStreams.test(tty=True, stdin=answer, stdin_tty=True)
        flags = ["--profile", self.profile] + (["--identity", identity] if identity else [])
        code = run([*flags, *argv], io, dict(os.environ))
        return Result(code, io.out(), io.err())

    def cached_names(self) -> set[str | None]:
        return set(read_names(names_file(os.environ, self.profile)).values())


@pytest.fixture(params=["local", "served"])
def back(request, tmp_path) -> Iterator[Backend]:
    room = f"standup-{os.urandom(4).hex()}"
    if request.param == "local":
        client = Client(InProcessTransport(str(tmp_path / "data" / "local.db")))
        yield Backend("local", "local", client, room)
    else:
        served = request.getfixturevalue("served")
        logged = convo("login", "--profile", "team", "--server", served.url, "--account-sid",
                       served.account_sid, "--identity", "alice", "--insecure-storage",
                       stdin=served.auth_token + "\n")
        assert logged.code == 0, logged.err
        # The secret from the environment, as in CI: no warning about the file on each call.
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", served.account_sid)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", served.auth_token)
        client = served.client()
        yield Backend("served", "team", client, room)
    client.close()


def standup(back: Backend) -> str:
    """alice's conversation with bob in it, and three messages: alice, bob, alice."""
    created = back("create", "--friendly-name", "Daily standup", "--unique-name", back.room,
                   "--attributes", '{"team": "web"}')
    assert created.code == 0, created.err
    steps = [back("join", back.room), back("add", back.room, "bob"),
             back("send", back.room, "Deploy is done"),
             back("send", back.room, "On it", identity="bob"),
             back("send", back.room, "Thanks")]
    assert [r.code for r in steps] == [0] * 5, [r.err for r in steps]
    return created.rows()[0][0]


def shown(back: Backend, *argv: str, **kwargs: Any) -> dict[str, str]:
    result = back("show", back.room, *argv, **kwargs)
    assert result.code == 0, result.err
    return dict(row for row in result.rows())


def bodies(back: Backend, sid: str) -> list[tuple[int, str | None, str | None]]:
    return [(m.index, m.author, m.body) for m in back.client.list_messages(sid)]


# show

def test_show_prints_names_state_counts_and_the_resource_as_json(back):
    sid = standup(back)
    fields = shown(back)
    assert {k: fields[k] for k in ("sid", "unique_name", "friendly_name", "state",
                                   "attributes", "participants", "last_message_index")} == {
        "sid": sid, "unique_name": back.room, "friendly_name": "Daily standup",
        "state": "active", "attributes": '{"team": "web"}', "participants": "2",
        "last_message_index": "2"}
    assert fields["date_created"].endswith("Z")
    as_json = back("show", back.room, "--json").json()
    assert as_json == back.client.call("GET", back.client.path("Conversations", sid))
    on_terminal = back.on_terminal("show", back.room, answer="")
    assert on_terminal.code == 0 and sid in on_terminal.out and "Daily standup" in on_terminal.out


def test_show_gives_your_unread_count_as_the_service_counts_it_and_none_to_a_stranger(back):
    sid = standup(back)
    counted = back.client.fetch_user_conversation("alice", sid).unread_messages_count
    fields = shown(back)
    assert fields.get("unread_messages_count") == (None if counted is None else str(counted))
    assert "unread_messages_count" not in shown(back, identity="carol")  # not a participant


def test_a_mistyped_conversation_suggests_the_known_name(back):
    standup(back)
    typo = back.room.replace("standup", "standpu")
    missing = back("show", typo)
    assert missing.code == 1
    assert missing.err.startswith(f"convo: error: conversation '{typo}' not found; "
                                  f"did you mean {back.room}?")
    assert "did you mean" not in back("show", "nothing-like-it").err


# edit

def test_edit_updates_names_attributes_and_state_and_prints_the_resource(back):
    sid = standup(back)
    edited = back("edit", back.room, "--friendly-name", "Standup (daily)", "--state",
                  "inactive", "--attributes", '{"team": "api"}', "--json")
    assert edited.code == 0, edited.err
    resource = edited.json()
    assert (resource["sid"], resource["friendly_name"], resource["state"],
            resource["attributes"]) == (sid, "Standup (daily)", "inactive", '{"team": "api"}')
    stored = back.client.fetch_conversation(sid)
    assert (stored.friendly_name, stored.state) == ("Standup (daily)", "inactive")
    renamed = back("edit", back.room, "--unique-name", back.room + "-x")
    assert renamed.code == 0 and renamed.rows()[0][:2] == [sid, back.room + "-x"]
    # completion offers the new name only
    assert back.cached_names() == {back.room + "-x"}
    closed = back("edit", sid, "--state", "closed")
    assert closed.code == 0 and closed.rows()[0][3] == "closed"
    final = back("edit", sid, "--friendly-name", "reopened?")  # closed is final (Twilio)
    assert final.code == 1 and "[Twilio error 50377]" in final.err


@pytest.mark.parametrize("argv, error", [
    ([], "nothing to change"),
    (["--state", "archived"], "--state must be one of active, inactive, closed"),
    (["--attributes", "{nope"], "--attributes is not valid JSON"),
])
def test_edit_rejects_bad_input_before_sending(back, argv, error):
    sid = standup(back)
    refused = back("edit", back.room, *argv)
    assert refused.code == 2 and refused.err.startswith(f"convo: error: {error}")
    assert back.client.fetch_conversation(sid).state == "active"


# delete

def test_delete_without_a_terminal_needs_yes_and_then_completion_forgets_it(back):
    sid = standup(back)
    refused = back("delete", back.room)
    assert (refused.code, refused.out) == (2, "")
    assert refused.err == ("convo: error: delete needs --yes when not run on a terminal: "
                           "nothing deleted\n")
    assert back.client.fetch_conversation(sid).sid == sid  # still there
    assert back.room in back.cached_names()
    typed = f"convo --profile {back.profile} show {back.room[:8]}"
    assert tab(typed).split() == [back.room]

    deleted = back("delete", back.room, "--yes")
    assert (deleted.code, deleted.out) == (0, "")
    assert deleted.err == f"Deleted conversation '{back.room}' ({sid}).\n"
    assert back("show", back.room).code == 1
    assert back.room not in back.cached_names()
    assert tab(typed).split() == []


def test_delete_on_a_terminal_asks_with_what_it_deletes(back):
    sid = standup(back)
    declined = back.on_terminal("delete", back.room, answer="n\n")
    assert declined.code == 2
    assert (f"Delete conversation '{back.room}' ({sid}), with its 3 messages? "
            "This cannot be undone. [y/N] ") in declined.err
    assert "not confirmed: nothing deleted" in declined.err
    assert back.client.fetch_conversation(sid).sid == sid
    assert back.on_terminal("delete", back.room, answer="").code == 2  # end of input: no
    confirmed = back.on_terminal("delete", back.room, answer="y\n")
    assert confirmed.code == 0, confirmed.err
    assert confirmed.err.endswith(f"Deleted conversation '{back.room}' ({sid}).\n")
    assert back("show", back.room).code == 1


def test_the_question_bounds_a_long_history_it_did_not_count(back):
    sid = standup(back)
    for n in range(100):
        back.client.send_message(sid, author="alice", body=f"m{n}")
    declined = back.on_terminal("delete", back.room, answer="\n")
    assert f"({sid}), with its messages (up to 103)? " in declined.err
    assert declined.code == 2


# remove and leave

def test_remove_takes_an_identity_an_address_or_a_participant_sid(back):
    sid = standup(back)
    sms = back("add-sms", back.room, "--address", "+15551234567", "--proxy-address",
               "+14445550100").rows()[0][0]
    wa = back("add-sms", back.room, "--address", "whatsapp:+15557654321", "--proxy-address",
              "whatsapp:+14445550100").rows()[0][0]
    assert back("add", back.room, "carol").code == 0

    def members() -> list[str]:
        return sorted(p.sid for p in back.client.list_participants(sid))

    before = members()
    removed = back("remove", back.room, "bob")
    assert (removed.code, removed.out, removed.err) == (0, "", f"Removed bob from {back.room}.\n")
    assert back("remove", back.room, "+15551234567").code == 0
    assert back("remove", back.room, "whatsapp:+15557654321").code == 0
    assert sms not in members() and wa not in members() and len(members()) == len(before) - 3
    carol = back.client.fetch_participant(sid, "carol").sid
    assert back("remove", back.room, carol).code == 0
    assert [p.identity for p in back.client.list_participants(sid)] == ["alice"]
    # removing others leaves the conversation yours, for completion too
    assert back.room in back.cached_names()

    unknown = back("remove", back.room, "dave")
    assert unknown.code == 1
    assert unknown.err.startswith(f"convo: error: dave is not a participant of {back.room}")
    blank = back("remove", back.room, " ")
    assert blank.code == 2


def test_an_address_bound_through_two_proxies_is_ambiguous(back):
    sid = standup(back)
    first = back("add-sms", back.room, "--address", "+15551234567", "--proxy-address",
                 "+14445550100").rows()[0][0]
    second = back("add-sms", back.room, "--address", "+15551234567", "--proxy-address",
                  "+14445550101").rows()[0][0]
    ambiguous = back("remove", back.room, "+15551234567")
    assert ambiguous.code == 2
    assert "through 2 proxy addresses; give the participant's SID" in ambiguous.err
    assert first in ambiguous.err and second in ambiguous.err
    assert len(list(back.client.list_participants(sid))) == 4  # nobody removed
    assert back("remove", back.room, second).code == 0
    assert back("remove", back.room, "+15551234567").code == 0


def test_removing_yourself_makes_completion_forget_the_conversation(back):
    standup(back)
    assert back("remove", back.room, "alice").code == 0
    assert back.room not in back.cached_names()


def test_leave_if_member_succeeds_when_not_a_member(back):
    standup(back)
    assert back("leave", back.room).code == 0
    again = back("leave", back.room)
    assert again.code == 1 and "alice is not a participant" in again.err
    quiet = back("leave", back.room, "--if-member")
    assert (quiet.code, quiet.out) == (0, "")
    assert back("leave", back.room, "--if-member", identity="bob").code == 0  # bob was in
    assert [p.identity for p in back.client.list_participants(
        back.client.fetch_conversation(back.room).sid)] == []


# edit-message and delete-message

def test_edit_message_changes_your_own_message_only(back):
    sid = standup(back)
    edited = back("edit-message", back.room, "0", "Deploy is done (v2.1)", "--json")
    assert edited.code == 0, edited.err
    assert (edited.json()["index"], edited.json()["body"]) == (0, "Deploy is done (v2.1)")
    piped = back("edit-message", back.room, "2", "-", stdin="Thanks all\n")
    assert piped.rows() == [["2", piped.rows()[0][1], "alice", "Thanks all"]]

    refused = back("edit-message", back.room, "1", "Hijacked")
    assert (refused.code, refused.out) == (2, "")
    assert refused.err == (f"convo: error: message 1 in {back.room} is bob's, not yours "
                           "(alice): you can change only your own messages\n")
    assert bodies(back, sid) == [(0, "alice", "Deploy is done (v2.1)"), (1, "bob", "On it"),
                                 (2, "alice", "Thanks all")]
    assert back("edit-message", back.room, "1", "mine now", identity="bob").code == 0


@pytest.mark.parametrize("index, error", [
    ("3", "no message 3 in {room}: the last index is 2"),
    ("1000", "no message 1000 in {room}: the last index is 2"),
])
def test_a_message_index_that_does_not_exist_is_a_clear_error(back, index, error):
    sid = standup(back)
    for argv in (["edit-message", back.room, index, "x"],
                 ["delete-message", back.room, index, "--yes"]):
        missing = back(*argv)
        assert missing.code == 1
        assert missing.err == f"convo: error: {error.format(room=back.room)}\n"
    assert len(bodies(back, sid)) == 3


def test_delete_message_needs_yes_without_a_terminal_and_refuses_other_authors(back):
    sid = standup(back)
    refused = back("delete-message", back.room, "0")
    assert refused.code == 2 and "delete-message needs --yes" in refused.err
    others = back("delete-message", back.room, "1", "--yes")
    assert others.code == 2
    assert "is bob's, not yours (alice): you can delete only your own messages" in others.err
    assert len(bodies(back, sid)) == 3

    deleted = back("delete-message", back.room, "0", "--yes")
    assert (deleted.code, deleted.out) == (0, "")
    assert deleted.err == f"Deleted message 0 from {back.room}.\n"
    assert bodies(back, sid) == [(1, "bob", "On it"), (2, "alice", "Thanks")]
    gone = back("edit-message", back.room, "0", "again")
    assert gone.code == 1 and gone.err.endswith(": it was deleted\n")


def test_delete_message_on_a_terminal_asks_with_the_message(back):
    sid = standup(back)
    declined = back.on_terminal("delete-message", back.room, "2", answer="no\n")
    assert declined.code == 2
    assert f'Delete message 2 in {back.room}, "Thanks"? [y/N] ' in declined.err
    assert len(bodies(back, sid)) == 3
    confirmed = back.on_terminal("delete-message", back.room, "2", answer="yes\n")
    assert confirmed.code == 0, confirmed.err
    assert [index for index, _, _ in bodies(back, sid)] == [0, 1]


def test_the_question_shows_a_message_literally_on_one_line(back):
    standup(back)
    assert back("send", back.room, "two\nlines \x1b[31mred").code == 0
    asked = back.on_terminal("delete-message", back.room, "3", answer="n\n")
    assert f'Delete message 3 in {back.room}, "two lines \\x1b[31mred"? [y/N] ' in asked.err
    assert "\x1b" not in asked.err


def tab(line: str) -> str:
    """What a bash TAB at the end of `line` offers (see tests/test_completion.py)."""
    env = {**os.environ, "_CONVO_COMPLETE": "complete_bash", "COMP_WORDS": line,
           "COMP_CWORD": str(line.count(" "))}
    result = subprocess.run([sys.executable, "-m", "convo_cli"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout
