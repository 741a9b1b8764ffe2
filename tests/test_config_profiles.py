"""Which profile, which identity, where the secret comes from; and the profile operations
(login, logout, use, remove) on the real config file and a real Secret Service."""

from __future__ import annotations

import os

import pytest

from convo_cli import config as cfg
from convo_cli import profiles
from convo_cli.config import Config, ProfileConfig
from convo_cli.credentials import CredentialsError, KeyringUnavailable, load_backend
from convo_cli.errors import ExitCode, UsageError, describe
from keyring_helpers import files_containing

AC = "AC" + "1" * 32
AC2 = "AC" + "2" * 32
SK = "SK" + "3" * 32
TOKEN = "auth-token-0123456789abcdef0123"
KEY_SECRET = "key-secret-fedcba9876543210fedc"
TEAM = ProfileConfig("team", "server", "http://127.0.0.1:8080", AC, identity="carol")
PROD = ProfileConfig("prod", "twilio", account_sid=AC2, identity="dan")


def env(**values: str) -> dict[str, str]:
    return {**os.environ, **values}


def saved(active: str | None = None) -> None:
    cfg.save_config(Config(active, {"team": TEAM, "prod": PROD}), os.environ)


def test_a_fresh_install_is_the_local_profile_as_the_login_name(tmp_path):
    resolved = profiles.resolve(os.environ)
    assert (resolved.name, resolved.kind, resolved.selected_by) == ("local", "local", "default")
    assert (resolved.identity, resolved.identity_source) == ("alice", "login name")
    assert resolved.db_path == str(tmp_path / "data" / "local.db")
    assert (resolved.base_url, resolved.secret_source) == (None, None)
    assert profiles.secret_for(resolved, os.environ) is None


def test_profile_precedence_flag_env_twilio_env_active_default():
    saved(active="prod")
    twilio = {"TWILIO_ACCOUNT_SID": AC2, "TWILIO_AUTH_TOKEN": TOKEN}
    both = env(CONVO_PROFILE="team", **twilio)
    assert profiles.resolve(both, profile_flag="local").selected_by == "--profile"
    assert profiles.resolve(both, profile_flag="local").name == "local"
    assert (profiles.resolve(both).name, profiles.resolve(both).selected_by) == (
        "team", "CONVO_PROFILE")
    from_env = profiles.resolve(env(**twilio))
    assert (from_env.name, from_env.selected_by) == ("(environment)", "TWILIO_* environment")
    assert (profiles.resolve(os.environ).name, profiles.resolve(os.environ).selected_by) == (
        "prod", "active profile")


def test_identity_precedence():
    saved(active="team")
    assert profiles.resolve(os.environ)[2::7] == ("carol", "profile")  # identity, its source
    resolved = profiles.resolve(env(CONVO_IDENTITY="erin"))
    assert (resolved.identity, resolved.identity_source) == ("erin", "CONVO_IDENTITY")
    resolved = profiles.resolve(env(CONVO_IDENTITY="erin"), identity_flag="fay")
    assert (resolved.identity, resolved.identity_source) == ("fay", "--identity")
    # The login name is the local profile's default only.
    cfg.save_config(Config("bare", {"bare": TEAM._replace(name="bare", identity=None)}),
                    os.environ)
    assert profiles.resolve(os.environ)[2::7] == (None, None)
    assert profiles.resolve(os.environ, profile_flag="local").identity == "alice"


def test_the_twilio_environment_auth_token():
    resolved = profiles.resolve(env(TWILIO_ACCOUNT_SID=AC, TWILIO_AUTH_TOKEN=TOKEN,
                                    CONVO_IDENTITY="ci-bot"))
    assert resolved.kind == "twilio"
    assert resolved.base_url == "https://conversations.twilio.com"
    assert (resolved.account_sid, resolved.username) == (AC, AC)
    assert (resolved.secret_source, resolved.identity) == ("environment", "ci-bot")
    assert profiles.secret_for(resolved, env(TWILIO_ACCOUNT_SID=AC, TWILIO_AUTH_TOKEN=TOKEN)) \
        == TOKEN


def test_the_api_key_pair_wins_over_the_auth_token():
    variables = env(TWILIO_ACCOUNT_SID=AC, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_API_KEY=SK,
                    TWILIO_API_SECRET=KEY_SECRET)
    resolved = profiles.resolve(variables)
    assert (resolved.account_sid, resolved.username) == (AC, SK)
    assert profiles.secret_for(resolved, variables) == KEY_SECRET
    # Half a pair does not count: the auth token is used.
    half = env(TWILIO_ACCOUNT_SID=AC, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_API_KEY=SK)
    assert profiles.secret_for(profiles.resolve(half), half) == TOKEN


