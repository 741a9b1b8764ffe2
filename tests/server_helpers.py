"""`convo serve` as a real process on a free loopback port, for the tests that need one.

    server = start_server(tmp_path / "served.db")
    client = server.client()          # convo's own API over HTTP, as a `server` profile has it
    ...
    server.stop()

The server picks its own port (`--port 0`) and says which on standard error, which goes to
a file (a pipe nobody reads would fill and stall the server); `log()` reads it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convo_cli.api import Client
from convo_cli.api.http import HttpTransport

LISTENING = re.compile(r"^convo serve: .* on (https?://[^\s,]+)", re.MULTILINE)


@dataclass
class Server:
    url: str
    account_sid: str
    auth_token: str
    db_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def transport(self, **options: Any) -> HttpTransport:
        return HttpTransport(self.url, username=self.account_sid, password=self.auth_token,
                             convo_engine=True, **options)

    def client(self, **options: Any) -> Client:
        return Client(self.transport(**options))

    @property
    def auth(self) -> tuple[str, str]:
        return self.account_sid, self.auth_token

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the server and wait for it to exit; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the server did not stop on signal {signum}:\n{self.log()}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def server_env(**extra: str) -> dict[str, str]:
    """This process's environment without Twilio or convo settings (a module-scoped fixture
    runs before the per-test one that clears them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "CONVO_"))}
    return {**env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", **extra}


def start_server(db_path: Path | None, *args: str, credentials: bool = True,
                 env: dict[str, str] | None = None, timeout: float = 30) -> Server:
    """Start `convo serve --port 0 --db DB ARGS…` (no `--db` when DB is None: the local
    profile's database) and wait until it listens. With `credentials`, the server gets a
    fresh account SID and token through the environment; without, it generates its own
    beside the database and they are read from there."""
    env = server_env() if env is None else dict(env)
    if credentials:
        env["CONVO_SERVE_ACCOUNT_SID"] = "AC" + os.urandom(16).hex()
        env["CONVO_SERVE_AUTH_TOKEN"] = os.urandom(16).hex()
    if db_path is None:
        db_path = Path(env["CONVO_DATA_DIR"]) / "local.db"
    else:
        args = ("--db", str(db_path), *args)
    log_path = Path(f"{db_path}.{time.monotonic_ns()}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "convo_cli", "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    deadline = time.monotonic() + timeout
    while not (found := LISTENING.search(log_path.read_text(errors="replace"))):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError(f"convo serve did not start:\n{log_path.read_text()}")
        time.sleep(0.02)
    if credentials:
        sid, token = env["CONVO_SERVE_ACCOUNT_SID"], env["CONVO_SERVE_AUTH_TOKEN"]
    else:
        stored = json.loads(Path(f"{db_path}.credentials.json").read_text())
        sid, token = stored["account_sid"], stored["auth_token"]
    return Server(found.group(1), sid, token, db_path, log_path, process)


def raw_request(url: str, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """One request exactly as given (no client library between): status, lower-case
    headers, and the JSON body (None when empty)."""
    import base64
    import http.client
    from urllib.parse import urlsplit

    headers = dict(headers or {})
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    if body is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                json.loads(content) if content else None)
    finally:
        connection.close()
