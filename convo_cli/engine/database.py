"""Opening the engine's SQLite file: created with its directory when missing, read-only when
it cannot be written (a 0444 file, a read-only directory or mount), and otherwise one line,
naming the path, that says why it cannot be used (exit 1). Never an exception's class name.

A WAL database is read through its `-shm` index. A reader that may not write must not leave
one behind (it would be created read-only and stop the owner's next write), and in a
read-only directory cannot create one: with no `-shm` there is no writer at work, so the
file alone is the whole database and is opened `immutable`.
"""

from __future__ import annotations

import os
import sqlite3
from urllib.parse import quote

from convo_cli.errors import ConvoError


class UnusableDatabase(ConvoError):
    """The database file (or its directory) cannot be used; the message names the path."""


def connect(path: str, busy_timeout_ms: int) -> tuple[sqlite3.Connection, bool]:
    """A connection to the database at `path`, and whether it is read-only."""
    if path == ":memory:":
        return _open(path, busy_timeout_ms), False
    path = os.path.abspath(path)
    _make_directory(os.path.dirname(path))
    if os.path.isdir(path):
        raise UnusableDatabase(f"{path} is a directory, not a convo database")
    _create_private(path)
    if os.path.exists(path) and not _writable(path):
        return _open_read_only(path, busy_timeout_ms), True
    db = None
    try:
        db = _open(path, busy_timeout_ms)
        db.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error as error:
        if db is not None:
            db.close()
        if not _read_only_error(error) or not os.path.exists(path):
            raise unusable(path, error) from None
        return _open_read_only(path, busy_timeout_ms), True  # a read-only mount, even for root
    return db, False


def _create_private(path: str) -> None:
    """A new database file is created 0600 (messages are private), before SQLite opens it:
    SQLite gives its -wal and -shm files the database file's mode. An existing file keeps
    the mode its owner gave it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass  # it exists, or SQLite's own open names the problem (no permission…)


def check_version(db: sqlite3.Connection, path: str, known: int, *, read_only: bool) -> int:
    """The file's schema version, when this convo can use it (migrating is the caller's)."""
    cursor = db.cursor()
    cursor.row_factory = None  # plain tuples, whatever the connection's factory
    try:
        version = cursor.execute("PRAGMA user_version").fetchone()[0]
        tables = cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                "name NOT LIKE 'sqlite_%'").fetchone()[0]
    except sqlite3.Error as error:
        raise unusable(path, error) from None
    if version > known:
        raise UnusableDatabase(f"{path} was written by a newer convo (schema version "
                               f"{version}; this one knows up to {known}): upgrade convo")
    if version == 0 and tables:
        raise UnusableDatabase(f"{path} is not a convo database (it holds another "
                               "program's tables)")
    if version < known and read_only:
        what = "is empty" if version == 0 else f"is from an older convo (schema version {version})"
        raise UnusableDatabase(f"{path} {what} and read-only: open it once with write access")
    return version


def _open(target: str, busy_timeout_ms: int, *, uri: bool = False) -> sqlite3.Connection:
    # Autocommit mode: transactions are explicit (`Store.write()`), so a reader never holds
    # a lock longer than one statement.
    db = sqlite3.connect(target, isolation_level=None, check_same_thread=False, uri=uri)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return db


def _open_read_only(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    shm, wal = f"{path}-shm", f"{path}-wal"
    immutable = not os.path.exists(shm) and _size(wal) == 0
    options = "mode=ro&immutable=1" if immutable else "mode=ro"
    db = None
    try:
        db = _open(f"file:{quote(path)}?{options}", busy_timeout_ms, uri=True)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the file now
    except sqlite3.Error as error:
        if db is not None:
            db.close()
        cannot = _read_only_error(error) or error.sqlite_errorname == "SQLITE_CANTOPEN"
        if cannot and not immutable and os.access(path, os.R_OK):
            raise UnusableDatabase(f"{path} is read-only and its changes in {wal} cannot be "
                                   "read without write access to its directory") from None
        raise unusable(path, error) from None
    return db


def _make_directory(directory: str) -> None:
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        in_the_way = directory
        while os.path.dirname(in_the_way) != in_the_way and not os.path.exists(in_the_way):
            in_the_way = os.path.dirname(in_the_way)
        if in_the_way == directory:
            raise UnusableDatabase(f"the data directory {directory} is a file, not a "
                                   "directory") from None
        raise UnusableDatabase(f"cannot create the data directory {directory}: {in_the_way} "
                               "is a file, not a directory") from None
    except OSError as error:
        raise UnusableDatabase(f"cannot create the data directory {directory}: "
                               f"{_reason(error)}") from None


def unusable(path: str, error: sqlite3.Error) -> UnusableDatabase:
    name = getattr(error, "sqlite_errorname", "")
    directory = os.path.dirname(path)
    if name == "SQLITE_NOTADB":
        why = f"{path} is not a convo database (not an SQLite file)"
    elif name == "SQLITE_CORRUPT":
        why = f"{path} is damaged ({error})"
    elif name == "SQLITE_CANTOPEN" and not os.path.exists(path):
        why = f"cannot create {path}: {directory} is not writable"
    elif name == "SQLITE_CANTOPEN" and not os.access(path, os.R_OK):
        why = f"cannot read {path}: permission denied"
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        why = f"{path} is locked by another program; try again"
    elif name == "SQLITE_FULL":
        why = f"cannot write {path}: the disk is full"
    else:
        why = f"cannot use {path}: {error}"
    return UnusableDatabase(why)


def _read_only_error(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorname", "").startswith("SQLITE_READONLY")


def _writable(path: str) -> bool:
    """Whether this process may change the file and its `-wal` and `-shm` (creating them
    needs the directory; existing ones need only their own permission)."""
    if not os.access(path, os.W_OK):
        return False
    return os.access(os.path.dirname(path), os.W_OK) or all(
        os.access(f"{path}{suffix}", os.W_OK) for suffix in ("-wal", "-shm"))


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _reason(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)
