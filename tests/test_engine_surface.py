"""Every path and method of the spec copy, walked against the engine with valid data.

None may be answered "route not found" or 405, except the documented list of what is not
built yet (surface_helpers.NOT_YET: named Conversation Services, address configurations,
delivery receipts); every answer is a 2xx that validates against the spec's schema. The
test fails when the spec gains an operation the engine lacks, and when an operation of the
list starts to answer (take it off the list). In-process, and once over `convo serve`.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine_helpers import EngineClient, all_urls, validate_response
from server_helpers import raw_request
from surface_helpers import Answer, Call, coverage, operations, run, walk

OPERATIONS = operations()


def in_process(client: EngineClient) -> Call:
    def call(method: str, path: str, query: str, form: Any) -> tuple[int, Any]:
        reply = client.call(method, path, form=form, query=query)
        return reply.status, reply.body
    return call


def check(answer: Answer) -> None:
    operation = answer.operation
    if operation.not_yet:
        assert answer.status in (404, 405), \
            f"{operation.operation_id} answers {answer.status} now: take it off NOT_YET"
        return
    assert answer.answered, (operation.operation_id, answer.url, answer.status, answer.body)
    if answer.body is not None:
        validate_response(operation.operation_id, answer.status, answer.body)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.operation_id for o in OPERATIONS])
def test_every_operation_is_answered(client, operation):
    answer = run(in_process(client), operation, "0")
    check(answer)
    # Every link leads somewhere that answers: a 200; a 404 that says what is not served; a
    # list that asks for its filter (a service's participant_conversations); or a 405 naming
    # the methods there are (conversation_with_participants is created, never read).
    for where, url in all_urls(answer.body):
        if ".links." in f".{where}" or where.startswith("links."):
            reply = client.follow(url)
            assert reply.status == 200 or (
                reply.status == 404 and "does not implement" in reply.body["message"]) or (
                where.endswith("participant_conversations") and reply.code == 50451) or (
                reply.status == 405 and reply.headers.get("allow") == "POST"), \
                (where, url, reply.status, reply.body)


def test_the_spec_has_the_operations_counted():
    # The figure the coverage is reported against (issue 12: 103 operations).
    assert len(OPERATIONS) == len({o.operation_id for o in OPERATIONS}) == 103


def test_every_operation_is_answered_when_served(served, capsys):
    def call(method: str, path: str, query: str, form: Any) -> tuple[int, Any]:
        from urllib.parse import urlencode

        body = urlencode(form).encode() if form is not None else None
        status, _, answer = raw_request(served.url, method, f"{path}?{query}" if query else path,
                                        body, auth=served.auth)
        return status, answer

    answers = list(walk(call, "served-"))
    for answer in answers:
        check(answer)
    with capsys.disabled():
        print(f"\nspec coverage (served): {coverage(answers)}")
