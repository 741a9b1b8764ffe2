"""Crafted parameter values: every one out of range is Twilio's 400 naming the parameter,
never a 500 (each of these was a 500 with a traceback before), and dates always come back
with four-digit years."""

from __future__ import annotations

import base64

import pytest

from engine_helpers import TIME, assert_error, validate_response

INT64_MAX = 2**63 - 1


def token(kind: str, owner: str, order: str, key: object) -> str:
    raw = f"{kind}|{owner}|{order}|{key}".encode()
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [33, 995, 8000])  # 8,000 levels: 16 KB, the size limit
def test_attributes_nested_too_deeply_are_refused_naming_the_parameter(client, levels):
    reply = client.post("/v1/Conversations", {"Attributes": f'{{"a": {nested(levels - 1)}}}'})
    assert_error(reply, 400, 20422)
    assert "Attributes" in reply.body["message"] and "32" in reply.body["message"]


def test_attributes_deep_everywhere_they_are_accepted(client):
    ch = client.conversation()["sid"]
    for path, form in [(f"/v1/Conversations/{ch}/Participants", {"Identity": "bob"}),
                       (f"/v1/Conversations/{ch}/Messages", {"Body": "hi"}),
                       ("/v1/Users", {"Identity": "carol"}),
                       (f"/v1/Conversations/{ch}", {})]:
        reply = client.post(path, {**form, "Attributes": nested(995)})
        assert_error(reply, 400, 20422)


def test_attributes_at_the_depth_limit_and_brackets_in_strings_are_fine(client):
    assert client.conversation(attributes=nested(32))["attributes"] == nested(32)
    text = '{"a": "' + "[{" * 500 + '\\"' + "[" * 40 + '"}'
    assert client.conversation(attributes=text)["attributes"] == text


@pytest.mark.parametrize("name", ["DateCreated", "DateUpdated"])
@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00",
                                   "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"])
def test_dates_outside_years_1_to_9999_are_refused(client, name, value):
    reply = client.post("/v1/Conversations", {name: value})
    assert_error(reply, 400, 20422)
    assert name in reply.body["message"]


def test_a_start_date_filter_past_9999_is_refused(client):
    reply = client.get("/v1/Conversations", {"StartDate": "9999-12-31T23:00:00-05:00"})
    assert_error(reply, 400, 20422)
    assert "StartDate" in reply.body["message"]


@pytest.mark.parametrize("value, expected", [
    ("0999-01-02T03:04:05Z", "0999-01-02T03:04:05Z"),
    ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ("0002-01-01T03:00:00+05:00", "0001-12-31T22:00:00Z"),
    ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
])
def test_dates_near_the_ends_keep_four_digit_years(client, value, expected):
    ch = client.conversation(date_created=value)
    assert ch["date_created"] == expected and TIME.match(ch["date_created"])
    validate_response("CreateConversation", 201, ch)
    message = client.message(ch["sid"], body="old", date_created=value, date_updated=value)
    assert (message["date_created"], message["date_updated"]) == (expected, expected)
    listed = client.get("/v1/Conversations", {"StartDate": "0001-01-01"}).body
    assert expected in [c["date_created"] for c in listed["conversations"]]


@pytest.mark.parametrize("name", ["Timers.Closed", "Timers.Inactive"])
@pytest.mark.parametrize("value", ["P999999999999D", "PT99999999999999999999S",
                                   "PT" + "9" * 5000 + "S", "P3000000D"])
def test_timers_that_end_after_9999_are_refused(client, name, value):
    reply = client.post("/v1/Conversations", {name: value})
    assert_error(reply, 400, 20422)
    assert name in reply.body["message"]


def test_a_timer_near_9999_within_range_is_kept(client):
    ch = client.conversation(date_updated="9999-12-31T23:00:00Z", timers__closed="PT1000S")
    assert ch["timers"] == {"date_closed": "9999-12-31T23:16:40Z"}
    reply = client.post("/v1/Conversations", {"DateUpdated": "9999-12-31T23:00:00Z",
                                              "Timers.Closed": "PT3600S"})
    assert_error(reply, 400, 20422)


