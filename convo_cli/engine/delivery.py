"""Sending webhook requests: Twilio's signature, one HTTP request, and the queue's worker.

Signed exactly as Twilio signs (https://www.twilio.com/docs/usage/security): HMAC-SHA1,
keyed with the account's auth token, over the full URL followed by each POST parameter's
name and value in name order; base64. A GET carries its parameters in the URL instead.

A delivery is claimed by pushing its `next_attempt` past a lease, so two processes sharing
the database (a `convo serve` and a local command) never send one twice while both live;
one killed mid-send is retried when its lease ends. Failures back off exponentially and
give up after MAX_ATTEMPTS. Done or given up, a delivery moves from the outbox to the
`deliveries` table, its history.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlencode

from convo_cli.engine.store import Row, Store

TIMEOUT = 5.0  # seconds: Twilio's limit for a webhook's answer
MAX_ATTEMPTS = 8
LEASE = 30.0  # seconds a claimed delivery is held before another worker may retry it
USER_AGENT = "TwilioProxy/1.1 (convo)"


class Answer(NamedTuple):
    status: int  # 0: no answer (refused, timed out)
    body: bytes
    error: str


def signature(token: str, url: str, params: dict[str, str]) -> str:
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed(url: str, method: str, params: dict[str, str],
           token: str) -> tuple[str, bytes | None, dict[str, str]]:
    """The request to send: its URL, body and headers."""
    headers = {"User-Agent": USER_AGENT, "I-Twilio-Idempotency-Token": params.get("_id", "")}
    params = {k: v for k, v in params.items() if k != "_id"}
    if method == "GET":
        target = url + ("&" if "?" in url else "?") + urlencode(params)
        headers["X-Twilio-Signature"] = signature(token, target, {})
        return target, None, headers
    headers["X-Twilio-Signature"] = signature(token, url, params)
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    return url, urlencode(params).encode(), headers


def send(url: str, method: str, params: dict[str, str], token: str,
         timeout: float = TIMEOUT) -> Answer:
    """One signed webhook request; never raises for what the receiver does."""
    target, body, headers = signed(url, method, params, token)
    request = urllib.request.Request(target, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(response.status, response.read(64 * 1024), "")
    except urllib.error.HTTPError as failure:
        return Answer(failure.code, failure.read(64 * 1024), "")
    except (OSError, ValueError) as failure:  # refused, timed out, a bad URL
        return Answer(0, b"", str(getattr(failure, "reason", failure))[:200])


def backoff(attempts: int) -> float:
    return float(min(2 ** attempts, 300))


def claim(store: Store, limit: int, now: float,
          done: list[tuple[Row, Answer]] | None = None) -> list[Row]:
    """Due deliveries, leased to this worker; with `done`, the previous batch's results are
    recorded in the same transaction (each write transaction here makes the server's writers
    wait, so there are as few as can be). An empty outbox is seen without the write lock."""
    if not done and store.one("SELECT 1 FROM outbox WHERE next_attempt <= ? LIMIT 1",
                              now) is None:
        return []
    with store.write():
        if done:
            _record(store, done, now)
        rows = store.all("SELECT * FROM outbox WHERE next_attempt <= ? ORDER BY id LIMIT ?",
                         now, limit)
        if rows:
            store.db.executemany("UPDATE outbox SET next_attempt = ? WHERE id = ?",
                                 [(now + LEASE, row["id"]) for row in rows])
    return rows


def attempt(row: Row, token: str, timeout: float = TIMEOUT,
            sender: Callable[..., Answer] | None = None) -> Answer:
    params = json.loads(row["params"])
    params["RetryCount"] = str(row["attempts"])
    if row["webhook_sid"]:
        params["WebhookSid"] = row["webhook_sid"]
        params["WebhookType"] = "webhook"
    params["_id"] = f"convo-{row['id']}"
    return (sender or send)(row["url"], row["method"], params, token, timeout)


def record(store: Store, results: list[tuple[Row, Answer]], now: float) -> None:
    """Done or given up: moved from the outbox to `deliveries`; else retried later."""
    with store.write():
        _record(store, results, now)


def _record(store: Store, results: list[tuple[Row, Answer]], now: float) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    retries, finished = [], []
    for row, answer in results:
        attempts = row["attempts"] + 1
        status, error = answer.status or None, answer.error or None
        ok = 200 <= answer.status < 300
        if ok or attempts >= MAX_ATTEMPTS:
            finished.append((row["type"], row["conversation_sid"], row["url"], row["method"],
                             row["webhook_sid"], row["params"], attempts,
                             "delivered" if ok else "failed", status, error,
                             row["date_created"], stamp, row["id"]))
        else:
            retries.append((attempts, now + backoff(attempts), status, error, row["id"]))
    store.db.executemany(
        "UPDATE outbox SET attempts = ?, next_attempt = ?, status = ?, error = ? "
        "WHERE id = ?", retries)
    store.db.executemany(
        "INSERT INTO deliveries (type, conversation_sid, url, method, webhook_sid, params, "
        "attempts, state, status, error, date_created, date_updated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [f[:-1] for f in finished])
    store.db.executemany("DELETE FROM outbox WHERE id = ?", [(f[-1],) for f in finished])


def drain(store: Store, token: str, budget: float) -> int:
    """Deliver what is due now, within `budget` seconds in all (the local profile's command
    does this before it exits); what fails stays queued with its backoff. The number sent."""
    deadline = time.monotonic() + budget
    sent = 0
    while (left := deadline - time.monotonic()) > 0.05:
        rows = claim(store, 20, time.time())
        if not rows:
            break
        results = []
        for row in rows:
            left = deadline - time.monotonic()
            if left <= 0.05:
                # Out of time: released unchanged, to be sent by the next command or server.
                results.append((row, None))
                continue
            results.append((row, attempt(row, token, min(TIMEOUT, left))))
        done = [(row, answer) for row, answer in results if answer is not None]
        record(store, done, time.time())
        released = [row["id"] for row, answer in results if answer is None]
        if released:
            with store.write():
                store.db.executemany("UPDATE outbox SET next_attempt = 0 WHERE id = ?",
                                     [(i,) for i in released])
        sent += sum(1 for _, answer in done if 200 <= answer.status < 300)
    return sent
