"""Message windows: paging (correct against any server) and the convo engine's direct seek
agree on every anchor, direction and page size, deleted messages included; and the seek
costs the same few requests wherever the anchor is."""

from __future__ import annotations

import itertools

import pytest

from convo_cli.api import Client
from convo_cli.api.history import AnchorError, read_all, read_window
from convo_cli.api.transport import Request, Response
from convo_cli.engine.inprocess import InProcessTransport

COUNT = 250
DELETED = {0, 57, 58, 100, 249}


class Counting:
    """The real engine behind a transport that counts requests and, with `hide=True`,
    does not say it is a convo engine (as Twilio would not), so the client must page."""

    def __init__(self, inner: InProcessTransport, *, hide: bool) -> None:
        self.inner, self.count = inner, 0
        self.base_url = "https://conversations.example" if hide else inner.base_url

    def send(self, request: Request) -> Response:
        self.count += 1
        return self.inner.send(request)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    transport = InProcessTransport(str(tmp_path_factory.mktemp("history") / "h.db"))
    client = Client(transport)
    sid = client.create_conversation(unique_name="long").sid
    sids = [client.send_message(sid, body=f"m{n}", author="a").sid for n in range(COUNT)]
    for n in DELETED:
        transport.send(Request("DELETE", client.path("Conversations", sid, "Messages", sids[n])))
    yield transport, sid
    transport.close()


def expected(anchor: int | None, backwards: bool, size: int) -> list[int]:
    present = [n for n in range(COUNT) if n not in DELETED]
    last = present[-1]
    anchor = last if anchor is None else anchor
    if backwards:
        return [n for n in present if n <= anchor][-size:]
    return [n for n in present if n >= anchor][:size]


ANCHORS = [None, 0, 1, 29, 57, 58, 59, 100, 124, 125, 200, 247, 248]


@pytest.mark.parametrize("hide", [False, True], ids=["seek", "page"])
def test_windows_match_the_definition(engine, hide):
    transport, sid = engine
    client = Client(Counting(transport, hide=hide))
    assert client.seeks_message_index is not hide
    for anchor, backwards, size in itertools.product(ANCHORS, (True, False), (1, 7, 30, 100)):
        window = read_window(client, sid, page_size=size, anchor=anchor, backwards=backwards)
        assert [m.index for m in window] == expected(anchor, backwards, size), (
            anchor, backwards, size)


@pytest.mark.parametrize("hide", [False, True], ids=["seek", "page"])
def test_an_anchor_past_the_end_is_refused(engine, hide):
    transport, sid = engine
    with pytest.raises(AnchorError) as caught:
        read_window(Client(Counting(transport, hide=hide)), sid, page_size=5, anchor=249)
    assert (caught.value.anchor, caught.value.last) == (249, 248)


def test_the_seek_costs_two_requests_wherever_the_anchor_is(engine):
    transport, sid = engine
    for anchor in (1, 125, 247):
        counting = Counting(transport, hide=False)
        read_window(Client(counting), sid, page_size=30, anchor=anchor)
        assert counting.count == 2  # the last index, then the window itself


def test_paging_starts_from_the_nearer_end(engine):
    transport, sid = engine
    near_end = Counting(transport, hide=True)
    read_window(Client(near_end), sid, page_size=30, anchor=240)
    assert near_end.count == 2  # last index + one page of 100 read backwards
    near_start = Counting(transport, hide=True)
    read_window(Client(near_start), sid, page_size=30, anchor=20, backwards=False)
    assert near_start.count == 2  # last index + one page of 100 read forwards


def test_read_all_streams_everything_oldest_first(engine):
    transport, sid = engine
    counting = Counting(transport, hide=True)
    stream = read_all(Client(counting), sid)
    assert next(stream).index == 1 and counting.count == 1
    assert [m.index for m in stream] == [n for n in range(2, COUNT) if n not in DELETED]
    assert counting.count == 3
