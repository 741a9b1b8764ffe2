"""Input refused before anything is sent (exit 2, one line, nothing stored): blank identities
wherever an identity is taken, sending as someone who is not a participant, and the service's
published limits (checked locally with the numbers in convo_cli/limits.py)."""

from __future__ import annotations

import os

import httpx
import pytest

from cli_helpers import as_, convo
from convo_cli.api import Client
from convo_cli.engine.inprocess import InProcessTransport
from convo_cli.limits import (ATTRIBUTES_DEPTH_LIMIT, ATTRIBUTES_LIMIT, BODY_LIMIT,
                              CONVERSATION_ATTRIBUTES_LIMIT, NAME_LIMIT, json_depth)

AC = "AC" + "1" * 32


@pytest.fixture
def team() -> Client:
    """`team` with alice (the login name) as its one participant."""
    assert convo("create", "--unique-name", "team").code == 0
    assert convo("join", "team").code == 0
    client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")))
    yield client
    client.close()


def stored(client: Client) -> tuple:
    """Everything a refused command could have written."""
    conversations = [(c.sid, c.unique_name, c.friendly_name, c.attributes)
                     for c in client.list_conversations()]
    participants = [(p.sid, p.identity) for c in conversations
                    for p in client.list_participants(c[0])]
    messages = [(m.sid, m.author, m.body) for c in conversations
                for m in client.list_messages(c[0])]
    return conversations, participants, messages


def refused(line: str, *argv: str, stdin: str = "", **env: str) -> None:
    result = convo(*argv, stdin=stdin, **env)
    assert (result.code, result.out, result.err) == (2, "", f"convo: error: {line}\n")


@pytest.mark.parametrize("argv, env, line", [
    (["--identity", "   ", "send", "team", "hi"], {}, "--identity is blank: an identity needs "
     "a visible character"),
    (["--identity", "", "send", "team", "hi"], {}, "--identity is blank: an identity needs a "
     "visible character"),
    (["--identity", "\t", "join", "team"], {}, "--identity is blank: an identity needs a "
     "visible character"),
    (["send", "team", "hi"], {"CONVO_IDENTITY": "  "}, "CONVO_IDENTITY is blank: an identity "
     "needs a visible character"),
    (["join", "team"], {"CONVO_IDENTITY": " \t "}, "CONVO_IDENTITY is blank: an identity "
     "needs a visible character"),
    (["add", "team", "  "], {}, "IDENTITY is blank: an identity needs a visible character"),
    (["add", "team", ""], {}, "IDENTITY is blank: an identity needs a visible character"),
    (["--identity", "x" * (NAME_LIMIT + 1), "join", "team"], {},
     f"--identity is {NAME_LIMIT + 1} characters long; an identity takes at most {NAME_LIMIT}"),
    (["add", "team", "é" * (NAME_LIMIT + 1)], {},
     f"IDENTITY is {NAME_LIMIT + 1} characters long; an identity takes at most {NAME_LIMIT}"),
])
def test_a_blank_or_overlong_identity_is_refused_and_nothing_is_stored(team, argv, env, line):
    before = stored(team)
    refused(line, *argv, **env)
    assert stored(team) == before


def test_an_identity_at_the_limit_and_an_empty_convo_identity_are_accepted(team):
    assert as_("b" * NAME_LIMIT, "join", "team").code == 0
    # An empty variable is an unset one, as shells use it: the login name applies.
    result = convo("send", "team", "hi", CONVO_IDENTITY="")
    assert (result.code, result.rows()[0][2]) == (0, "alice")


def test_a_blank_identity_in_a_profile_is_refused_where_it_is_used(team):
    config = os.path.join(os.environ["CONVO_CONFIG_DIR"], "config.toml")
    os.makedirs(os.path.dirname(config), exist_ok=True)
    with open(config, "w", encoding="utf-8") as file:
        file.write('[profiles.mine]\nkind = "local"\nidentity = "  "\n')
    refused("the identity of profile 'mine' is blank: an identity needs a visible character",
            "--profile", "mine", "whoami")
    # A valid --identity wins over the profile's, so there is a way out.
    assert convo("--profile", "mine", "--identity", "bob", "whoami").code == 0


