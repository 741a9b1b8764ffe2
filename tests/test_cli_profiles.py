"""The profile commands end to end: `login`, `logout`, `profiles`, `whoami`, and what a
network profile sends. Twilio itself is an injected httpx transport that records each
request (no network); secrets go to the real Secret Service of `keyring_helpers`."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from cli_helpers import Result, convo
from convo_cli.credentials import load_backend
from keyring_helpers import files_containing

AC = "AC" + "1" * 32
SK = "SK" + "3" * 32
IS = "IS" + "4" * 32
TOKEN = "auth-token-5f2e8a1c9d7b3e6f0a4c"
KEY_SECRET = "key-secret-0b9d8c7a6f5e4d3c2b1a"
TWILIO = "https://conversations.twilio.com"
AUTH_ERROR = {"code": 20003, "message": "Authenticate",
              "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}


class FakeTwilio:
    """Records what convo sends and answers every list with an empty page (or `status`)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json=AUTH_ERROR)
        key = "conversations"
        return httpx.Response(200, json={key: [], "meta": {
            "page": 0, "page_size": 50, "first_page_url": str(request.url),
            "previous_page_url": None, "url": str(request.url), "next_page_url": None,
            "key": key}})

    def sent(self) -> list[tuple[str, str, str | None]]:
        return [(r.method, str(r.url), r.headers.get("authorization")) for r in self.requests]


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def login(*argv: str, stdin: str = TOKEN + "\n", **kwargs) -> Result:  # type: ignore[no-untyped-def]
    return convo("login", "--profile", "prod", *argv, stdin=stdin, **kwargs)


def no_leak(secret: str, tmp_path, *results: Result) -> None:  # type: ignore[no-untyped-def]
    assert files_containing(secret, tmp_path) == []
    for result in results:
        assert secret not in result.out and secret not in result.err


def test_login_to_twilio_then_list_sends_basic_auth_to_twilio(real_keyring, tmp_path):
    twilio = FakeTwilio()
    logged = login("--twilio", "--account-sid", AC, "--identity", "dan",
                   http_transport=twilio.transport)
    assert (logged.code, logged.out) == (0, "")
    assert logged.err.startswith("Logged in: profile 'prod' (twilio, AC111")
    assert "the secret is in the OS keyring" in logged.err
    listed = convo("list", http_transport=twilio.transport)  # prod is now the active profile
    assert (listed.code, listed.out, listed.err) == (0, "", "")
    assert twilio.sent() == [
        ("GET", f"{TWILIO}/v1/Conversations?PageSize=1", basic(AC, TOKEN)),
        ("GET", f"{TWILIO}/v1/Users/dan/Conversations?PageSize=50",
         basic(AC, TOKEN)),
    ]
    assert twilio.requests[1].headers["accept"] == "application/json"
    assert load_backend({"PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"}) \
        .get_password("convo:prod", AC) == TOKEN
    who = convo("whoami", "--json")
    assert (who.code, who.json()["profile"], who.json()["selected_by"]) == (
        0, "prod", "active profile")
    assert (who.json()["secret_source"], who.json()["secret_stored"]) == ("keyring", True)
    no_leak(TOKEN, tmp_path, logged, listed, who)
    assert convo("profiles", "remove", "prod").code == 0


def test_an_api_key_profile_with_a_service_authenticates_as_the_key(real_keyring, tmp_path):
    twilio = FakeTwilio()
    logged = login("--twilio", "--account-sid", AC, "--api-key", SK, "--service-sid", IS,
                   "--identity", "dan", "--no-verify", stdin=KEY_SECRET,
                   http_transport=twilio.transport)
    assert (logged.code, twilio.requests) == (0, [])  # --no-verify: nothing sent
    sent = convo("--profile", "prod", "list", http_transport=twilio.transport)
    assert sent.code == 0
    assert twilio.sent() == [
        ("GET", f"{TWILIO}/v1/Services/{IS}/Users/dan/Conversations?PageSize=50",
         basic(SK, KEY_SECRET))]
    no_leak(KEY_SECRET, tmp_path, logged, sent)
    convo("profiles", "remove", "prod")


def test_rejected_credentials_at_login_store_nothing(real_keyring, tmp_path):
    twilio = FakeTwilio(status=401)
    result = login("--twilio", "--account-sid", AC, http_transport=twilio.transport)
    assert (result.code, result.out) == (4, "")
    assert result.err == (
        f"convo: error: {TWILIO} rejected the credentials for {AC} [Twilio error 20003] "
        "(https://www.twilio.com/docs/errors/20003); nothing was stored\n")
    assert not (tmp_path / "config").exists()
    backend = load_backend({"PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"})
    assert backend.get_password("convo:prod", AC) is None


