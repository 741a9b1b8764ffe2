"""The live watch behind `convo chat` against the real in-process engine: each poll reports
what another client did since the last one. Both ways of finding new messages: the engine's
PageToken, and paging back from the newest (a transport that hides the engine, as Twilio)."""

from __future__ import annotations

import pytest

from convo_cli.api import Client
from convo_cli.api.follow import FIRST_DELAY, QUIET_MAX, ConversationDeleted
from convo_cli.api.history import read_window
from convo_cli.api.inbox import inbox, mark_read
from convo_cli.api.live import RECENT, SLOW_EVERY, Added, Edited, Joined, Left, Removed, Renamed, \
    StateChanged, Watch
from convo_cli.engine.inprocess import InProcessTransport
from test_api_follow import Recording


@pytest.fixture(params=["engine", "paging"])
def clients(request, tmp_path):
    """(mine, theirs): my client (the engine seen as itself or hidden) and another one."""
    inner = InProcessTransport(str(tmp_path / "live.db"))
    mine = Client(Recording(inner, hide=request.param == "paging"))
    theirs = Client(InProcessTransport(str(tmp_path / "live.db")))
    yield mine, theirs
    theirs.close()
    inner.close()


def start(client: Client, sid: str) -> Watch:
    conversation = client.fetch_conversation(sid)
    # Every poll looks at everything (the screen does the slow part every SLOW_EVERY s).
    return Watch.start(client, conversation, read_window(client, sid, page_size=30),
                       slow_every=0)


def conversation_with(client: Client, messages: int = 3) -> str:
    sid = client.create_conversation(unique_name="standup", friendly_name="Standup").sid
    client.add_participant(sid, identity="alice")
    for n in range(messages):
        client.send_message(sid, author="alice", body=f"m{n}")
    return sid


def test_nothing_happened_nothing_reported_and_the_wait_grows(clients):
    mine, theirs = clients
    watch = start(mine, conversation_with(theirs))
    assert watch.poll() == [] and watch.poll() == []
    assert watch.delay > FIRST_DELAY


def test_new_messages_arrive_once_in_order(clients):
    mine, theirs = clients
    sid = conversation_with(theirs)
    watch = start(mine, sid)
    theirs.send_message(sid, author="bob", body="one")
    theirs.send_message(sid, author="bob", body="two")
    events = watch.poll()
    assert [(type(e), e.message.body) for e in events] == [(Added, "one"), (Added, "two")]
    assert watch.delay == FIRST_DELAY
    assert watch.poll() == []


def test_edits_and_deletions_of_recent_messages(clients):
    mine, theirs = clients
    sid = conversation_with(theirs)
    watch = start(mine, sid)
    history = read_window(theirs, sid, page_size=30)
    theirs.update_message(sid, history[1].sid, body="m1, corrected")
    theirs.delete_message(sid, history[2].sid)
    events = watch.poll()
    assert Edited in map(type, events) and Removed in map(type, events)
    edited = next(e for e in events if isinstance(e, Edited))
    assert (edited.message.index, edited.message.body) == (1, "m1, corrected")
    assert [e.index for e in events if isinstance(e, Removed)] == [2]
    assert watch.poll() == []


def test_messages_older_than_the_recent_window_are_let_go(clients):
    mine, theirs = clients
    sid = conversation_with(theirs, messages=3)
    watch = start(mine, sid)
    for n in range(RECENT):
        theirs.send_message(sid, author="bob", body=f"new {n}")
    events = watch.poll()
    assert len([e for e in events if isinstance(e, Added)]) == RECENT
    assert not [e for e in events if isinstance(e, Removed)]  # 0..2 left the window
    assert min(watch.recent) >= 3


def test_joins_leaves_renames_and_closing(clients):
    mine, theirs = clients
    sid = conversation_with(theirs)
    watch = start(mine, sid)
    bob = theirs.add_participant(sid, identity="bob")
    theirs.add_participant(sid, address="+15551234567", proxy_address="+14445550100")
    events = watch.poll()
    joined = sorted(e.participant.identity or e.participant.address for e in events
                    if isinstance(e, Joined))
    assert joined == ["+15551234567", "bob"]
    theirs.remove_participant(sid, bob.sid)
    theirs.update_conversation(sid, friendly_name="Daily standup")
    events = watch.poll()
    assert [e.participant.identity for e in events if isinstance(e, Left)] == ["bob"]
    assert [e.conversation.friendly_name for e in events if isinstance(e, Renamed)] == \
        ["Daily standup"]
    theirs.update_conversation(sid, state="closed")
    assert [(type(e), e.conversation.state) for e in watch.poll()] == \
        [(StateChanged, "closed")]


def test_a_deleted_conversation_ends_the_watch(clients):
    mine, theirs = clients
    sid = conversation_with(theirs)
    watch = start(mine, sid)
    theirs.delete_conversation(sid)
    with pytest.raises(ConversationDeleted):
        watch.poll()


def test_after_a_failure_the_watch_waits_as_long_as_when_quiet(clients):
    mine, theirs = clients
    watch = start(mine, conversation_with(theirs))
    watch.failed()
    assert watch.delay == QUIET_MAX


def test_inbox_and_the_read_horizon_never_going_back(clients):
    mine, theirs = clients
    sid = conversation_with(theirs, messages=5)
    other = theirs.create_conversation(unique_name="other").sid
    theirs.add_participant(other, identity="alice")
    entries = inbox(mine, "alice")
    assert {e.conversation_sid for e in entries} == {sid, other}
    mark_read(mine, sid, "alice", 3)
    mark_read(mine, sid, "alice", 1)
    assert theirs.fetch_participant(sid, "alice").raw["last_read_message_index"] == 3
    entry = next(e for e in inbox(mine, "alice") if e.conversation_sid == sid)
    assert entry.last_read_message_index == 3


def test_edits_and_members_are_looked_at_only_every_so_often(clients):
    mine, theirs = clients
    sid = conversation_with(theirs)
    now = [100.0]
    conversation = mine.fetch_conversation(sid)
    watch = Watch.start(mine, conversation, read_window(mine, sid, page_size=30),
                        clock=lambda: now[0])
    theirs.add_participant(sid, identity="bob")
    theirs.send_message(sid, author="bob", body="quick")
    assert [type(e) for e in watch.poll()] == [Added]  # new messages: at once
    now[0] += SLOW_EVERY
    assert [type(e) for e in watch.poll()] == [Joined]  # the rest: on the slow beat
