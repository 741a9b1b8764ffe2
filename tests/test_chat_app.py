"""`convo chat` headless, through Textual's test harness: keys in, screen out, against the
real engine in-process and a real `convo serve`. Other clients act through the API from
the test's own thread while the app runs (tests/chat_helpers.py)."""

from __future__ import annotations

import pytest

from chat_helpers import chatting
from cli_helpers import convo
from convo_cli.api import Client
from convo_cli.api.history import read_window
from convo_cli.engine.inprocess import InProcessTransport


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "chat.db")


@pytest.fixture
def theirs(db):
    """Another client on the same engine: bob's `convo`, a bot, anyone."""
    client = Client(InProcessTransport(db))
    yield client
    client.close()


@pytest.fixture
def mine(db):
    client = Client(InProcessTransport(db))
    yield client
    client.close()


def standup(client: Client, *people: str, messages: int = 0) -> str:
    sid = client.create_conversation(unique_name="standup", friendly_name="Daily standup").sid
    for person in people or ("alice", "bob"):
        client.add_participant(sid, identity=person)
    for n in range(messages):
        client.send_message(sid, author="bob", body=f"message {n}")
    return sid


def bodies(client: Client, sid: str) -> list[tuple[str | None, str | None]]:
    return [(m.author, m.body) for m in read_window(client, sid, page_size=100)]


def test_two_identities_chat(mine, theirs):
    sid = standup(theirs)
    theirs.send_message(sid, author="bob", body="morning!")
    with chatting(mine, "alice", "standup") as chat:
        screen = chat.wait_for("morning!")
        assert "Daily standup" in screen and "bob" in screen
        chat.type("hi bob", "enter")
        chat.wait_for("hi bob")
        assert bodies(theirs, sid)[-1] == ("alice", "hi bob")
        theirs.send_message(sid, author="bob", body="how was the deploy?")
        screen = chat.wait_for("how was the deploy?")
        # My own messages are "you"; the input is empty again after sending.
        assert any("you" in line and "hi bob" in line for line in screen.splitlines())
        assert chat.app.composer.text == ""


def test_a_join_and_a_leave_show_a_line_naming_the_participant(mine, theirs):
    sid = standup(theirs)
    with chatting(mine, "alice", "standup") as chat:
        carol = theirs.add_participant(sid, identity="carol")
        chat.wait_for("carol joined")
        theirs.remove_participant(sid, carol.sid)
        chat.wait_for("carol left")
        theirs.add_participant(sid, address="+15551234567", proxy_address="+14445550100")
        chat.wait_for("+15551234567 (SMS) via +14445550100 joined")


def test_edits_deletions_renames_and_closing_from_elsewhere(mine, theirs):
    sid = standup(theirs, messages=3)
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("message 2")
        first, second = read_window(theirs, sid, page_size=30)[:2]
        theirs.update_message(sid, first.sid, body="message zero, edited")
        chat.wait_for("message zero, edited (edited)")
        theirs.delete_message(sid, second.sid)
        screen = chat.wait_for("message deleted")
        assert "message 1" not in screen
        theirs.update_conversation(sid, friendly_name="Weekly standup")
        chat.wait_for("renamed to Weekly standup")
        theirs.update_conversation(sid, state="closed")
        screen = chat.wait_for("the conversation is now closed")
        assert "[closed]" in screen.splitlines()[0]


def test_bodies_are_shown_as_typed_never_interpreted(mine, theirs):
    sid = standup(theirs)
    theirs.send_message(sid, author="bob", body="[bold red]not markup[/] \x1b[2Jstill here")
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("[bold red]not markup[/] \\x1b[2Jstill here")


def test_times_are_clock_times_today_and_dates_before(utc):
    from convo_cli.chat.widgets import clock
    from convo_cli.render.chat import parse_time

    now = parse_time("2026-11-23T15:00:00Z")
    assert clock("2026-11-23T14:03:59Z", now) == "14:03"
    assert clock("2026-11-22T14:03:00Z", now) == "2026-11-22 14:03"
    assert clock("not a time\x1b[2J", now) == "not a time\\x1b[2J"


def test_a_long_identity_does_not_push_the_body_off_screen(mine, theirs):
    sid = standup(theirs)
    theirs.send_message(sid, author="x" * 200, body="still readable")
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("still readable")


