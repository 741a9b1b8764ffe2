"""`convo list`: the 50 most recently active of the conversations I am in (with a hint when
there are more), or all of them with `--all`; `--json` pages the records as the service does."""

from __future__ import annotations

import os

from cli_helpers import as_, convo
from convo_cli.api import Client
from convo_cli.engine.inprocess import InProcessTransport


def test_list_shows_one_page_and_says_so_and_all_shows_every_one():
    client = Client(InProcessTransport(os.path.join(os.environ["CONVO_DATA_DIR"], "local.db")))
    sids = set()
    for n in range(53):
        sid = client.create_conversation(unique_name=f"room-{n}").sid
        client.add_participant(sid, identity="alice")
        sids.add(sid)
    client.add_participant(client.create_conversation(unique_name="bobs").sid, identity="bob")
    # The highest SIDs would come last in the service's order: activity brings them first.
    latest = sorted(sids)[-3:]
    for sid in latest:
        client.call("POST", client.path("Conversations", sid, "Messages"),
                    body=(("Author", "bob"), ("Body", "hi"),
                          ("DateCreated", "2099-01-01T00:00:00Z")))
    client.close()

    first = convo("list")
    assert first.code == 0 and len(first.rows()) == 50
    assert {row[0] for row in first.rows()[:3]} == set(latest)
    assert first.err == "Showing the 50 most recently active of 53; add --all for every " \
                        "conversation.\n"
    paged = convo("list", "--json")
    assert len(paged.json()) == 50
    assert paged.err == "Showing the first 50; add --all for every conversation.\n"
    everything = convo("list", "--all")
    assert (everything.code, everything.err) == (0, "")
    assert {row[0] for row in everything.rows()} == sids
    as_json = convo("list", "--all", "--json").json()
    assert {c["conversation_sid"] for c in as_json} == sids
    assert [c["conversation_unique_name"] for c in as_("bob", "list", "--json").json()] == [
        "bobs"]
