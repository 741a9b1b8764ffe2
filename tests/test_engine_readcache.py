"""`convo serve` keeps its answers to reads while the database is unchanged
(engine/readcache.py): a kept answer must never outlive a change, whoever made it."""

from __future__ import annotations

import json

from convo_cli.engine.readcache import CachedEngine
from convo_cli.engine.wire import Engine

BASE = "http://127.0.0.1:8080"
AUTH = {"authorization": "Basic one"}


def _get(engine, path: str, headers=AUTH, query: str = "") -> tuple[int, dict]:
    status, _, body = engine.handle("GET", path, query, b"", dict(headers), base_url=BASE)
    return status, json.loads(body) if body else {}


def test_a_read_is_answered_again_until_a_write(tmp_path):
    cached = CachedEngine(Engine(str(tmp_path / "c.db"), base_url=BASE))
    sid = cached.service.create_conversation(unique_name="standup", friendly_name="one")["sid"]
    path = f"/v1/Conversations/{sid}"
    assert _get(cached, path)[1]["friendly_name"] == "one"
    assert _get(cached, path)[1]["friendly_name"] == "one"
    assert cached.hits == 1
    status, _, _ = cached.handle("POST", path, "", b"FriendlyName=two", {}, base_url=BASE)
    assert status == 200
    assert _get(cached, path)[1]["friendly_name"] == "two"
    assert cached.hits == 1
    cached.close()


def test_a_write_by_another_process_is_seen(tmp_path):
    cached = CachedEngine(Engine(str(tmp_path / "c.db"), base_url=BASE))
    sid = cached.service.create_conversation(unique_name="standup")["sid"]
    path = f"/v1/Conversations/{sid}/Messages"
    assert _get(cached, path)[1]["messages"] == []
    other = Engine(str(tmp_path / "c.db"), base_url=BASE)  # its own connection
    other.service.send_message(sid, author="alice", body="from elsewhere")
    other.close()
    assert [m["body"] for m in _get(cached, path)[1]["messages"]] == ["from elsewhere"]
    assert cached.hits == 0
    cached.close()


def test_answers_are_kept_apart_by_headers_query_and_base_url(tmp_path):
    cached = CachedEngine(Engine(str(tmp_path / "c.db"), base_url=BASE))
    sid = cached.service.create_conversation(unique_name="standup")["sid"]
    path = f"/v1/Conversations/{sid}"
    _get(cached, path)
    _get(cached, path, {"authorization": "Basic two"})
    assert cached.hits == 0
    status, _, body = cached.handle("GET", path, "", b"", dict(AUTH),
                                    base_url="https://elsewhere.example")
    assert status == 200 and json.loads(body)["url"].startswith("https://elsewhere.example/")
    assert cached.hits == 0
    cached.close()


def test_refusals_are_not_kept(tmp_path):
    cached = CachedEngine(Engine(str(tmp_path / "c.db"), base_url=BASE))
    assert _get(cached, "/v1/Conversations/nothing")[0] == 404
    cached.service.create_conversation(unique_name="nothing")
    assert _get(cached, "/v1/Conversations/nothing")[0] == 200
    assert _get(cached, "/v1/Conversations/CH" + "0" * 32)[0] == 404
    assert _get(cached, "/v1/Conversations/CH" + "0" * 32)[0] == 404
    assert cached.hits == 0
    cached.close()


def test_the_cache_is_bounded(tmp_path):
    cached = CachedEngine(Engine(str(tmp_path / "c.db"), base_url=BASE), size=3)
    sid = cached.service.create_conversation(unique_name="standup")["sid"]
    for n in range(10):
        _get(cached, f"/v1/Conversations/{sid}/Messages", query=f"PageSize={n + 1}")
        assert len(cached._answers) <= 3
    cached.close()


def test_a_named_service_write_is_seen_whoever_made_it(tmp_path):
    # A named service keeps its data in a file of its own (engine/services.py): its writes,
    # this engine's or another process's, must drop the kept answers too.
    cached = CachedEngine(Engine(str(tmp_path / "c.db"), base_url=BASE))
    status, _, body = cached.handle("POST", "/v1/Services", "", b"FriendlyName=team", {},
                                    base_url=BASE)
    service = json.loads(body)["sid"]
    path = f"/v1/Services/{service}/Conversations"
    assert _get(cached, path)[1]["conversations"] == []
    cached.handle("POST", path, "", b"UniqueName=one", {}, base_url=BASE)
    assert [c["unique_name"] for c in _get(cached, path)[1]["conversations"]] == ["one"]
    other = Engine(str(tmp_path / "c.db"), base_url=BASE)
    other.handle("POST", path, "", b"UniqueName=two", {}, base_url=BASE)
    other.close()
    assert [c["unique_name"] for c in _get(cached, path)[1]["conversations"]] == ["one", "two"]
    assert cached.hits == 0
    cached.close()


def test_other_processes_commits_are_looked_for_once_a_turn_of_the_event_loop(tmp_path):
    # Served, `PRAGMA data_version` (another process's commits) is asked once per turn of the
    # event loop; this process's own writes are seen at once, whatever the turn.
    import asyncio

    cached = CachedEngine(Engine(str(tmp_path / "c.db"), base_url=BASE))
    sid = cached.service.create_conversation(unique_name="standup", friendly_name="one")["sid"]
    path = f"/v1/Conversations/{sid}"
    other = Engine(str(tmp_path / "c.db"), base_url=BASE)

    async def scenario() -> list[str]:
        seen = [_get(cached, path)[1]["friendly_name"]]
        other.service.update_conversation(sid, friendly_name="two")  # within this turn
        seen.append(_get(cached, path)[1]["friendly_name"])
        await asyncio.sleep(0)  # the next turn
        seen.append(_get(cached, path)[1]["friendly_name"])
        cached.handle("POST", path, "", b"FriendlyName=three", {}, base_url=BASE)
        seen.append(_get(cached, path)[1]["friendly_name"])
        return seen

    assert asyncio.run(scenario()) == ["one", "one", "two", "three"]
    other.close()
    cached.close()
