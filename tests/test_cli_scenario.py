"""The issue's scenario, end to end through the CLI and the built-in engine: alice creates
"Daily standup" (unique name `standup`), joins, adds bob and an SMS participant, sends
messages (one from standard input); bob sees it in `list`, carol sees nothing; alice
leaves and no longer sees it. Checked piped, as JSON, and on a (forced) terminal."""

from __future__ import annotations

import re

import pytest

from cli_helpers import as_, convo

SMS, PROXY = "+15551234567", "+14445550100"


@pytest.fixture(autouse=True)
def _utc(utc):
    """Times in these tests read as UTC."""


def test_scenario_piped():
    created = convo("create", "--friendly-name", "Daily standup", "--unique-name", "standup")
    assert created.code == 0 and created.err == ""
    sid, unique, friendly, state, date = created.rows()[0]
    assert re.fullmatch(r"CH[0-9a-f]{32}", sid)
    assert (unique, friendly, state) == ("standup", "Daily standup", "active")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", date)

    joined = convo("join", "standup")  # USER=alice: the login name is the identity
    assert joined.code == 0
    assert joined.rows()[0][1:4] == ["alice", "", ""]
    assert as_("alice", "add", "standup", "bob").rows()[0][1] == "bob"
    sms = convo("add-sms", "standup", "--address", SMS, "--proxy-address", PROXY)
    assert sms.code == 0 and sms.rows()[0][1:4] == ["", SMS, PROXY]

    assert convo("send", "standup", "good morning").rows()[0][2:] == ["alice", "good morning"]
    piped = convo("send", "standup", "-", stdin="from a pipe\n")
    assert piped.rows()[0][0] == "1" and piped.rows()[0][2:] == ["alice", "from a pipe"]
    assert as_("bob", "send", sid, "hi alice").rows()[0][2:] == ["bob", "hi alice"]

    history = convo("messages", "standup")
    assert [row[0] for row in history.rows()] == ["0", "1", "2"]
    assert [row[2:] for row in history.rows()] == [
        ["alice", "good morning"], ["alice", "from a pipe"], ["bob", "hi alice"]]

    participants = convo("participants", "standup")
    assert [row[1] or row[2] for row in participants.rows()] == ["alice", "bob", SMS]

    assert [row[:2] for row in as_("bob", "list").rows()] == [[sid, "standup"]]
    carol = as_("carol", "list")
    assert (carol.code, carol.out, carol.err) == (0, "", "")

    left = convo("leave", "standup")
    assert (left.code, left.out, left.err) == (0, "", "alice left standup.\n")
    assert convo("list").out == ""
    assert [row[1] for row in convo("participants", "standup").rows()] == ["bob", ""]


def test_scenario_json():
    created = convo("create", "--friendly-name", "Daily standup", "--unique-name", "standup",
                    "--attributes", '{"team": "core"}', "--json").json()
    assert created["unique_name"] == "standup" and created["attributes"] == '{"team": "core"}'
    assert created["url"].endswith(f"/v1/Conversations/{created['sid']}")
    joined = convo("join", "standup", "--json").json()
    assert joined["identity"] == "alice" and joined["conversation_sid"] == created["sid"]
    assert convo("add", "standup", "bob", "--json").json()["identity"] == "bob"
    sms = convo("add-sms", "standup", "--address", SMS, "--proxy-address", PROXY, "--json").json()
    assert sms["messaging_binding"] == {"type": "sms", "address": SMS, "proxy_address": PROXY}
    sent = convo("send", "standup", "-", "--json", stdin="two\nlines\n").json()
    assert (sent["body"], sent["author"], sent["index"]) == ("two\nlines", "alice", 0)

    messages = convo("messages", "standup", "--json").json()
    assert [m["sid"] for m in messages] == [sent["sid"]]
    assert [p["identity"] for p in convo("participants", "standup", "--json").json()] == [
        "alice", "bob", None]
    listed = as_("bob", "list", "--json").json()
    assert [(c["conversation_sid"], c["conversation_unique_name"]) for c in listed] == [
        (created["sid"], "standup")]
    assert as_("carol", "list", "--json").json() == []
    assert convo("leave", "standup").code == 0
    assert convo("list", "--json").json() == []


def test_scenario_on_a_terminal():
    created = convo("create", "--friendly-name", "Daily standup", "--unique-name", "standup",
                    tty=True, width=60)
    assert created.code == 0
    lines = [line.rstrip() for line in created.lines()]
    assert "Unique name    standup" in lines
    assert "Friendly name  Daily standup" in lines
    assert "\x1b" not in created.out  # forced terminal, no colour: plain text

    convo("join", "standup")
    convo("add", "standup", "bob")
    convo("send", "standup", "good morning")
    as_("bob", "send", "standup", "hi alice")
    history = convo("messages", "standup", tty=True)
    assert history.lines() == ["you  just now", "\u2022 good morning", "bob  just now",
                               "\u2022 hi alice"]

    listed = as_("bob", "list", tty=True, width=120)
    header = listed.lines()[0].split()
    assert header == ["SID", "Unique", "name", "Friendly", "name", "State", "Created", "Unread"]
    assert "standup" in listed.out and "Daily standup" in listed.out
    carol = as_("carol", "list", tty=True)
    assert (carol.code, carol.out, carol.err) == (0, "", "No conversations.\n")
    participants = convo("participants", "standup", tty=True, width=120)
    assert [line.split()[1] for line in participants.lines()[1:]] == ["alice", "bob"]