def test_credentials_rejected_later_say_how_to_log_in_again(real_keyring):
    assert login("--twilio", "--account-sid", AC, "--identity", "dan", "--no-verify").code == 0
    result = convo("list", http_transport=FakeTwilio(status=401).transport)
    assert (result.code, result.out) == (4, "")
    assert result.err == ("convo: error: Authenticate [Twilio error 20003] "
                          "(https://www.twilio.com/docs/errors/20003); "
                          "run: convo login --profile prod\n")
    convo("profiles", "remove", "prod")


def test_environment_credentials_come_first_and_whoami_says_so(tmp_path):
    env = {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": TOKEN, "CONVO_IDENTITY": "ci-bot"}
    who = convo("whoami", "--json", **env)
    assert who.code == 0
    assert who.json() == {
        "profile": "(environment)", "kind": "twilio", "selected_by": "TWILIO_* environment",
        "base_url": TWILIO, "identity": "ci-bot", "identity_source": "CONVO_IDENTITY",
        "account_sid": AC, "username": AC, "service_sid": None, "service_source": None,
        "secret_source": "environment", "secret_stored": True}
    twilio = FakeTwilio()
    listed = convo("list", http_transport=twilio.transport, **env)
    keyed = convo("list", http_transport=twilio.transport, TWILIO_API_KEY=SK,
                  TWILIO_API_SECRET=KEY_SECRET, **env)
    assert (listed.code, keyed.code) == (0, 0)
    assert [auth for _, _, auth in twilio.sent()] == [basic(AC, TOKEN), basic(SK, KEY_SECRET)]
    # The environment's credentials are not stored anywhere, so there is nothing to log out.
    out = convo("logout", **env)
    assert (out.code, out.err) == (2, "convo: error: the environment's credentials are not "
                                      "stored: unset TWILIO_* instead\n")
    no_leak(TOKEN, tmp_path, who, listed, keyed, out)


def test_without_a_keyring_login_fails_with_exit_4_naming_what_works_for_the_kind(tmp_path):
    result = login("--server", "http://127.0.0.1:8080", "--account-sid", AC, "--no-verify")
    assert (result.code, result.out) == (4, "")
    # For a convo serve, the TWILIO_* variables would change the destination to twilio.com.
    assert result.err.startswith("convo: error: no usable OS keyring was found; add "
                                 "--insecure-storage to keep the secret in a 0600 file "
                                 "instead; or run a Secret Service such as gnome-keyring")
    assert "TWILIO_" not in result.err
    twilio = convo("login", "--profile", "prod", "--twilio", "--account-sid", AC, "--no-verify",
                   stdin=TOKEN)
    assert twilio.code == 4
    assert "--insecure-storage" in twilio.err
    assert "or skip login and set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in twilio.err
    for each in (result, twilio):
        assert each.err.count("\n") == 1
    assert not (tmp_path / "config").exists()
    no_leak(TOKEN, tmp_path, result, twilio)
    # What it names works, with nothing else changed.
    insecure = login("--server", "http://127.0.0.1:8080", "--account-sid", AC, "--no-verify",
                     "--insecure-storage")
    assert insecure.code == 0, insecure.err


def test_insecure_storage_is_an_explicit_opt_in_that_warns_on_every_use(tmp_path):
    twilio = FakeTwilio()
    logged = login("--twilio", "--account-sid", AC, "--identity", "dan", "--insecure-storage",
                   http_transport=twilio.transport)
    assert logged.code == 0 and "unencrypted file (--insecure-storage)" in logged.err
    for _ in range(2):
        used = convo("list", http_transport=twilio.transport)
        assert used.code == 0
        assert used.err.startswith("warning: the secret of profile 'prod' is stored "
                                   f"unencrypted in {tmp_path / 'config'}")
    assert files_containing(TOKEN, tmp_path) == [tmp_path / "config" / "insecure-secrets" / "prod"]
    for private in ("config", "config/insecure-secrets"):
        assert (tmp_path / private).stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "config/insecure-secrets/prod").stat().st_mode & 0o777 == 0o600
    assert convo("logout").code == 0
    assert files_containing(TOKEN, tmp_path) == []


