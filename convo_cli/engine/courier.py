"""`convo serve`'s webhook courier: a child process that delivers the outbox.

A process of its own, niced, so that delivering never takes the server's event loop or its
GIL from the writers (a thread measured half the write rate); with its own SQLite connection
and keep-alive connections to the receivers. It polls the outbox (a read of an empty table
every POLL seconds), prints one line per delivery to standard error (the server's), and
exits when its server does, even one killed with SIGKILL (its parent changes). Each named
Conversation Service has its outbox in its own file (engine/services.py): the courier looks
at the account's list of services every REFRESH seconds and delivers from them all.

    python -m convo_cli.engine.courier DB   (the auth token in $CONVO_COURIER_TOKEN)
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from convo_cli.engine.delivery import TIMEOUT, Answer, attempt, claim, record, signed
from convo_cli.engine.store import Row, Store

POLL = 0.05  # seconds between looks at an empty outbox
REFRESH = 1.0  # seconds between looks at the account's list of services
BATCH = 200  # deliveries claimed at once: each claim is a write transaction
TOKEN_VARIABLE = "CONVO_COURIER_TOKEN"


class Connections:
    """One keep-alive connection per receiver (scheme, host and port)."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def send(self, url: str, method: str, params: dict[str, str], token: str,
             timeout: float = TIMEOUT) -> Answer:
        target, body, headers = signed(url, method, params, token)
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (parts.scheme, parts.netloc)
        for fresh in (False, True):  # a kept connection the receiver closed: once more
            connection = self._open.get(key)
            reused = connection is not None
            if connection is None:
                kind = http.client.HTTPSConnection if parts.scheme == "https" \
                    else http.client.HTTPConnection
                connection = kind(parts.netloc, timeout=timeout)
                self._open[key] = connection
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read(64 * 1024)
                if response.will_close:
                    self._drop(key)
                return Answer(response.status, content, "")
            except (OSError, http.client.HTTPException, ValueError) as failure:
                self._drop(key)
                if reused and not fresh:
                    continue
                return Answer(0, b"", str(failure)[:200] or type(failure).__name__)
        return Answer(0, b"", "no answer")

    def _drop(self, key: tuple[str, str]) -> None:
        connection = self._open.pop(key, None)
        if connection is not None:
            connection.close()


def start(db_path: str, token: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, TOKEN_VARIABLE: token}
    return subprocess.Popen([sys.executable, "-m", "convo_cli.engine.courier", db_path],
                            stdin=subprocess.DEVNULL, env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(TIMEOUT + 1)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(db_path: str, token: str) -> None:
    from convo_cli.render.text import terminal_safe

    parent = os.getppid()
    account = Store(db_path)
    outboxes = Outboxes(account)
    connections = Connections()
    # What was sent but not yet written down, per outbox: written with the next claim.
    results: dict[str, list[tuple[Row, Answer]]] = {}
    try:
        while os.getppid() == parent:
            busy = False
            for store in outboxes.current():
                rows = claim(store, BATCH, time.time(), results.pop(store.path, []))
                busy = busy or bool(rows)
                done = results[store.path] = []
                lines = []
                for row in rows:
                    started = time.monotonic()
                    answer = attempt(row, token, sender=connections.send)
                    done.append((row, answer))
                    status = str(answer.status) if answer.status else f"failed ({answer.error})"
                    took = (time.monotonic() - started) * 1000
                    lines.append(terminal_safe(f"convo serve: --> {row['type']} {row['url']} "
                                               f"{status} {took:.0f}ms") + "\n")
                try:
                    sys.stderr.write("".join(lines))
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
            if not busy:
                time.sleep(POLL)
    finally:
        for store in outboxes.current(refresh=False):  # so nothing is sent again
            if results.get(store.path):
                record(store, results[store.path], time.time())
        outboxes.close()


class Outboxes:
    """The account's database and its named services' (engine/services.py), opened as they
    appear in its list of services and closed as they leave it."""

    def __init__(self, account: Store) -> None:
        self.account = account
        self.named: dict[str, Store] = {}
        self.looked = 0.0
        _retry_now(account)

    def current(self, *, refresh: bool = True) -> list[Store]:
        from convo_cli.engine.services import file_for

        if refresh and time.monotonic() - self.looked > REFRESH:
            self.looked = time.monotonic()
            listed = {row["sid"] for row in self.account.all("SELECT sid FROM services")}
            for sid in set(self.named) - listed:
                self.named.pop(sid).close()
            for sid in listed - set(self.named):
                try:
                    self.named[sid] = _retry_now(Store(file_for(self.account.path, sid)))
                except Exception:  # noqa: BLE001 - deleted meanwhile: the next look forgets it
                    continue
        return [self.account, *self.named.values()]

    def close(self) -> None:
        for store in [self.account, *self.named.values()]:
            store.close()


def _retry_now(store: Store) -> Store:
    """A restart retries at once what was waiting (its receiver may be back)."""
    with store.write():
        store.db.execute("UPDATE outbox SET next_attempt = 0")
    return store


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops it, after its requests
    try:
        os.nice(10)  # the writers first
    except OSError:
        pass
    try:
        run(sys.argv[1], os.environ.get(TOKEN_VARIABLE, ""))
    except KeyboardInterrupt:
        pass
    except Exception as failure:  # noqa: BLE001 - one line in the server's log, no traceback
        from convo_cli.render.text import one_line

        sys.stderr.write(f"convo serve: webhook deliveries stopped: {one_line(str(failure))}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
