"""Helpers for scripts that run again and again (CI): `create --unique-name X --if-missing`
is get-or-create; `join`, `add` and `add-sms --exists-ok` make "already a participant" a
success that prints the existing participant."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import as_, convo
from convo_cli.api import Client
from convo_cli.api.transport import Request, Response
from convo_cli.engine.inprocess import InProcessTransport

SMS, PROXY = "+15551234567", "+14445550100"
LINK = "https://www.twilio.com/docs/errors/"


def test_create_if_missing_creates_then_returns_the_existing_conversation():
    created = convo("create", "--unique-name", "deploy-42", "--friendly-name", "Deploy 42",
                    "--if-missing")
    assert (created.code, created.err) == (0, "")
    again = convo("create", "--unique-name", "deploy-42", "--friendly-name", "Other",
                  "--if-missing")
    assert (again.code, again.out) == (0, created.out)  # the existing one, unchanged
    assert again.err == "deploy-42 exists already: nothing created.\n"
    as_json = convo("create", "--unique-name", "deploy-42", "--if-missing", "--json")
    assert as_json.code == 0 and as_json.json()["sid"] == created.rows()[0][0]


def test_create_if_missing_needs_a_unique_name():
    result = convo("create", "--friendly-name", "x", "--if-missing")
    assert (result.code, result.out) == (2, "")
    assert result.err == ("convo: error: --if-missing needs --unique-name: the name that finds "
                          "an existing conversation\n")
    client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")))
    assert list(client.list_conversations()) == []  # nothing sent
    client.close()


def test_without_if_missing_a_taken_name_is_still_an_error():
    convo("create", "--unique-name", "deploy-42")
    result = convo("create", "--unique-name", "deploy-42")
    assert (result.code, result.out) == (1, "")
    assert "[Twilio error 50353]" in result.err


def test_scripts_racing_to_create_the_same_name_all_get_the_one_conversation():
    argv = [sys.executable, "-m", "convo_cli", "create", "--unique-name", "race", "--if-missing"]
    racers = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ)) for _ in range(4)]
    results = [(racer.wait(timeout=60), *racer.communicate(timeout=60)) for racer in racers]
    assert [code for code, _, _ in results] == [0, 0, 0, 0]
    assert len({out for _, out, _ in results}) == 1  # one SID printed by all
    assert sorted(err for _, _, err in results) == [
        "", *["race exists already: nothing created.\n"] * 3]


@pytest.fixture
def standup():
    sid = convo("create", "--unique-name", "standup").rows()[0][0]
    joined = convo("join", "standup")
    added = convo("add", "standup", "bob")
    sms = convo("add-sms", "standup", "--address", SMS, "--proxy-address", PROXY)
    assert joined.code == added.code == sms.code == 0
    return sid, joined.out, added.out, sms.out


@pytest.mark.parametrize("argv, which, name", [
    (["join", "standup"], 1, "alice"),
    (["add", "standup", "bob"], 2, "bob"),
    (["add-sms", "standup", "--address", SMS, "--proxy-address", PROXY], 3, SMS),
])
def test_exists_ok_prints_the_existing_participant(standup, argv, which, name):
    result = convo(*argv, "--exists-ok")
    assert (result.code, result.out) == (0, standup[which])
    assert result.err == f"{name} is already a participant of standup.\n"
    as_json = convo(*argv, "--exists-ok", "--json")
    assert as_json.json()["sid"] == standup[which].split("\t")[0]
    assert [row[0] for row in convo("participants", "standup").rows()] == [
        standup[n].split("\t")[0] for n in (1, 2, 3)]  # nothing added


def test_exists_ok_adds_who_is_not_there_yet(standup):
    result = as_("carol", "join", "standup", "--exists-ok")
    assert (result.code, result.err) == (0, "")
    assert result.rows()[0][1] == "carol"


def test_without_exists_ok_already_a_participant_is_still_an_error(standup):
    result = convo("add", "standup", "bob")
    assert (result.code, result.out) == (1, "")
    assert result.err == (f"convo: error: bob is already a participant of standup "
                          f"[Twilio error 50433] ({LINK}50433)\n")


class BoundElsewhere:
    """Twilio's 50416 when the pair is bound in another conversation: nothing here has it."""

    def __init__(self, inner) -> None:
        self.inner, self.base_url = inner, inner.base_url

    def send(self, request: Request) -> Response:
        if request.method == "POST" and request.path.endswith("/Participants"):
            return Response(409, b'{"code": 50416, "message": "A binding for this participant '
                                 b'and proxy address already exists in Conversation CHother", '
                                 b'"more_info": "https://www.twilio.com/docs/errors/50416", '
                                 b'"status": 409}')
        return self.inner.send(request)

    def close(self) -> None:
        self.inner.close()


def test_exists_ok_is_no_excuse_when_the_number_is_bound_in_another_conversation(
        standup, monkeypatch):
    import convo_cli.factory

    real = convo_cli.factory.make_transport
    monkeypatch.setattr(convo_cli.factory, "make_transport",
                        lambda *a, **k: BoundElsewhere(real(*a, **k)))
    result = convo("add-sms", "standup", "--address", "+15550000000", "--proxy-address", PROXY,
                   "--exists-ok")
    assert (result.code, result.out) == (1, "")
    assert result.err == ("convo: error: A binding for this participant and proxy address "
                          f"already exists in Conversation CHother [Twilio error 50416] "
                          f"({LINK}50416)\n")


README = Path(__file__).parent.parent / "README.md"
SCRIPT_DIR = Path(sys.executable).parent


@pytest.mark.skipif(not (SCRIPT_DIR / "convo").exists() or not shutil.which("jq"),
                    reason="needs the convo console script and jq")
def test_the_readme_ci_example_runs_and_runs_again():
    section = README.read_text().split("## In CI scripts", 1)[1]
    script = section.split("```sh\n", 1)[1].split("```", 1)[0]
    env = {**os.environ, "PATH": f"{SCRIPT_DIR}{os.pathsep}{os.environ['PATH']}",
           "BUILD_ID": "42", "ONCALL_PHONE": SMS, "SERVICE_PHONE": PROXY}
    for _ in range(2):
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    assert [row[1] or row[2] for row in convo("participants", "deploy-42").rows()] == [
        "ci-bot", SMS]
    assert [row[2:] for row in convo("messages", "deploy-42").rows()] == [
        ["ci-bot", "Deploy 42 started"]] * 2