@pytest.mark.parametrize("argv,stdin,code,line", [
    ([], "", 4, "no auth token given: pipe it on standard input (printf %s \"$TOKEN\" | "
     "convo login …) or run login on a terminal"),
    (["--token", TOKEN], TOKEN, 2, "No such option: --token (see: convo login --help)"),
    (["--twilio", "--server", "http://x"], TOKEN, 2,
     "login needs exactly one of --twilio or --server URL"),
    (["--server", "ftp://x"], TOKEN, 2, "--server must be an http:// or https:// URL with no "
     "path, such as http://127.0.0.1:8080"),
    (["--twilio", "--account-sid", "AC123"], TOKEN, 2,
     "--account-sid must be AC followed by 32 hex digits"),
])
def test_bad_logins_are_refused_before_anything_is_stored(argv, stdin, code, line, tmp_path):
    if "--account-sid" not in argv and "--token" not in argv:
        argv = [*argv, "--account-sid", AC]
    if not any(a in argv for a in ("--twilio", "--server")):
        argv = [*argv, "--twilio"]
    result = login(*argv, stdin=stdin)
    assert (result.code, result.out, result.err) == (code, "", f"convo: error: {line}\n")
    assert not (tmp_path / "config").exists()


def test_profiles_list_use_and_remove(real_keyring):
    assert convo("login", "--profile", "team", "--server", "http://127.0.0.1:8080/",
                 "--account-sid", AC, "--identity", "carol", "--no-verify",
                 stdin=TOKEN).code == 0
    listed = convo("profiles")
    assert listed.rows() == [["false", "local", "local", "", "", "", ""],
                             ["true", "team", "server", "http://127.0.0.1:8080", AC, "carol",
                              ""]]
    assert convo("profiles", "--json").json()[1] == {
        "name": "team", "active": True, "kind": "server", "base_url": "http://127.0.0.1:8080",
        "account_sid": AC, "api_key": None, "identity": "carol", "service_sid": None}
    used = convo("profiles", "use", "local")
    assert (used.code, used.err) == (0, "Active profile: local.\n")
    assert convo("whoami").rows()[0] == ["profile", "local"]
    terminal = convo("profiles", tty=True)
    assert terminal.out.splitlines()[0].split() == [
        "Active", "Name", "Kind", "Base", "url", "Account", "sid", "Identity"]
    assert terminal.out.splitlines()[1].split() == ["*", "local", "local"]
    removed = convo("profiles", "remove", "team")
    assert (removed.code, removed.err) == (0, "Removed profile 'team' and its secret.\n")
    assert [row[1] for row in convo("profiles").rows()] == ["local"]
    missing = convo("profiles", "use", "team")
    assert (missing.code, missing.err) == (
        2, "convo: error: no profile 'team' to act on; see: convo profiles\n")


def test_the_built_in_profile_is_named_as_such_not_as_missing():
    """`convo profiles` lists `local`: the refusals say what it is."""
    assert "local" in [row[1] for row in convo("profiles").rows()]
    removed = convo("profiles", "remove", "local")
    assert (removed.code, removed.out, removed.err) == (
        2, "", "convo: error: 'local' is the built-in engine's profile: it cannot be removed\n")
    logged_out = convo("logout", "--profile", "local")
    assert (logged_out.code, logged_out.err) == (
        2, "convo: error: 'local' is the built-in engine's profile: it has no credentials to "
           "log out of\n")
    assert [row[1] for row in convo("profiles").rows()] == ["local"]


class Proxy(BaseHTTPRequestHandler):
    """An HTTP proxy that answers for the origin itself and records the request lines."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Proxy.seen.append(self.requestline)
        body = json.dumps({"conversations": [], "meta": {
            "page": 0, "page_size": 50, "first_page_url": "", "previous_page_url": None,
            "url": "", "next_page_url": None, "key": "conversations"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_network_profiles_go_through_the_proxy_the_environment_names(monkeypatch, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        team = "http://convo-team.invalid:8080"
        assert convo("login", "--profile", "team", "--server", team, "--account-sid", AC,
                     "--identity", "carol", "--insecure-storage", "--no-verify",
                     stdin=TOKEN).code == 0
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
        Proxy.seen.clear()
        assert convo("list").code == 0
        assert Proxy.seen == [
            f"GET {team}/v1/Users/carol/Conversations?PageSize=50 HTTP/1.1"]
        # NO_PROXY wins: convo then goes direct, and says which URL it could not reach.
        monkeypatch.setenv("NO_PROXY", "convo-team.invalid")
        direct = convo("list")
        assert direct.code == 1
        assert direct.err.splitlines()[-1].startswith(f"convo: error: cannot reach {team}: ")
        # The built-in engine never uses a proxy (no socket at all).
        assert convo("--profile", "local", "create", "--unique-name", "room").code == 0
        assert len(Proxy.seen) == 1
    finally:
        server.shutdown()


def test_a_corrupt_config_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("active_profile = [unclosed\n")
    result = convo("list")
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(f"convo: error: config file {tmp_path / 'config' / 'config.toml'}"
                                 " is not valid TOML")
    assert result.err.endswith("; fix or remove it\n") and result.err.count("\n") == 1
