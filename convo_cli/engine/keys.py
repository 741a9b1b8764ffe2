"""Per-user API keys for `convo serve`: an `SK…` SID and a secret, used in Basic auth in
place of the account's SID and token (as Twilio accepts). A key made for an identity acts
only as that identity (`access`); one made without is account-wide, with full power.

Only a salted scrypt hash of each secret is kept. Verifying one costs ~10 ms of KDF, so a
verified secret is remembered in memory (its SHA-256, never the secret) for the key's row:
later requests pay one indexed SELECT, which also notices a key revoked by another process.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from typing import NamedTuple

from convo_cli.engine.service import now_iso
from convo_cli.engine.store import Row, Store

KEY_SID = re.compile(r"^SK[0-9a-f]{32}$")
# scrypt at 4 MB, ~10 ms: the secrets are 128 random bits, so the KDF only has to make a
# stolen hash useless to compare quickly, and a wrong guess must stay cheap to answer.
_N, _R, _P = 2**12, 8, 1


class Actor(NamedTuple):
    """Who a request acts as: `identity` None means full power (the account, or an
    account-wide key)."""
    key_sid: str | None = None
    identity: str | None = None


ACCOUNT = Actor()


def _hash(secret: bytes, salt: bytes) -> str:
    return hashlib.scrypt(secret, salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024,
                          dklen=32).hex()


def create_key(store: Store, identity: str | None) -> tuple[Row, str]:
    """A new key; returns its row and its secret, which is never stored nor shown again."""
    secret = secrets.token_hex(16)
    salt = os.urandom(16)
    row = {"sid": "SK" + secrets.token_hex(16), "identity": identity, "salt": salt.hex(),
           "hash": _hash(secret.encode(), salt), "date_created": now_iso()}
    with store.write():
        store.insert("api_keys", row)
    return row, secret


def list_keys(store: Store) -> list[Row]:
    return store.all("SELECT sid, identity, date_created FROM api_keys ORDER BY id")


def revoke_key(store: Store, sid: str) -> bool:
    """Delete a key; False when there was none with that SID."""
    with store.write():
        found = store.one("SELECT id FROM api_keys WHERE sid = ?", sid)
        if found is not None:
            store.delete("api_keys", found["id"])
    return found is not None


class KeyCheck:
    """Verifies `SK…` credentials against the keys in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._verified: dict[tuple[str, str], bytes] = {}  # (sid, stored hash) -> sha256

    def actor(self, sid: bytes, secret: bytes) -> Actor | None:
        try:
            text = sid.decode("ascii")
        except UnicodeDecodeError:
            return None
        if not KEY_SID.match(text):
            return None
        row = self.store.one("SELECT identity, salt, hash FROM api_keys WHERE sid = ?", text)
        if row is None:
            _hash(secret, b"\0" * 16)  # as long as a wrong secret: the timing names no key
            return None
        digest = hashlib.sha256(secret).digest()
        known = self._verified.get((text, row["hash"]))
        if known is not None:
            ok = hmac.compare_digest(known, digest)
        else:
            ok = hmac.compare_digest(_hash(secret, bytes.fromhex(row["salt"])), row["hash"])
            if ok:
                if len(self._verified) > 10_000:  # bounded: keys are few, this is a backstop
                    self._verified.clear()
                self._verified[(text, row["hash"])] = digest
        return Actor(text, row["identity"]) if ok else None