def test_an_incomplete_twilio_environment_is_an_error_not_a_silent_fallback():
    with pytest.raises(CredentialsError) as caught:
        profiles.resolve(env(TWILIO_ACCOUNT_SID=AC))
    assert describe(caught.value) == (
        "TWILIO_ACCOUNT_SID is set without TWILIO_AUTH_TOKEN "
        "(or TWILIO_API_KEY and TWILIO_API_SECRET)", ExitCode.AUTH)
    with pytest.raises(UsageError, match="TWILIO_ACCOUNT_SID is not an account SID"):
        profiles.resolve(env(TWILIO_ACCOUNT_SID="nope", TWILIO_AUTH_TOKEN=TOKEN))
    # Without TWILIO_ACCOUNT_SID a lone token means nothing: local as usual.
    assert profiles.resolve(env(TWILIO_AUTH_TOKEN=TOKEN)).name == "local"


def test_a_configured_profile_takes_its_own_accounts_secret_from_the_environment():
    saved()
    same = env(TWILIO_ACCOUNT_SID=AC, TWILIO_AUTH_TOKEN=TOKEN)
    team = profiles.resolve(same, profile_flag="team")
    assert (team.secret_source, profiles.secret_for(team, same)) == ("environment", TOKEN)
    # Another account's token is never sent to this profile's server.
    other = env(TWILIO_ACCOUNT_SID=AC2, TWILIO_AUTH_TOKEN=TOKEN)
    assert profiles.resolve(other, profile_flag="team").secret_source == "keyring"


def test_unknown_profiles_say_where_the_name_came_from(tmp_path):
    with pytest.raises(UsageError, match=r"^unknown profile 'nope'; see: convo profiles$"):
        profiles.resolve(os.environ, profile_flag="nope")
    with pytest.raises(UsageError, match=r"'nope' \(from CONVO_PROFILE\)"):
        profiles.resolve(env(CONVO_PROFILE="nope"))
    cfg.save_config(Config("gone", {}), os.environ)
    with pytest.raises(UsageError, match=r"'gone' \(the active profile in .*config.toml\)"):
        profiles.resolve(os.environ)


def test_a_corrupt_config_does_not_stop_the_twilio_environment():
    path = cfg.config_path(os.environ)
    path.parent.mkdir(parents=True)
    path.write_text("[[[")
    assert profiles.resolve(env(TWILIO_ACCOUNT_SID=AC, TWILIO_AUTH_TOKEN=TOKEN)).kind == "twilio"
    with pytest.raises(cfg.ConfigError):
        profiles.resolve(os.environ)


def test_local_can_carry_an_identity_and_other_local_profiles_their_own_database(tmp_path):
    cfg.save_config(Config("scratch", {"local": ProfileConfig("local", "local", identity="zed"),
                                       "scratch": ProfileConfig("scratch", "local")}),
                    os.environ)
    assert profiles.resolve(os.environ).db_path == str(tmp_path / "data" / "scratch.db")
    assert profiles.resolve(os.environ, profile_flag="local").identity == "zed"


@pytest.mark.parametrize("kwargs, complaint", [
    (dict(name="local", kind="twilio", account_sid=AC), "'local' is the built-in"),
    (dict(name="a b", kind="twilio", account_sid=AC), "invalid profile name"),
    (dict(name="t", kind="twilio", account_sid="AC12"), "--account-sid must be AC"),
    (dict(name="t", kind="twilio", account_sid=AC, api_key="SK1"), "--api-key must be SK"),
    (dict(name="t", kind="twilio", account_sid=AC, service_sid="MG1"), "--service must be IS"),
    (dict(name="t", kind="server", account_sid=AC, base_url="ftp://x"), "--server must be"),
    (dict(name="t", kind="server", account_sid=AC, base_url="http://h/v1"), "--server must be"),
    (dict(name="t", kind="local", account_sid=AC), "not 'local'"),
])
def test_login_options_are_checked_before_anything_is_stored(kwargs, complaint, tmp_path):
    with pytest.raises(UsageError, match=complaint):
        profiles.build_profile(**kwargs)


def test_build_profile_normalises():
    assert profiles.build_profile("team", kind="server", account_sid=AC,
                                  base_url="http://127.0.0.1:8080/") == \
        ProfileConfig("team", "server", "http://127.0.0.1:8080", AC)
    for blank in ("", "  "):
        with pytest.raises(UsageError, match="--identity is blank"):
            profiles.build_profile("team", kind="server", account_sid=AC,
                                   base_url="http://127.0.0.1:8080", identity=blank)
    assert profiles.build_profile("p", kind="twilio", account_sid=AC,
                                  base_url="http://ignored").base_url is None


