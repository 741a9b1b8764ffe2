"""Secrets through a real Secret Service (gnome-keyring on a private D-Bus), the no-keyring
path, the insecure file opt-in, and the keyring timeout."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from convo_cli import credentials
from convo_cli.config import ProfileConfig
from convo_cli.credentials import CredentialsError, KeyringUnavailable
from convo_cli.errors import ExitCode, describe
from keyring_helpers import files_containing

SID = "AC" + "a" * 32
TEAM = ProfileConfig("team", "server", "http://127.0.0.1:8080", SID, identity="alice")
SECRET = "tok-3f9c1d7e5b2a4c6e8f0a1b2c3d4e5f60"


def user_dirs(tmp_path: Path) -> list[Path]:
    return [tmp_path / "config", tmp_path / "data", tmp_path / "cache", tmp_path / "home"]


def test_store_read_delete_through_a_real_secret_service(real_keyring, tmp_path):
    import keyring

    assert credentials.store_secret(TEAM, SECRET, os.environ) == "keyring"
    assert credentials.read_secret(TEAM, os.environ) == SECRET
    assert credentials.has_secret(TEAM, os.environ)
    # It is really in the Secret Service, under the documented names.
    backend = credentials.load_backend(os.environ)
    assert type(backend).__module__ == "keyring.backends.SecretService"
    assert backend.get_password("convo:team", SID) == SECRET
    assert keyring.get_password("convo:team", SID) in (None, SECRET)  # global one: untouched
    assert files_containing(SECRET, *user_dirs(tmp_path)) == []
    # gnome-keyring keeps it encrypted on disk.
    assert files_containing(SECRET, real_keyring.home) == []

    assert credentials.delete_secret(TEAM, os.environ) is True
    assert credentials.delete_secret(TEAM, os.environ) is False
    assert not credentials.has_secret(TEAM, os.environ)
    with pytest.raises(CredentialsError) as caught:
        credentials.read_secret(TEAM, os.environ)
    assert describe(caught.value) == (
        "no secret stored for profile 'team'; run: convo login --profile team", ExitCode.AUTH)


def test_profiles_have_separate_entries(real_keyring):
    other = TEAM._replace(name="other")
    credentials.store_secret(TEAM, "one", os.environ)
    credentials.store_secret(other, "two", os.environ)
    assert credentials.read_secret(TEAM, os.environ) == "one"
    assert credentials.read_secret(other, os.environ) == "two"
    credentials.delete_secret(other, os.environ)
    assert credentials.read_secret(TEAM, os.environ) == "one"
    credentials.delete_secret(TEAM, os.environ)


def test_an_api_key_profile_is_stored_under_the_key_sid(real_keyring):
    keyed = TEAM._replace(name="keyed", api_key="SK" + "b" * 32)
    credentials.store_secret(keyed, SECRET, os.environ)
    backend = credentials.load_backend(os.environ)
    assert backend.get_password("convo:keyed", "SK" + "b" * 32) == SECRET
    assert backend.get_password("convo:keyed", SID) is None
    credentials.delete_secret(keyed, os.environ)


def assert_no_keyring_error(error: BaseException) -> None:
    """TEAM is a convo serve profile: the TWILIO_* variables would send its calls to Twilio."""
    message, code = describe(error)
    assert code == ExitCode.AUTH == 4
    assert "--insecure-storage" in message
    assert "TWILIO_" not in message
    assert "Secret Service such as gnome-keyring" in message
    assert "Error" not in message and "Exception" not in message


def test_the_fail_backend_is_a_clear_error_and_nothing_is_written(tmp_path):
    # conftest sets PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring, as on a bare server.
    with pytest.raises(KeyringUnavailable) as caught:
        credentials.store_secret(TEAM, SECRET, os.environ)
    assert_no_keyring_error(caught.value)
    assert str(caught.value).startswith("no usable OS keyring was found; add --insecure-storage "
                                        "to keep the secret in a 0600 file instead; or run a "
                                        "Secret Service")
    assert SECRET not in str(caught.value)
    assert not (tmp_path / "config").exists()
    assert files_containing(SECRET, tmp_path) == []
    with pytest.raises(KeyringUnavailable) as caught:
        credentials.read_secret(TEAM, os.environ)
    assert "log in again adding --insecure-storage" in str(caught.value)


def test_without_a_keyring_a_twilio_profile_is_also_told_of_the_environment():
    twilio = ProfileConfig("prod", "twilio", None, SID)
    with pytest.raises(KeyringUnavailable) as caught:
        credentials.store_secret(twilio, SECRET, os.environ)
    assert str(caught.value) == (
        "no usable OS keyring was found; add --insecure-storage to keep the secret in a 0600 "
        "file instead; or skip login and set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or "
        "TWILIO_API_KEY and TWILIO_API_SECRET) in the environment; or run a Secret Service "
        "such as gnome-keyring (headless: printf PASSWORD | gnome-keyring-daemon --unlock "
        "--components=secrets, inside dbus-run-session)")
    with pytest.raises(KeyringUnavailable) as caught:
        credentials.read_secret(twilio, os.environ)
    assert "; or set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in str(caught.value)


def test_no_dbus_session_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-bus")
    with pytest.raises(KeyringUnavailable) as caught:
        credentials.store_secret(TEAM, SECRET, os.environ, timeout=30)
    assert_no_keyring_error(caught.value)
    assert str(caught.value).startswith("the OS keyring is unusable (")


class HangingKeyring(KeyringBackend):
    """A daemon that never answers (until the test releases it)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def _hang(self) -> None:
        self.entered.set()
        self.release.wait(60)

    def get_password(self, service: str, username: str) -> str | None:
        self._hang()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._hang()

    def delete_password(self, service: str, username: str) -> None:
        self._hang()


