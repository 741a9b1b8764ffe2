"""Every test runs in its own user directories, with no credentials from the machine."""

from __future__ import annotations

import os
import time

import pytest

from engine_helpers import EngineClient
# The real Secret Service, for any test that asks for `real_keyring`.
from keyring_helpers import real_keyring, secret_service  # noqa: F401


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        # A machine's proxy settings would route the loopback servers of the tests too.
        if name.startswith(("TWILIO_", "CONVO_")) or name in ("NO_COLOR", "FORCE_COLOR") or \
                name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("CONVO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CONVO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONVO_CACHE_DIR", str(tmp_path / "cache"))
    # A credentials test that wants a real keyring sets its own backend; nothing else may
    # touch the machine's keyring.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    return tmp_path


@pytest.fixture
def client(tmp_path):
    """The engine on a fresh database, spoken to in Twilio's wire format (the engine tests)."""
    engine = EngineClient(tmp_path / "engine.db")
    yield engine
    engine.close()


@pytest.fixture
def utc(monkeypatch):
    """Local time is UTC, for exact times on a terminal."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One `convo serve` process for a module's tests (tests/server_helpers.py)."""
    from server_helpers import start_server

    server = start_server(tmp_path_factory.mktemp("served") / "served.db")
    yield server
    assert server.stop() == 0, server.log()
