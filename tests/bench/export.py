"""Benchmark: `convo messages standup --all --json` of a 100,000-message history on the
built-in engine, piped, against its ceiling.

    python tests/bench/export.py [--messages 100000] [--runs 3]

Prints messages per second, the CPU time per message and the peak RSS of the convo
process (from wait4), median of `--runs`, and the ratio against the ceiling measured in the
same run: a Python process that reads the same rows from SQLite already rendered as JSON by
SQLite's json_object() and writes one line each (the least work the export can be). The
output goes to a file (a pipe's reader would add its own cost). Targets (issue 13): 100,000
messages/s or more, peak RSS under 80 MB. Run it from an environment where `convo` is
installed.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import bytecode_env, populate  # noqa: E402

CEILING = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
out = sys.stdout
for (line,) in db.execute(
        "SELECT json_object('sid', sid, 'author', author, 'body', body, 'attributes', "
        "attributes, 'index', idx, 'date_created', date_created, 'date_updated', date_updated) "
        "FROM messages ORDER BY conversation_id, idx"):
    out.write(line + "\\n")
"""
TARGET_RATE, TARGET_RSS_MB = 100_000, 80


def run(argv: list[str], env: dict[str, str], out: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in MB of one run."""
    with open(out, "wb") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {process.stderr.read().decode()}")  # type: ignore
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    convo = shutil.which("convo")
    if convo is None:
        sys.exit("convo is not installed in this environment")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(bytecode_env(f"{tmp}/pycache"), CONVO_DATA_DIR=f"{tmp}/data",
                   CONVO_CONFIG_DIR=f"{tmp}/config",
                   CONVO_CACHE_DIR=f"{tmp}/cache", CONVO_IDENTITY="alice")
        env.pop("CONVO_PROFILE", None)
        db = f"{tmp}/data/local.db"
        populate(db, args.messages)
        out = Path(tmp) / "out.json"
        commands = {"convo": [convo, "messages", "standup", "--all", "--json"],
                    "ceiling": [sys.executable, "-c", CEILING, db]}
        figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        run(commands["convo"], env, out)  # compiles the .pyc files
        for _ in range(args.runs):  # interleaved: both see the same load
            for name, argv in commands.items():
                figures[name].append(run(argv, env, out))
                if name == "convo":
                    # A JSON array, one message a line between `[` and `]`.
                    lines = sum(1 for _ in open(out, "rb")) - 2
                    if lines != args.messages:
                        sys.exit(f"convo wrote {lines} messages, not {args.messages}")
        print(f"{args.messages:,} messages, median of {args.runs} runs, output to a file")
        print(f"{'':<10} {'wall s':>7} {'msgs/s':>9} {'cpu µs/msg':>10} {'peak RSS MB':>11}")
        rates = {}
        for name, runs in figures.items():
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            rss = max(r[2] for r in runs)
            rates[name] = (args.messages / wall, cpu)
            print(f"{name:<10} {wall:>7.2f} {args.messages / wall:>9,.0f} "
                  f"{cpu / args.messages * 1e6:>10.2f} {rss:>11.1f}")
        rate, cpu = rates["convo"]
        rss = max(r[2] for r in figures["convo"])
        print(f"convo/ceiling: {rate / rates['ceiling'][0]:.0%} of the ceiling's rate, "
              f"{cpu / rates['ceiling'][1]:.1f}x its CPU; target >= {TARGET_RATE:,} msgs/s "
              f"({rate / TARGET_RATE:.0%} of it) and RSS < {TARGET_RSS_MB} MB: "
              f"{'met' if rate >= TARGET_RATE and rss < TARGET_RSS_MB else 'MISSED'}")


if __name__ == "__main__":
    main()
