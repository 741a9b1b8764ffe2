"""Benchmark: whole-process time of `convo list` and `convo messages standup` on the
built-in engine, with a conversation of 100 and of 100,000 messages.

    python tests/bench/startup.py [--runs 30]

Run it from an environment where `convo` is installed. It uses its own temporary data and
config directories, and prints the median and p90 of each command in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from convo_cli.engine.wire import Engine


def populate(db_path: str, messages: int) -> None:
    engine = Engine(db_path, base_url="convo://local")
    service = engine.service
    conversation = service.create_conversation(friendly_name="Daily standup", unique_name="standup")
    service.add_participant("standup", identity="alice")
    service.add_participant("standup", identity="bob")
    # Bulk insert through the store in one transaction (the service's one-per-message
    # transactions would take minutes for 100,000), with the same gapless indexes.
    with engine.store.write():
        for index in range(messages):
            engine.store.insert("messages", {
                "sid": f"IM{index:032x}", "conversation_id": conversation["id"], "idx": index,
                "author": "alice" if index % 2 else "bob", "body": f"message number {index}",
                "attributes": "{}", "date_created": "2026-11-23T10:00:00Z",
                "date_updated": "2026-11-23T10:00:00Z",
            })
        engine.store.db.execute(
            "UPDATE conversations SET next_index = ?, message_count = ? WHERE id = ?",
            (messages, messages, conversation["id"]))
    engine.close()


def measure(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - start) * 1000)
        if result.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed: {result.stderr.decode()}")
    return times


def report(label: str, times: list[float], runs: int) -> None:
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1]
    print(f"{label:<36} median {statistics.median(times):6.1f} ms  p90 {p90:6.1f} ms  "
          f"({runs} runs)")


def arguments() -> tuple[str, int]:
    """The installed `convo` and `--runs`, for this script and the completion one."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    convo = shutil.which("convo")
    if convo is None:
        sys.exit("convo is not installed in this environment")
    return convo, args.runs


def main() -> None:
    convo, runs = arguments()
    for size in (100, 100_000):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, CONVO_DATA_DIR=f"{tmp}/data", CONVO_CONFIG_DIR=f"{tmp}/config",
                       CONVO_CACHE_DIR=f"{tmp}/cache", CONVO_IDENTITY="alice")
            env.pop("CONVO_PROFILE", None)
            populate(f"{tmp}/data/local.db", size)
            for argv in ([convo, "list"], [convo, "messages", "standup"]):
                measure(argv, env, 3)  # warm the page cache
                report(f"{' '.join(argv[1:])}, {size:,} messages", measure(argv, env, runs), runs)


if __name__ == "__main__":
    main()
