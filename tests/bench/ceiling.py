"""The ceiling for tests/bench/serve.py: a bare uvicorn app that answers the very bytes
`convo serve` answered, doing no work (no authentication, no routing, no SQL, no JSON).

    python tests/bench/ceiling.py ANSWERS.json [--guarded]

ANSWERS.json maps "METHOD PATH?QUERY" to [status, content-type, body]. The app listens on a
free loopback port and prints `listening on http://127.0.0.1:PORT`. It runs on uvicorn
with the same HTTP protocol (httptools) and the same options as `convo serve` (no
lifespan, no access log, no server header), as stock uvicorn serves any app: the
difference is what convo does, its own protocol included. With `--guarded`, on convo
serve's own protocol (engine/guard.py: uvicorn's with the connection limits added, and its
writes held to the end of each turn of the loop, server.Output), so that the difference is
the app's work alone.
"""

from __future__ import annotations

import json
import socket
import sys

import uvicorn


def build(answers: dict[str, list]):
    prepared = {key: (status, [(b"content-type", kind.encode()),
                               (b"content-length", b"%d" % len(body.encode()))], body.encode())
                for key, (status, kind, body) in answers.items()}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        key = f"{scope['method']} {scope['raw_path'].decode()}"
        if scope["query_string"]:
            key += "?" + scope["query_string"].decode()
        if scope["method"] == "POST":  # read the body, as the real server does
            while (await receive()).get("more_body"):
                pass
        status, headers, body = prepared.get(key, (404, [(b"content-length", b"0")], b""))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    with open(sys.argv[1]) as file:
        app = build(json.load(file))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    http: object = "httptools"
    if "--guarded" in sys.argv:
        from convo_cli.engine import guard
        from convo_cli.engine.server import Output

        output = Output(sys.stderr.write)
        http = guard.protocol_class(guard.Notices(output.line), output=output)
    config = uvicorn.Config(app, http=http, lifespan="off", ws="none", log_config=None,
                            log_level="warning", access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
