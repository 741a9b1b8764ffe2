"""The engine's database: the schema, its migrations, and the queries of conversations,
participants, messages and users (the other resource families query their own tables).

SQLite in WAL mode with a busy timeout, so several convo processes and a `convo serve`
can share one file. Rows come back as dicts; the store knows nothing of HTTP or of
Twilio's rules (those live in `service`). Lists are keyset-paged: every list query takes
the last key of the previous page, so a deep page costs what the first one does.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from convo_cli.engine.database import check_version, connect
from convo_cli.engine.permissions import defaults_sql

Row = dict[str, Any]

# Each entry migrates the schema from version i to i + 1; a database is brought forward
# on open, so an older file keeps working after an upgrade.
MIGRATIONS = [
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        unique_name TEXT UNIQUE,
        friendly_name TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'active',
        messaging_service_sid TEXT,
        timers TEXT NOT NULL DEFAULT '{}',
        bindings TEXT NOT NULL DEFAULT '{}',
        created_by TEXT,
        next_index INTEGER NOT NULL DEFAULT 0,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        identity TEXT NOT NULL UNIQUE,
        friendly_name TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        role_sid TEXT,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    CREATE TABLE participants (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        identity TEXT,
        address TEXT,
        proxy_address TEXT,
        projected_address TEXT,
        binding_type TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        role_sid TEXT,
        last_read_message_index INTEGER,
        last_read_timestamp TEXT,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL,
        UNIQUE (conversation_id, identity),
        UNIQUE (conversation_id, address, proxy_address)
    );
    CREATE INDEX participants_by_identity ON participants(identity);
    CREATE INDEX participants_by_address ON participants(address);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        author TEXT,
        body TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        participant_sid TEXT,
        media TEXT,
        content_sid TEXT,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL,
        UNIQUE (conversation_id, idx)
    );
    """,
    # Read horizons: a message counter per conversation, so that a participant who has read
    # nothing is counted without a scan; and a user's notification level per conversation.
    """
    ALTER TABLE conversations ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
    UPDATE conversations SET message_count =
        (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = conversations.id);
    ALTER TABLE participants ADD COLUMN notification_level TEXT NOT NULL DEFAULT 'default';
    """,
    # Per-user API keys (`convo serve keys`: only a salted hash of each secret is kept) and
    # Twilio's Roles, with its four defaults.
    """
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        identity TEXT,
        salt TEXT NOT NULL,
        hash TEXT NOT NULL,
        date_created TEXT NOT NULL
    );
    CREATE TABLE roles (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        friendly_name TEXT NOT NULL,
        type TEXT NOT NULL,
        permissions TEXT NOT NULL,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    """ + defaults_sql() + ";",
    # Webhooks (engine/webhooks.py): the account's configuration (one row) and the
    # conversation-scoped ones; the outbox, the durable queue of deliveries (engine/events.py),
    # written in the transaction of the change that fired them and holding only what waits
    # (no secondary index: one more page per write, not three); and the deliveries done or
    # given up, moved there by the sender.
    """
    CREATE TABLE webhook_configuration (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        method TEXT NOT NULL DEFAULT 'POST',
        filters TEXT NOT NULL DEFAULT '[]',
        pre_webhook_url TEXT,
        post_webhook_url TEXT,
        target TEXT NOT NULL DEFAULT 'webhook'
    );
    CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        target TEXT NOT NULL,
        configuration TEXT NOT NULL,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    CREATE INDEX webhooks_by_conversation ON webhooks(conversation_id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        conversation_sid TEXT,
        url TEXT NOT NULL,
        method TEXT NOT NULL,
        webhook_sid TEXT,
        params TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt REAL NOT NULL DEFAULT 0,
        status INTEGER,
        error TEXT,
        date_created TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        conversation_sid TEXT,
        url TEXT NOT NULL,
        method TEXT NOT NULL,
        webhook_sid TEXT,
        params TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        state TEXT NOT NULL,
        status INTEGER,
        error TEXT,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    """,
    # The account's configuration (engine/configuration.py: one row, its defaults for new
    # conversations) and its push credentials (engine/credentials.py: the secrets are kept,
    # as Twilio keeps them, and never rendered).
    """
    CREATE TABLE account_configuration (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        default_messaging_service_sid TEXT,
        default_inactive_timer TEXT,
        default_closed_timer TEXT
    );
    CREATE TABLE credentials (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        friendly_name TEXT,
        type TEXT NOT NULL,
        sandbox INTEGER NOT NULL DEFAULT 0,
        certificate TEXT,
        private_key TEXT,
        api_key TEXT,
        secret TEXT,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    """,
    # Delivery receipts (engine/phones.py): one per message and phone it was sent to, with
    # the phone's binding kept (the participant may leave; the phone still got it); and
    # the message's delivery summary, computed once when it is sent; and the Address
    # Configurations (engine/addresses.py) that decide where a stranger's message goes.
    """
    CREATE TABLE receipts (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        participant_sid TEXT NOT NULL,
        address TEXT NOT NULL,
        proxy_address TEXT,
        channel_message_sid TEXT NOT NULL,
        status TEXT NOT NULL,
        error_code INTEGER NOT NULL DEFAULT 0,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    CREATE INDEX receipts_by_message ON receipts(message_id);
    CREATE INDEX receipts_by_address ON receipts(address);
    ALTER TABLE messages ADD COLUMN delivery TEXT;
    CREATE TABLE address_configurations (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        address TEXT NOT NULL UNIQUE,
        friendly_name TEXT,
        address_country TEXT,
        auto_creation TEXT NOT NULL,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    """,
    # Conversation Services (engine/services.py): the account's named services (each keeps
    # its data in a database file of its own; this file is the default service's); a
    # service's configuration and push notification settings (one row); and its push
    # bindings (engine/bindings.py).
    """
    CREATE TABLE services (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        friendly_name TEXT,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL
    );
    CREATE TABLE service_configuration (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        default_conversation_creator_role_sid TEXT,
        default_conversation_role_sid TEXT,
        default_chat_service_role_sid TEXT,
        reachability_enabled INTEGER NOT NULL DEFAULT 0,
        notifications TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE bindings (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        identity TEXT NOT NULL,
        binding_type TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        credential_sid TEXT,
        message_types TEXT NOT NULL,
        date_created TEXT NOT NULL,
        date_updated TEXT NOT NULL,
        UNIQUE (identity, binding_type, endpoint)
    );
    """,
]