@pytest.mark.parametrize("identity", ["", "   "])
def test_login_refuses_a_blank_identity_and_stores_nothing(identity):
    result = convo("login", "--profile", "team", "--server", "http://127.0.0.1:9",
                   "--account-sid", AC, "--identity", identity, "--no-verify",
                   "--insecure-storage", stdin="a-token")
    assert (result.code, result.out) == (2, "")
    assert result.err == "convo: error: --identity is blank: an identity needs a visible " \
                         "character\n"
    assert not os.path.exists(os.path.join(os.environ["CONVO_CONFIG_DIR"], "config.toml"))


def test_sending_as_someone_who_is_not_a_participant_is_refused_with_a_hint(team):
    sid = team.fetch_conversation("team").sid
    before = stored(team)
    refused("alcie is not a participant of team: nothing sent (join first: "
            "convo --identity alcie join team; or act as a participant with --identity)",
            "--identity", "alcie", "send", "team", "hi")
    refused(f"bob is not a participant of {sid}: nothing sent (join first: convo join {sid}; "
            "or act as a participant with --identity)", "send", sid, "hi",
            CONVO_IDENTITY="bob")
    refused("bob is not a participant of team: nothing sent (join first: convo join team; "
            "or act as a participant with --identity)", "send", "team", "-",
            stdin="piped\n", CONVO_IDENTITY="bob")
    assert stored(team) == before
    # Once a participant, the same command works, by unique name or by SID.
    assert convo("add", "team", "bob").code == 0
    assert as_("bob", "send", "team", "hi").rows()[0][2:] == ["bob", "hi"]
    assert as_("bob", "send", sid, "again").rows()[0][2:] == ["bob", "again"]


def test_sending_to_a_missing_conversation_still_says_not_found(team):
    for key in ("nope", "CH" + "0" * 32):
        result = convo("send", key, "hi")
        assert (result.code, result.out) == (1, "")
        assert result.err.startswith(f"convo: error: conversation '{key}' not found")


