"""The config file: round trip, modes, atomic replacement, clear errors for a corrupt file."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from convo_cli import config as cfg
from convo_cli.config import Config, ConfigError, ConfigWriteError, ProfileConfig
from convo_cli.errors import ExitCode, describe

SID = "AC" + "0" * 32
TEAM = ProfileConfig("team", "server", "http://127.0.0.1:8080", SID, identity="alice")
PROD = ProfileConfig("prod", "twilio", account_sid=SID, api_key="SK" + "1" * 32,
                     service_sid="IS" + "2" * 32, identity='bob "the" \\ \t\u00e9',
                     insecure_storage=True)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_fresh_install_has_no_file_and_no_profiles(tmp_path):
    assert cfg.load_config(os.environ) == Config()
    assert not (tmp_path / "config").exists()  # reading never creates anything


def test_round_trip_of_every_field_and_awkward_strings():
    config = Config("prod", {"team": TEAM, "prod": PROD})
    path = cfg.save_config(config, os.environ)
    loaded = cfg.load_config(os.environ)
    assert loaded.active == "prod"
    assert dict(loaded.profiles) == {"team": TEAM, "prod": PROD}
    text = path.read_text()
    assert 'kind = "server"' in text and "insecure_storage = true" in text
    assert "insecure_storage" not in text.split("[profiles.\"team\"]")[1]  # false is omitted


def test_file_is_0600_in_a_0700_directory(tmp_path):
    previous = os.umask(0)  # the modes must not depend on a careful umask
    try:
        path = cfg.save_config(Config("team", {"team": TEAM}), os.environ)
    finally:
        os.umask(previous)
    assert path == tmp_path / "config" / "config.toml"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    cfg.save_config(Config(None, {"team": TEAM}), os.environ)  # a rewrite keeps the mode
    assert mode(path) == 0o600


def test_platformdirs_location_without_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv("CONVO_CONFIG_DIR")
    assert cfg.config_path(os.environ) == tmp_path / "home" / ".config" / "convo" / "config.toml"


def saved_twice():
    cfg.save_config(Config("team", {"team": TEAM}), os.environ)
    return cfg.config_path(os.environ).read_bytes()


def test_a_crash_half_way_through_a_write_leaves_the_old_file(monkeypatch, tmp_path):
    before = saved_twice()

    def crash_half_way(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(cfg, "_write_all", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        cfg.save_config(Config("prod", {"team": TEAM, "prod": PROD}), os.environ)
    assert cfg.config_path(os.environ).read_bytes() == before
    assert os.listdir(tmp_path / "config") == ["config.toml"]  # no stray temp file


def test_a_full_disk_leaves_the_old_file_and_says_so(monkeypatch, tmp_path):
    before = saved_twice()

    def disk_full(fd: int, data: bytes) -> None:
        os.write(fd, data[:10])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cfg, "_write_all", disk_full)
    with pytest.raises(ConfigWriteError) as caught:
        cfg.save_config(Config("prod", {"team": TEAM, "prod": PROD}), os.environ)
    path = cfg.config_path(os.environ)
    assert str(caught.value) == (f"cannot write {path}: No space left on device; "
                                 "the previous file is unchanged")
    assert describe(caught.value)[1] == ExitCode.FAILURE
    assert path.read_bytes() == before
    assert os.listdir(tmp_path / "config") == ["config.toml"]


def test_a_failed_first_write_leaves_nothing(monkeypatch, tmp_path):
    def disk_full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cfg, "_write_all", disk_full)
    with pytest.raises(ConfigWriteError):
        cfg.save_config(Config("team", {"team": TEAM}), os.environ)
    assert os.listdir(tmp_path / "config") == []


def write_config(text: str):
    path = cfg.config_path(os.environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, complaint", [
    ("active_profile = [", "is not valid TOML"),
    ("active_profile = 3", "active_profile must be a string"),
    ("profiles = 1", "[profiles] must be a table"),
    ('[profiles.team]\nkind = "ftp"', "profile 'team': kind must be one of local, server, twilio"),
    ('[profiles.team]\nkind = "server"\naccount_sid = "AC1"', "a server profile needs base_url"),
    ('[profiles.t]\nkind = "twilio"', "profile 't': a twilio profile needs account_sid"),
    ('[profiles.t]\nkind = "local"\ninsecure_storage = "yes"', "insecure_storage must be a bool"),
    ('[profiles."a b"]\nkind = "local"', "profile 'a b' must be a table with a valid name"),
])
def test_a_corrupt_file_is_a_clear_error_naming_it(text, complaint):
    path = write_config(text)
    with pytest.raises(ConfigError) as caught:
        cfg.load_config(os.environ)
    message, code = describe(caught.value)
    assert str(path) in message and complaint in message
    assert "Traceback" not in message
    assert code == ExitCode.USAGE


def test_a_file_that_is_not_utf8_is_a_clear_error():
    path = cfg.config_path(os.environ)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe junk")
    with pytest.raises(ConfigError, match=f"cannot read config file {path}"):
        cfg.load_config(os.environ)


def test_unknown_keys_are_ignored_and_dropped_on_rewrite():
    # A secret pasted into the file by hand is never carried into the next version of it.
    write_config('[profiles.team]\nkind = "server"\nbase_url = "http://h:1"\n'
                 f'account_sid = "{SID}"\nauth_token = "hunter2"\n')
    config = cfg.load_config(os.environ)
    assert config.profiles["team"] == ProfileConfig("team", "server", "http://h:1", SID)
    path = cfg.save_config(config, os.environ)
    assert "hunter2" not in path.read_text()


def test_edits_are_pure_and_removing_the_active_profile_clears_it():
    config = cfg.with_active(cfg.with_profile(Config(), TEAM), "team")
    assert config == Config("team", {"team": TEAM})
    assert cfg.without_profile(config, "team") == Config(None, {})
    assert cfg.without_profile(cfg.with_profile(config, PROD), "prod") == config


@pytest.mark.parametrize("name", ["", "a b", "-x", "x" * 65, "(environment)", "é"])
def test_profile_names_are_checked(name):
    with pytest.raises(cfg.UsageError):
        cfg.check_profile_name(name)
