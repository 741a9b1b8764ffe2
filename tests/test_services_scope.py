"""Which Conversation Service a call works in, through the real CLI: `--service` >
`CONVO_SERVICE` > the profile's (`login --service`, `services use`) > the account's default;
SIDs checked before anything is sent (exit 2); a missing service named in one line; and the
name cache that completion reads kept per service. The far end is an injected httpx
transport that records each request (Twilio's wire, no network): what matters here is the
path convo sends, and what it refuses to send."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from cli_helpers import convo
from convo_cli.cache import names_file, read_names, services_file, write_names, write_services
from convo_cli.main import run
from convo_cli.render.streams import IOStreams

AC = "AC" + "1" * 32
TOKEN = "auth-token-5f2e8a1c9d7b3e6f0a4c"
IS_A = "IS" + "a" * 32
IS_B = "IS" + "b" * 32
CH = "CH" + "c" * 32
TWILIO_ENV = {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": TOKEN, "CONVO_IDENTITY": "dan"}
NOT_FOUND = {"code": 20404, "message": "The requested resource was not found",
             "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}


class Far:
    """Answers every list with an empty page, a conversation fetch with CH, and 404 under
    any service in `missing` (the service itself included)."""

    def __init__(self, *missing: str) -> None:
        self.missing = missing
        self.paths: list[str] = []
        self.transport = httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(f"{request.method} {request.url.path}")
        if any(f"/Services/{sid}" in request.url.path for sid in self.missing):
            return httpx.Response(404, json=NOT_FOUND)
        if "/Conversations/" in request.url.path and request.method == "GET":
            return httpx.Response(200, json={"sid": CH, "unique_name": "standup",
                                             "friendly_name": None, "state": "active"})
        return httpx.Response(200, json={"conversations": [], "meta": {
            "key": "conversations", "next_page_url": None}})


def call(*argv: str, far: Far | None = None, **env: str):  # type: ignore[no-untyped-def]
    far = far or Far()
    return far, convo(*argv, http_transport=far.transport, **{**TWILIO_ENV, **env})


# Precedence

def test_no_service_means_the_default_paths():
    far, listed = call("list")
    assert listed.code == 0
    assert far.paths == ["GET /v1/Users/dan/Conversations"]


def test_convo_service_scopes_one_call_and_empty_means_unset():
    far, listed = call("list", CONVO_SERVICE=IS_A)
    assert listed.code == 0
    assert far.paths == [f"GET /v1/Services/{IS_A}/Users/dan/Conversations"]
    far, listed = call("list", CONVO_SERVICE="")
    assert far.paths == ["GET /v1/Users/dan/Conversations"]


def test_the_flag_beats_the_variable_which_beats_the_profile():
    logged = convo("login", "--profile", "prod", "--twilio", "--account-sid", AC,
                   "--identity", "dan", "--service", IS_A, "--no-verify", "--insecure-storage",
                   stdin=TOKEN)
    assert logged.code == 0, logged.err
    env = {"TWILIO_ACCOUNT_SID": "", "CONVO_IDENTITY": ""}
    cases = [((), {}, IS_A, "profile"),
             ((), {"CONVO_SERVICE": IS_B}, IS_B, "CONVO_SERVICE"),
             (("--service", IS_A), {"CONVO_SERVICE": IS_B}, IS_A, "--service")]
    for flags, extra, expected, source in cases:
        far, shown = call(*flags, "show", CH, "--json", far=Far(), **env, **extra)
        assert shown.code == 0, shown.err
        assert far.paths[0] == f"GET /v1/Services/{expected}/Conversations/{CH}"
        who = convo(*flags, "whoami", "--json", **env, **extra).json()
        assert (who["service_sid"], who["service_source"]) == (expected, source)


def test_login_takes_service_and_still_the_former_service_sid():
    logged = convo("login", "--profile", "old", "--twilio", "--account-sid", AC,
                   "--service-sid", IS_B, "--no-verify", "--insecure-storage", stdin=TOKEN)
    assert logged.code == 0, logged.err
    assert logged.err.startswith(f"Logged in: profile 'old' (twilio, {AC}, Conversation "
                                 f"Service {IS_B}); ")
    assert convo("--profile", "old", "whoami", "--json").json()["service_sid"] == IS_B
    assert convo("profiles", "--json").json()[1]["service_sid"] == IS_B
    assert "--service-sid" not in convo("login", "--help").out
    assert "--service " in convo("login", "--help").out
    twice = convo("login", "--profile", "old", "--twilio", "--account-sid", AC, "--service",
                  IS_A, "--service-sid", IS_B, "--no-verify", stdin=TOKEN)
    assert (twice.code, twice.err) == (2, "convo: error: give --service once (--service-sid "
                                          "is its former name)\n")


def test_a_server_profile_names_a_service_and_the_listing_shows_it():
    logged = convo("login", "--profile", "team", "--server", "http://127.0.0.1:9", "--account-sid",
                   AC, "--service", IS_A, "--no-verify", "--insecure-storage", stdin=TOKEN)
    assert logged.code == 0, logged.err
    assert convo("profiles").rows()[1][-1] == IS_A
    terminal = convo("profiles", tty=True, width=200)
    assert terminal.out.splitlines()[0].split()[-2:] == ["Service", "sid"]
    assert IS_A in terminal.out


# Bad SIDs: exit 2, nothing sent

@pytest.mark.parametrize("argv, env, where", [
    (("--service", "IS123", "list"), {}, "--service"),
    (("--service", "", "list"), {}, "--service"),
    (("--service", "CH" + "a" * 32, "list"), {}, "--service"),
    (("list",), {"CONVO_SERVICE": "is" + "a" * 32}, "CONVO_SERVICE"),
    (("list",), {"CONVO_SERVICE": IS_A + "0"}, "CONVO_SERVICE"),
    (("services", "use", "IS-nope"), {}, "IS…"),
    (("services", "delete", "IS" + "g" * 32, "--yes"), {}, "IS…"),
])
def test_a_malformed_service_sid_is_refused_before_anything_is_sent(argv, env, where):
    far, refused = call(*argv, **env)
    assert refused.code == 2
    assert refused.err.startswith(f"convo: error: {where} must be IS followed by 32 hex digits")
    assert refused.err.count("\n") == 1 and refused.out == ""
    assert far.paths == []


def test_login_refuses_a_malformed_service_and_stores_nothing():
    refused = convo("login", "--profile", "prod", "--twilio", "--account-sid", AC, "--service",
                    "IS1", "--no-verify", "--insecure-storage", stdin=TOKEN)
    assert (refused.code, refused.err) == (
        2, "convo: error: --service must be IS followed by 32 hex digits, not 'IS1'\n")
    assert [p["name"] for p in convo("profiles", "--json").json()] == ["local"]


def test_a_malformed_service_in_the_config_file_is_refused_when_used(tmp_path):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text(f'[profiles.local]\nkind = "local"\nservice_sid = "{IS_A[:-1]}"\n')
    refused = convo("list")
    assert refused.code == 2
    assert refused.err.startswith("convo: error: the service of profile 'local' must be IS")
    assert not (tmp_path / "data" / "local.db").exists()


# A service that does not exist

def test_a_missing_service_is_named_in_one_line_not_taken_for_an_empty_inbox():
    far, listed = call("--service", IS_A, "list", far=Far(IS_A))
    assert (listed.code, listed.out) == (1, "")
    assert listed.err == (f"convo: error: no Conversation Service {IS_A} on this account "
                          "(see: convo services)\n")
    assert far.paths == [f"GET /v1/Services/{IS_A}/Users/dan/Conversations",
                         f"GET /v1/Services/{IS_A}"]


def test_a_missing_conversation_in_a_service_that_exists_stays_not_found():
    far = Far()

    def answer(request: httpx.Request) -> httpx.Response:
        far.paths.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/nope"):
            return httpx.Response(404, json=NOT_FOUND)
        return httpx.Response(200, json={"sid": IS_A, "friendly_name": "x"})

    far.transport = httpx.MockTransport(answer)
    _, shown = call("--service", IS_A, "show", "nope", far=far)
    assert shown.code == 1
    assert shown.err.startswith("convo: error: conversation 'nope' not found")
    assert far.paths == [f"GET /v1/Services/{IS_A}/Conversations/nope",
                         f"GET /v1/Services/{IS_A}"]


def test_login_with_a_missing_service_says_so_and_stores_nothing():
    far = Far(IS_A)
    refused = convo("login", "--profile", "prod", "--twilio", "--account-sid", AC, "--service",
                    IS_A, "--insecure-storage", stdin=TOKEN, http_transport=far.transport)
    assert (refused.code, refused.err) == (1, f"convo: error: no Conversation Service {IS_A} "
                                              "on this account (see: convo services); nothing "
                                              "was stored\n")
    assert [p["name"] for p in convo("profiles", "--json").json()] == ["local"]


# The name cache, per service

def test_names_seen_in_a_service_are_kept_apart_from_the_default_ones():
    def answer(request: httpx.Request) -> httpx.Response:
        name = "in-a" if IS_A in request.url.path else "in-default"
        return httpx.Response(200, json={"sid": CH, "unique_name": name,
                                         "friendly_name": None, "state": "active"})

    transport = httpx.MockTransport(answer)
    for flags in (("--service", IS_A), ()):
        shown = convo(*flags, "show", CH, "--json", http_transport=transport, **TWILIO_ENV)
        assert shown.code == 0
    profile = "(environment)"
    assert read_names(names_file(os.environ, profile, service=IS_A)) == {CH: "in-a"}
    assert read_names(names_file(os.environ, profile)) == {CH: "in-default"}


def tab(line: str, **env: str) -> str:
    variables = {"_CONVO_COMPLETE": "complete_bash", "COMP_WORDS": line,
                 "COMP_CWORD": str(line.count(" "))}
    result = subprocess.run([sys.executable, "-m", "convo_cli"], capture_output=True,
                            text=True, env={**os.environ, **variables, **env}, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    return result.stdout


def test_a_tab_offers_only_the_names_of_the_service_the_command_would_use(tmp_path):
    write_names(names_file(os.environ, "local"), {"CH" + "1" * 32: "standup"})
    write_names(names_file(os.environ, "local", service=IS_A), {"CH" + "2" * 32: "support"})
    assert tab("convo messages s") == "standup\n"
    assert tab(f"convo --service {IS_A} messages s") == "support\n"
    assert tab("convo messages s", CONVO_SERVICE=IS_A) == "support\n"
    assert tab("convo messages s", CONVO_SERVICE="") == "standup\n"
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text(f'[profiles.local]\nkind = "local"\nservice_sid = "{IS_A}"\n')
    assert tab("convo messages s") == "support\n"


def test_a_tab_offers_the_services_last_listed():
    write_services(services_file(os.environ, "local"), {IS_A: "Support", IS_B: None})
    assert tab("convo --service IS") == f"{IS_A}\n{IS_B}\n"
    assert tab("convo --service ISa") == f"{IS_A}\n"
    assert tab("convo services use IS") == f"{IS_A}\n{IS_B}\n"
    assert tab("convo services delete ISb") == f"{IS_B}\n"


def test_use_on_the_environments_profile_says_to_set_convo_service():
    far, refused = call("services", "use", IS_A)
    assert (refused.code, refused.err) == (
        2, "convo: error: the TWILIO_* environment's profile is not stored: set CONVO_SERVICE "
           "instead\n")
    assert far.paths == []


def test_chat_in_a_missing_service_says_so_before_taking_the_screen():
    far = Far(IS_A)
    io = IOStreams.test(tty=True, stdin_tty=True)
    code = run(["--service", IS_A, "chat"], io, {**os.environ, **TWILIO_ENV},
               http_transport=far.transport)
    assert (code, io.err()) == (1, f"convo: error: no Conversation Service {IS_A} on this "
                                   "account (see: convo services)\n")
    assert far.paths == [f"GET /v1/Services/{IS_A}"]


def test_zsh_and_fish_show_a_plain_friendly_name_beside_the_sid_and_no_other():
    write_services(services_file(os.environ, "local"),
                   {IS_A: "Support (EU)", IS_B: "bad\x1b]52;c;eA==\x07name"})
    line = "convo --service IS"
    zsh = subprocess.run([sys.executable, "-m", "convo_cli"], capture_output=True, text=True,
                         env={**os.environ, "_CONVO_COMPLETE": "complete_zsh",
                              "_TYPER_COMPLETE_ARGS": line}, timeout=60).stdout
    assert f'"{IS_A}":"Support (EU)"' in zsh and f'"{IS_B}"' in zsh and "\x1b" not in zsh
    fish = subprocess.run([sys.executable, "-m", "convo_cli"], capture_output=True, text=True,
                          env={**os.environ, "_CONVO_COMPLETE": "complete_fish",
                               "_TYPER_COMPLETE_ARGS": line,
                               "_TYPER_COMPLETE_FISH_ACTION": "get-args"}, timeout=60).stdout
    assert fish.splitlines() == [f"{IS_A}\tSupport (EU)", IS_B]