class Recording(httpx.BaseTransport):
    """The real HTTP transport, noting each request's method and path."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return self.inner.handle_request(request)


def test_a_non_participant_is_refused_through_convo_serve_too(served):
    """The same check on a served profile, at the cost of one fetch of the participant."""
    logged = convo("login", "--profile", "srv", "--server", served.url, "--account-sid",
                   served.account_sid, "--insecure-storage", stdin=served.auth_token)
    assert logged.code == 0, logged.err
    room = "room-input-check"
    sid = as_("carol", "create", "--unique-name", room, "--json").json()["sid"]
    carol = as_("carol", "join", room, "--json").json()["sid"]
    result = convo("--profile", "srv", "--identity", "mallory", "send", room, "hi")
    assert (result.code, result.out) == (2, "")
    # (after the warning that --insecure-storage prints on every use)
    assert result.err.splitlines()[-1] == (
        f"convo: error: mallory is not a participant of {room}: nothing sent (join first: "
        f"convo --profile srv --identity mallory join {room}; or act as a participant with "
        "--identity)")
    by_name, by_sid = Recording(), Recording()
    assert as_("carol", "send", room, "hi", http_transport=by_name).code == 0
    assert as_("carol", "send", sid, "hi", http_transport=by_sid).code == 0
    base = "/v1/Conversations"
    # The participant as fetched says whether carol was up to date; she was, so her own
    # message is marked read (by its MB SID) rather than left unread to her.
    read = ("POST", f"{base}/{sid}/Participants/{carol}")
    assert by_name.seen == [("GET", f"{base}/{room}"), ("GET", f"{base}/{sid}/Participants/carol"),
                            ("POST", f"{base}/{sid}/Messages"), read]
    assert by_sid.seen == [("GET", f"{base}/{sid}/Participants/carol"),
                           ("POST", f"{base}/{sid}/Messages"), read]
    listed = convo("messages", room, "--json").json()
    assert [(m["author"], m["body"]) for m in listed] == [("carol", "hi")] * 2


# Limits: the error names the limit; one unit below it is accepted.

def test_a_message_body_over_32_kb_is_refused_and_one_at_the_limit_is_sent(team):
    before = stored(team)
    over = "é" * (BODY_LIMIT // 2 + 1)  # two bytes each: characters under, bytes over
    refused(f"the message is {BODY_LIMIT + 2:,} bytes; a message takes at most 32 KB "
            f"({BODY_LIMIT:,} bytes of UTF-8): nothing sent", "send", "team", over)
    refused(f"standard input holds more than a message takes (at most 32 KB, {BODY_LIMIT:,} "
            "bytes of UTF-8): nothing sent", "send", "team", "-", stdin="x" * (BODY_LIMIT * 4))
    refused(f"the message is {BODY_LIMIT + 1:,} bytes; a message takes at most 32 KB "
            f"({BODY_LIMIT:,} bytes of UTF-8): nothing sent", "send", "team", "-",
            stdin="x" * (BODY_LIMIT + 1))
    assert stored(team) == before
    sent = convo("send", "team", "-", "--json", stdin="x" * BODY_LIMIT + "\n")
    assert sent.code == 0 and sent.json()["body"] == "x" * BODY_LIMIT


@pytest.mark.parametrize("option", ["--friendly-name", "--unique-name"])
def test_names_over_256_characters_are_refused(team, option):
    before = stored(team)
    refused(f"{option} is {NAME_LIMIT + 1} characters long; names take at most {NAME_LIMIT}",
            "create", option, "n" * (NAME_LIMIT + 1))
    assert stored(team) == before
    assert convo("create", option, "ü" * NAME_LIMIT).code == 0  # characters, not bytes


def test_attributes_over_their_size_limits_are_refused(team):
    before = stored(team)
    big = '{"k": "' + "x" * CONVERSATION_ATTRIBUTES_LIMIT + '"}'
    refused(f"--attributes is {len(big):,} bytes; a conversation's attributes take at most "
            f"16 KB ({CONVERSATION_ATTRIBUTES_LIMIT:,} bytes of UTF-8)",
            "create", "--attributes", big)
    medium = '{"k": "' + "x" * ATTRIBUTES_LIMIT + '"}'
    refused(f"--attributes is {len(medium):,} bytes; a participant's attributes take at most "
            f"4 KB ({ATTRIBUTES_LIMIT:,} bytes of UTF-8)",
            "add", "team", "bob", "--attributes", medium)
    assert stored(team) == before
    # What is too big for a participant is fine for a conversation.
    assert convo("create", "--unique-name", "roomy", "--attributes", medium).code == 0


@pytest.mark.parametrize("document", [
    "[" * 100_000,  # over the size limit as well: refused before anything parses it
    "[" * 1_000 + "]" * 1_000,  # 2 KB: within the size, far beyond the depth
    '{"a":' * (ATTRIBUTES_DEPTH_LIMIT + 1) + "1" + "}" * (ATTRIBUTES_DEPTH_LIMIT + 1),
])
def test_deeply_nested_attributes_are_one_line_and_exit_2(team, document):
    before = stored(team)
    for argv in (["create", "--attributes", document],
                 ["add", "team", "bob", "--attributes", document]):
        result = convo(*argv)
        assert (result.code, result.out) == (2, ""), result.err
        assert result.err.count("\n") == 1 and result.err.startswith("convo: error: --attrib")
        assert "Recursion" not in result.err and "Traceback" not in result.err
    assert stored(team) == before


def test_attributes_at_the_depth_limit_are_accepted(team):
    depth = ATTRIBUTES_DEPTH_LIMIT
    document = '{"a":' * depth + '"[[[["' + "}" * depth  # brackets in a string do not count
    assert json_depth(document) == depth
    created = convo("create", "--attributes", document, "--json")
    assert created.code == 0, created.err
    refused(f"--attributes nests {depth + 1} levels deep; attributes take at most {depth}",
            "create", "--attributes", "[" + document + "]")


@pytest.mark.parametrize("text, depth", [
    ("", 0), ("1", 0), ("{}", 1), ("[[], [[]]]", 3), ('{"a": "]]]{{{"}', 1),
    ('["\\"[", [1]]', 2), ('"unterminated [[[', 0), ("[" * 5, 5),
])
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_a_mistyped_conversation_name_suggests_a_close_one(team):
    assert convo("create", "--unique-name", "standup").code == 0
    for typed in ("standpu", "Standup", "stand-up"):
        result = convo("messages", typed)
        assert (result.code, result.out) == (1, "")
        assert "not found; did you mean standup? [Twilio error 20404]" in result.err, result.err
        assert result.err.startswith(f"convo: error: conversation '{typed}' not found")
    unrelated = convo("send", "zebra", "hi")
    assert unrelated.code == 1 and "did you mean" not in unrelated.err
