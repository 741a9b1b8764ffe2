"""Benchmark: message writes per second on `convo serve` with a post-event webhook to a local
receiver, against none.

    python tests/bench/webhooks.py [--duration 10] [--connections 32]

Two fresh servers, one run each of wrk POSTing messages with `X-Twilio-Webhook-Enabled: true`:
the first with no webhook configured, the second with `onMessageAdded` going to a receiver in
another process (Python's http.server answering 200). Prints both rates, their ratio (target:
at least 80%), and how many of the second run's events the receiver had got by the end and
a few seconds later (the queue drains behind the writers).
"""

from __future__ import annotations

import argparse
import base64
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: server_helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import run_wrk  # noqa: E402
from server_helpers import raw_request, start_server  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.path = "{path}"
wrk.headers["Authorization"] = "Basic {auth}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Webhook-Enabled"] = "true"
wrk.body = "Author=bench&Body=Hello+from+wrk"
"""
RECEIVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_port, flush=True)
s.serve_forever()
"""


def delivered(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as connection:
        done = connection.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'delivered'"
                                  ).fetchone()[0]
        waiting = connection.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    return done, done + waiting


def run(tmp: str, name: str, receiver_url: str | None, args: argparse.Namespace) -> float:
    db = Path(tmp) / f"{name}.db"
    server = start_server(db)
    try:
        auth = (server.account_sid, server.auth_token)
        if receiver_url:
            raw_request(server.url, "POST", "/v1/Configuration/Webhooks",
                        f"PostWebhookUrl={receiver_url}&Filters=onMessageAdded".encode(),
                        auth=auth)
        _, _, conversation = raw_request(server.url, "POST", "/v1/Conversations", b"",
                                         auth=auth)
        script = Path(tmp) / f"{name}.lua"
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        script.write_text(LUA.format(path=f"/v1/Conversations/{conversation['sid']}/Messages",
                                     auth=token))
        result = run_wrk(server.url, script, args)
        line = f"{name:<16} {result['rps']:>8.0f} writes/s  p99 {result['p99']:.2f} ms  " \
               f"non-2xx {result['non_2xx']:.0f}"
        if receiver_url:
            at_end = delivered(db)
            time.sleep(5)
            later = delivered(db)
            line += (f"  delivered {at_end[0]}/{at_end[1]} at the end, {later[0]}/{later[1]} "
                     "5 s later")
        print(line)
        return result["rps"]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    args = parser.parse_args()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE,
                                text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, message writes")
            without = run(tmp, "no webhook", None, args)
            with_ = run(tmp, "post webhook", f"http://127.0.0.1:{port}/hook", args)
            ratio = with_ / without if without else 0.0
            print(f"with/without: {ratio:.0%} ({'met' if ratio >= 0.8 else 'MISSED'}: >= 80%)")
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main()
