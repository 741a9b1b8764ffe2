"""Benchmark: what an identity key costs per request, in-process (no network noise).

    python tests/bench/keys.py [--requests 5000]

Prints the engine's time to answer GET a conversation with full power and as an identity
key (its role checks), a cached key verification, and one uncached one (the KDF).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from convo_cli.engine.keys import Actor, KeyCheck, create_key
from convo_cli.engine.wire import Engine


def per_call(function, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    n = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(str(Path(tmp) / "bench.db"), base_url="http://127.0.0.1")
        try:
            _, _, raw = engine.handle("POST", "/v1/Conversations", "", b"UniqueName=bench", {})
            sid = json.loads(raw)["sid"]
            engine.handle("POST", f"/v1/Conversations/{sid}/Participants", "",
                          b"Identity=bench", {})
            key, secret = create_key(engine.store, "bench")
            path = f"/v1/Conversations/{sid}"
            full = per_call(lambda: engine.handle("GET", path, "", b"", {}), n)
            keyed = per_call(lambda: engine.handle("GET", path, "", b"", {},
                                                   actor=Actor(key["sid"], "bench")), n)
            check = KeyCheck(engine.store)
            uncached = per_call(lambda: KeyCheck(engine.store).actor(
                key["sid"].encode(), secret.encode()), 20)
            cached = per_call(lambda: check.actor(key["sid"].encode(), secret.encode()), n)
        finally:
            engine.close()
    print(f"GET a conversation, full power:    {full:8.1f} us")
    print(f"GET a conversation, identity key:  {keyed:8.1f} us (role checks included)")
    print(f"key verification, cached:          {cached:8.1f} us")
    print(f"key verification, uncached (KDF):  {uncached:8.1f} us")


if __name__ == "__main__":
    main()
