"""The thin Conversations client: one method per REST operation convo uses, over a Transport.

Usable as a library (no Typer, no Rich). Identifiers go into paths percent-encoded here,
because unique names and identities may hold `/`, `?`, `#` or spaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from convo_cli.api.errors import ApiError, ServiceNotFoundError
from convo_cli.api.models import (Conversation, Message, Participant, ParticipantConversation,
                                  User, UserConversation)
from convo_cli.api.paging import Page, iterate_items, iterate_pages
from convo_cli.api.transport import Pairs, Request, Transport

# So that an account's webhooks and bots see what a person does through convo, as with the SDK.
WRITE_HEADERS: Pairs = (("X-Twilio-Webhook-Enabled", "true"),)
READ_HEADERS: Pairs = (("Accept", "application/json"),)


def form(**fields: str | None) -> Pairs:
    """PascalCase form pairs from keyword arguments, dropping unset ones (as twilio-python does).
    Dotted names are passed as `MessagingBinding_Address` and restored here."""
    return tuple((name.replace("_", "."), value) for name, value in fields.items()
                 if value is not None)


class Client:
    def __init__(self, transport: Transport, *, service_sid: str | None = None) -> None:
        self.transport = transport
        # A profile may name a Conversation Service: its paths are /v1/Services/{IS}/…
        self.service_sid = service_sid
        self._root = f"/v1/Services/{quote(service_sid, safe='')}" if service_sid else "/v1"
        self._service_exists: bool | None = None  # asked after the first 404, if ever

    @property
    def seeks_message_index(self) -> bool:
        """Whether the far end is a convo engine, whose message PageTokens can be built to
        start at any index (Twilio's are opaque, and there one must page)."""
        return (self.transport.base_url.startswith("convo://")
                or bool(getattr(self.transport, "convo_engine", False)))

    def close(self) -> None:
        self.transport.close()

    # Plumbing

    def path(self, *segments: str) -> str:
        return self._root + "".join("/" + quote(s, safe="") for s in segments)

    def call(self, method: str, path: str, *, params: Pairs = (), body: Pairs = ()) -> Any:
        headers = WRITE_HEADERS if method != "GET" else READ_HEADERS
        response = self.transport.send(Request(method, path, params, body, headers))
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status >= 400:
            if response.status == 404 and path.startswith(
                    (self._root + "/", "/convo" + self._root + "/")):
                self.check_service()  # was it the service that is missing?
            raise ApiError.from_response(response.status, payload, method=method, path=path)
        return payload

    def extension(self, name: str) -> str:
        """The path of a convo extension (`/convo/v1/…`: a convo engine's, not Twilio's),
        in the client's service like its other paths."""
        return f"/convo{self._root}/{name}"

    def check_service(self) -> None:
        """ServiceNotFoundError when the client's service does not exist (asked once; called
        after a 404 under its paths, and by whoever must know before starting)."""
        if self.service_sid is None or self._service_exists:
            return
        if self._service_exists is None:
            from convo_cli.api.services import service_exists

            self._service_exists = service_exists(self.transport, self.service_sid)
        if not self._service_exists:
            raise ServiceNotFoundError(self.service_sid)

    def _get(self, request: Request) -> Any:
        return self.call("GET", request.path, params=request.params)

    def pages(self, path: str, params: Pairs, make: Any) -> Iterator[Page[Any]]:
        return iterate_pages(self._get, Request("GET", path, params, (), READ_HEADERS),
                             self.transport.base_url, make)

    # Conversations

    def create_conversation(self, *, friendly_name: str | None = None,
                            unique_name: str | None = None,
                            attributes: str | None = None) -> Conversation:
        fields = form(FriendlyName=friendly_name, UniqueName=unique_name, Attributes=attributes)
        return Conversation.from_json(self.call("POST", self.path("Conversations"), body=fields))

    def fetch_conversation(self, sid_or_unique_name: str) -> Conversation:
        return Conversation.from_json(
            self.call("GET", self.path("Conversations", sid_or_unique_name)))

    def update_conversation(self, sid_or_unique_name: str, *, friendly_name: str | None = None,
                            unique_name: str | None = None, attributes: str | None = None,
                            state: str | None = None) -> Conversation:
        fields = form(FriendlyName=friendly_name, UniqueName=unique_name, Attributes=attributes,
                      State=state)
        return Conversation.from_json(
            self.call("POST", self.path("Conversations", sid_or_unique_name), body=fields))

    def delete_conversation(self, sid_or_unique_name: str) -> None:
        self.call("DELETE", self.path("Conversations", sid_or_unique_name))

    def list_conversations(self, *, page_size: int | None = None) -> Iterator[Conversation]:
        params = form(PageSize=_opt(page_size))
        return iterate_items(self.pages(self.path("Conversations"), params,
                                        Conversation.from_json))

    # Participants

    def add_participant(self, conversation_sid: str, *, identity: str | None = None,
                        address: str | None = None, proxy_address: str | None = None,
                        attributes: str | None = None) -> Participant:
        fields = form(Identity=identity, MessagingBinding_Address=address,
                      MessagingBinding_ProxyAddress=proxy_address, Attributes=attributes)
        path = self.path("Conversations", conversation_sid, "Participants")
        return Participant.from_json(self.call("POST", path, body=fields))

    def fetch_participant(self, conversation_sid: str, sid_or_identity: str) -> Participant:
        path = self.path("Conversations", conversation_sid, "Participants", sid_or_identity)
        return Participant.from_json(self.call("GET", path))

    def update_participant(self, conversation_sid: str, participant_sid: str, *,
                           attributes: str | None = None,
                           last_read_message_index: int | None = None) -> Participant:
        fields = form(Attributes=attributes, LastReadMessageIndex=_opt(last_read_message_index))
        path = self.path("Conversations", conversation_sid, "Participants", participant_sid)
        return Participant.from_json(self.call("POST", path, body=fields))

    def remove_participant(self, conversation_sid: str, participant_sid: str) -> None:
        self.call("DELETE",
                  self.path("Conversations", conversation_sid, "Participants", participant_sid))

    def list_participants(self, conversation_sid: str, *,
                          page_size: int | None = 100) -> Iterator[Participant]:
        path = self.path("Conversations", conversation_sid, "Participants")
        return iterate_items(self.pages(path, form(PageSize=_opt(page_size)),
                                        Participant.from_json))

    # Messages

    def send_message(self, conversation_sid: str, *, body: str, author: str | None = None,
                     attributes: str | None = None) -> Message:
        fields = form(Author=author, Body=body, Attributes=attributes)
        path = self.path("Conversations", conversation_sid, "Messages")
        return Message.from_json(self.call("POST", path, body=fields))

    def fetch_message(self, conversation_sid: str, message_sid: str) -> Message:
        path = self.path("Conversations", conversation_sid, "Messages", message_sid)
        return Message.from_json(self.call("GET", path))

    def update_message(self, conversation_sid: str, message_sid: str, *,
                       body: str | None = None, attributes: str | None = None) -> Message:
        fields = form(Body=body, Attributes=attributes)
        path = self.path("Conversations", conversation_sid, "Messages", message_sid)
        return Message.from_json(self.call("POST", path, body=fields))

    def delete_message(self, conversation_sid: str, message_sid: str) -> None:
        self.call("DELETE", self.path("Conversations", conversation_sid, "Messages", message_sid))

    def message_pages(self, conversation_sid: str, *, order: str = "asc",
                      page_size: int | None = None,
                      page_token: str | None = None) -> Iterator[Page[Message]]:
        params = form(Order=order, PageSize=_opt(page_size), PageToken=page_token)
        path = self.path("Conversations", conversation_sid, "Messages")
        return self.pages(path, params, Message.from_json)

    def list_messages(self, conversation_sid: str, *, order: str = "asc",
                      page_size: int | None = None,
                      page_token: str | None = None) -> Iterator[Message]:
        return iterate_items(self.message_pages(conversation_sid, order=order,
                                                page_size=page_size, page_token=page_token))

    # Participant conversations and users

    def participant_conversation_pages(
        self, *, identity: str | None = None, address: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Page[ParticipantConversation]]:
        params = form(Identity=identity, Address=address, PageSize=_opt(page_size))
        return self.pages(self.path("ParticipantConversations"), params,
                          ParticipantConversation.from_json)

    def list_participant_conversations(
        self, *, identity: str | None = None, address: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[ParticipantConversation]:
        return iterate_items(self.participant_conversation_pages(
            identity=identity, address=address, page_size=page_size))

    def fetch_user(self, sid_or_identity: str) -> User:
        return User.from_json(self.call("GET", self.path("Users", sid_or_identity)))

    # User conversations: a user's view of each conversation it is in, with its read
    # horizon and unread count (the SDK's getUnreadMessagesCount).

    def user_conversation_pages(self, user: str, *,
                                page_size: int | None = None) -> Iterator[Page[UserConversation]]:
        return self.pages(self.path("Users", user, "Conversations"),
                          form(PageSize=_opt(page_size)), UserConversation.from_json)

    def list_user_conversations(self, user: str, *,
                                page_size: int | None = None) -> Iterator[UserConversation]:
        return iterate_items(self.user_conversation_pages(user, page_size=page_size))

    def fetch_user_conversation(self, user: str, conversation_sid: str) -> UserConversation:
        path = self.path("Users", user, "Conversations", conversation_sid)
        return UserConversation.from_json(self.call("GET", path))

    def update_user_conversation(self, user: str, conversation_sid: str, *,
                                 notification_level: str | None = None,
                                 last_read_timestamp: str | None = None,
                                 last_read_message_index: int | None = None,
                                 unset_last_read: bool = False) -> UserConversation:
        """`unset_last_read` sends `LastReadMessageIndex=` (empty): the horizon becomes null,
        everything unread (the SDK's setAllMessagesUnread)."""
        index = "" if unset_last_read else _opt(last_read_message_index)
        fields = form(NotificationLevel=notification_level, LastReadTimestamp=last_read_timestamp,
                      LastReadMessageIndex=index)
        path = self.path("Users", user, "Conversations", conversation_sid)
        return UserConversation.from_json(self.call("POST", path, body=fields))

    def delete_user_conversation(self, user: str, conversation_sid: str) -> None:
        self.call("DELETE", self.path("Users", user, "Conversations", conversation_sid))


def _opt(number: int | None) -> str | None:
    return None if number is None else str(number)

