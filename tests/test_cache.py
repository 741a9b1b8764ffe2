"""The name cache (convo_cli.cache) that commands keep fresh for shell completion: what
they record, what they forget, and that the file is private and never fails a command."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import convo
from convo_cli.cache import completion_profile, names_file, read_names, write_names

SID = "CH" + "0" * 32


def local_names() -> dict[str, str | None]:
    return read_names(names_file(os.environ, "local"))


def test_commands_keep_the_name_cache_fresh():
    created = convo("create", "--unique-name", "standup").rows()[0][0]
    assert local_names() == {created: "standup"}
    names_file(os.environ, "local").unlink()
    assert convo("join", "standup").code == 0  # any command given a conversation
    assert local_names() == {created: "standup"}
    names_file(os.environ, "local").unlink()
    assert convo("list").code == 0
    assert local_names() == {created: "standup"}
    assert convo("leave", "standup").code == 0  # no longer one of yours
    assert local_names() == {}


def test_a_conversation_not_found_leaves_the_cache():
    write_names(names_file(os.environ, "local"), {SID: "gone", "CH" + "1" * 32: "kept"})
    assert convo("messages", "gone").code == 1
    assert local_names() == {"CH" + "1" * 32: "kept"}
    assert convo("messages", "CH" + "1" * 32).code == 1
    assert local_names() == {}


def test_a_unique_name_now_naming_another_conversation_replaces_the_old_entry():
    write_names(names_file(os.environ, "local"), {SID: "standup"})
    created = convo("create", "--unique-name", "standup").rows()[0][0]
    assert local_names() == {created: "standup"}


def test_the_cache_file_is_private_and_holds_only_sids_and_unique_names():
    created = convo("create", "--unique-name", "standup", "--friendly-name", "Daily",
                    "--attributes", '{"secret": "x"}').rows()[0][0]
    assert convo("join", "standup").code == 0
    assert convo("send", "standup", "hello").code == 0
    path = names_file(os.environ, "local")
    assert path == Path(os.environ["CONVO_CACHE_DIR"]) / "names" / "local.json"
    assert json.loads(path.read_text()) == {"conversations": [[created, "standup"]]}
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["local.json"]  # no temp file left


def test_an_unusable_cache_never_fails_a_command():
    path = names_file(os.environ, "local")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert convo("create", "--unique-name", "standup").code == 0
    assert list(local_names().values()) == ["standup"]  # rewritten
    path.unlink()
    path.mkdir()  # cannot be replaced
    result = convo("create", "--unique-name", "other")
    assert (result.code, result.err) == (0, "")


class FakeTransport:
    """Answers each request with the next canned response."""

    base_url = "https://conversations.twilio.com"

    def __init__(self, *responses) -> None:
        self.responses = list(responses)
        self.closed = False

    def send(self, request):
        return self.responses.pop(0)

    def close(self) -> None:
        self.closed = True


def test_the_recorder_sees_service_scoped_paths_and_ignores_other_resources(tmp_path):
    from convo_cli.api.transport import Request, Response
    from convo_cli.cache import Recorder

    service = "/v1/Services/IS" + "1" * 32
    conversation = json.dumps({"sid": SID, "unique_name": "ops"}).encode()
    listing = json.dumps({"conversations": [{"conversation_sid": "CH" + "2" * 32,
                                             "conversation_unique_name": None}]}).encode()
    inner = FakeTransport(Response(200, conversation), Response(201, b'{"sid": "IM1"}'),
                          Response(200, listing), Response(500, b"oops"))
    recorder = Recorder(inner, tmp_path / "names" / "p.json")
    assert recorder.base_url == inner.base_url
    recorder.send(Request("GET", f"{service}/Conversations/ops"))
    recorder.send(Request("POST", f"{service}/Conversations/{SID}/Messages"))
    recorder.send(Request("GET", f"{service}/ParticipantConversations"))
    recorder.send(Request("GET", f"{service}/Conversations/other"))
    assert not (tmp_path / "names").exists()  # written once, at the end
    recorder.close()
    assert inner.closed
    assert read_names(tmp_path / "names" / "p.json") == {SID: "ops", "CH" + "2" * 32: None}


def test_nothing_is_written_when_nothing_changed(tmp_path):
    from convo_cli.api.transport import Request, Response
    from convo_cli.cache import Recorder

    path = tmp_path / "p.json"
    write_names(path, {SID: "ops"})
    path.chmod(0o400)  # a write would replace it with a 0600 file
    body = json.dumps({"sid": SID, "unique_name": "ops"}).encode()
    recorder = Recorder(FakeTransport(Response(200, body)), path)
    recorder.send(Request("GET", f"/v1/Conversations/{SID}"))
    recorder.close()
    assert path.stat().st_mode & 0o777 == 0o400


def test_the_profile_a_tab_reads_follows_the_resolution_order(tmp_path):
    from convo_cli import config as cfg

    env = {"CONVO_CONFIG_DIR": str(tmp_path)}
    assert completion_profile(None, env) == "local"
    work = cfg.ProfileConfig("work", "twilio", account_sid="AC" + "1" * 32)
    cfg.save_config(cfg.Config("work", {"work": work}), env)
    assert completion_profile(None, env) == "work"
    env["TWILIO_ACCOUNT_SID"] = "AC" + "2" * 32
    assert completion_profile(None, env) == "(environment)"
    env["CONVO_PROFILE"] = "ci"
    assert completion_profile(None, env) == "ci"
    assert completion_profile("mine", env) == "mine"
    assert names_file(env, "(environment)").name == "%28environment%29.json"
