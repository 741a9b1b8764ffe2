"""Benchmark: cost flat as the data grows. The same operations on a fresh database and on
one with 1,000,000 messages in 10,000 conversations and 10,000 users, side by side.

    python tests/bench/scale.py [--rounds 5] [--keep DIR]

Both databases hold the same 50 conversations of alice's (alice and bob in each, 20
messages each), made through the engine's service. The big one is a copy of the fresh one
grown by direct SQL, in one transaction: 10,000 users, 9,950 more conversations with two
participants each, and 100 messages in each of the 10,000 conversations, all generated
inside SQLite by recursive CTEs (no Python loop per row: about 10 s on a 2-core machine),
with the same columns, SIDs of the engine's shape, gapless indexes and the counters the
engine keeps (next_index, message_count). `--keep DIR` keeps the big database there and
reuses it on the next run.

Measured per round, fresh and big interleaved so that both see the same load, as CPU time
(steadier than wall time on a shared machine): 200 message writes and 500 reads of the
latest page of 50 messages through the engine's wire layer (what `convo serve` and the
in-process transport both run), and 5 runs of `convo list` as alice (a whole process:
user + system CPU, from wait4). Target (issue 13): big within 10% of fresh.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from convo_cli.engine.wire import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import bytecode_env  # noqa: E402 - .pyc files cached, as an installed convo has

USERS, CONVERSATIONS, PER_CONVERSATION = 10_000, 10_000, 100
STAMP = "2026-11-23T10:00:00Z"
GROW = f"""
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {USERS - 1})
INSERT INTO users (sid, identity, attributes, date_created, date_updated)
SELECT printf('US%032x', i + 1000000), printf('user%05d', i), '{{}}', '{STAMP}', '{STAMP}' FROM n;

WITH RECURSIVE n(i) AS (SELECT 50 UNION ALL SELECT i + 1 FROM n WHERE i < {CONVERSATIONS - 1})
INSERT INTO conversations (sid, friendly_name, created_by, date_created, date_updated)
SELECT printf('CH%032x', i + 1000000), printf('Conversation %d', i), 'system', '{STAMP}', '{STAMP}'
FROM n;

WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 1)
INSERT INTO participants (sid, conversation_id, identity, date_created, date_updated)
SELECT printf('MB%032x', c.id * 2 + j + 1000000), c.id,
       printf('user%05d', (c.id + j) % {USERS}), '{STAMP}', '{STAMP}'
FROM conversations c, k WHERE c.sid LIKE 'CH%' AND c.id > (SELECT MAX(conversation_id)
     FROM messages);

WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < {PER_CONVERSATION - 1})
INSERT INTO messages (sid, conversation_id, idx, author, body, attributes, date_created,
                      date_updated)
SELECT printf('IM%032x', c.id * {PER_CONVERSATION} + j + 100000000), c.id, c.next_index + j,
       printf('user%05d', (c.id + j) % {USERS}), printf('message number %d', j), '{{}}',
       '{STAMP}', '{STAMP}'
FROM conversations c, k;

UPDATE conversations SET next_index = next_index + {PER_CONVERSATION},
                         message_count = message_count + {PER_CONVERSATION};
"""


def build_fresh(path: str) -> None:
    engine = Engine(path, base_url="convo://local")
    service = engine.service
    for n in range(50):
        service.create_conversation(friendly_name=f"Team {n}", unique_name=f"team{n}")
        service.add_participant(f"team{n}", identity="alice")
        service.add_participant(f"team{n}", identity="bob")
        for m in range(20):
            service.send_message(f"team{n}", author="bob" if m % 2 else "alice",
                                 body=f"message {m}")
    engine.close()


def grow(path: str) -> None:
    """The fresh database grown to the big one, in one transaction."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    for statement in GROW.split(";\n"):
        if statement.strip():
            db.execute(statement)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("messages", "conversations", "users", "participants")]
    db.close()
    print(f"big database: {counts[0]:,} messages, {counts[1]:,} conversations, "
          f"{counts[2]:,} users, {counts[3]:,} participants")


