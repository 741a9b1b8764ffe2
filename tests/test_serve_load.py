"""`convo serve` under concurrent clients and a crash: no message lost, duplicated or
misnumbered, one winner per unique name, and every acknowledged write kept."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

from convo_cli.api import ApiError, TransportError
from server_helpers import start_server

CLIENTS = 32


def test_32_clients_sending_500_messages_each_get_gapless_unique_indexes(served):
    sid = served.client().create_conversation(unique_name="busy").sid

    def send_500(n: int) -> list[tuple[int, str]]:
        client = served.client()
        try:
            return [(m.index, m.sid) for m in
                    (client.send_message(sid, author=f"client-{n}", body=f"{n}:{k}")
                     for k in range(500))]
        finally:
            client.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        acknowledged = [pair for result in pool.map(send_500, range(CLIENTS)) for pair in result]
    assert sorted(index for index, _ in acknowledged) == list(range(CLIENTS * 500))
    client = served.client()
    stored = list(client.list_messages(sid, page_size=100))
    assert [m.index for m in stored] == list(range(CLIENTS * 500))
    assert {m.sid for m in stored} == {message_sid for _, message_sid in acknowledged}
    # Each client's messages are stored in the order it sent them.
    for n in range(CLIENTS):
        mine = [m.body for m in stored if m.author == f"client-{n}"]
        assert mine == [f"{n}:{k}" for k in range(500)]
    assert '" 5' not in served.log()  # no 5xx
    client.close()


def test_of_concurrent_creates_with_one_unique_name_exactly_one_wins(served):
    for round_ in range(3):
        name = f"race-{round_}"
        start = threading.Barrier(CLIENTS)

        def create(_: int) -> object:
            client = served.client()
            try:
                start.wait()
                return client.create_conversation(unique_name=name).sid
            except ApiError as error:
                return error.status, error.code
            finally:
                client.close()

        with ThreadPoolExecutor(CLIENTS) as pool:
            outcomes = list(pool.map(create, range(CLIENTS)))
        winners = [o for o in outcomes if isinstance(o, str)]
        assert len(winners) == 1
        assert sorted(o for o in outcomes if not isinstance(o, str)) == [(409, 50353)] * 31
        assert served.client().fetch_conversation(name).sid == winners[0]


def test_a_killed_server_keeps_every_message_it_acknowledged(tmp_path):
    db = tmp_path / "crash.db"
    server = start_server(db)
    sid = server.client().create_conversation(unique_name="crash").sid
    acknowledged: list[str] = []
    enough = threading.Event()

    def send_until_it_dies(n: int) -> None:
        client = server.client(retries=0)
        try:
            while True:
                acknowledged.append(client.send_message(sid, body=f"{n}").sid)
                if len(acknowledged) >= 400:
                    enough.set()
        except (TransportError, ApiError):
            return  # the server is gone
        finally:
            client.close()

    writers = [threading.Thread(target=send_until_it_dies, args=(n,)) for n in range(8)]
    for writer in writers:
        writer.start()
    assert enough.wait(60)
    server.kill()  # SIGKILL, in the middle of the writes
    for writer in writers:
        writer.join(30)
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    again = start_server(db)
    try:
        stored = list(again.client().list_messages(sid, page_size=100))
        assert set(acknowledged) <= {m.sid for m in stored}
        assert [m.index for m in stored] == list(range(len(stored)))
        # The next message continues the numbering.
        assert again.client().send_message(sid, body="after").index == len(stored)
    finally:
        again.stop()