def test_slash_commands_call_the_api(mine, theirs):
    sid = standup(theirs)
    with chatting(mine, "alice", "standup") as chat:
        chat.type("/add carol", "enter")
        chat.wait_for("carol joined")
        chat.type("/sms +15551234567 +14445550100", "enter")
        chat.wait_for("+15551234567 (SMS) via +14445550100 joined")
        chat.type("/who", "enter")
        screen = chat.wait_for("4 participants:")
        for who in ("alice", "bob", "carol"):
            assert any(f"  {who}  MB" in line for line in screen.splitlines())
        chat.type("/remove carol", "enter")
        chat.wait_for("carol left")
        chat.type("/remove +15551234567", "enter")
        chat.wait_for("+15551234567 (SMS) via +14445550100 left")
        chat.type("/rename Daily sync", "enter")
        chat.wait_for("renamed to Daily sync")
        assert theirs.fetch_conversation(sid).friendly_name == "Daily sync"
        chat.type("/help", "enter")
        chat.wait_for("/sms ADDRESS PROXY")
        chat.type("/add", "enter")
        chat.wait_for("error: usage: /add IDENTITY")
        chat.type("/sms 555 +14445550100", "enter")
        chat.wait_for("error: ADDRESS '555' is not a phone number")
        chat.type("/remove nobody", "enter")
        chat.wait_for("nobody is not a participant")
        chat.type("/frobnicate", "enter")
        chat.wait_for("unknown command /frobnicate")
        chat.type("//not a command", "enter")
        chat.wait_for("/not a command")
        assert bodies(theirs, sid)[-1] == ("alice", "/not a command")
        chat.type("/leave", "enter")
        chat.wait_for("alice left")
        assert [p.identity for p in theirs.list_participants(sid)] == ["bob"]
        assert chat.running  # errors and all, the screen carries on


@pytest.mark.parametrize("keys", [["/quit", "enter"], ["ctrl+d"], ["ctrl+c"]])
def test_quit_ctrl_d_and_ctrl_c_leave_with_exit_0(mine, theirs, keys):
    standup(theirs)
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("Daily standup")
        chat.type(*keys)
        chat.until(lambda: not chat.running, "the app exits")
    assert chat.return_code == 0


def test_ctrl_d_with_text_in_the_input_does_not_leave(mine, theirs):
    standup(theirs)
    with chatting(mine, "alice", "standup") as chat:
        chat.type("draft", "home", "ctrl+d")
        chat.until(lambda: chat.app.composer.text == "raft", "ctrl+d deletes a character")
        assert chat.running


def test_a_newline_inside_a_message(mine, theirs):
    sid = standup(theirs)
    with chatting(mine, "alice", "standup") as chat:
        chat.type("first line", "ctrl+j", "second line", "enter")
        chat.wait_for("second line")
        assert bodies(theirs, sid)[-1] == ("alice", "first line\nsecond line")


def test_alt_enter_reads_as_the_newline_key():
    from textual._xterm_parser import XTermParser

    import convo_cli.chat.app  # noqa: F401 - it teaches Textual Alt-Enter

    assert [event.key for event in XTermParser().feed("\x1b\r")] == ["ctrl+j"]


def test_up_on_an_empty_input_edits_my_last_message(mine, theirs):
    sid = standup(theirs)
    theirs.send_message(sid, author="alice", body="teh deploy is done")
    theirs.send_message(sid, author="bob", body="great")
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("great")
        chat.type("up")
        chat.until(lambda: chat.app.composer.text == "teh deploy is done", "the body to edit")
        chat.type(*["backspace"] * len("teh deploy is done"), "the deploy is done", "enter")
        chat.wait_for("the deploy is done (edited)")
        assert bodies(theirs, sid) == [("alice", "the deploy is done"), ("bob", "great")]
        # A deleted message is not offered: Up reaches the one before it.
        last = theirs.send_message(sid, author="alice", body="oops, wrong room")
        chat.wait_for("oops, wrong room")
        theirs.delete_message(sid, last.sid)
        chat.wait_for("message deleted")
        chat.type("up")
        chat.until(lambda: chat.app.composer.text == "the deploy is done", "the one before")
        chat.type("escape")
        chat.until(lambda: chat.app.composer.text == "" and chat.app.editing is None,
                   "Esc cancels the edit")


def test_pageup_reads_older_pages(mine, theirs):
    standup(theirs, messages=60)
    with chatting(mine, "alice", "standup", page_size=20) as chat:
        chat.wait_for("message 59")
        assert chat.app.log_view.oldest_index() == 40
        for _ in range(12):
            chat.type("pageup")
            if chat.app.log_view.oldest_index() == 0:
                break
        chat.until(lambda: chat.app.log_view.oldest_index() == 0, "the whole history read")
        chat.until(lambda: "message 0" in chat.screen() or chat.type("pageup"),
                   "the top of the history on screen")


