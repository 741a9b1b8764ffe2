"""`convo_cli.api.inbox`, the library surface `convo list` and `convo chat` share: the inbox
(unread counts, most recent activity first, in a bounded number of requests) and a read
horizon that only moves forward."""

from __future__ import annotations

from convo_cli.api import Client
from convo_cli.api.inbox import ReadHorizon, inbox, mark_read
from convo_cli.api.transport import Request, Response
from convo_cli.engine.inprocess import InProcessTransport


class Counted:
    """The real in-process transport, counting what goes through it."""

    def __init__(self, path: str) -> None:
        self.inner = InProcessTransport(path)
        self.base_url = self.inner.base_url
        self.sent: list[tuple[str, str]] = []

    def send(self, request: Request) -> Response:
        self.sent.append((request.method, request.path))
        return self.inner.send(request)

    def close(self) -> None:
        self.inner.close()


def dated(client: Client, sid: str, when: str, author: str = "bob") -> None:
    client.call("POST", client.path("Conversations", sid, "Messages"),
                body=(("Author", author), ("Body", "x"), ("DateCreated", when)))


def test_inbox_orders_by_activity_and_costs_one_request_per_conversation(tmp_path):
    transport = Counted(str(tmp_path / "i.db"))
    client = Client(transport)
    sids = {}
    for name in ("a", "b", "c"):
        sids[name] = client.create_conversation(unique_name=name, friendly_name=name.upper()).sid
        client.add_participant(sids[name], identity="alice")
    dated(client, sids["a"], "2099-02-01T00:00:00Z")
    dated(client, sids["c"], "2099-01-01T00:00:00Z")
    dated(client, sids["c"], "2099-03-01T00:00:00Z")
    client.update_participant(sids["c"], client.fetch_participant(sids["c"], "alice").sid,
                              last_read_message_index=0)
    transport.sent.clear()

    entries = inbox(client, "alice")
    assert [(e.unique_name, e.name, e.unread_messages_count, e.last_read_message_index,
             e.last_message_index, e.last_activity) for e in entries] == [
        ("c", "C", 1, 0, 1, "2099-03-01T00:00:00Z"),
        ("a", "A", 1, None, 0, "2099-02-01T00:00:00Z"),
        ("b", "B", 0, None, None, entries[2].date_created),
    ]
    assert entries[0].state == "active" and entries[0].participant_sid.startswith("MB")
    assert len(transport.sent) == 1 + 3  # the list, then the newest message of each
    assert inbox(client, "nobody") == []
    client.close()


def test_the_horizon_only_moves_forward_and_asks_once(tmp_path):
    transport = Counted(str(tmp_path / "h.db"))
    client = Client(transport)
    sid = client.create_conversation(unique_name="room").sid
    client.add_participant(sid, identity="alice")
    for n in range(5):
        client.send_message(sid, author="bob", body=f"m{n}")
    assert mark_read(client, sid, "alice", 3) == 3
    assert mark_read(client, sid, "alice", 1) == 3  # never back
    assert client.fetch_user_conversation("alice", sid).unread_messages_count == 1

    horizon = ReadHorizon(client, sid, "alice")
    transport.sent.clear()
    assert horizon.advance(2) == 3
    assert [m for m, _ in transport.sent] == ["GET"]  # where it stands; nothing to write
    assert horizon.advance(4) == 4
    assert horizon.advance(4) == 4
    assert [m for m, _ in transport.sent] == ["GET", "POST"]
    assert client.fetch_user_conversation("alice", sid).unread_messages_count == 0

    assert mark_read(client, sid, "carol", 4) is None  # not a participant: no horizon
    assert mark_read(client, sid, "bob", 4) is None  # the author, not a participant
    leaving = ReadHorizon(client, sid, "alice")
    assert leaving.advance(4) == 4
    client.remove_participant(sid, client.fetch_participant(sid, "alice").sid)
    client.send_message(sid, author="bob", body="after")
    assert leaving.advance(5) is None  # removed meanwhile
    client.close()


def test_a_conversation_deleted_while_the_inbox_is_read_is_left_out(tmp_path):
    path = str(tmp_path / "d.db")
    other = Client(InProcessTransport(path))
    sids = []
    for name in ("kept", "gone"):
        sids.append(other.create_conversation(unique_name=name).sid)
        other.add_participant(sids[-1], identity="alice")

    class DeletingAfterTheList(Counted):
        def send(self, request: Request) -> Response:
            response = super().send(request)
            if request.path.endswith("/Users/alice/Conversations"):
                other.delete_conversation("gone")  # another client, between two requests
            return response

    client = Client(DeletingAfterTheList(path))
    assert [e.unique_name for e in inbox(client, "alice")] == ["kept"]
    client.close()
    other.close()
