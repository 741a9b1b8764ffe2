"""A data directory or database that cannot be used: one line naming the path and what is
wrong, exit 1, no exception class names. A database that may not be written is still read.

Permissions mean nothing to root, so when the tests run as root the read-only cases run
convo in a user namespace of its own, where file modes apply to it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import convo

PYTHON_NAMES = ("Traceback", "Error:", "Exception", "errno", "sqlite3.")


def clean_failure(result, line: str) -> None:
    """Exit 1 and exactly this one line on standard error."""
    assert (result.code, result.out, result.err) == (1, "", f"convo: error: {line}\n")


def test_a_data_directory_that_is_a_file(tmp_path):
    (tmp_path / "data").write_text("not a directory")
    clean_failure(convo("list"), f"the data directory {tmp_path / 'data'} is a file, not a "
                  "directory")
    nested = tmp_path / "data" / "deeper"
    clean_failure(convo("list", CONVO_DATA_DIR=str(nested)),
                  f"cannot create the data directory {nested}: {tmp_path / 'data'} is a file, "
                  "not a directory")


def test_a_database_that_is_a_text_file_or_a_directory(tmp_path):
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "local.db"
    db.write_text("hello, I am a text file\n" * 20)
    clean_failure(convo("list"), f"{db} is not a convo database (not an SQLite file)")
    assert db.read_text().startswith("hello")  # untouched
    db.unlink()
    db.mkdir()
    clean_failure(convo("messages", "x"), f"{db} is a directory, not a convo database")


def test_another_programs_sqlite_database_is_left_alone(tmp_path):
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "local.db"
    with sqlite3.connect(db) as other:
        other.execute("CREATE TABLE bookmarks (url TEXT)")
    clean_failure(convo("list"), f"{db} is not a convo database (it holds another program's "
                  "tables)")
    with sqlite3.connect(db) as other:
        assert [r[0] for r in other.execute("SELECT name FROM sqlite_master")] == ["bookmarks"]


def test_a_database_from_a_newer_convo_is_refused_not_used(tmp_path):
    assert convo("create", "--unique-name", "room").code == 0
    db = tmp_path / "data" / "local.db"
    with sqlite3.connect(db) as newer:
        newer.execute("PRAGMA user_version = 99")
    from convo_cli.engine.store import MIGRATIONS

    line = (f"{db} was written by a newer convo (schema version 99; this one knows up to "
            f"{len(MIGRATIONS)}): upgrade convo")
    clean_failure(convo("messages", "room"), line)
    clean_failure(convo("send", "room", "hi"), line)


def test_a_damaged_database_is_named_and_no_traceback_is_printed(tmp_path):
    assert convo("create", "--unique-name", "room").code == 0
    assert convo("join", "room").code == 0
    for n in range(40):
        assert convo("send", "room", f"{n} " + "x" * 3000).code == 0
    db = tmp_path / "data" / "local.db"
    with sqlite3.connect(db) as owner:
        owner.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(db, "r+b") as file:  # overwrite pages in the middle of the file
        file.seek(4096 * 3)
        file.write(b"\xff" * 4096 * 4)
    result = convo("messages", "room", "--all")
    assert result.code == 1
    assert result.err.endswith(f"convo: error: {db} is damaged (database disk image is "
                               "malformed)\n")
    assert result.err.count("\n") == 1
    debug = convo("--debug", "messages", "room", "--all")
    assert debug.code == 1 and "Traceback" in debug.err  # the details, when asked for


def test_serve_names_a_database_it_cannot_use(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("just notes\n")
    clean_failure(convo("serve", "--port", "0", "--db", str(text)),
                  f"{text} is not a convo database (not an SQLite file)")


# As a user without write access.

def without_privileges() -> None:
    """In the child, before convo starts: as root, enter a new user namespace, where root's
    privileges over the files on disk are gone and their modes apply (it still owns them)."""
    if os.geteuid() == 0:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER) failed")


def run_unprivileged(*argv: str, data: Path | None = None) -> subprocess.CompletedProcess:
    """`convo ARGV…` as a process to which file permissions apply."""
    env = dict(os.environ)
    if data is not None:
        env["CONVO_DATA_DIR"] = str(data)
    try:
        return subprocess.run([sys.executable, "-m", "convo_cli", *argv], env=env,
                              capture_output=True, text=True, timeout=60,
                              preexec_fn=without_privileges)
    except subprocess.SubprocessError as error:  # no user namespaces on this machine
        pytest.skip(f"cannot drop root's privileges here: {error}")


def owned_database(tmp_path: Path) -> Path:
    """The data directory, with `room`, alice in it and one message."""
    for argv in (["create", "--unique-name", "room"], ["join", "room"],
                 ["send", "room", "hello"]):
        assert convo(*argv).code == 0
    return tmp_path / "data"


def no_python(result: subprocess.CompletedProcess) -> None:
    assert not any(name in result.stderr for name in PYTHON_NAMES), result.stderr


def test_a_read_only_database_file_is_read_and_refuses_writes_clearly(tmp_path):
    data = owned_database(tmp_path)
    db = data / "local.db"
    db.chmod(0o444)
    listed = run_unprivileged("messages", "room")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout.split("\t")[2:] == ["alice", "hello\n"]
    assert run_unprivileged("participants", "room").returncode == 0
    assert run_unprivileged("list", "--json").returncode == 0
    sent = run_unprivileged("send", "room", "more")
    assert (sent.returncode, sent.stdout) == (1, "")
    assert sent.stderr == f"convo: error: {db} is read-only: convo can read it but not " \
                          "change it\n"
    # Reading left nothing behind that would stop the owner once the file is writable again.
    db.chmod(0o644)
    assert not (data / "local.db-shm").exists()
    again = run_unprivileged("send", "room", "more")
    assert again.returncode == 0, again.stderr


def test_a_read_only_data_directory_is_read_and_refuses_writes_clearly(tmp_path):
    data = owned_database(tmp_path)
    data.chmod(0o555)
    listed = run_unprivileged("messages", "room", "--json")
    assert listed.returncode == 0, listed.stderr
    no_python(listed)
    created = run_unprivileged("create", "--unique-name", "other")
    assert (created.returncode, created.stdout) == (1, "")
    assert created.stderr == f"convo: error: {data / 'local.db'} is read-only: convo can " \
                             "read it but not change it\n"


def test_a_database_that_cannot_be_created_or_read(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o555)
    made = run_unprivileged("list")
    assert (made.returncode, made.stderr) == (
        1, f"convo: error: cannot create {data / 'local.db'}: {data} is not writable\n")
    data.chmod(0o755)
    owned_database(tmp_path)
    (data / "local.db").chmod(0)
    unreadable = run_unprivileged("list")
    assert (unreadable.returncode, unreadable.stderr) == (
        1, f"convo: error: cannot read {data / 'local.db'}: permission denied\n")


def test_a_data_directory_that_cannot_be_created(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir(mode=0o555)
    result = run_unprivileged("list", data=parent / "data")
    assert (result.returncode, result.stderr) == (
        1, f"convo: error: cannot create the data directory {parent / 'data'}: "
           "permission denied\n")


def test_an_unexpected_failure_is_a_plain_line():
    from convo_cli.errors import ExitCode, describe

    for error, line in ((KeyError("x"), "unexpected internal failure; run again with --debug "
                         "for the details"),
                        (ValueError("bad thing"), "unexpected internal failure (bad thing); "
                         "run again with --debug for the details"),
                        (PermissionError(13, "Permission denied", "/x/y"),
                         "/x/y: permission denied"),
                        (RecursionError("maximum recursion depth exceeded"),
                         "the input is nested too deeply to process")):
        message, code = describe(error)
        assert (message, code) == (line, ExitCode.FAILURE)
        assert type(error).__name__ not in message


def test_a_read_only_reader_sees_what_a_running_writer_has_not_checkpointed(tmp_path):
    """With a writer at work (its -wal and -shm beside the file), a read-only reader goes
    through them, and so sees the latest messages."""
    from convo_cli.api import Client
    from convo_cli.engine.inprocess import InProcessTransport

    data = owned_database(tmp_path)
    writer = Client(InProcessTransport(str(data / "local.db")))
    try:
        writer.send_message(writer.fetch_conversation("room").sid, body="fresh", author="bob")
        assert (data / "local.db-wal").stat().st_size > 0
        (data / "local.db").chmod(0o444)
        listed = run_unprivileged("messages", "room")
        assert listed.returncode == 0, listed.stderr
        assert [row.split("\t")[3] for row in listed.stdout.splitlines()] == ["hello", "fresh"]
    finally:
        writer.close()


def test_an_engine_failure_in_process_is_one_line_and_its_traceback_only_with_debug(
        monkeypatch):
    """A bug in the engine (simulated: nothing else produces one) answers 500 when served;
    in-process the user sees one plain line, and the traceback with --debug."""
    from convo_cli.engine.service import Service

    assert convo("create", "--unique-name", "room").code == 0

    def broken(self, key):  # type: ignore[no-untyped-def]
        raise ValueError("an invariant did not hold")

    monkeypatch.setattr(Service, "conversation", broken)
    clean_failure(convo("messages", "room"), "unexpected internal failure (an invariant did "
                  "not hold); run again with --debug for the details")
    debug = convo("--debug", "messages", "room")
    assert debug.code == 1 and debug.err.count("Traceback (most recent call last)") == 1
    assert "ValueError: an invariant did not hold" in debug.err


def test_the_engine_answers_503_when_its_database_turns_read_only(client):
    """Served, a write the file refuses is the service being unavailable, not a 500."""
    assert client.post("/v1/Conversations", {"UniqueName": "room"}).status == 201
    client.engine.store.db.execute("PRAGMA query_only = ON")  # as a read-only remount does
    refused = client.post("/v1/Conversations", {"UniqueName": "other"})
    assert (refused.status, refused.code) == (503, 20503)
    assert refused.body["message"] == "Service Unavailable: the database is read-only"
    assert client.get("/v1/Conversations/room").status == 200


def test_a_read_only_directory_with_a_writer_at_work_still_takes_writes(tmp_path):
    """The -wal and -shm exist and may be written: the directory's mode does not matter."""
    from convo_cli.api import Client
    from convo_cli.engine.inprocess import InProcessTransport

    data = owned_database(tmp_path)
    writer = Client(InProcessTransport(str(data / "local.db")))
    try:
        writer.fetch_conversation("room")
        data.chmod(0o555)
        sent = run_unprivileged("send", "room", "through the wal")
        assert sent.returncode == 0, sent.stderr
        bodies = [m.body for m in writer.list_messages(writer.fetch_conversation("room").sid)]
        assert bodies == ["hello", "through the wal"]
    finally:
        data.chmod(0o755)
        writer.close()