def test_leading_zeros_and_other_scripts_digits_in_durations(client):
    ch = client.conversation(date_updated="2020-01-01T00:00:00Z",
                             timers__inactive="PT" + "0" * 40 + "60S")
    assert ch["timers"] == {"date_inactive": "2020-01-01T00:01:00Z"}
    reply = client.post("/v1/Conversations", {"Timers.Inactive": "PT\u0661\u0662\u0660S"})
    assert (reply.status, reply.code) == (400, 50379)


def test_last_read_message_index_beyond_int64_is_refused(client):
    ch = client.conversation()["sid"]
    mb = client.participant(ch, identity="bob")["sid"]
    path = f"/v1/Conversations/{ch}/Participants/{mb}"
    for value in (str(2**63), str(-2**63 - 1), "9" * 5000, "\u0661", "1_0", " 1"):
        reply = client.post(path, {"LastReadMessageIndex": value})
        assert_error(reply, 400, 20422)
        assert "LastReadMessageIndex" in reply.body["message"]
    reply = client.post(path, {"LastReadMessageIndex": str(INT64_MAX)})
    assert reply.status == 200 and reply.body["last_read_message_index"] == INT64_MAX


@pytest.mark.parametrize("name", ["PageSize", "Page"])
@pytest.mark.parametrize("value", [str(2**63), "9" * 5000, "\u0661\u0662"])
def test_paging_numbers_beyond_int64_are_refused(client, name, value):
    reply = client.get("/v1/Conversations", {name: value})
    assert_error(reply, 400, 20422)
    assert name in reply.body["message"]


def test_a_page_size_above_the_maximum_is_clamped(client):
    assert client.get("/v1/Conversations", {"PageSize": str(INT64_MAX)}).body["meta"][
        "page_size"] == 100


@pytest.mark.parametrize("key", [2**63, -2**63 - 1, "9" * 5000])
def test_page_tokens_with_keys_beyond_int64_are_invalid_tokens(client, key):
    ch = client.conversation()["sid"]
    for path, kind, owner in [("/v1/Conversations", "conversations", ""),
                              ("/v1/Users", "users", ""),
                              (f"/v1/Conversations/{ch}/Participants", "participants", ch),
                              (f"/v1/Conversations/{ch}/Messages", "messages", ch)]:
        reply = client.get(path, {"PageToken": token(kind, owner, "asc", key)})
        assert_error(reply, 400, 21481)


SERVED_CASES = [
    ("POST", "/v1/Conversations", {"Attributes": nested(995)}, "Attributes"),
    ("POST", "/v1/Conversations", {"DateCreated": "9999-12-31T23:00:00-05:00"}, "DateCreated"),
    ("POST", "/v1/Conversations", {"DateUpdated": "0001-01-01T00:00:00+05:00"}, "DateUpdated"),
    ("POST", "/v1/Conversations", {"Timers.Closed": "P999999999999D"}, "Timers.Closed"),
    ("GET", "/v1/Conversations", {"PageSize": str(2**63)}, "PageSize"),
    ("GET", "/v1/Conversations", {"Page": str(2**63)}, "Page"),
]


@pytest.mark.parametrize("method, path, params, name", SERVED_CASES,
                         ids=[case[3] for case in SERVED_CASES])
def test_served_crafted_parameters_are_400_naming_them(served, method, path, params, name):
    from urllib.parse import urlencode

    from server_helpers import raw_request

    if method == "GET":
        status, _, body = raw_request(served.url, method, f"{path}?{urlencode(params)}",
                                      auth=served.auth)
    else:
        status, _, body = raw_request(served.url, method, path, urlencode(params).encode(),
                                      auth=served.auth)
    assert (status, body["code"]) == (400, 20422), body
    assert name in body["message"]
    assert "Traceback" not in served.log() and "Error" not in served.log()


def test_served_page_token_beyond_int64_is_an_invalid_token(served):
    from server_helpers import raw_request

    status, _, body = raw_request(
        served.url, "GET", f"/v1/Users?PageToken={token('users', '', 'asc', 2**63)}",
        auth=served.auth)
    assert (status, body["code"]) == (400, 21481)
