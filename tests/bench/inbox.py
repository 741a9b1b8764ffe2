"""Benchmark: `convo list` (the inbox: unread counts, ordered by activity) for a user in 50
conversations holding 100,000 messages between them, with read horizons unset, early, half
way and at the end; whole process, on the built-in engine.

    python tests/bench/inbox.py [--runs 30]

Run it from an environment where `convo` is installed. It prints the median and p90 in ms.
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

from startup import arguments, measure, report  # noqa: E402

from convo_cli.engine.wire import Engine  # noqa: E402

CONVERSATIONS = 50
MESSAGES = 100_000


def populate(db_path: str) -> None:
    engine = Engine(db_path, base_url="convo://local")
    service, store = engine.service, engine.store
    each = MESSAGES // CONVERSATIONS
    for number in range(CONVERSATIONS):
        conversation = service.create_conversation(unique_name=f"room-{number}")
        service.add_participant(conversation["sid"], identity="alice")
        service.add_participant(conversation["sid"], identity="bob")
        # Bulk insert in one transaction, with gapless indexes and the counter kept.
        with store.write():
            for index in range(each):
                store.insert("messages", {
                    "sid": f"IM{number:08x}{index:024x}", "conversation_id": conversation["id"],
                    "idx": index, "author": "bob", "body": f"message number {index}",
                    "attributes": "{}", "date_created": "2026-11-23T10:00:00Z",
                    "date_updated": "2026-11-23T10:00:00Z"})
            store.db.execute("UPDATE conversations SET next_index = ?, message_count = ? "
                             "WHERE id = ?", (each, each, conversation["id"]))
        # Horizons: none, early (counts below it), half way, at the end.
        horizon = (None, 10, each // 2, each - 1)[number % 4]
        if horizon is not None:
            service.update_participant(conversation["sid"], "alice",
                                       last_read_message_index=str(horizon))
    engine.close()


def main() -> None:
    convo, runs, _ = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CONVO_DATA_DIR=f"{tmp}/data", CONVO_CONFIG_DIR=f"{tmp}/config",
                   CONVO_CACHE_DIR=f"{tmp}/cache", CONVO_IDENTITY="alice")
        env.pop("CONVO_PROFILE", None)
        populate(f"{tmp}/data/local.db")
        argv = [convo, "list"]
        measure(argv, env, 3)  # warm the page cache
        report(f"list, {CONVERSATIONS} conversations, {MESSAGES:,} messages",
               measure(argv, env, runs), runs)


if __name__ == "__main__":
    main()
