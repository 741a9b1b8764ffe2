"""convo's thin Conversations API layer, usable as a library: no Typer, no Rich.

    from convo_cli.api import Client
    from convo_cli.engine.inprocess import InProcessTransport
    client = Client(InProcessTransport("local.db"))
    client.create_conversation(friendly_name="Hello")
"""

from __future__ import annotations

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError, TransportError
from convo_cli.api.models import (Conversation, Message, Participant, ParticipantConversation,
                                  User, UserConversation)
from convo_cli.api.transport import Request, Response, Transport

__all__ = [
    "ApiError", "Client", "Conversation", "Message", "Participant", "ParticipantConversation",
    "Request", "Response", "Transport", "TransportError", "User", "UserConversation",
]
