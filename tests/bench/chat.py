"""Benchmark: `convo chat` in a real terminal (tmux, 100x30) on the built-in engine.

    python tests/bench/chat.py [--runs 5] [--idle 30]

- time to first screen: from starting `convo chat standup` until the pane shows the newest
  message, on conversations of 100 and 100,000 messages (median and worst of the runs);
- idle CPU: the CPU time the process uses while nothing happens, over `--idle` seconds
  (from /proc: user + system), as a share of one core.

Run it from an environment where `convo` is installed; needs tmux. It uses its own
temporary data and config directories and its own tmux server.
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

sys.path.insert(0, os.path.dirname(__file__))
from startup import populate  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                          check=True).stdout


def first_screen(convo: str, env: dict[str, str], socket: str, newest: str) -> tuple[float, int]:
    """Seconds until `newest` shows; and the chat's process id (it is the pane's process)."""
    args = ["tmux", "-L", socket, "new-session", "-d", "-s", "bench", "-x", "100", "-y", "30"]
    for name in ("CONVO_DATA_DIR", "CONVO_CONFIG_DIR", "CONVO_CACHE_DIR", "CONVO_IDENTITY",
                 "PATH", "HOME"):
        args += ["-e", f"{name}={env[name]}"]
    start = time.perf_counter()
    subprocess.run(args + [f"exec {convo} chat standup"], check=True)
    while newest not in tmux(socket, "capture-pane", "-p", "-t", "bench"):
        if time.perf_counter() - start > 30:
            sys.exit("convo chat never showed its first screen")
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    pid = int(tmux(socket, "display-message", "-p", "-t", "bench", "#{pane_pid}"))
    return elapsed, pid


def stop(socket: str) -> None:
    """Stop that tmux server, and remove the socket file it leaves behind."""
    try:
        path = tmux(socket, "display-message", "-p", "#{socket_path}").strip()
    except subprocess.CalledProcessError:
        return  # not running
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    if os.path.exists(path):
        os.unlink(path)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=int, default=30)
    args = parser.parse_args()
    convo, runs, idle = shutil.which("convo"), args.runs, args.idle
    if convo is None:
        sys.exit("convo is not installed in this environment")
    for size in (100, 100_000):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, CONVO_DATA_DIR=f"{tmp}/data", CONVO_CONFIG_DIR=f"{tmp}/config",
                       CONVO_CACHE_DIR=f"{tmp}/cache", CONVO_IDENTITY="alice")
            populate(f"{tmp}/data/local.db", size)
            newest = f"message number {size - 1}"
            times, pid, socket = [], 0, ""
            try:
                for run in range(runs + 1):  # the first warms the page cache: not counted
                    socket = f"convo-bench-{os.getpid()}-{size}-{run}"  # a fresh server each
                    elapsed, pid = first_screen(convo, env, socket, newest)
                    if run:
                        times.append(elapsed * 1000)
                    if run < runs:
                        stop(socket)
                print(f"chat, first screen, {size:,} messages   median "
                      f"{statistics.median(times):6.1f} ms  worst {max(times):6.1f} ms  "
                      f"({runs} runs)")
                if size == 100_000:
                    time.sleep(3)  # past start-up and the first polls
                    before = cpu_seconds(pid)
                    time.sleep(idle)
                    used = cpu_seconds(pid) - before
                    print(f"chat, idle for {idle} s: {used:.2f} s of CPU "
                          f"({100 * used / idle:.1f}% of one core)")
            finally:
                stop(socket)


if __name__ == "__main__":
    main()