def test_login_use_whoami_logout_remove_on_a_real_keyring(real_keyring, tmp_path):
    team = profiles.build_profile("team", kind="server", account_sid=AC,
                                  base_url="http://127.0.0.1:8080", identity="carol")
    assert profiles.login(team, TOKEN + "\n", os.environ) == "keyring"
    assert cfg.load_config(os.environ) == Config(None, {"team": team})  # not made active
    assert profiles.list_profiles(os.environ) == [
        (ProfileConfig("local", "local"), True), (team, False)]
    profiles.use("team", os.environ)
    assert [active for _, active in profiles.list_profiles(os.environ)] == [False, True]

    resolved = profiles.resolve(os.environ)
    assert (resolved.name, resolved.secret_source) == ("team", "keyring")
    assert profiles.secret_for(resolved, os.environ) == TOKEN
    record = profiles.whoami(resolved, os.environ)
    assert record == {
        "profile": "team", "kind": "server", "selected_by": "active profile",
        "base_url": "http://127.0.0.1:8080", "identity": "carol", "identity_source": "profile",
        "account_sid": AC, "username": AC, "service_sid": None, "service_source": None,
        "secret_source": "keyring", "secret_stored": True}
    assert files_containing(TOKEN, tmp_path / "config", tmp_path / "data", tmp_path / "home") \
        == []

    assert profiles.logout("team", os.environ) is True
    assert profiles.logout("team", os.environ) is False
    assert profiles.whoami(resolved, os.environ)["secret_stored"] is False
    with pytest.raises(CredentialsError, match="run: convo login --profile team"):
        profiles.secret_for(resolved, os.environ)

    profiles.login(team, TOKEN, os.environ)
    profiles.remove("team", os.environ)
    assert cfg.load_config(os.environ) == Config(None, {})
    assert profiles.resolve(os.environ).name == "local"
    assert load_backend(os.environ).get_password("convo:team", AC) is None


def test_login_again_with_another_key_moves_the_secret(real_keyring):
    first = profiles.build_profile("prod", kind="twilio", account_sid=AC)
    second = profiles.build_profile("prod", kind="twilio", account_sid=AC, api_key=SK)
    profiles.login(first, TOKEN, os.environ, activate=True)
    profiles.login(second, KEY_SECRET, os.environ)
    backend = load_backend(os.environ)
    assert backend.get_password("convo:prod", AC) is None
    assert backend.get_password("convo:prod", SK) == KEY_SECRET
    assert cfg.load_config(os.environ) == Config("prod", {"prod": second})
    profiles.remove("prod", os.environ)


def test_login_without_a_keyring_fails_with_exit_4_and_writes_nothing(tmp_path):
    team = profiles.build_profile("team", kind="server", account_sid=AC,
                                  base_url="http://127.0.0.1:8080")
    with pytest.raises(KeyringUnavailable) as caught:
        profiles.login(team, TOKEN, os.environ)
    assert describe(caught.value)[1] == ExitCode.AUTH
    assert not (tmp_path / "config").exists()


def test_login_with_insecure_storage_works_without_a_keyring_and_warns(tmp_path):
    team = profiles.build_profile("team", kind="server", account_sid=AC,
                                  base_url="http://127.0.0.1:8080", insecure_storage=True)
    assert profiles.login(team, TOKEN, os.environ) == "insecure file"
    assert TOKEN not in cfg.config_path(os.environ).read_text()
    warnings: list[str] = []
    resolved = profiles.resolve(os.environ, profile_flag="team")
    assert resolved.secret_source == "insecure file"
    assert profiles.secret_for(resolved, os.environ, warn=warnings.append) == TOKEN
    assert len(warnings) == 1 and "stored unencrypted" in warnings[0]
    assert files_containing(TOKEN, tmp_path / "config") == [
        tmp_path / "config" / "insecure-secrets" / "team"]
    profiles.remove("team", os.environ)
    assert files_containing(TOKEN, tmp_path) == []


def test_a_config_write_failure_during_login_takes_the_new_secret_back(monkeypatch, tmp_path):
    import errno

    team = profiles.build_profile("team", kind="server", account_sid=AC,
                                  base_url="http://127.0.0.1:8080", insecure_storage=True)

    def disk_full(fd: int, data: bytes) -> None:
        if b"[profiles" in data:
            raise OSError(errno.ENOSPC, "No space left on device")
        os.write(fd, data)

    monkeypatch.setattr(cfg, "_write_all", disk_full)
    with pytest.raises(cfg.ConfigWriteError):
        profiles.login(team, TOKEN, os.environ)
    assert files_containing(TOKEN, tmp_path) == []


def test_operations_on_profiles_that_do_not_exist():
    for operation in (profiles.logout, profiles.remove, profiles.use):
        with pytest.raises(UsageError, match="no profile 'ghost'"):
            operation("ghost", os.environ)
    with pytest.raises(UsageError, match="unset TWILIO_"):
        profiles.logout("(environment)", os.environ)
    profiles.use("local", os.environ)  # the built-in one always exists
    assert cfg.load_config(os.environ).active == "local"


def test_login_hints():
    saved()
    assert profiles.login_hint(profiles.resolve(os.environ, profile_flag="team")) == \
        "run: convo login --profile team"
    variables = env(TWILIO_ACCOUNT_SID=AC, TWILIO_AUTH_TOKEN=TOKEN)
    assert profiles.login_hint(profiles.resolve(variables)).startswith(
        "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    record = profiles.whoami(profiles.resolve(variables), variables)
    assert (record["secret_source"], record["secret_stored"]) == ("environment", True)
    assert TOKEN not in repr(record)