def test_scrolling_to_the_top_reads_the_older_page(mine, theirs):
    standup(theirs, messages=60)
    with chatting(mine, "alice", "standup", page_size=20, size=(100, 16)) as chat:
        chat.wait_for("message 59")
        assert chat.app.log_view.oldest_index() == 40
        chat.run(_scroll_home(chat.app.log_view))  # the wheel, the scroll bar, Home
        chat.until(lambda: chat.app.log_view.oldest_index() == 20, "the page before")


async def _scroll_home(log):
    log.scroll_home(animate=False)


def test_a_scroll_that_arrives_as_the_app_quits_is_ignored(mine, theirs):
    """The scroll watcher can run after the message log is gone (quitting right after a
    scroll): it must not raise, which would print a traceback on the way out."""
    standup(theirs, messages=3)
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("message 2")

        async def gone_then_scrolled() -> None:
            await chat.app.log_view.remove()
            await chat.app._scrolled(0)

        chat.run(gone_then_scrolled())


def test_a_click_in_the_list_opens_that_conversation(mine, theirs):
    standup(theirs)
    other = theirs.create_conversation(unique_name="ops", friendly_name="Ops room").sid
    theirs.add_participant(other, identity="alice")
    theirs.send_message(other, author="bob", body="clicked into ops")
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("Ops room")
        row = [o.id for o in chat.app.query_one("#inbox").options].index(other)
        chat.run(chat.pilot.click("#inbox", offset=(3, 1 + row)))
        chat.wait_for("clicked into ops")
        assert chat.app.conversation.sid == other


def test_opening_a_conversation_advances_my_read_horizon(mine, theirs):
    sid = standup(theirs, messages=3)
    with chatting(mine, "alice", "standup") as chat:
        chat.until(lambda: theirs.fetch_participant(sid, "alice").raw[
            "last_read_message_index"] == 2, "read up to the last message")
        theirs.send_message(sid, author="bob", body="one more")
        chat.wait_for("one more")
        chat.until(lambda: theirs.fetch_participant(sid, "alice").raw[
            "last_read_message_index"] == 3, "read up to the new message")


def test_messages_arriving_while_the_terminal_is_in_the_background_are_not_yet_read(
        mine, theirs):
    from textual import events

    sid = standup(theirs, messages=1)
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("message 0")
        chat.until(lambda: theirs.fetch_participant(sid, "alice").raw[
            "last_read_message_index"] == 0, "read on opening")
        chat.run(_post(chat.app, events.AppBlur()))  # the terminal reports focus out
        theirs.send_message(sid, author="bob", body="while you were away")
        chat.wait_for("while you were away")
        chat.run(chat.app._call(lambda: None))  # API calls run in order: a mark would be done
        assert theirs.fetch_participant(sid, "alice").raw["last_read_message_index"] == 0
        chat.run(_post(chat.app, events.AppFocus()))
        chat.until(lambda: theirs.fetch_participant(sid, "alice").raw[
            "last_read_message_index"] == 1, "read once the terminal is looked at again")


async def _post(app, event):
    app.post_message(event)


def test_without_a_conversation_chat_opens_on_my_list(mine, theirs):
    standup(theirs, messages=1)
    other = theirs.create_conversation(unique_name="ops", friendly_name="Ops room").sid
    theirs.add_participant(other, identity="alice")
    theirs.send_message(other, author="bob", body="pager is quiet")
    theirs.create_conversation(unique_name="secret", friendly_name="Not mine")
    with chatting(mine, "alice") as chat:
        screen = chat.wait_for("Ops room")
        assert "Daily standup" in screen and "Not mine" not in screen
        assert chat.app.query_one("#inbox").has_focus
        side = chat.app.query_one("#inbox")
        assert side.highlighted == 0  # the most recent, ready for Enter
        chat.type(*["down"] * [o.id for o in side.options].index(other), "enter")
        chat.wait_for("pager is quiet")
        chat.type("f2")
        chat.until(lambda: chat.app.query_one("#inbox").has_focus, "F2 moves to the list")


def test_the_list_shows_unread_counts_and_states(mine, theirs):
    """Whatever counts the service gives (the engine's own are the unread work's): drawn
    beside each name, with a state other than active."""
    from convo_cli.api.inbox import InboxEntry

    standup(theirs)
    entries = [InboxEntry("CH" + "1" * 32, "ops", "Ops room", "active", None, 3, 4, 7, None, None),
               InboxEntry("CH" + "2" * 32, "old", "[b]Old[/b] room", "closed", None, 0, 9, 9, None,
                          None)]
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("Daily standup")
        side = chat.app.query_one("#inbox")
        chat.until(lambda: side.option_count == 1, "the first refresh of the list")
        chat.run(_on(lambda: side.show(entries, None)))
        screen = chat.wait_for("Ops room 3")
        assert "[b]Old[/b] room (closed)" in screen


