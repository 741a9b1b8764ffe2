"""Benchmark: whole-process time of `convo list` and `convo messages standup` on the
built-in engine (a conversation of 100 and of 100,000 messages), and on a profile that
points at a `convo serve` of the same data, against `python -c pass` in the same run.

    python tests/bench/startup.py [--runs 30] [--no-served]

Run it from an environment where `convo` is installed. It uses its own temporary data and
config directories, and prints the median and p90 of each command in milliseconds, and the
ratio of its median to the baseline: `python -c pass` for the built-in engine (target
within 5x), the same command on the built-in engine for the served profile (target within
2x). The served profile keeps its secret in the keyring, through a small file backend
(`PYTHON_KEYRING_BACKEND`), so that `keyring` is imported as it is for a user, without
the D-Bus round trips of a desktop's Secret Service.

Every process runs with bytecode caching on, into a temporary PYTHONPYCACHEPREFIX (the
warm-up runs fill it), whatever PYTHONDONTWRITEBYTECODE says: an installed convo has its
.pyc files (pip compiles them), and without them each start compiles every module of convo
again (~15 ms of `convo list`). The source tree is left as it was.
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

from convo_cli.engine.wire import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: server_helpers


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


def measure(argv: list[str], env: dict[str, str], runs: int,
            cpu: list[float] | None = None) -> list[float]:
    """Wall milliseconds of each run; with `cpu`, the process's own CPU milliseconds (user +
    system, steadier than wall time on a busy machine) are appended to it."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        times.append((time.perf_counter() - start) * 1000)
        if cpu is not None:
            cpu.append((usage.ru_utime + usage.ru_stime) * 1000)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(argv)} failed: {process.stderr.read().decode()}")  # type: ignore
        process.stderr.close()  # type: ignore[union-attr]
    return times


def report(label: str, times: list[float], runs: int, baseline: float | None = None,
           name: str = "", target: float = 0, cpu: list[float] | None = None) -> float:
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1]
    median = statistics.median(times)
    extra = f"  cpu {statistics.median(cpu):6.1f} ms" if cpu else ""
    if baseline:
        met = "met" if median <= baseline * target else "MISSED"
        extra += f"  {median / baseline:4.1f}x {name} ({met}: within {target:g}x)"
    print(f"{label:<42} median {median:6.1f} ms  p90 {p90:6.1f} ms{extra}")
    return median


KEYRING_BACKEND = '''
import json, os
from keyring.backend import KeyringBackend


class Backend(KeyringBackend):
    """A plain JSON file (benchmark only): the keyring API without D-Bus."""
    priority = 1
    path = os.environ["BENCH_KEYRING_FILE"]

    def _load(self):
        try:
            with open(self.path) as file:
                return json.load(file)
        except FileNotFoundError:
            return {}

    def get_password(self, service, username):
        return self._load().get(f"{service}|{username}")

    def set_password(self, service, username, password):
        stored = self._load()
        stored[f"{service}|{username}"] = password
        with open(self.path, "w") as file:
            json.dump(stored, file)

    def delete_password(self, service, username):
        pass
'''


def arguments() -> tuple[str, int, bool]:
    """The installed `convo`, `--runs` and not `--no-served`, for this script and the
    completion one."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-served", action="store_true", help="the built-in engine only")
    args = parser.parse_args()
    convo = shutil.which("convo")
    if convo is None:
        sys.exit("convo is not installed in this environment")
    return convo, args.runs, not args.no_served


def served_env(tmp: str, env: dict[str, str], server) -> dict[str, str]:  # noqa: ANN001
    """`env` with a profile `bench` on `server`, logged in, its secret in the keyring."""
    Path(tmp, "benchkeyring.py").write_text(KEYRING_BACKEND)
    served = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [tmp, env.get("PYTHONPATH")])),
                  PYTHON_KEYRING_BACKEND="benchkeyring.Backend",
                  BENCH_KEYRING_FILE=f"{tmp}/keyring.json", CONVO_PROFILE="bench")
    subprocess.run([shutil.which("convo") or "convo", "login", "--profile", "bench", "--server",
                    server.url, "--account-sid", server.account_sid, "--identity", "alice"],
                   input=server.auth_token.encode(), env=dict(served, CONVO_PROFILE=""),
                   check=True, capture_output=True)
    return served


def bytecode_env(pycache: str) -> dict[str, str]:
    """This environment with .pyc files cached under `pycache`, as an installed convo has."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=pycache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main() -> None:
    convo, runs, served = arguments()
    pycache = tempfile.mkdtemp(prefix="convo-bench-pycache-")
    cpu: list[float] = []
    measure([sys.executable, "-c", "pass"], bytecode_env(pycache), 3)
    baseline = report("python -c pass", measure([sys.executable, "-c", "pass"],
                                                bytecode_env(pycache), runs, cpu), runs, cpu=cpu)
    for size in (100, 100_000):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(bytecode_env(pycache), CONVO_DATA_DIR=f"{tmp}/data",
                       CONVO_CONFIG_DIR=f"{tmp}/config", CONVO_CACHE_DIR=f"{tmp}/cache",
                       CONVO_IDENTITY="alice")
            env.pop("CONVO_PROFILE", None)
            populate(f"{tmp}/data/local.db", size)
            builtin = {}
            for argv in ([convo, "list"], [convo, "messages", "standup"]):
                measure(argv, env, 3)  # warm the page cache
                cpu: list[float] = []
                builtin[argv[1]] = report(f"{' '.join(argv[1:])}, {size:,} messages",
                                          measure(argv, env, runs, cpu), runs, baseline,
                                          "python -c pass", 5, cpu)
            if not served:
                continue
            from server_helpers import start_server

            server = start_server(Path(f"{tmp}/data/local.db"))
            try:
                remote = served_env(tmp, env, server)
                for argv in ([convo, "list"], [convo, "messages", "standup"]):
                    measure(argv, remote, 3)
                    cpu = []
                    report(f"{' '.join(argv[1:])}, {size:,} messages, served",
                           measure(argv, remote, runs, cpu), runs, builtin[argv[1]],
                           "built-in", 2, cpu)
            finally:
                server.stop()
    shutil.rmtree(pycache, ignore_errors=True)


if __name__ == "__main__":
    main()
