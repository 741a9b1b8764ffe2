"""The Roles resource in the engine (in-process, the spec's schema checked): Twilio's four
default roles, create/update/delete of others, and RoleSid values that must name a real
role of the right type (defaults when absent)."""

from __future__ import annotations

import sqlite3

from convo_cli.engine.keys import Actor
from convo_cli.engine.store import MIGRATIONS
from engine_helpers import EngineClient, validate_response


def roles_by_name(client) -> dict[str, dict]:
    listed = client.get("/v1/Roles")
    assert listed.status == 200
    validate_response("ListRole", 200, listed.body)
    return {r["friendly_name"]: r for r in listed.body["roles"]}


def test_a_new_database_has_twilios_default_roles(client):
    roles = roles_by_name(client)
    assert {name: r["type"] for name, r in roles.items()} == {
        "service admin": "service", "service user": "service",
        "channel admin": "conversation", "channel user": "conversation"}
    assert set(roles["service user"]["permissions"]) == {
        "createConversation", "joinConversation", "editOwnUserInfo"}
    user = set(roles["channel user"]["permissions"])
    assert {"sendMessage", "editOwnMessage", "deleteOwnMessage", "leaveConversation"} <= user
    assert not {"deleteAnyMessage", "addParticipant", "removeParticipant"} & user
    assert user < set(roles["channel admin"]["permissions"])
    fetched = client.get(f"/v1/Roles/{roles['channel user']['sid']}")
    validate_response("FetchRole", 200, fetched.body)
    assert fetched.body == roles["channel user"]


def test_create_update_delete_a_role(client):
    made = client.post("/v1/Roles", [("FriendlyName", "moderator"), ("Type", "conversation"),
                                     ("Permission", "sendMessage"),
                                     ("Permission", "deleteAnyMessage")])
    assert made.status == 201, made.body
    validate_response("CreateRole", 201, made.body)
    assert made.body["permissions"] == ["sendMessage", "deleteAnyMessage"]
    sid = made.body["sid"]
    updated = client.post(f"/v1/Roles/{sid}", [("Permission", "sendMessage")])
    validate_response("UpdateRole", 200, updated.body)
    assert updated.body["permissions"] == ["sendMessage"]  # replaced, as Twilio does
    assert client.post("/v1/Roles", [("FriendlyName", "moderator"), ("Type", "conversation"),
                                     ("Permission", "sendMessage")]).status == 409
    # In use: refused until nobody has it.
    ch = client.post("/v1/Conversations", {}).body["sid"]
    assert client.post(f"/v1/Conversations/{ch}/Participants",
                       {"Identity": "alice", "RoleSid": sid}).body["role_sid"] == sid
    assert client.delete(f"/v1/Roles/{sid}").status == 400
    client.delete(f"/v1/Conversations/{ch}/Participants/alice")
    assert client.delete(f"/v1/Roles/{sid}").status == 204
    assert client.get(f"/v1/Roles/{sid}").status == 404


def test_bad_roles_are_refused(client):
    for form in ({"Type": "conversation", "Permission": "sendMessage"},
                 {"FriendlyName": "x", "Type": "channel", "Permission": "sendMessage"},
                 {"FriendlyName": "x", "Type": "conversation"},
                 {"FriendlyName": "x", "Type": "conversation", "Permission": "createConversation"},
                 {"FriendlyName": "x" * 65, "Type": "service", "Permission": "sendMessage"}):
        assert client.post("/v1/Roles", form).status == 400, form
    default = roles_by_name(client)["channel user"]["sid"]
    assert client.delete(f"/v1/Roles/{default}").status == 400
    assert client.get("/v1/Roles/RL" + "0" * 32).status == 404


def test_role_sids_name_real_roles_of_the_right_type(client):
    roles = roles_by_name(client)
    ch = client.post("/v1/Conversations", {}).body["sid"]
    added = client.post(f"/v1/Conversations/{ch}/Participants", {"Identity": "alice"})
    assert added.body["role_sid"] == roles["channel user"]["sid"]
    user = client.get("/v1/Users/alice").body
    assert user["role_sid"] == roles["service user"]["sid"]
    for role in ("RL" + "a" * 32, roles["service admin"]["sid"]):
        assert client.post(f"/v1/Conversations/{ch}/Participants",
                           {"Identity": "bob", "RoleSid": role}).status == 400
        assert client.post("/v1/Users", {"Identity": "carol",
                                         "RoleSid": roles["channel admin"]["sid"]}).status == 400
    promoted = client.post(f"/v1/Conversations/{ch}/Participants/alice",
                           {"RoleSid": roles["channel admin"]["sid"]})
    assert promoted.body["role_sid"] == roles["channel admin"]["sid"]


def test_a_database_from_before_roles_gets_them_and_old_rows_the_defaults(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:2]:
        db.executescript(step)
    db.execute("PRAGMA user_version = 2")
    now = "2026-11-23T10:00:00Z"
    db.execute("INSERT INTO conversations (sid, next_index, message_count, date_created, "
               "date_updated) VALUES (?, 1, 1, ?, ?)", ("CH" + "1" * 32, now, now))
    db.execute("INSERT INTO participants (sid, conversation_id, identity, date_created, "
               "date_updated) VALUES (?, 1, 'alice', ?, ?)", ("MB" + "1" * 32, now, now))
    db.execute("INSERT INTO messages (sid, conversation_id, idx, author, body, date_created, "
               "date_updated) VALUES (?, 1, 0, 'bob', 'x', ?, ?)", ("IM" + "0" * 32, now, now))
    db.commit()
    db.close()
    client = EngineClient(path)
    try:
        assert len(roles_by_name(client)) == 4
        alice = Actor("SK" + "0" * 32, "alice")
        conversation = f"/v1/Conversations/{'CH' + '1' * 32}"
        # alice's participant row has no role: she is a channel user.
        status, _, _ = client.engine.handle("DELETE", f"{conversation}/Messages/{'IM' + '0' * 32}",
                                            "", b"", {}, actor=alice)
        assert status == 403
        status, _, _ = client.engine.handle("POST", f"{conversation}/Messages", "",
                                            b"Body=mine", {}, actor=alice)
        assert status == 201
    finally:
        client.close()