async def _on(function):
    function()


def test_a_conversation_deleted_under_me_is_said_on_screen(mine, theirs):
    sid = standup(theirs)
    with chatting(mine, "alice", "standup") as chat:
        chat.wait_for("Daily standup")
        theirs.delete_conversation(sid)
        chat.wait_for("This conversation was deleted.")
        chat.type("still typing", "enter")
        chat.wait_for("Pick a conversation first")
        assert chat.running


def test_the_service_going_away_is_said_on_screen(tmp_path):
    from server_helpers import start_server

    server = start_server(tmp_path / "gone.db")
    client = server.client()
    try:
        standup(client)
        with chatting(client, "alice", "standup") as chat:
            chat.wait_for("Daily standup")
            server.stop()
            chat.wait_for("error:")
            chat.type("anyone there?", "enter")
            chat.wait_for(lambda screen: screen.count("error:") >= 2)
            assert chat.running and chat.app.composer.text == "anyone there?"  # kept
    finally:
        server.stop()
        client.close()


def test_chat_against_convo_serve(served):
    mine, theirs = served.client(), served.client()
    sid = theirs.create_conversation(unique_name="served-chat").sid
    theirs.add_participant(sid, identity="alice")
    with chatting(mine, "alice", "served-chat") as chat:
        chat.type("over http", "enter")
        chat.wait_for("over http")
        theirs.add_participant(sid, identity="dave")
        chat.wait_for("dave joined")
        theirs.send_message(sid, author="dave", body="hello from dave")
        chat.wait_for("hello from dave")
    assert [m.body for m in read_window(theirs, sid, page_size=10)] == \
        ["over http", "hello from dave"]
    mine.close()
    theirs.close()


def test_chat_with_a_service_that_is_not_a_convo_engine(db, theirs):
    """Twilio's page tokens are opaque: older pages and new messages come by paging."""
    from test_api_follow import Recording

    inner = InProcessTransport(db)
    twilio_like = Client(Recording(inner, hide=True))
    assert not twilio_like.seeks_message_index
    sid = standup(theirs, messages=45)
    with chatting(twilio_like, "alice", "standup", page_size=20, size=(100, 16)) as chat:
        chat.wait_for("message 44")
        chat.until(lambda: chat.app.log_view.oldest_index() == 5 or chat.type("pageup"),
                   "the page before, by paging")
        theirs.send_message(sid, author="bob", body="paged in live")
        # Below the screen while reading older messages: the log has it, the view stays put.
        chat.until(lambda: chat.app.log_view.line(45) is not None, "the new message")
        chat.wait_for("1 new below")
        assert theirs.fetch_participant(sid, "alice").raw["last_read_message_index"] == 44
        chat.type(*["pagedown"] * 6)
        chat.wait_for(lambda screen: "paged in live" in screen and "new below" not in screen)
        chat.until(lambda: theirs.fetch_participant(sid, "alice").raw[
            "last_read_message_index"] == 45, "seen once scrolled down to it")
    assert not any("PageToken" in dict(r.params) for r in twilio_like.transport.requests)
    inner.close()


def test_without_a_terminal_chat_exits_2_with_a_hint():
    result = convo("chat", "standup")
    assert result.code == 2
    assert result.err.startswith("convo: error: convo chat needs a terminal")
    assert "convo send" in result.err and "messages CONVERSATION --follow" in result.err


def test_on_a_narrow_terminal_the_list_and_the_chat_take_turns(mine, theirs):
    """40 columns: no side list beside the history (it would leave the chat a dozen
    columns); F2 shows the list across the screen, picking a conversation goes back."""
    standup(theirs, messages=1)
    with chatting(mine, "alice", "standup", size=(40, 20)) as chat:
        screen = chat.wait_for("Daily standup")
        assert "╭─ Conversations" not in screen  # the list's border title
        assert not chat.app.query_one("#inbox").display
        chat.type("f2")
        chat.until(lambda: chat.app.query_one("#inbox").has_focus, "F2 moves to the list")
        chat.wait_for("╭─ Conversations")
        assert not chat.app.query_one("#main").display
        chat.type("enter")
        chat.until(lambda: chat.app.composer.has_focus, "picking goes back to the chat")
        assert chat.app.query_one("#main").display
        assert not chat.app.query_one("#inbox").display