_PARTICIPANT_CONVERSATION = """
    SELECT p.sid AS participant_sid, p.identity, p.address, p.proxy_address,
           p.projected_address, p.binding_type, p.last_read_message_index,
           p.notification_level, u.sid AS user_sid, c.id AS conversation_id,
           c.message_count, c.next_index, c.sid AS conversation_sid, c.unique_name,
           c.friendly_name, c.attributes, c.state,
           c.timers, c.created_by, c.date_created, c.date_updated
    FROM participants p
    JOIN conversations c ON c.id = p.conversation_id
    LEFT JOIN users u ON u.identity = p.identity
"""

# A message as `views.Views.message` renders it, field for field (a test compares the two),
# built by SQLite's JSON functions. Its parameters come first: ?1 the account SID, ?2 the
# conversation SID, ?3 the URL of the conversation's messages with a trailing slash.
_MESSAGE_JSON = """json_object(
    'sid', sid, 'account_sid', ?1, 'conversation_sid', ?2, 'body', body,
    'media', json(NULLIF(media, '')), 'author', author, 'participant_sid', participant_sid,
    'attributes', attributes, 'date_created', date_created, 'date_updated', date_updated,
    'index', idx, 'delivery', json(delivery), 'content_sid', content_sid, 'url', ?3 || sid,
    'links', json_object('delivery_receipts', ?3 || sid || '/Receipts',
                         'channel_metadata', ?3 || sid || '/ChannelMetadata'))"""


