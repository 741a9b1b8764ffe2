"""Unread counts and the read horizon through the real CLI: on the built-in engine in-process,
and on a `convo serve` through a server profile. Bob writes while alice is away; alice's
`list` says how many she has not read, most recent activity first; reading on a terminal
moves her horizon, piped and `--json` reads do not; deletions count right."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from cli_helpers import as_, convo
from convo_cli.api import Client
from convo_cli.engine.inprocess import InProcessTransport


@pytest.fixture(params=["local", "served"])
def where(request, tmp_path):
    """How to reach the engine: `argv` goes before each command, `client` speaks to the same
    engine directly (for what the CLI has no command for: deleting a message, dating one)."""
    if request.param == "local":
        client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"],
                                                        "local.db")))
        yield SimpleNamespace(argv=(), env={}, client=client)
        client.close()
        return
    served = request.getfixturevalue("served")
    profile = f"team{os.urandom(3).hex()}"
    logged = convo("login", "--profile", profile, "--server", served.url, "--account-sid",
                   served.account_sid, "--identity", "alice", "--insecure-storage",
                   stdin=served.auth_token + "\n")
    assert logged.code == 0, logged.err
    client = served.client()
    # The secret from the environment, as in CI: no warning about the file on each run.
    env = {"TWILIO_ACCOUNT_SID": served.account_sid, "TWILIO_AUTH_TOKEN": served.auth_token}
    yield SimpleNamespace(argv=("--profile", profile), env=env, client=client)
    client.close()


def run(where, identity: str, *argv: str, **kwargs):
    return convo(*where.argv, "--identity", identity, *argv, **where.env, **kwargs)


def unique(name: str) -> str:
    return f"{name}-{os.urandom(3).hex()}"  # a served engine is shared by the module's tests


def unread(where, identity: str) -> dict[str, str]:
    """unique name -> the last column of piped `list`."""
    listed = run(where, identity, "list")
    assert listed.code == 0, listed.err
    return {row[1]: row[-1] for row in listed.rows()}


def test_bob_writes_while_alice_is_away_then_she_reads_on_a_terminal(where):
    room = unique("room")
    assert run(where, "alice", "create", "--unique-name", room).code == 0
    assert run(where, "alice", "join", room).code == 0
    assert run(where, "bob", "join", room).code == 0
    sent = [run(where, "bob", "send", room, f"news {n}").rows()[0] for n in range(3)]
    assert [row[0] for row in sent] == ["0", "1", "2"]

    listed = run(where, "alice", "list")
    row = next(r for r in listed.rows() if r[1] == room)
    assert len(row) == 6 and row[3] == "active" and row[5] == "3"  # unread: the last column

    # Piped and --json reads are a program's: they change nothing.
    assert len(run(where, "alice", "messages", room).rows()) == 3
    assert run(where, "alice", "messages", room, "--json").code == 0
    assert unread(where, "alice")[room] == "3"

    seen = run(where, "alice", "messages", room, tty=True)
    assert seen.code == 0 and "news 2" in seen.out and seen.err == ""
    assert unread(where, "alice")[room] == "0"
    assert unread(where, "bob")[room] == "0"  # his own messages left him up to date
    mine = where.client.fetch_user_conversation("alice", room)
    assert (mine.last_read_message_index, mine.unread_messages_count) == (2, 0)

    # Three more; one of the unread ones deleted: two left, counted, not subtracted.
    later = [where.client.send_message(mine.conversation_sid, author="bob", body=f"more {n}")
             for n in range(3)]
    assert unread(where, "alice")[room] == "3"
    where.client.delete_message(mine.conversation_sid, later[1].sid)
    assert unread(where, "alice")[room] == "2"
    # A message already read, deleted, changes nothing unread.
    first = next(where.client.list_messages(mine.conversation_sid))
    where.client.delete_message(mine.conversation_sid, first.sid)
    assert unread(where, "alice")[room] == "2"

    # Reading an older window on a terminal never moves the horizon back.
    assert run(where, "alice", "messages", room, "--anchor", "1", "--page-size", "1",
               tty=True).code == 0
    assert where.client.fetch_user_conversation("alice", room).last_read_message_index == 2
    assert run(where, "alice", "messages", room, tty=True).code == 0
    assert unread(where, "alice")[room] == "0"
    assert where.client.fetch_user_conversation("alice", room).last_read_message_index == 5


def test_reading_where_i_am_not_a_participant_moves_nothing(where):
    room = unique("open")
    assert run(where, "bob", "create", "--unique-name", room).code == 0
    assert run(where, "bob", "join", room).code == 0
    assert run(where, "erin", "join", room).code == 0
    sent = run(where, "erin", "send", room, "hello")
    assert (sent.code, sent.err) == (0, "")
    seen = run(where, "carol", "messages", room, tty=True)
    assert (seen.code, seen.err) == (0, "") and "hello" in seen.out
    assert unread(where, "bob")[room] == "1"


def test_list_is_ordered_by_last_activity_newest_first(where):
    rooms = [unique(name) for name in ("old", "busy", "renamed", "quiet")]
    sids = {}
    for room in rooms:
        sids[room] = run(where, "dave", "create", "--unique-name", room).rows()[0][0]
        assert run(where, "dave", "join", room).code == 0

    def post(room: str, when: str) -> None:
        where.client.call("POST", where.client.path("Conversations", sids[room], "Messages"),
                          body=(("Author", "erin"), ("Body", "x"), ("DateCreated", when)))

    # Created now; messages dated in the future so that they order the list, whatever the
    # clock says. `renamed` has no message but an update later than every message.
    post(rooms[0], "2099-01-01T00:00:00Z")
    post(rooms[1], "2099-01-01T00:00:00Z")
    post(rooms[1], "2099-03-01T00:00:00Z")
    where.client.call("POST", where.client.path("Conversations", sids[rooms[2]]),
                      body=(("FriendlyName", "Renamed"), ("DateUpdated", "2099-06-01T00:00:00Z")))
    listed = run(where, "dave", "list")
    assert [row[1] for row in listed.rows()] == [rooms[2], rooms[1], rooms[0], rooms[3]]
    assert [row[5] for row in listed.rows()] == ["0", "2", "1", "0"]
    assert listed.rows()[0][2] == "Renamed"


def test_list_json_keeps_the_participant_conversation_records(where):
    room = unique("records")
    assert run(where, "frank", "create", "--unique-name", room).code == 0
    assert run(where, "frank", "join", room).code == 0
    records = run(where, "frank", "list", "--json").json()
    assert [r["conversation_unique_name"] for r in records] == [room]
    assert "unread_messages_count" not in records[0] and "participant_sid" in records[0]


def test_follow_on_a_terminal_moves_the_horizon_as_messages_arrive(tmp_path):
    """In-process, with the follower's polls driven by hand: each new message shown moves
    the horizon to it."""
    from convo_cli.api.follow import follow
    from convo_cli.api.inbox import ReadHorizon, Shown, read_as_shown

    client = Client(InProcessTransport(str(tmp_path / "f.db")))
    sid = client.create_conversation(unique_name="live").sid
    client.add_participant(sid, identity="alice")
    client.send_message(sid, author="bob", body="before")
    history = Shown(list(client.list_messages(sid)))
    horizon = ReadHorizon(client, sid, "alice")

    def sleep(_: float) -> None:  # a poll: someone writes meanwhile
        client.send_message(sid, author="bob", body="during")

    stream = read_as_shown(follow(client, sid, history, sleep=sleep), history, horizon)
    seen = []
    for message in stream:
        seen.append((message.index, client.fetch_user_conversation(
            "alice", sid).last_read_message_index))
        if len(seen) == 3:
            break
    # While a message is on screen the horizon is at the one before; it moves once shown.
    assert seen == [(0, None), (1, 0), (2, 1)]
    assert next(stream).index == 3  # the one shown before it is read by then
    assert client.fetch_user_conversation("alice", sid).last_read_message_index == 2
    client.close()


def test_a_terminal_read_says_so_when_the_horizon_cannot_move(monkeypatch):
    assert convo("create", "--unique-name", "stuck").code == 0
    assert convo("join", "stuck").code == 0
    assert as_("bob", "join", "stuck").code == 0
    assert as_("bob", "send", "stuck", "hello").code == 0
    from convo_cli.api.client import Client as RealClient
    from convo_cli.api.errors import ApiError

    def refuse(self, *args, **kwargs):
        raise ApiError(503, 20503, "Service Unavailable")

    monkeypatch.setattr(RealClient, "update_participant", refuse)
    seen = convo("messages", "stuck", tty=True)
    assert seen.code == 0 and "hello" in seen.out
    assert seen.err == ("convo: warning: could not mark the messages read: "
                        "Service Unavailable [Twilio error 20503]\n")


def test_your_own_message_leaves_you_up_to_date_only_if_you_were(where):
    room = unique("talk")
    assert run(where, "gina", "create", "--unique-name", room).code == 0
    assert run(where, "gina", "join", room).code == 0
    assert run(where, "hal", "join", room).code == 0
    assert run(where, "gina", "send", room, "first").code == 0
    assert unread(where, "gina")[room] == "0"  # nothing else there: read
    assert unread(where, "hal")[room] == "1"
    assert run(where, "hal", "send", room, "reply").code == 0
    assert unread(where, "hal")[room] == "2"  # gina's first is still unread for hal
    sent = run(where, "gina", "send", room, "without reading", "--json")
    assert sent.code == 0 and sent.err == ""
    assert unread(where, "gina")[room] == "2"  # hal's reply, unseen, stays unread
    assert run(where, "gina", "messages", room, tty=True).code == 0
    assert run(where, "gina", "send", room, "and now").code == 0
    assert unread(where, "gina")[room] == "0"


def test_a_send_whose_horizon_cannot_move_is_still_a_success(monkeypatch):
    assert convo("create", "--unique-name", "solo").code == 0
    assert convo("join", "solo").code == 0
    from convo_cli.api.client import Client as RealClient
    from convo_cli.api.errors import ApiError

    def refuse(self, *args, **kwargs):
        raise ApiError(503, 20503, "Service Unavailable")

    monkeypatch.setattr(RealClient, "update_participant", refuse)
    sent = convo("send", "solo", "hello")
    assert sent.code == 0 and sent.rows()[0][2:] == ["alice", "hello"]
    assert sent.err == ("convo: warning: sent, but could not mark it read: "
                        "Service Unavailable [Twilio error 20503]\n")


def test_follow_on_a_terminal_marks_each_message_read_as_it_arrives(where):
    """The real command, on a (forced) terminal in a thread: a message bob sends while alice
    follows is read by her as soon as it shows; the conversation deleted ends it."""
    import threading
    import time

    room = unique("live")
    sid = run(where, "alice", "create", "--unique-name", room).rows()[0][0]
    assert run(where, "alice", "join", room).code == 0
    where.client.send_message(sid, author="bob", body="before")
    done: list = []
    follower = threading.Thread(target=lambda: done.append(
        run(where, "alice", "messages", room, "--follow", tty=True)))
    follower.start()

    def horizon_reaches(index: int) -> bool:
        deadline = time.monotonic() + 60  # a bound against a hang, not a measure
        while time.monotonic() < deadline:
            if where.client.fetch_user_conversation("alice", sid).last_read_message_index \
                    == index:
                return True
            time.sleep(0.05)
        return False

    assert horizon_reaches(0)
    where.client.send_message(sid, author="bob", body="during")
    assert horizon_reaches(1)
    where.client.delete_conversation(sid)
    follower.join(timeout=60)
    (result,) = done
    assert result.code == 1 and "before" in result.out and "during" in result.out
    assert result.err.splitlines()[-1] == f"convo: error: conversation {room!r} was deleted"
