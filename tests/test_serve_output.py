"""What `convo serve` writes in one turn of its event loop goes out at the turn's end
(engine/server.py `Output`): the log lines first, in one write, then each connection's
bytes in one write. Driven on real asyncio transports over socket pairs, and on a real
server over loopback, where the log must have a request's line once its client has the
answer, however many connections are answered in the same turn."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
from urllib.parse import urlsplit

import pytest

from convo_cli.engine.server import Output


def pending(peer: socket.socket) -> bytes:
    """What the peer can read now, without waiting."""
    peer.setblocking(False)
    try:
        return peer.recv(65536)
    except BlockingIOError:
        return b""
    finally:
        peer.setblocking(True)


async def connected(loop: asyncio.AbstractEventLoop) -> tuple[asyncio.Transport, socket.socket,
                                                               list[bytes]]:
    """A real transport on one end of a socket pair, the other end, and the transport's
    writes as it is given them (each still written)."""
    mine, peer = socket.socketpair()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=mine)
    writes: list[bytes] = []
    write = transport.write

    def recorded(data: bytes) -> None:
        writes.append(bytes(data))
        write(data)

    transport.write = recorded  # type: ignore[method-assign]
    return transport, peer, writes


def test_a_turns_log_lines_and_answers_go_out_at_its_end_log_first_one_write_each():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        (first, peer1, writes1), (second, peer2, writes2) = \
            await connected(loop), await connected(loop)
        logged: list[tuple[str, bytes, bytes]] = []
        output = Output(lambda text: logged.append((text, pending(peer1), pending(peer2))))
        output.attach(loop)
        one, two = output.transport(first), output.transport(second)
        one.write(b"HTTP/1.1 200 OK\r\n\r\n")
        output.line("GET /one 200\n")
        two.write(b"HTTP/1.1 404 Not Found\r\n\r\n")
        output.line("GET /two 404\n")
        one.write(b"body one")
        two.write(b"body two")
        # Nothing is written before the turn ends.
        assert (pending(peer1), pending(peer2), logged) == (b"", b"", [])
        await asyncio.sleep(0)
        # The log first, in one write, while neither client had a byte of its answer.
        assert logged == [("GET /one 200\nGET /two 404\n", b"", b"")]
        # Each connection's head and body in one write.
        assert writes1 == [b"HTTP/1.1 200 OK\r\n\r\nbody one"]
        assert writes2 == [b"HTTP/1.1 404 Not Found\r\n\r\nbody two"]
        assert pending(peer1) == b"HTTP/1.1 200 OK\r\n\r\nbody one"
        assert pending(peer2) == b"HTTP/1.1 404 Not Found\r\n\r\nbody two"
        # The next turn's writes are the next turn's.
        one.write(b"again")
        await asyncio.sleep(0)
        assert writes1[1:] == [b"again"]
        for transport, peer in ((first, peer1), (second, peer2)):
            transport.close()
            peer.close()

    asyncio.run(main())


def test_a_close_waits_for_what_is_held_and_an_abort_sends_it_first():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        output = Output(lambda text: None)
        output.attach(loop)
        real, peer, _ = await connected(loop)
        held = output.transport(real)
        held.write(b"the last answer")
        held.close()
        assert held.is_closing() and not real.is_closing()  # closing: nothing more is sent
        held.write(b"after the close")
        await asyncio.sleep(0)
        assert real.is_closing()
        def to_the_end() -> bytes:
            peer.settimeout(10)
            received = b""
            while chunk := peer.recv(65536):
                received += chunk
            return received

        # Whole, then the end of the stream (read off the loop, which closes the socket).
        assert await asyncio.to_thread(to_the_end) == b"the last answer"
        peer.close()

        real, peer, writes = await connected(loop)
        held = output.transport(real)
        held.write(b"held")
        held.abort()
        assert writes == [b"held"] and real.is_closing()
        peer.close()
        # A close with nothing held closes at once.
        real, peer, _ = await connected(loop)
        output.transport(real).close()
        assert real.is_closing()
        peer.close()
        await asyncio.sleep(0)

    asyncio.run(main())


def test_soon_flushes_after_what_is_already_scheduled_even_with_a_flush_due():
    """As a COMMIT wakes the requests that waited for it (server.Writes), their answers go
    out in the turn they are made, not one turn later."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        output = Output(lambda text: None)
        output.attach(loop)
        real, peer, writes = await connected(loop)
        held = output.transport(real)
        held.write(b"one")  # a flush is due
        loop.call_soon(held.write, b" two")  # a waiter woken after it was scheduled
        output.soon()
        await asyncio.sleep(0)  # one turn: the due flush, the waiter, and soon's flush
        assert writes == [b"one", b" two"]
        real.close()
        peer.close()

    asyncio.run(main())


