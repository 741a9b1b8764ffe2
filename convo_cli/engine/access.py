"""What an identity key may do: Twilio's permission model, applied before the engine acts.

A key made for an identity acts only as that identity. Conversations it is not in answer
404 exactly as unknown ones do (their existence is not revealed); it writes messages only
as itself; every other action needs a permission of its participant role in that
conversation or of its user's service role (`permissions`), or is refused 403 (20403).
The account's credentials and account-wide keys never come here: they have full power.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from convo_cli.engine.conversations import view as conversation_view
from convo_cli.engine.service import EngineError, not_found
from convo_cli.engine.store import Row

if TYPE_CHECKING:
    from convo_cli.engine.wire import Engine

Handler = Callable[[str, list[str], dict[str, Any]], tuple[int, Any]]
_IN_CONVERSATION = ("conversation", "participants", "participant", "messages", "message")
_NAME_FIELDS = {"FriendlyName", "UniqueName"}
_OWN_USER = ("user", "user_conversations", "user_conversation")  # only `me`'s own


_PARSED: dict[str, frozenset[str]] = {}


def _parsed(permissions: str) -> frozenset[str]:
    """A role's JSON permission list as a set, remembered by its text (so never stale)."""
    found = _PARSED.get(permissions)
    if found is None:
        if len(_PARSED) > 1000:
            _PARSED.clear()
        found = _PARSED[permissions] = frozenset(json.loads(permissions))
    return found


def forbidden(why: str) -> EngineError:
    return EngineError(403, 20403, f"Forbidden: {why}")