def engine_costs(path: str) -> tuple[float, float]:
    """CPU µs per message write and per page read, through the wire layer."""
    engine = Engine(path, base_url="convo://local")
    sid = engine.service.conversation("team7")["sid"]
    messages = f"/v1/Conversations/{sid}/Messages"
    start = time.process_time()
    for n in range(200):
        status, _, _ = engine.handle("POST", messages, "", f"Author=alice&Body=write+{n}".encode(),
                                     {})
        assert status == 201, status
    writes = (time.process_time() - start) / 200 * 1e6
    start = time.process_time()
    for _ in range(500):
        status, _, body = engine.handle("GET", messages, "PageSize=50&Order=desc", b"", {})
        assert status == 200 and body.count(b'"sid"') == 50
    reads = (time.process_time() - start) / 500 * 1e6
    engine.close()
    return writes, reads


def list_cost(convo: str, data_dir: str, tmp: str) -> float:
    """Median CPU ms of `convo list` as alice (5 runs)."""
    env = dict(bytecode_env(f"{tmp}/pycache"), CONVO_DATA_DIR=data_dir,
               CONVO_CONFIG_DIR=f"{tmp}/config",
               CONVO_CACHE_DIR=f"{tmp}/cache", CONVO_IDENTITY="alice")
    env.pop("CONVO_PROFILE", None)
    costs = []
    subprocess.run([convo, "list"], env=env, capture_output=True)  # compiles the .pyc files
    for _ in range(5):
        process = subprocess.Popen([convo, "list"], env=env, stdout=subprocess.PIPE)
        lines = process.stdout.read().count(b"\n")  # type: ignore[union-attr]
        _, status, usage = os.wait4(process.pid, 0)
        assert status == 0 and lines == 50, (status, lines)
        costs.append((usage.ru_utime + usage.ru_stime) * 1000)
    return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", help="keep (and reuse) the big database in this directory")
    args = parser.parse_args()
    convo = shutil.which("convo")
    if convo is None:
        sys.exit("convo is not installed in this environment")
    with tempfile.TemporaryDirectory() as tmp:
        fresh_dir, big_dir = f"{tmp}/fresh", args.keep or f"{tmp}/big"
        os.makedirs(fresh_dir)
        os.makedirs(big_dir, exist_ok=True)
        fresh, big = f"{fresh_dir}/local.db", f"{big_dir}/local.db"
        build_fresh(fresh)
        if not os.path.exists(big):
            started = time.perf_counter()
            shutil.copy(fresh, big)
            grow(big)
            print(f"generated in {time.perf_counter() - started:.1f} s")
        figures: dict[str, list[tuple[float, float, float]]] = {"fresh": [], "big": []}
        for _ in range(args.rounds):
            for name, path, directory in (("fresh", fresh, fresh_dir), ("big", big, big_dir)):
                # Each round on a copy: the writes do not accumulate from round to round.
                work = f"{tmp}/work"
                shutil.rmtree(work, ignore_errors=True)
                os.makedirs(work)
                shutil.copy(path, f"{work}/local.db")
                figures[name].append((*engine_costs(f"{work}/local.db"),
                                      list_cost(convo, work, tmp)))
        print(f"median of {args.rounds} rounds, CPU time")
        print(f"{'':<28} {'fresh':>9} {'big':>9} {'big/fresh':>9}")
        for column, label in enumerate(("message write, µs", "latest page of 50, µs",
                                        "convo list (alice), ms")):
            small = statistics.median(r[column] for r in figures["fresh"])
            large = statistics.median(r[column] for r in figures["big"])
            verdict = "met" if large <= small * 1.10 else "MISSED"
            print(f"{label:<28} {small:>9.1f} {large:>9.1f} {large / small:>8.0%}  {verdict} "
                  f"(within 110%)")


if __name__ == "__main__":
    main()