def test_a_hung_keyring_is_an_error_not_a_hang():
    backend = HangingKeyring()
    try:
        with pytest.raises(KeyringUnavailable) as caught:
            credentials.read_secret(TEAM, os.environ, backend=backend, timeout=0.2)
        assert backend.entered.is_set()
        assert str(caught.value).startswith("the OS keyring did not answer within 0.2 s; ")
        assert_no_keyring_error(caught.value)
    finally:
        backend.release.set()


def test_a_locked_keyring_names_the_fixes():
    from keyring.errors import KeyringLocked

    class Locked(HangingKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise KeyringLocked("Failed to unlock the collection!")

    with pytest.raises(KeyringUnavailable) as caught:
        credentials.read_secret(TEAM, os.environ, backend=Locked())
    assert str(caught.value).startswith("the OS keyring is locked; ")


def test_insecure_storage_is_a_0600_file_outside_the_config_with_a_warning(tmp_path):
    profile = TEAM._replace(insecure_storage=True)
    # Works with the fail backend: the keyring is never asked.
    assert credentials.store_secret(profile, SECRET, os.environ) == "insecure file"
    path = tmp_path / "config" / "insecure-secrets" / "team"
    assert path.read_text() == SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    warnings: list[str] = []
    assert credentials.read_secret(profile, os.environ, warn=warnings.append) == SECRET
    assert credentials.read_secret(profile, os.environ, warn=warnings.append) == SECRET
    assert warnings == [f"warning: the secret of profile 'team' is stored unencrypted in {path} "
                        "(--insecure-storage)"] * 2
    assert credentials.has_secret(profile, os.environ)
    assert credentials.delete_secret(profile, os.environ) is True
    assert not path.exists()
    assert files_containing(SECRET, tmp_path) == []


@pytest.mark.parametrize("raw, secret", [("s3cret\n", "s3cret"), ("s3cret\r\n", "s3cret"),
                                         ("s3cret", "s3cret")])
def test_a_secret_from_standard_input_loses_one_newline(raw, secret):
    assert credentials.check_secret(raw) == secret


@pytest.mark.parametrize("raw", ["", "\n", "two\nlines", "tab\there"])
def test_an_empty_or_odd_secret_is_refused_without_echoing_it(raw):
    with pytest.raises(CredentialsError) as caught:
        credentials.check_secret(raw)
    assert str(caught.value) == "the secret is empty or contains control characters"


def test_the_scan_finds_a_leak(tmp_path):
    # The scan must be able to fail, or it proves nothing.
    leaky = tmp_path / "data" / "nested" / "x.json"
    leaky.parent.mkdir(parents=True)
    leaky.write_text('{"token": "%s"}' % SECRET)
    encoded = tmp_path / "config" / "alt.cfg"
    encoded.parent.mkdir()
    import base64

    encoded.write_bytes(b"password = " + base64.b64encode(SECRET.encode()))
    assert files_containing(SECRET, *user_dirs(tmp_path)) == [encoded, leaky]


def test_importing_the_modules_does_not_import_keyring():
    import subprocess
    import sys

    code = ("import sys, convo_cli.credentials, convo_cli.profiles, convo_cli.config; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('keyring', 'platformdirs', 'tomllib', 'secretstorage')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