class Access:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.service, self.roles, self.store = engine.service, engine.roles, engine.store

    def dispatch(self, me: str, route: str, method: str, ids: list[str], p: dict[str, Any],
                 handler: Handler) -> tuple[int, Any]:
        """Check the request against `me`'s rights, then run it (some with `me` filled in)."""
        if route in _IN_CONVERSATION:
            conversation = self.service.conversation(ids[0])
            granted = self._granted(conversation["id"], me)
            getattr(self, f"_{route}")(me, method, conversation, ids, p, granted)
            return handler(method, ids, p)
        if route == "conversations":
            if method == "POST":
                return self._create(me, p, handler)
            self.engine.member = me
            return handler(method, ids, p)
        if route == "roles" or route == "role":
            if method != "GET":
                raise forbidden("only the account's credentials manage roles")
            return handler(method, ids, p)
        if route == "participant_conversations":
            if "Address" in p or p.get("Identity", me) != me:
                raise forbidden("an identity key lists only its own conversations")
            return handler(method, ids, {**p, "Identity": me})
        if route == "users":
            raise forbidden("an identity key reads and changes only its own user")
        if route not in _OWN_USER:  # a resource this module does not know: closed by default
            raise forbidden("only the account's credentials reach this resource")
        if self.service.user(ids[0])["identity"] != me:
            raise not_found()
        if route == "user":
            if method == "DELETE" or "RoleSid" in p:
                raise forbidden("only the account's credentials delete users or change roles")
            if method == "POST":
                self._need(self._service(me), "editOwnUserInfo")
        elif route == "user_conversation":
            if method == "DELETE":
                self._need_in(me, ids[1], "leaveConversation")
            elif method == "POST" and "NotificationLevel" in p:
                self._need_in(me, ids[1], "editNotificationLevel")
        return handler(method, ids, p)

    # Conversation-scoped routes: `granted` is what `me` may do in `conversation`.

    def _conversation(self, me: str, method: str, conversation: Row, ids: list[str],
                      p: dict[str, Any], granted: frozenset[str]) -> None:
        if method == "DELETE":
            self._need(granted, "destroyConversation")
        elif method == "POST":
            if _NAME_FIELDS & p.keys():
                self._need(granted, "editConversationName")
            if p.keys() - _NAME_FIELDS:
                self._need(granted, "editConversationAttributes")

    def _participants(self, me: str, method: str, conversation: Row, ids: list[str],
                      p: dict[str, Any], granted: frozenset[str]) -> None:
        if method == "POST":
            self._need(granted, "addParticipant")

    def _participant(self, me: str, method: str, conversation: Row, ids: list[str],
                     p: dict[str, Any], granted: frozenset[str]) -> None:
        target = self.service.participant(conversation, ids[1])
        own = target["identity"] == me
        if method == "DELETE":
            self._need(granted, "leaveConversation" if own else "removeParticipant")
        elif method == "POST":
            if "RoleSid" in p or "Identity" in p:
                self._need(granted, "addParticipant", "removeParticipant")
            if p.keys() - {"RoleSid", "Identity", "LastReadMessageIndex", "LastReadTimestamp"} \
                    or not own and p.keys() & {"LastReadMessageIndex", "LastReadTimestamp"}:
                self._need(granted, "editOwnParticipantAttributes" if own
                           else "editAnyParticipantAttributes")

    def _messages(self, me: str, method: str, conversation: Row, ids: list[str],
                  p: dict[str, Any], granted: frozenset[str]) -> None:
        if method == "POST":
            if p.get("Author", me) not in (me, ""):
                raise forbidden(f"this key posts only as {me!r}")
            p["Author"] = me  # omitted means the key's identity
            self._need(granted, "sendMediaMessage" if "MediaSid" in p else "sendMessage")

    def _message(self, me: str, method: str, conversation: Row, ids: list[str],
                 p: dict[str, Any], granted: frozenset[str]) -> None:
        message = self.service.message(conversation, ids[1])
        own = message["author"] == me
        if method == "DELETE":
            self._need(granted, "deleteOwnMessage" if own else "deleteAnyMessage")
        elif method == "POST":
            if p.get("Author", message["author"]) != message["author"]:
                raise forbidden("an identity key cannot change a message's author")
            if p.keys() - {"Attributes", "Author"}:
                self._need(granted, "editOwnMessage" if own else "editAnyMessage")
            if "Attributes" in p:
                self._need(granted, "editOwnMessageAttributes" if own
                           else "editAnyMessageAttributes")

    # Helpers.

    def _create(self, me: str, p: dict[str, Any], handler: Handler) -> tuple[int, Any]:
        """A conversation created with an identity key: the creator is its first participant,
        with the service's creator role ("channel admin" unless its configuration names
        another), as in Twilio's SDKs."""
        self._need(self._service(me), "createConversation")
        status, resource = handler("POST", [], p)
        sid = resource["sid"]
        with self.store.write():
            row = self.service.conversation(sid)
            self.store.update("conversations", row["id"], {"created_by": me})
        self.service.add_participant(sid, identity=me,
                                     role_sid=self.roles.default_for("creator"))
        return status, conversation_view(self.service.conversation(sid), self.engine.views)

    def _service(self, me: str) -> frozenset[str]:
        user = self.store.user("identity", me)
        return self.roles.permissions(user["role_sid"] if user else None, "service")

    def _need_in(self, me: str, conversation_key: str, permission: str) -> None:
        conversation = self.service.conversation(conversation_key)
        self._need(self._granted(conversation["id"], me), permission)

    def _granted(self, conversation_id: int, me: str) -> frozenset[str]:
        """What `me` may do in a conversation: its participant role's permissions and its
        user's service role's, in one query (this runs on every request of an identity
        key); 404 when `me` is not in it, as for a conversation that does not exist."""
        row = self.store.one(
            "SELECT p.role_sid AS mine_sid, pr.permissions AS mine, u.role_sid AS user_sid, "
            "ur.permissions AS service FROM participants p "
            "LEFT JOIN users u ON u.identity = p.identity "
            "LEFT JOIN roles pr ON pr.sid = p.role_sid "
            "LEFT JOIN roles ur ON ur.sid = u.role_sid "
            "WHERE p.conversation_id = ? AND p.identity = ?", conversation_id, me)
        if row is None:
            raise not_found()
        mine = _parsed(row["mine"]) if row["mine"] is not None \
            else self.roles.permissions(row["mine_sid"], "conversation")
        service = _parsed(row["service"]) if row["service"] is not None \
            else self.roles.permissions(row["user_sid"], "service")
        return mine | service

    @staticmethod
    def _need(granted: frozenset[str], *wanted: str) -> None:
        missing = [w for w in wanted if w not in granted]
        if missing:
            raise forbidden(f"your role does not grant {missing[0]}")
