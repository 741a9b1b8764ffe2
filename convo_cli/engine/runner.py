"""Running `convo serve`: its listening socket, uvicorn with the guarded protocol, signals.

uvicorn, an optional extra, is imported when it runs, never when this module is.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
from typing import Any

from convo_cli.engine.server import App, url_of
from convo_cli.errors import ConvoError, ExitCode, UsageError

INSTALL_HINT = "convo serve needs uvicorn: pip install 'convo[serve]'"
# The addresses whose X-Forwarded-For and X-Forwarded-Proto headers are believed.
TRUSTED_PROXIES = "127.0.0.1,::1"


def require_uvicorn() -> None:
    try:
        import httptools  # noqa: F401 - the protocol `guard` builds on
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConvoError(INSTALL_HINT) from None


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here rather than by uvicorn so that a port in use is one
    clear line, and `--port 0` can say which port it got."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as failure:
        raise UsageError(f"--host {host}: {failure.strerror}") from None
    sock = socket.socket(family, kind, proto)
    # Restart at once after a stop: connections left in TIME_WAIT do not hold the port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as failure:
        sock.close()
        hint = " (is another server running? choose another --port)" \
            if failure.errno == errno.EADDRINUSE else ""
        raise ConvoError(f"cannot listen on {url_of(host, port)}: "
                         f"{failure.strerror or failure}{hint}") from None
    return sock


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: Any) -> None:
    raise _Stop(signum)


def run(app: App, sock: socket.socket, *, tls: tuple[str, str] | None = None,
        max_connections: int = 1000) -> int:
    """Serve until SIGINT or SIGTERM; requests in flight complete first (uvicorn's graceful
    shutdown). Exit code: 0 after SIGTERM (a service manager's stop), 130 after SIGINT.
    `tls`: the certificate and key files (checked with `guard.check_tls` first)."""
    import logging

    import uvicorn

    from convo_cli.engine import guard

    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter("convo serve: %(message)s"))
    for name in ("uvicorn.error", "convo.engine"):
        logger = logging.getLogger(name)
        logger.addHandler(stream)
        logger.propagate = False
    protocol = guard.protocol_class(guard.Notices(app.log), max_connections, app.output)
    config = uvicorn.Config(app, http=protocol, lifespan="off", ws="none", log_config=None,
                            log_level="warning", access_log=False, server_header=False,
                            # A stop waits for the requests in flight, not for ever.
                            timeout_graceful_shutdown=30, timeout_keep_alive=guard.IDLE_TIMEOUT,
                            # A proxy on this machine (TLS in front) passes the client's
                            # address in X-Forwarded-For, for the login throttle and the log;
                            # from anywhere else the header is ignored.
                            proxy_headers=True, forwarded_allow_ips=TRUSTED_PROXIES,
                            ssl_certfile=tls[0] if tls else None,
                            ssl_keyfile=tls[1] if tls else None)
    # uvicorn catches both signals while it serves, shuts down gracefully, then raises the
    # signal again: these handlers turn that into a return.
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.Server(config).run(sockets=[sock])
        return ExitCode.OK
    except _Stop as stop:
        return ExitCode.INTERRUPTED if stop.signum == signal.SIGINT else ExitCode.OK
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
