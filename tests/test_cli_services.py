"""Conversation Services through the real CLI against the real engine, in-process (the
`local` profile) and through `convo serve` (a `server` profile): `services` (piped,
`--json`), `services create`, `use`, `delete`; `--service` and `CONVO_SERVICE` scoping
conversations, participants and messages to a service, apart from the default service's;
and a missing service named in one line."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cli_helpers import Result, convo
from convo_cli.api import Client
from convo_cli.engine.inprocess import InProcessTransport
from convo_cli.main import run
from convo_cli.render.streams import IOStreams
from test_services_scope import tab

SERVICE_SID = re.compile(r"IS[0-9a-f]{32}")
MISSING = "IS" + "0123456789abcdef" * 2


@dataclass
class Backend:
    name: str
    profile: str
    make_client: Any  # (service_sid | None) -> Client, behind convo's back
    tag: str  # unique per test, for names on a shared server

    def __call__(self, *argv: str, **kwargs: Any) -> Result:
        return convo("--profile", self.profile, *argv, **kwargs)

    def on_terminal(self, *argv: str, answer: str) -> Result:
        io = IOStreams.test(tty=True, stdin=answer, stdin_tty=True)
        code = run(["--profile", self.profile, *argv], io, dict(os.environ))
        return Result(code, io.out(), io.err())

    def client(self, service: str | None = None) -> Client:
        return self.make_client(service)

    def create_service(self, name: str) -> str:
        created = self("services", "create", f"{name} {self.tag}")
        assert created.code == 0, created.err
        return created.rows()[0][0]

    def conversations(self, service: str | None = None) -> set[str | None]:
        client = self.client(service)
        try:
            return {c.unique_name for c in client.list_conversations()}
        finally:
            client.close()


@pytest.fixture(params=["local", "served"])
def back(request, tmp_path, monkeypatch) -> Iterator[Backend]:
    tag = os.urandom(4).hex()
    if request.param == "local":
        path = str(tmp_path / "data" / "local.db")
        yield Backend("local", "local",
                      lambda service: Client(InProcessTransport(path), service_sid=service), tag)
        return
    served = request.getfixturevalue("served")
    logged = convo("login", "--profile", "team", "--server", served.url, "--account-sid",
                   served.account_sid, "--identity", "alice", "--insecure-storage",
                   stdin=served.auth_token + "\n")
    assert logged.code == 0, logged.err
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", served.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", served.auth_token)
    yield Backend("served", "team",
                  lambda service: Client(served.transport(), service_sid=service), tag)


def default_service(back: Backend) -> str:
    client = back.client()
    try:
        return client.call("GET", "/v1/Configuration")["default_chat_service_sid"]
    finally:
        client.close()


# services, services create

def test_create_prints_the_new_service_and_the_listing_marks_default_and_in_use(back):
    created = back("services", "create", f"Support {back.tag}")
    assert created.code == 0, created.err
    [[sid, name, date, default, in_use]] = created.rows()
    assert SERVICE_SID.fullmatch(sid) and name == f"Support {back.tag}"
    assert date.endswith("Z") and (default, in_use) == ("false", "false")
    assert f"convo --service {sid}" in created.err
    as_json = back("services", "create", f"Sales {back.tag}", "--json").json()
    assert {"sid", "friendly_name", "account_sid", "date_created", "date_updated", "url",
            "links"} <= set(as_json)
    assert as_json["friendly_name"] == f"Sales {back.tag}"

    default = default_service(back)
    rows = {row[0]: row for row in back("services").rows()}
    assert rows[sid] == [sid, f"Support {back.tag}", date, "false", "false"]
    assert rows[default][3:] == ["true", "true"]  # no service named: the default is in use
    assert as_json["sid"] in rows
    listed = back("services", "--json").json()
    assert isinstance(listed, list)
    assert {s["sid"] for s in listed} == set(rows)
    assert next(s for s in listed if s["sid"] == as_json["sid"]) == as_json
    scoped = {row[0]: row for row in back("--service", sid, "services").rows()}
    assert (scoped[sid][4], scoped[default][4]) == ("true", "false")
    # What a TAB offers after --service: the services last listed.
    offered = tab(f"convo --profile {back.profile} --service IS").split()
    assert {sid, default, as_json["sid"]} <= set(offered)


def test_create_refuses_a_blank_or_overlong_name_before_sending(back):
    before = back("services").rows()
    for name, message in (("  ", "NAME is blank"), ("x" * 257, "NAME is 257 characters")):
        refused = back("services", "create", name)
        assert refused.code == 2 and refused.err.startswith(f"convo: error: {message}")
    assert back("services").rows() == before


# --service and CONVO_SERVICE: conversations apart

def test_a_service_keeps_its_conversations_apart_from_the_default_service(back):
    sid = back.create_service("Support")
    room, lobby = f"help-{back.tag}", f"lobby-{back.tag}"
    steps = [back("--service", sid, "create", "--unique-name", room),
             back("--service", sid, "join", room),
             back("--service", sid, "send", room, "Printer is on fire"),
             back("create", "--unique-name", lobby), back("join", lobby)]
    assert [s.code for s in steps] == [0] * 5, [s.err for s in steps]
    conversation = steps[0].rows()[0][0]

    in_service = [row[1] for row in back("--service", sid, "list").rows()]
    in_default = [row[1] for row in back("list").rows()]
    assert room in in_service and lobby not in in_service
    assert lobby in in_default and room not in in_default
    # As the service holds them, behind convo's back.
    assert room in back.conversations(sid) and room not in back.conversations()
    assert lobby in back.conversations() and lobby not in back.conversations(sid)

    messages = back("messages", room, CONVO_SERVICE=sid)
    assert messages.code == 0 and messages.rows()[0][3] == "Printer is on fire"
    elsewhere = back("messages", room)
    assert elsewhere.code == 1 and f"conversation '{room}' not found" in elsewhere.err
    sent = back("send", room, "Put it out", CONVO_SERVICE=sid)
    assert sent.code == 0, sent.err
    assert [m.body for m in back.client(sid).list_messages(conversation)] == [
        "Printer is on fire", "Put it out"]
    listed = back("list", "--json", CONVO_SERVICE=sid).json()
    assert [c["chat_service_sid"] for c in listed if c["conversation_unique_name"] == room] \
        == [sid]


def test_the_same_unique_name_may_live_in_two_services(back):
    sid = back.create_service("Twin")
    name = f"twin-{back.tag}"
    first, second = back("create", "--unique-name", name), \
        back("--service", sid, "create", "--unique-name", name)
    assert (first.code, second.code) == (0, 0), second.err
    assert first.rows()[0][0] != second.rows()[0][0]
    shown = back("--service", sid, "show", name, "--json").json()
    assert (shown["sid"], shown["chat_service_sid"]) == (second.rows()[0][0], sid)


# services use

def test_use_makes_a_service_the_profiles_and_default_goes_back(back, tmp_path):
    sid = back.create_service("Ops")
    used = back("services", "use", sid)
    assert (used.code, used.out) == (0, "")
    assert used.err == (f"Profile '{back.profile}' now works in Conversation Service "
                        f"'Ops {back.tag}' ({sid}).\n")
    who = back("whoami", "--json").json()
    assert (who["service_sid"], who["service_source"]) == (sid, "profile")
    assert next(p for p in back("profiles", "--json").json()
                if p["name"] == back.profile)["service_sid"] == sid
    room = f"ops-{back.tag}"
    assert back("create", "--unique-name", room).code == 0
    assert room in back.conversations(sid) and room not in back.conversations()
    rows = {row[0]: row for row in back("services").rows()}
    assert rows[sid][4] == "true"

    back_again = back("services", "use", "default")
    assert back_again.err == (f"Profile '{back.profile}' now works in the account's default "
                              "Conversation Service.\n")
    assert back("whoami", "--json").json()["service_sid"] is None
    assert back("show", room).code == 1
    if back.profile == "local":  # the built-in profile is left as it was: not stored
        assert "[profiles" not in (tmp_path / "config" / "config.toml").read_text()


def test_use_refuses_a_service_that_does_not_exist_and_changes_nothing(back):
    refused = back("services", "use", MISSING)
    assert (refused.code, refused.err) == (
        1, f"convo: error: no Conversation Service {MISSING} on this account: nothing "
           "changed (see: convo services)\n")
    assert back("whoami", "--json").json()["service_sid"] is None


# A missing service

@pytest.mark.parametrize("argv", [("list",), ("create", "--unique-name", "x"),
                                  ("send", "x", "hello"), ("messages", "x"), ("show", "x")])
def test_a_missing_service_is_one_clear_line(back, argv):
    failed = back("--service", MISSING, *argv)
    assert (failed.code, failed.out) == (1, "")
    assert failed.err == (f"convo: error: no Conversation Service {MISSING} on this account "
                          "(see: convo services)\n")


# services delete

def test_delete_asks_on_a_terminal_needs_yes_in_a_pipe_and_forgets_the_service(back):
    sid = back.create_service("Doomed")
    room = f"doomed-{back.tag}"
    assert back("--service", sid, "create", "--unique-name", room).code == 0
    piped = back("services", "delete", sid)
    assert (piped.code, piped.err) == (2, "convo: error: services delete needs --yes when not "
                                          "run on a terminal: nothing deleted\n")
    declined = back.on_terminal("services", "delete", sid, answer="n\n")
    assert declined.code == 2 and f"'Doomed {back.tag}' ({sid})" in declined.err
    assert sid in {row[0] for row in back("services").rows()}
    deleted = back.on_terminal("services", "delete", sid, answer="y\n")
    assert deleted.code == 0, deleted.err
    assert sid not in {row[0] for row in back("services").rows()}
    gone = back("--service", sid, "list")
    assert gone.code == 1 and f"no Conversation Service {sid}" in gone.err
    again = back("services", "delete", sid, "--yes")
    assert (again.code, again.err) == (
        1, f"convo: error: no Conversation Service {sid} on this account: nothing deleted "
           "(see: convo services)\n")


def test_events_and_outbox_follow_the_service(back):
    # A named service has its own outbox of webhook deliveries and its own phones' receipts.
    service = back.create_service("hooks")
    client = back.client(service)
    try:
        client.call("POST", f"/v1/Services/{service}/Configuration/Webhooks",
                    body=(("PostWebhookUrl", "http://127.0.0.1:9/down"),
                          ("Filters", "onMessageAdded")))
    finally:
        client.close()
    name = f"desk-{back.tag}"
    assert back("--service", service, "create", "--unique-name", name).code == 0
    assert back("--service", service, "add-sms", name, "--address", "+15550001111",
                "--proxy-address", "+15559992222").code == 0
    refused = back("--service", service, "--identity", "ann", "send", name, "too soon")
    assert refused.code == 2 and f"--service {service} --identity ann join {name}" in refused.err
    assert back("--service", service, "--identity", "ann", "join", name).code == 0
    sent = back("--service", service, "--identity", "ann", "send", name, "to the phone")
    assert sent.code == 0, sent.err

    def bodies(*argv: str, key: str) -> list[str]:
        result = back(*argv, "--json")
        assert result.code == 0, result.err
        return [item[key] if key == "body" else item["params"].get("Body")
                for item in map(json.loads, result.lines())]

    assert bodies("--service", service, "outbox", key="body") == ["to the phone"]
    assert "to the phone" not in bodies("outbox", key="body")
    assert bodies("--service", service, "events", key="params") == ["to the phone"]
    assert "to the phone" not in bodies("events", key="params")


def test_a_named_services_whole_history_is_its_own(back):
    service = back.create_service("export")
    name = f"log-{back.tag}"
    assert back("--service", service, "create", "--unique-name", name).code == 0
    assert back("--service", service, "--identity", "ann", "join", name).code == 0
    for n in range(3):
        assert back("--service", service, "--identity", "ann", "send", name, f"m{n}").code == 0
    lines = json.loads(back("--service", service, "messages", name, "--all", "--json").out)
    assert [(m["body"], m["chat_service_sid"]) for m in lines] == \
        [("m0", service), ("m1", service), ("m2", service)]
    assert back("messages", name, "--all", "--json").code == 1  # not in the default service


def test_the_default_service_named_by_its_sid_answers_at_its_path(back):
    client = back.client()
    try:
        default = client.call("GET", "/v1/Configuration")["default_chat_service_sid"]
    finally:
        client.close()
    name = f"named-{back.tag}"
    assert back("create", "--unique-name", name).code == 0
    assert back("--identity", "ann", "join", name).code == 0
    assert back("--identity", "ann", "send", name, "hello").code == 0
    lines = json.loads(back("--service", default, "messages", name, "--all", "--json").out)
    assert [(m["body"], m["chat_service_sid"]) for m in lines] == [("hello", default)]
    assert f"/v1/Services/{default}/Conversations/" in lines[0]["url"]
