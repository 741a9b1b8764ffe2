"""Who "I" am: `--identity` > `CONVO_IDENTITY` > the profile's identity > the login name
(local profile only); and which profile: `--profile` > `CONVO_PROFILE` > `local`."""

from __future__ import annotations

from cli_helpers import convo


def joined_as(*argv: str, **env: str) -> str:
    result = convo(*argv, "join", "room", **env)
    assert result.code == 0, result.err
    return result.rows()[0][1]


def test_identity_precedence():
    assert convo("create", "--unique-name", "room").code == 0
    assert joined_as() == "alice"  # USER / LOGNAME
    assert joined_as(CONVO_IDENTITY="dave") == "dave"
    assert joined_as("--identity", "erin", CONVO_IDENTITY="dave") == "erin"
    result = convo("--identity", "dave", "send", "room", "hi")
    assert result.rows()[0][2:] == ["dave", "hi"]


def test_without_any_identity_reading_works_and_writing_explains(monkeypatch):
    monkeypatch.setattr("convo_cli.profiles.login_name", lambda env: None)
    assert convo("create", "--unique-name", "room").code == 0
    assert convo("messages", "room").code == 0
    result = convo("join", "room")
    assert (result.code, result.out) == (2, "")
    assert result.err == "convo: error: no identity: pass --identity or set CONVO_IDENTITY\n"


def test_profile_from_the_environment_and_the_flag():
    assert convo("list", CONVO_PROFILE="local").code == 0
    result = convo("list", CONVO_PROFILE="team")
    assert (result.code, result.err) == (
        2, "convo: error: unknown profile 'team' (from CONVO_PROFILE); see: convo profiles\n")
    assert convo("--profile", "local", "list", CONVO_PROFILE="team").code == 0


def test_data_lives_under_convo_data_dir(tmp_path):
    assert convo("create", "--unique-name", "room").code == 0
    assert (tmp_path / "data" / "local.db").exists()
    other = convo("messages", "room", CONVO_DATA_DIR=str(tmp_path / "elsewhere"))
    assert other.code == 1 and "conversation 'room' not found" in other.err