# The same message as the line `convo messages --all --json` writes, json.dumps's layout
# (", " and ": ", every key in `_MESSAGE_JSON`'s order), rendered by printf() with no Python
# object per message. json_quote() escapes as json.dumps does for printable ASCII and the
# control characters; anything else (non-ASCII, DEL) is caught by the caller, and a message
# with media or a delivery summary (nested JSON) or a SID that would need escaping (it is
# also written unquoted, in the URLs) is left NULL here and rendered from `_MESSAGE_JSON`. Its parameters are those of `_MESSAGE_JSON` (?3, the messages
# URL with its trailing slash, must need no escaping), and ?7 and ?8, the account and
# conversation SIDs already as JSON strings.
_PLAIN_MESSAGE = ("(media IS NULL OR media = '') AND delivery IS NULL "
                  "AND json_quote(sid) = '\"' || sid || '\"'")
_MESSAGE_LINE = """printf('{"sid": %s, "account_sid": %s, "conversation_sid": %s, "body": %s, \
"media": null, "author": %s, "participant_sid": %s, "attributes": %s, "date_created": %s, \
"date_updated": %s, "index": %d, "delivery": null, "content_sid": %s, "url": "%s%s", "links": \
{"delivery_receipts": "%s%s/Receipts", "channel_metadata": "%s%s/ChannelMetadata"}}',
    json_quote(sid), ?7, ?8, json_quote(body), json_quote(author), json_quote(participant_sid),
    json_quote(attributes), json_quote(date_created), json_quote(date_updated), idx,
    json_quote(content_sid), ?3, sid, ?3, sid, ?3, sid)"""


