"""Benchmark: `convo serve` under Debian's `wrk` on loopback, against its ceiling, bounded in time.

    python tests/bench/serve.py [--duration 6] [--connections 32] [--threads 1] [--repeat 1]
                                [--serve-args "--workers 2"]

Starts `convo serve` on a temporary database (its request log goes to a file there, as a
service's would), fills one conversation with 200 messages, and starts the ceiling
(tests/bench/ceiling.py): a bare uvicorn app answering the very bytes `convo serve`
answered, without doing any work. Then, for each kind of request (a conversation read, a
page of 50 messages, a message write), wrk runs against both, one after the other, for
`--duration` seconds at `--connections` connections, and the script prints requests per
second, the median and p99 latency, the non-2xx answers, the server's CPU time per request
(user + system, from /proc on Linux), the ceiling's requests per second and CPU time per
request, and the ratio of the two rates. On a machine shared with
other work the throughput varies with the load; the ratio (both measured in the same minute)
and the CPU a request costs vary much less: compare those between versions.

Targets (issue 13; 2-core machine, wrk on the same machine): a conversation read at 60% of
the ceiling or more, a page of 50 messages at 30% or more, message writes at 5,000/s or
more, p99 under 25 ms for every kind at 32 connections.

Reads of an unchanged database are answered from the answers `convo serve` keeps
(engine/readcache.py), as a poller's are; a last run, writes and page reads in turn, shows
what a read costs when every one follows a change.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: server_helpers

from server_helpers import start_server  # noqa: E402

# A message write, then a read of the latest page of 50, in turn: every read follows a
# change, so none is answered from the kept reads (engine/readcache.py): the cold cost.
MIXED_LUA = """
local auth = "Basic {auth}"
local n = 0
request = function()
  n = n + 1
  if n % 2 == 1 then
    return wrk.format("POST", "{messages}", {{["Authorization"] = auth,
      ["Content-Type"] = "application/x-www-form-urlencoded"}}, "Author=bench&Body=mixed")
  end
  return wrk.format("GET", "{messages}?PageSize=50&Order=desc", {{["Authorization"] = auth}})
end
"""
LUA = """
wrk.method = "{method}"
wrk.path = "{path}"
wrk.headers["Authorization"] = "Basic {auth}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "{body}"
"""
# Per kind: (the least share of the ceiling, the least requests per second).
TARGETS = {"read": (0.60, 0), "page": (0.30, 0), "write": (0.0, 5000)}
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


def start_ceiling(tmp: Path, answers: dict[str, list],
                  *options: str) -> tuple[subprocess.Popen[str], str]:
    path = tmp / "answers.json"
    path.write_text(json.dumps(answers))
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("ceiling.py")),
                                str(path), *options], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("listening on "):
        process.kill()
        sys.exit("the ceiling app did not start")
    return process, line.split()[-1]


def answer_of(url: str, method: str, path: str, body: str, auth: str) -> list:
    """[status, content type, body] of one request, for the ceiling to repeat."""
    import http.client

    connection = http.client.HTTPConnection(url.split("//", 1)[1], timeout=30)
    headers = {"Authorization": f"Basic {auth}",
               "Content-Type": "application/x-www-form-urlencoded"}
    connection.request(method, path, body=body.encode() or None, headers=headers)
    response = connection.getresponse()
    answer = [response.status, response.getheader("content-type"), response.read().decode()]
    connection.close()
    return answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=6, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    parser.add_argument("--key", action="store_true",
                        help="authenticate with an identity key (its role checks measured)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind")
    parser.add_argument("--serve-args", default="", help="more options for convo serve")
    parser.add_argument("--guarded", action="store_true",
                        help="the ceiling on convo serve's protocol (its connection limits, "
                        "its writes held to the end of each turn): the app's work alone")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "bench.db", *args.serve_args.split())
        ceiling = None
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
                ("page", "GET 50 messages", "GET",
                 f"/v1/Conversations/{sid}/Messages?PageSize=50", ""),
                ("write", "POST a message", "POST", f"/v1/Conversations/{sid}/Messages",
                 "Author=bench&Body=Hello+from+wrk"),
            ]
            answers = {f"{method} {path}": answer_of(server.url, method, path, body, auth)
                       for _, _, method, path, body in runs}
            ceiling, ceiling_url = start_ceiling(Path(tmp), answers,
                                                 *(["--guarded"] if args.guarded else []))
            print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
                  f"convo serve {args.serve_args} on {server.url}, ceiling on {ceiling_url}"
                  f"{', as an identity key' if args.key else ''}")
            print(f"{'':<22} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} "
                  f"{'cpu µs/req':>10} {'ceiling/s':>9} {'its µs/req':>9} {'ratio':>6}  target")
            for _ in range(args.repeat):
                for kind, name, method, path, body in runs:
                    script = Path(tmp) / f"{kind}.lua"
                    script.write_text(LUA.format(method=method, path=path, auth=auth, body=body))
                    bare_cpu = cpu_seconds(ceiling.pid)
                    bare = run_wrk(ceiling_url, script, args)
                    bare_cost = (cpu_seconds(ceiling.pid) - bare_cpu) / bare["requests"] * 1e6
                    cpu = cpu_seconds(server.process.pid)
                    result = run_wrk(server.url, script, args)
                    cost = (cpu_seconds(server.process.pid) - cpu) / result["requests"] * 1e6
                    ratio = result["rps"] / bare["rps"]
                    share, least = TARGETS[kind]
                    met = ratio >= share and result["rps"] >= least \
                        and result["p99"] < P99_TARGET_MS and not result["non_2xx"]
                    wanted = f">= {share:.0%} of ceiling" if share else f">= {least}/s"
                    print(f"{name:<22} {result['rps']:>8.0f} {result['p50']:>7.2f} "
                          f"{result['p99']:>7.2f} {result['non_2xx']:>7.0f} {cost:>10.0f} "
                          f"{bare['rps']:>9.0f} {bare_cost:>9.0f} {ratio:>6.0%}  "
                          f"{'met' if met else 'MISSED'} "
                          f"({wanted}, p99 < {P99_TARGET_MS:g} ms)")
            script = Path(tmp) / "mixed.lua"
            script.write_text(MIXED_LUA.format(auth=auth,
                                               messages=f"/v1/Conversations/{sid}/Messages"))
            cpu = cpu_seconds(server.process.pid)
            result = run_wrk(server.url, script, args)
            cost = (cpu_seconds(server.process.pid) - cpu) / result["requests"] * 1e6
            print(f"{'write + page, in turn':<22} {result['rps']:>8.0f} {result['p50']:>7.2f} "
                  f"{result['p99']:>7.2f} {result['non_2xx']:>7.0f} {cost:>10.0f}  (cold reads: "
                  f"each follows a write; no ceiling)")
            # The writes kept their indexes gapless (the page read is of the first 50).
            last = next(client.message_pages(sid, order="desc", page_size=1)).items[0].index
            count = sum(1 for _ in client.list_messages(sid, page_size=100))
            print(f"messages stored: {count}, last index {last}"
                  f"{'' if count == last + 1 else ' - NOT GAPLESS'}")
            client.close()
        finally:
            if ceiling is not None:
                ceiling.terminate()
                ceiling.wait()
            server.stop()


if __name__ == "__main__":
    main()
