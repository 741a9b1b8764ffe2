"""Twilio's permission names and its four default Roles (Conversations' "Permission values").

A service role is a user's, across the service; a conversation role is a participant's, in
one conversation. An identity key's rights in a conversation are the union of both. Kept
free of imports: the schema migration that creates the default roles reads it.
"""

from __future__ import annotations

# What a participant may do in a conversation.
CONVERSATION = (
    "sendMessage", "sendMediaMessage", "leaveConversation", "editNotificationLevel",
    "editOwnMessage", "editOwnMessageAttributes", "deleteOwnMessage",
    "editAnyMessage", "editAnyMessageAttributes", "deleteAnyMessage",
    "addParticipant", "removeParticipant",
    "editOwnParticipantAttributes", "editAnyParticipantAttributes",
    "editConversationName", "editConversationAttributes", "destroyConversation",
)
# What a user may do in the service; a service role may also hold conversation permissions,
# which then apply in every conversation the user is in.
SERVICE = ("createConversation", "joinConversation", "editOwnUserInfo", "editAnyUserInfo",
           *CONVERSATION)

_USER_IN_CONVERSATION = (
    "sendMessage", "sendMediaMessage", "leaveConversation", "editNotificationLevel",
    "editOwnMessage", "editOwnMessageAttributes", "deleteOwnMessage",
    "editOwnParticipantAttributes",
)
# (friendly name, type, permissions): the roles every database starts with.
DEFAULTS = (
    ("service admin", "service", SERVICE),
    ("service user", "service", ("createConversation", "joinConversation", "editOwnUserInfo")),
    ("channel admin", "conversation", CONVERSATION),
    ("channel user", "conversation", _USER_IN_CONVERSATION),
)
SERVICE_USER, CHANNEL_ADMIN, CHANNEL_USER = "service user", "channel admin", "channel user"


def defaults_sql() -> str:
    """INSERT statements for the default roles, SIDs drawn by SQLite (no `;` inside)."""
    rows = []
    for name, kind, permissions in DEFAULTS:
        listed = ", ".join(f'"{p}"' for p in permissions)
        rows.append(f"('RL' || lower(hex(randomblob(16))), '{name}', '{kind}', '[{listed}]', "
                    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))")
    return ("INSERT INTO roles (sid, friendly_name, type, permissions, date_created, "
            "date_updated) VALUES " + ", ".join(rows))