class Store:
    def __init__(self, path: str, *, busy_timeout_ms: int = 10_000) -> None:
        # In WAL mode, created with its directory when missing; read-only when it cannot be
        # written; or UnusableDatabase, one line naming the path (engine/database.py).
        self.path = path if path == ":memory:" else os.path.abspath(path)
        self.db, self.read_only = connect(path, busy_timeout_ms)
        self.busy_timeout_ms = busy_timeout_ms
        self.transactions = 0
        self.db.row_factory = _dict_row
        # NORMAL in WAL mode survives a killed process (only a power cut can lose the last
        # commits), at a fraction of FULL's cost per message.
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def set_busy_timeout(self, milliseconds: int) -> None:
        self.busy_timeout_ms = int(milliseconds)
        self.db.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")

    def _migrate(self) -> None:
        version = check_version(self.db, self.path, len(MIGRATIONS), read_only=self.read_only)
        if version >= len(MIGRATIONS):
            return
        with self.write():
            version = self.db.execute("PRAGMA user_version").fetchone()["user_version"]
            for step in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction; IMMEDIATE takes the write lock up front, so two writers
        queue on the busy timeout instead of failing on a lock upgrade. Inside another
        write it is a savepoint: the outer one commits or rolls back the whole (a
        conversation created with its participants, all or nothing)."""
        if self.db.in_transaction:
            self.db.execute("SAVEPOINT nested")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK TO nested")
                self.db.execute("RELEASE nested")
                raise
            self.db.execute("RELEASE nested")
            return
        self.begin()
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def begin(self) -> None:
        """BEGIN IMMEDIATE; `transactions` counts them, so that what was read in one
        transaction is known not to be of another (`Service.conversation`)."""
        self.db.execute("BEGIN IMMEDIATE")
        self.transactions += 1

    def one(self, sql: str, *args: Any) -> Row | None:
        return self.db.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[Row]:
        return self.db.execute(sql, args).fetchall()

    def insert(self, table: str, row: Row) -> int:
        """The new row's id."""
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cursor = self.db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                                 tuple(row.values()))
        return cursor.lastrowid  # type: ignore[return-value]

    def update(self, table: str, row_id: int, changes: Row) -> None:
        if changes:
            sets = ", ".join(f"{name} = ?" for name in changes)
            self.db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*changes.values(), row_id))

    def delete(self, table: str, row_id: int) -> None:
        self.db.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))

    # Conversations

    def conversation_by_sid(self, sid: str) -> Row | None:
        return self.one("SELECT * FROM conversations WHERE sid = ?", sid)

    def conversation_by_unique_name(self, name: str) -> Row | None:
        return self.one("SELECT * FROM conversations WHERE unique_name = ?", name)

    def conversations_page(self, after_id: int, limit: int, state: str | None,
                           start: str | None, end: str | None,
                           member: str | None = None) -> list[Row]:
        sql = "SELECT * FROM conversations WHERE id > ?"
        args: list[Any] = [after_id]
        if member is not None:  # an identity key sees only the conversations it is in
            sql += " AND id IN (SELECT conversation_id FROM participants WHERE identity = ?)"
            args.append(member)
        for clause, value in (("state = ?", state), ("date_created >= ?", start),
                              ("date_created <= ?", end)):
            if value is not None:
                sql += f" AND {clause}"
                args.append(value)
        return self.all(sql + " ORDER BY id LIMIT ?", *args, limit)

    def take_message_index(self, conversation_id: int) -> int:
        row = self.one(
            "UPDATE conversations SET next_index = next_index + 1, "
            "message_count = message_count + 1 WHERE id = ? RETURNING next_index - 1 AS idx",
            conversation_id,
        )
        assert row is not None
        return row["idx"]

    # Participants

    def participant(self, conversation_id: int, column: str, value: str) -> Row | None:
        assert column in ("sid", "identity")
        return self.one(
            f"SELECT * FROM participants WHERE conversation_id = ? AND {column} = ?",
            conversation_id, value,
        )

    def participant_by_binding(self, conversation_id: int, address: str, proxy: str) -> Row | None:
        return self.one(
            "SELECT * FROM participants WHERE conversation_id = ? AND address = ? "
            "AND proxy_address = ?",
            conversation_id, address, proxy,
        )

    def participants_page(self, conversation_id: int, after_id: int, limit: int) -> list[Row]:
        return self.all(
            "SELECT * FROM participants WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?",
            conversation_id, after_id, limit,
        )

    def participant_conversations_page(self, column: str, value: str, after_sid: str,
                                       limit: int) -> list[Row]:
        assert column in ("identity", "address")
        return self.all(
            _PARTICIPANT_CONVERSATION
            + f" WHERE p.{column} = ? AND c.sid > ? ORDER BY c.sid LIMIT ?",
            value, after_sid, limit,
        )

    def user_conversations_page(self, identity: str, after_sid: str, limit: int) -> list[Row]:
        return self.participant_conversations_page("identity", identity, after_sid, limit)

    def user_conversation(self, identity: str, conversation_id: int) -> Row | None:
        return self.one(
            _PARTICIPANT_CONVERSATION + " WHERE p.identity = ? AND c.id = ?",
            identity, conversation_id,
        )

    def unread_count(self, row: Row) -> int:
        """Messages after the read horizon of a user-conversation row (with its conversation's
        `message_count` and `next_index`). Indexes have gaps after deletions, so this counts
        rows, never subtracts indexes; it counts the shorter side of the horizon on the
        (conversation_id, idx) index, so the cost is at most half a conversation's history
        and nothing when the horizon is at the end or unset."""
        horizon, total = row["last_read_message_index"], row["message_count"]
        if horizon is None:
            return total
        if horizon >= row["next_index"] // 2:
            sql, minus = "SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? " \
                         "AND idx > ?", False
        else:
            sql, minus = "SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? " \
                         "AND idx <= ?", True
        found = self.one(sql, row["conversation_id"], horizon)
        assert found is not None
        return total - found["n"] if minus else found["n"]

    # Messages

    def message(self, conversation_id: int, sid: str) -> Row | None:
        return self.one(
            "SELECT * FROM messages WHERE conversation_id = ? AND sid = ?", conversation_id, sid
        )

    def delete_message(self, conversation_id: int, row_id: int) -> None:
        self.delete("messages", row_id)
        self.db.execute("UPDATE conversations SET message_count = message_count - 1 WHERE id = ?",
                        (conversation_id,))

    def messages_page(self, conversation_id: int, order: str, after: int | None,
                      limit: int) -> list[Row]:
        if order == "desc":
            cmp, direction = "<", "DESC"
        else:
            cmp, direction = ">", "ASC"
        if after is None:
            return self.all(
                f"SELECT * FROM messages WHERE conversation_id = ? ORDER BY idx {direction} LIMIT ?",
                conversation_id, limit,
            )
        return self.all(
            f"SELECT * FROM messages WHERE conversation_id = ? AND idx {cmp} ? "
            f"ORDER BY idx {direction} LIMIT ?",
            conversation_id, after, limit,
        )

    def messages_page_json(self, conversation_id: int, order: str, after: int | None,
                           limit: int, account_sid: str, conversation_sid: str,
                           messages_url: str) -> list[tuple[int, str]]:
        """The page `messages_page` reads, each message already rendered as its JSON
        resource by SQLite: (idx, JSON text) pairs: the page's cost is then SQLite's, not one dict
        and one encoding per message in Python (a page of 50 went from ~450 to ~130 µs).
        `messages_url` is the messages list's URL on the request's base URL."""
        if order == "desc":
            cmp, direction = "<", "DESC"
        else:
            cmp, direction = ">", "ASC"
        where = "conversation_id = ?" if after is None else f"conversation_id = ? AND idx {cmp} ?"
        keys = (conversation_id,) if after is None else (conversation_id, after)
        cursor = self.db.cursor()
        cursor.row_factory = None  # (idx, json) tuples: no dict per row
        return cursor.execute(
            f"SELECT idx, {_MESSAGE_JSON} FROM messages WHERE {where} "
            f"ORDER BY idx {direction} LIMIT ?",
            (account_sid, conversation_sid, messages_url + "/", *keys, limit),
        ).fetchall()

    def messages_lines(self, conversation_id: int, after: int, limit: int, account_sid: str,
                       conversation_sid: str,
                       messages_url: str) -> list[tuple[int, str | None, str | None]]:
        """Oldest first, after index `after`: (idx, line, JSON) for each message, `line` the
        text `--all --json` writes (`_MESSAGE_LINE`) or, when SQLite cannot render it,
        None and `JSON` the resource as `messages_page_json` renders it. A plain message
        costs one printf() in SQLite and no Python object but its tuple."""
        cursor = self.db.cursor()
        cursor.row_factory = None
        return cursor.execute(
            f"SELECT idx, CASE WHEN {_PLAIN_MESSAGE} THEN {_MESSAGE_LINE} END, "
            f"CASE WHEN NOT ({_PLAIN_MESSAGE}) THEN {_MESSAGE_JSON} END "
            "FROM messages WHERE conversation_id = ?4 AND idx > ?5 ORDER BY idx LIMIT ?6",
            (account_sid, conversation_sid, messages_url + "/", conversation_id, after, limit,
             json.dumps(account_sid), json.dumps(conversation_sid)),
        ).fetchall()

    # Users

    def user(self, column: str, value: str) -> Row | None:
        assert column in ("sid", "identity")
        return self.one(f"SELECT * FROM users WHERE {column} = ?", value)

    def users_page(self, after_id: int, limit: int) -> list[Row]:
        return self.all("SELECT * FROM users WHERE id > ? ORDER BY id LIMIT ?", after_id, limit)


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row)}
