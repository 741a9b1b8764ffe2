"""The official `twilio` library on the account's resources of `convo serve`: the
configuration, a conversation created with its participants, push credentials."""

from __future__ import annotations

import json

import pytest
from twilio.base.exceptions import TwilioRestException

from test_serve_twilio import no_proxy, twilio  # noqa: F401 - the fixture, used by name


def test_configuration_as_the_library_reads_and_writes_it(served):
    v1 = twilio(served).conversations.v1
    configuration = v1.configuration().fetch()
    conversation = v1.conversations.create(friendly_name="before")
    assert configuration.default_chat_service_sid == conversation.chat_service_sid
    updated = v1.configuration().update(default_inactive_timer="PT5M",
                                        default_closed_timer="PT1H")
    assert (updated.default_inactive_timer, updated.default_closed_timer) == ("PT5M", "PT1H")
    later = v1.conversations.create(friendly_name="after")
    assert set(later.timers) == {"date_inactive", "date_closed"}
    v1.configuration().update(default_inactive_timer="", default_closed_timer="")


def test_conversation_with_participants_as_the_library_sends_it(served):
    v1 = twilio(served).conversations.v1
    created = v1.conversation_with_participants.create(
        friendly_name="kickoff", unique_name="kickoff-lib",
        participant=[json.dumps({"identity": "lib-ann"}), json.dumps({"identity": "lib-ben"})])
    people = v1.conversations(created.sid).participants.list()
    assert sorted(p.identity for p in people) == ["lib-ann", "lib-ben"]
    with pytest.raises(TwilioRestException) as caught:
        v1.conversation_with_participants.create(
            unique_name="kickoff-lib-2",
            participant=[json.dumps({"identity": "lib-cy"}), json.dumps({"identity": "lib-cy"})])
    assert caught.value.code == 50433
    assert [c.unique_name for c in v1.conversations.list()].count("kickoff-lib-2") == 0


def test_push_credentials_as_the_library_manages_them(served):
    v1 = twilio(served).conversations.v1
    credential = v1.credentials.create(type="apn", friendly_name="iOS", certificate="CERT-PEM",
                                       private_key="KEY-PEM", sandbox=True)
    assert (credential.type, credential.sandbox, credential.friendly_name) == ("apn", "True", "iOS")
    assert credential.sid in [c.sid for c in v1.credentials.list()]
    assert v1.credentials(credential.sid).update(friendly_name="iPhone").friendly_name == "iPhone"
    assert v1.credentials(credential.sid).fetch().friendly_name == "iPhone"
    assert v1.credentials(credential.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        v1.credentials(credential.sid).fetch()
    assert caught.value.status == 404
