"""Per-user API keys and Twilio's Roles on a real `convo serve`: an identity key acts only
as its identity (conversations it is not in are 404 like unknown ones, it posts only as
itself, deletes others' messages only with a role that allows it); a revoked key is 401;
the twilio library and `convo login --api-key` work with a key."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from cli_helpers import convo
from server_helpers import raw_request, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("keys") / "team.db")
    yield running
    running.stop()


def new_key(server, identity: str | None = None) -> tuple[str, str]:
    args = ["--identity", identity] if identity else []
    made = convo("serve", "keys", "create", *args, "--db", str(server.db_path), "--json")
    assert made.code == 0, made.err
    return made.json()["sid"], made.json()["secret"]


def call(server, auth, method: str, path: str, **form: str):
    body = urlencode(form).encode() if method == "POST" else None
    status, _, payload = raw_request(server.url, method, path, body, auth=auth)
    return status, payload


@pytest.fixture(scope="module")
def scene(server):
    """`private` (bob alone) and `team` (alice and bob, one message from bob), made with the
    account's credentials; alice's identity key."""
    admin = server.auth
    rooms = {}
    for name, people in (("private", ["bob"]), ("team", ["alice", "bob"])):
        status, room = call(server, admin, "POST", "/v1/Conversations", UniqueName=name)
        assert status == 201
        rooms[name] = room["sid"]
        for who in people:
            assert call(server, admin, "POST", f"/v1/Conversations/{name}/Participants",
                        Identity=who)[0] == 201
    status, message = call(server, admin, "POST", "/v1/Conversations/team/Messages",
                           Author="bob", Body="bob's")
    assert status == 201
    return {"rooms": rooms, "bobs": message["sid"], "alice": new_key(server, "alice")}


def test_an_identity_key_cannot_see_a_conversation_it_is_not_in(server, scene):
    alice = scene["alice"]
    hidden = call(server, alice, "GET", f"/v1/Conversations/{scene['rooms']['private']}")
    unknown = call(server, alice, "GET", "/v1/Conversations/CH" + "0" * 32)
    assert (hidden[0], hidden[1]["code"]) == (unknown[0], unknown[1]["code"]) == (404, 20404)
    for path in ("/v1/Conversations/private/Messages", "/v1/Conversations/private/Participants"):
        assert call(server, alice, "GET", path)[0] == 404
    listed = call(server, alice, "GET", "/v1/Conversations")[1]
    assert [c["unique_name"] for c in listed["conversations"]] == ["team"]
    # The account sees both.
    everything = call(server, server.auth, "GET", "/v1/Conversations")[1]
    assert {c["unique_name"] for c in everything["conversations"]} == {"private", "team"}


def test_an_identity_key_posts_only_as_itself(server, scene):
    alice = scene["alice"]
    status, refused = call(server, alice, "POST", "/v1/Conversations/team/Messages",
                           Author="bob", Body="I am bob")
    assert (status, refused["code"]) == (403, 20403)
    status, sent = call(server, alice, "POST", "/v1/Conversations/team/Messages", Body="hi")
    assert (status, sent["author"]) == (201, "alice")


def test_a_user_deletes_only_her_own_messages(server, scene):
    alice = scene["alice"]
    status, refused = call(server, alice, "DELETE",
                           f"/v1/Conversations/team/Messages/{scene['bobs']}")
    assert (status, refused["code"]) == (403, 20403)
    assert call(server, alice, "POST", f"/v1/Conversations/team/Messages/{scene['bobs']}",
                Body="edited by alice")[0] == 403
    status, mine = call(server, alice, "POST", "/v1/Conversations/team/Messages", Body="oops")
    assert call(server, alice, "DELETE", f"/v1/Conversations/team/Messages/{mine['sid']}")[0] \
        == 204
    # Bob's message is still there, unchanged.
    kept = call(server, server.auth, "GET", f"/v1/Conversations/team/Messages/{scene['bobs']}")
    assert kept[1]["body"] == "bob's"


def test_a_channel_user_cannot_add_or_remove_others(server, scene):
    alice = scene["alice"]
    assert call(server, alice, "POST", "/v1/Conversations/team/Participants",
                Identity="carol")[0] == 403
    assert call(server, alice, "DELETE", "/v1/Conversations/team/Participants/bob")[0] == 403
    assert call(server, alice, "GET", "/v1/Users")[0] == 403
    assert call(server, alice, "GET", "/v1/Users/bob")[0] == 404
    assert call(server, alice, "GET", "/v1/Users/alice")[0] == 200
    assert call(server, alice, "GET", "/v1/ParticipantConversations?Identity=bob")[0] == 403
    mine = call(server, alice, "GET", "/v1/ParticipantConversations")[1]["conversations"]
    assert [c["conversation_unique_name"] for c in mine] == ["team"]
    listed = call(server, alice, "GET", "/v1/Users/alice/Conversations")[1]["conversations"]
    assert [c["unique_name"] for c in listed] == ["team"]
    assert call(server, alice, "GET", "/v1/Users/bob/Conversations")[0] == 404
    assert call(server, alice, "POST", "/v1/Users/alice", FriendlyName="Alice")[0] == 200
    service_admin = next(r["sid"] for r in call(server, alice, "GET", "/v1/Roles")[1]["roles"]
                         if r["friendly_name"] == "service admin")
    assert call(server, alice, "POST", "/v1/Users/alice", RoleSid=service_admin)[0] == 403
    assert call(server, alice, "POST", "/v1/Conversations/team/Participants/alice",
                RoleSid=service_admin)[0] == 403
    assert call(server, alice, "POST", "/v1/Conversations/team", FriendlyName="mine")[0] == 403


def test_the_creator_of_a_conversation_is_its_admin(server, scene):
    alice = scene["alice"]
    status, room = call(server, alice, "POST", "/v1/Conversations", FriendlyName="alice's")
    assert status == 201
    path = f"/v1/Conversations/{room['sid']}"
    members = call(server, alice, "GET", path + "/Participants")[1]["participants"]
    roles = {r["sid"]: r["friendly_name"]
             for r in call(server, alice, "GET", "/v1/Roles")[1]["roles"]}
    assert [(p["identity"], roles[p["role_sid"]]) for p in members] == [("alice", "channel admin")]
    assert call(server, alice, "POST", path + "/Participants", Identity="bob")[0] == 201
    status, bobs = call(server, server.auth, "POST", path + "/Messages", Author="bob", Body="x")
    assert call(server, alice, "DELETE", f"{path}/Messages/{bobs['sid']}")[0] == 204
    assert call(server, alice, "DELETE", path + "/Participants/bob")[0] == 204
    assert call(server, alice, "DELETE", path)[0] == 204


def test_roles_are_twilios_defaults_and_role_sids_must_be_real(server, scene):
    roles = call(server, server.auth, "GET", "/v1/Roles")[1]["roles"]
    by_name = {r["friendly_name"]: r for r in roles}
    assert set(by_name) >= {"service admin", "service user", "channel admin", "channel user"}
    assert "deleteAnyMessage" in by_name["channel admin"]["permissions"]
    assert "deleteAnyMessage" not in by_name["channel user"]["permissions"]
    assert call(server, server.auth, "POST", "/v1/Conversations/team/Participants",
                Identity="dave", RoleSid="RL" + "a" * 32)[0] == 400
    # A moderator role: the account makes it and gives it to alice in `team`.
    status, made = call(server, server.auth, "POST", "/v1/Roles?" + urlencode(
        [("FriendlyName", "moderator"), ("Type", "conversation"),
         ("Permission", "sendMessage"), ("Permission", "deleteAnyMessage")]))
    assert (status, made["permissions"]) == (201, ["sendMessage", "deleteAnyMessage"])
    assert call(server, scene["alice"], "POST", "/v1/Roles", FriendlyName="x",
                Type="service", Permission="sendMessage")[0] == 403
    assert call(server, server.auth, "POST", "/v1/Conversations/team/Participants/alice",
                RoleSid=made["sid"])[0] == 200
    status, bobs = call(server, server.auth, "POST", "/v1/Conversations/team/Messages",
                        Author="bob", Body="spam")
    assert call(server, scene["alice"], "DELETE",
                f"/v1/Conversations/team/Messages/{bobs['sid']}")[0] == 204
    assert call(server, server.auth, "POST", "/v1/Conversations/team/Participants/alice",
                RoleSid=by_name["channel user"]["sid"])[0] == 200
    assert call(server, server.auth, "DELETE", f"/v1/Roles/{made['sid']}")[0] == 204


def test_an_account_wide_key_has_full_power_and_a_revoked_key_gets_401(server, scene):
    wide = new_key(server)
    assert call(server, wide, "GET", "/v1/Conversations/private")[0] == 200
    carol = new_key(server, "carol")
    assert call(server, carol, "GET", "/v1/Conversations")[0] == 200
    assert call(server, (carol[0], carol[1] + "x"), "GET", "/v1/Conversations")[0] == 401
    revoked = convo("serve", "keys", "revoke", carol[0], "--db", str(server.db_path))
    assert revoked.code == 0, revoked.err
    status, refused = call(server, carol, "GET", "/v1/Conversations")
    assert (status, refused["code"]) == (401, 20003)


def test_keys_list_never_shows_a_secret(server):
    sid, secret = new_key(server, "erin")
    for args in ((), ("--json",)):
        listed = convo("serve", "keys", "list", "--db", str(server.db_path), *args)
        assert listed.code == 0 and sid in listed.out and "erin" in listed.out
        assert secret not in listed.out + listed.err
    assert secret.encode() not in server.db_path.read_bytes()
    assert convo("serve", "keys", "revoke", "SK123", "--db", str(server.db_path)).code == 2
    assert convo("serve", "keys", "revoke", "SK" + "0" * 32, "--db",
                 str(server.db_path)).code == 1
    assert convo("serve", "keys", "create", "--identity", " ", "--db",
                 str(server.db_path)).code == 2


def test_the_twilio_library_works_with_a_key(server, scene, monkeypatch):
    from twilio.base.exceptions import TwilioRestException
    from twilio.rest import Client

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    sid, secret = scene["alice"]
    client = Client(sid, secret, server.account_sid)
    client.edge = client.region = None
    client.conversations.base_url = server.url
    v1 = client.conversations.v1
    assert [c.unique_name for c in v1.conversations.list()] == ["team"]
    sent = v1.conversations("team").messages.create(body="from twilio-python")
    assert sent.author == "alice"
    with pytest.raises(TwilioRestException) as caught:
        v1.conversations("private").fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_convo_login_with_an_api_key(server, scene, real_keyring):
    sid, secret = new_key(server, "frank")
    assert call(server, server.auth, "POST", "/v1/Conversations/team/Participants",
                Identity="frank")[0] == 201
    logged = convo("login", "--profile", "frank", "--server", server.url, "--api-key", sid,
                   "--identity", "frank", stdin=secret + "\n")
    assert logged.code == 0, logged.err
    sent = convo("--profile", "frank", "send", "team", "hello from frank")
    assert sent.code == 0, sent.err
    assert convo("--profile", "frank", "messages", "team").rows()[-1][2:] == \
        ["frank", "hello from frank"]
    assert [row[1] for row in convo("--profile", "frank", "list").rows()] == ["team"]
    assert convo("--profile", "frank", "messages", "private").code == 1
    refused = convo("--profile", "frank", "add", "team", "carol")
    assert refused.code == 1 and "addParticipant" in refused.err, refused.err
    # A conversation frank creates is his to run; he is in it from the start.
    steps = [convo("--profile", "frank", "create", "--unique-name", "franks"),
             convo("--profile", "frank", "add", "franks", "bob"),
             convo("--profile", "frank", "remove", "franks", "bob")]
    assert [r.code for r in steps] == [0, 0, 0], [r.err for r in steps]
    assert "already a participant" in convo("--profile", "frank", "join", "franks").err
    # Acting as someone else through a key is refused by the server.
    assert convo("--profile", "frank", "--identity", "bob", "send", "team", "x").code == 1
    wrong = convo("login", "--profile", "bad", "--server", server.url, "--api-key", sid,
                  stdin="wrong-secret\n")
    assert wrong.code == 4, wrong.err
    unchecked = convo("login", "--profile", "bad", "--server", server.url, "--api-key", sid,
                      "--no-verify", stdin=secret + "\n")
    assert unchecked.code == 2 and "--account-sid" in unchecked.err, unchecked.err
    assert convo("profiles", "remove", "frank").code == 0


def test_an_identity_key_follows_the_roles_of_a_named_service(server, scene):
    admin, alice = server.auth, scene["alice"]
    status, service = call(server, admin, "POST", "/v1/Services", FriendlyName="keys-team")
    assert status == 201
    root = f"/v1/Services/{service['sid']}"
    status, own = call(server, alice, "POST", f"{root}/Conversations", UniqueName="alices")
    assert status == 201 and own["chat_service_sid"] == service["sid"]
    # Made with her key, she is its first participant with the service's creator role.
    _, members = call(server, alice, "GET", f"{root}/Conversations/alices/Participants")
    _, config = call(server, admin, "GET", f"{root}/Configuration")
    assert [(p["identity"], p["role_sid"]) for p in members["participants"]] == \
        [("alice", config["default_conversation_creator_role_sid"])]
    # Another's conversation in that service is hidden from her, as in the default one.
    call(server, admin, "POST", f"{root}/Conversations", UniqueName="secret")
    assert call(server, alice, "GET", f"{root}/Conversations/secret")[0] == 404
    assert [c["unique_name"] for c in call(server, alice, "GET", f"{root}/Conversations")[1]
            ["conversations"]] == ["alices"]
    # And she cannot make or delete services.
    assert call(server, alice, "POST", "/v1/Services", FriendlyName="mine")[0] == 403
    assert call(server, alice, "DELETE", f"/v1/Services/{service['sid']}")[0] == 403