def test_a_connection_whose_write_fails_is_dropped_and_the_others_are_answered():
    class Broken:  # a transport that fails as no real one can be made to on demand
        aborted = False

        def is_closing(self) -> bool:
            return False

        def write(self, data: bytes) -> None:
            raise RuntimeError("the handle is closed")

        def abort(self) -> None:
            self.aborted = True

    async def main() -> None:
        loop = asyncio.get_running_loop()
        output = Output(lambda text: None)
        output.attach(loop)
        broken = Broken()
        output.transport(broken).write(b"lost")
        real, peer, writes = await connected(loop)
        output.transport(real).write(b"answered")
        await asyncio.sleep(0)
        assert broken.aborted and writes == [b"answered"]
        real.close()
        peer.close()

    asyncio.run(main())


def test_without_a_loop_or_with_a_broken_log_nothing_is_held_or_lost():
    logged: list[str] = []
    output = Output(logged.append)
    output.line("at once\n")  # no server loop attached (the app driven directly)
    assert logged == ["at once\n"]

    def broken(text: str) -> None:
        raise OSError("standard error is closed")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        output = Output(broken)
        output.attach(loop)
        real, peer, writes = await connected(loop)
        output.transport(real).write(b"answered all the same")
        output.line("lost with the log\n")
        await asyncio.sleep(0)
        assert writes == [b"answered all the same"]
        real.close()
        peer.close()

    asyncio.run(main())


@pytest.mark.parametrize("pipelined", [False, True])
def test_a_request_is_in_the_log_once_its_client_has_the_answer(served, pipelined):
    """Many connections answered in the same turns: each client, on reading its answer,
    finds its request's line in the log (which the server writes to a file)."""
    parts = urlsplit(served.url)
    missing: list[str] = []
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            if pipelined:  # three requests in one packet, three answers in order
                paths = [f"/v1/Conversations/pipelined-{number}-{n}" for n in range(3)]
                with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
                    sock.sendall(b"".join(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                                          for path in paths))
                    reader = sock.makefile("rb")
                    for path in paths:
                        assert reader.readline().startswith(b"HTTP/1.1 401 ")
                        length = 0
                        while (line := reader.readline()) != b"\r\n":
                            name, _, value = line.partition(b":")
                            if name.lower() == b"content-length":
                                length = int(value)
                        reader.read(length)
                        if f"\"GET {path}\" 401 " not in served.log():
                            missing.append(path)
                return
            connection = http.client.HTTPConnection(parts.netloc, timeout=30)
            for n in range(20):
                path = f"/v1/Conversations/probe-{number}-{n}"
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                assert response.status == 401
                if f"\"GET {path}\" 401 " not in served.log():
                    missing.append(path)
            connection.close()
        except BaseException as failure:  # noqa: BLE001 - reported by the test's thread
            failures.append(failure)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    assert missing == []
    answered = served.log().count("pipelined-" if pipelined else "probe-")
    assert answered == (16 * 3 if pipelined else 16 * 20)
