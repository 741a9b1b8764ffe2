"""Benchmark: `convo serve` under Debian's `wrk` on loopback, bounded in time.

    python tests/bench/serve.py [--duration 10] [--connections 32] [--threads 1]

Starts `convo serve` on a temporary database (its request log goes to a file there, as a
service's would), fills one conversation with 200 messages, then runs wrk against it:
reads of a conversation, message writes, and reads of a page of 50 messages, each for
`--duration` seconds at `--connections` connections, and prints requests per second, the
median and p99 latency, the non-2xx answers, and the server's CPU time per request (user +
system, from /proc on Linux): on a machine shared with other work the throughput varies with
the load, the CPU a request costs much less, so compare that figure between versions. Targets (2-core machine, wrk on the same
machine): 8,000 reads/s, 3,000 message writes/s, p99 under 25 ms. A page of 50 messages is
50 resources to read and encode: its figure is shown for what it costs, not held to the
target for one resource.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: server_helpers

from server_helpers import start_server  # noqa: E402

LUA = """
wrk.method = "{method}"
wrk.path = "{path}"
wrk.headers["Authorization"] = "Basic {auth}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "{body}"
"""
TARGETS = {"read": 8000, "write": 3000}
P99_TARGET_MS = 25.0
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), or NaN where /proc is not."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, script: Path, args: argparse.Namespace) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
         "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True).stdout

    def first(pattern: str) -> str:
        return re.search(pattern, output, re.M).group(1)  # type: ignore[union-attr]

    found = {"rps": float(first(r"Requests/sec:\s+([\d.]+)")),
             "p50": milliseconds(first(r"^\s+50%\s+(\S+)")),
             "p99": milliseconds(first(r"^\s+99%\s+(\S+)"))}
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    found["non_2xx"] = float(failed.group(1)) if failed else 0.0
    found["requests"] = float(first(r"(\d+) requests in"))
    if errors:
        print(f"  wrk: socket errors: {errors.group(1)}", file=sys.stderr)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    parser.add_argument("--key", action="store_true",
                        help="authenticate with an identity key (its role checks measured)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "bench.db")
        try:
            client = server.client()
            sid = client.create_conversation(unique_name="bench").sid
            for n in range(200):
                client.send_message(sid, author="alice", body=f"message number {n}")
            user, password = server.account_sid, server.auth_token
            if args.key:  # `bench`'s own key, as a participant: every request role-checked
                client.add_participant(sid, identity="bench")
                made = subprocess.run(
                    [sys.executable, "-m", "convo_cli", "serve", "keys", "create", "--identity",
                     "bench", "--db", str(server.db_path)], capture_output=True, text=True,
                    check=True)
                fields = dict(line.split("\t", 1) for line in made.stdout.splitlines())
                user, password = fields["sid"], fields["secret"]
            auth = base64.b64encode(f"{user}:{password}".encode()).decode()
            runs = [
                ("read", "GET a conversation", "GET", f"/v1/Conversations/{sid}", ""),
                ("write", "POST a message", "POST", f"/v1/Conversations/{sid}/Messages",
                 "Author=bench&Body=Hello+from+wrk"),
                (None, "GET 50 messages", "GET",
                 f"/v1/Conversations/{sid}/Messages?PageSize=50", ""),
            ]
            print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
                  f"on {server.url}{', as an identity key' if args.key else ''}")
            print(f"{'':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
                  f"{'cpu µs/req':>10}  target")
            for kind, name, method, path, body in runs:
                script = Path(tmp) / f"{name.replace(' ', '_')}.lua"
                script.write_text(LUA.format(method=method, path=path, auth=auth, body=body))
                cpu = cpu_seconds(server.process.pid)
                result = run_wrk(server.url, script, args)
                cost = (cpu_seconds(server.process.pid) - cpu) / result["requests"] * 1e6
                verdict = f"{result['rps'] * 50:.0f} messages/s"
                if kind is not None:
                    met = result["rps"] >= TARGETS[kind] and result["p99"] < P99_TARGET_MS \
                        and not result["non_2xx"]
                    verdict = (f"{'met' if met else 'MISSED'} (>= {TARGETS[kind]}/s, p99 < "
                               f"{P99_TARGET_MS:g} ms)")
                print(f"{name:<20} {result['rps']:>8.0f} {result['p50']:>8.2f} "
                      f"{result['p99']:>8.2f} {result['non_2xx']:>8.0f} {cost:>10.0f}  {verdict}")
            # The writes kept their indexes gapless (the page read is of the first 50).
            last = next(client.message_pages(sid, order="desc", page_size=1)).items[0].index
            count = sum(1 for _ in client.list_messages(sid, page_size=100))
            print(f"messages stored: {count}, last index {last}"
                  f"{'' if count == last + 1 else ' - NOT GAPLESS'}")
            client.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
