"""The phone side of the engine: what SMS and WhatsApp participants receive and send.

Every message added to a conversation is "sent" to each of its non-chat participants (an
address binding) other than its author: one delivery receipt each (`DY…`, Twilio's
`/Messages/{sid}/Receipts`), written in the message's own transaction, and the message's
`delivery` summary computed once from them. No carrier is involved: a receipt is
`delivered` at once, except for Twilio's magic test numbers, which fail with the error
code Twilio's test credentials give them, so an app's failure handling can be tested.

`inbound` and `outbox` are convo extensions (`/convo/v1/Inbound`, `/convo/v1/Outbox`), not
Twilio's API: a message as if a phone had sent it, and what each phone received.
"""

from __future__ import annotations

import json
from typing import Any

from convo_cli.engine.store import Row, Store

# Twilio's magic `To` numbers (test credentials): each fails with this error code.
MAGIC_FAILURES = {
    "+15005550001": 21211,  # invalid 'To' phone number
    "+15005550002": 21612,  # cannot route to this number
    "+15005550003": 21408,  # no international permission
    "+15005550004": 21610,  # the number has opted out (blocked)
    "+15005550009": 21614,  # not a mobile number: cannot receive SMS
}
CHANNEL_PREFIX = {"sms": "SM", "whatsapp": "WA", "rcs": "RM"}
STATUSES = ("sent", "delivered", "read", "failed", "undelivered")
# What a receipt's status counts as in the summary: a delivered message was sent too.
COUNTS_AS = {"sent": ("sent",), "delivered": ("sent", "delivered"),
             "read": ("sent", "delivered", "read"), "failed": ("failed",),
             "undelivered": ("sent", "undelivered")}


def outcome(address: str) -> tuple[str, int]:
    """The receipt status and error code for a message sent to `address`."""
    number = address.rpartition(":")[2]
    code = MAGIC_FAILURES.get(number)
    return ("failed", code) if code else ("delivered", 0)


def summary(statuses: list[str]) -> str | None:
    """The message's `delivery`: the receipts' count and, per status, all, some or none."""
    if not statuses:
        return None
    counts = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        for name in COUNTS_AS[status]:
            counts[name] += 1
    total = len(statuses)
    words = {name: "all" if n == total else "some" if n else "none"
             for name, n in counts.items()}
    return json.dumps({"total": total, "sent": words["sent"], "delivered": words["delivered"],
                       "read": words["read"], "failed": words["failed"],
                       "undelivered": words["undelivered"]})


def deliver(service: Any, conversation: Row, message: Row) -> None:
    """Send a just-inserted message to the conversation's phones, inside its transaction:
    the receipts, the message's delivery summary, and an `onDeliveryUpdated` for each."""
    store: Store = service.store
    phones = store.all(
        "SELECT sid, address, proxy_address, binding_type FROM participants "
        "WHERE conversation_id = ? AND address IS NOT NULL ORDER BY id", conversation["id"])
    phones = [p for p in phones if p["sid"] != message.get("participant_sid")]
    if not phones:
        return  # the common case costs this one indexed query
    # By SID, not last_insert_rowid(): the post-events fired since went into the outbox.
    found = store.one("SELECT id FROM messages WHERE sid = ?", message["sid"])
    assert found is not None
    message_id = found["id"]
    now = message["date_created"]
    statuses = []
    for phone in phones:
        status, code = outcome(phone["address"])
        prefix = CHANNEL_PREFIX.get(phone["binding_type"] or "sms", "SM")
        receipt = {"sid": service.make_sid("DY"), "message_id": message_id,
                   "participant_sid": phone["sid"],
                   "address": phone["address"], "proxy_address": phone["proxy_address"],
                   "channel_message_sid": service.make_sid(prefix), "status": status,
                   "error_code": code, "date_created": now, "date_updated": now}
        store.insert("receipts", receipt)
        statuses.append(status)
        if service.events is not None and service.events.enabled:
            service.events.fire("onDeliveryUpdated", conversation, {
                "ConversationSid": conversation["sid"], "MessageSid": message["sid"],
                "DeliveryReceiptSid": receipt["sid"],
                "ChannelMessageSid": receipt["channel_message_sid"],
                "ParticipantSid": phone["sid"], "Status": status, "ErrorCode": str(code),
                "DateCreated": now, "DateUpdated": now})
    store.db.execute("UPDATE messages SET delivery = ? WHERE id = ?",
                     (summary(statuses), message_id))


def receipts_page(store: Store, message_id: int, after: int, limit: int) -> list[Row]:
    return store.all("SELECT * FROM receipts WHERE message_id = ? AND id > ? ORDER BY id "
                     "LIMIT ?", message_id, after, limit)


def receipt(store: Store, message_id: int, sid: str) -> Row | None:
    return store.one("SELECT * FROM receipts WHERE message_id = ? AND sid = ?", message_id, sid)


def receipt_view(row: Row, account_sid: str, conversation_sid: str, message_sid: str,
                 url: str, chat: dict[str, str]) -> dict[str, Any]:
    """`chat`: the service's SID, when reached through its path (engine/views.py)."""
    return {"account_sid": account_sid, **chat, "conversation_sid": conversation_sid,
            "sid": row["sid"],
            "message_sid": message_sid, "channel_message_sid": row["channel_message_sid"],
            "participant_sid": row["participant_sid"], "status": row["status"],
            "error_code": row["error_code"], "date_created": row["date_created"],
            "date_updated": row["date_updated"], "url": url}


# `/convo/v1/Inbound` and `/convo/v1/Outbox`: convo extensions, not Twilio's API.

INBOUND = "/convo/v1/Inbound"
OUTBOX = "/convo/v1/Outbox"
PATHS = (INBOUND, OUTBOX)
OUTBOX_LIMIT = 200


def handle(engine: Any, method: str, path: str, query: str, body: bytes,
           pre_answer: Any = None) -> tuple[int, dict[str, Any]]:
    from convo_cli.engine.service import EngineError

    wanted = "POST" if path == INBOUND else "GET"
    if method != wanted:
        raise EngineError(405, 20004, f"Method not allowed on {path}",
                          headers=[("Allow", wanted)])
    from convo_cli.engine.form import parameters as _parameters

    if path == INBOUND:
        params = _parameters(query, body, {"From", "To", "Body"})
        return 201, inbound(engine, params, pre_answer)
    return 200, outbox(engine.store, _parameters(query, b"", {"To", "After", "PageSize"}))


def route(store: Store, sender: str, proxy: str) -> Row | None:
    """The conversation a phone's message to `proxy` goes to: the newest one, not closed,
    where a participant has this binding (as on Twilio, one conversation a binding)."""
    return store.one(
        "SELECT c.* FROM participants p JOIN conversations c ON c.id = p.conversation_id "
        "WHERE p.address = ? AND p.proxy_address = ? AND c.state != 'closed' "
        "ORDER BY c.id DESC LIMIT 1", sender, proxy)


def _binding(params: dict[str, str]) -> tuple[str, str, str]:
    from convo_cli.engine.service import EngineError, _address

    sender, proxy = params.get("From"), params.get("To")
    if not sender or not proxy:
        raise EngineError(400, 20422, "Invalid parameter: From and To are required "
                          "(the phone's address and the proxy address it wrote to)")
    sender, kind = _address(sender, 50407, "address")
    proxy, proxy_kind = _address(proxy, 50408, "proxy address")
    if kind != proxy_kind:
        raise EngineError(400, 50414, "From and To are not on the same channel "
                          f"({kind} and {proxy_kind})")
    return sender, proxy, kind


def pre_event_call(engine: Any, query: str, body: bytes) -> Any:
    """The `onMessageAdd` pre-event an inbound message needs (the server asks it off its
    event loop), or None."""
    from convo_cli.engine import prehooks
    from convo_cli.engine.form import parameters as _parameters

    params = _parameters(query, body, {"From", "To", "Body"})
    sender, proxy, kind = _binding(params)
    conversation = route(engine.store, sender, proxy)
    if conversation is None:
        return None
    engine.events.source = kind.upper()
    try:
        return prehooks.call_for(engine, "messages", "POST", [conversation["sid"]],
                                 {"Author": sender, "Body": params.get("Body", "")})
    finally:
        engine.events.source = "API"


def inbound(engine: Any, params: dict[str, str], pre_answer: Any = None) -> dict[str, Any]:
    """A message as if the phone `From` had sent it to `To`: stored with the phone as its
    author, webhooks fired as for any message from a phone (no header needed: on Twilio a
    phone's message always fires them), and sent on to the conversation's other phones."""
    from convo_cli.engine import prehooks
    from convo_cli.engine.service import EngineError

    sender, proxy, kind = _binding(params)
    if not params.get("Body"):
        raise EngineError(400, 50503, "Message body not provided")
    conversation = route(engine.store, sender, proxy)
    config = None
    if conversation is None:
        from convo_cli.engine import addresses

        config = addresses.for_address(engine.store, proxy)
        if config is None or not json.loads(config["auto_creation"]).get("enabled"):
            raise EngineError(404, 20404, f"No conversation has a participant with the binding "
                              f"{sender} -> {proxy}, and no Address Configuration for {proxy} "
                              "auto-creates one: the message is dropped")
    events = engine.events
    events.enabled, events.source = True, kind.upper()
    try:
        if config is not None:
            from convo_cli.engine import addresses

            conversation = addresses.auto_create(engine, config, sender, proxy)
            assert conversation is not None
        request = {"Author": sender, "Body": params["Body"]}
        call = prehooks.call_for(engine, "messages", "POST", [conversation["sid"]], request)
        if call is not None:
            answer = pre_answer if pre_answer is not None else call.send()
            request = prehooks.apply(call, answer, request)
        row = engine.service.send_message(conversation["sid"], author=request["Author"],
                                          body=request["Body"],
                                          attributes=request.get("Attributes"))
    finally:
        events.source = "API"
    return engine.views.message(row, conversation["sid"])


def outbox(store: Store, query: dict[str, str]) -> dict[str, Any]:
    """What the phones received, oldest first: the last PageSize receipts, or with
    `After=N` those after id N (a follower polls with the last id it saw); `To` keeps one
    phone's."""
    from convo_cli.engine.service import EngineError

    try:
        limit = max(1, min(int(query.get("PageSize", "50")), OUTBOX_LIMIT))
        after = int(query["After"]) if "After" in query else None
    except ValueError:
        raise EngineError(400, 20422, "Invalid parameter: PageSize and After are integers") \
            from None
    where, args = "1", []
    if query.get("To"):
        where += " AND r.address = ?"
        args.append(query["To"])
    select = ("SELECT r.id, r.sid, r.address, r.proxy_address, r.participant_sid, "
              "r.channel_message_sid, r.status, r.error_code, r.date_created, "
              "m.sid AS message_sid, m.author, m.body, m.media, c.sid AS conversation_sid "
              "FROM receipts r JOIN messages m ON m.id = r.message_id "
              "JOIN conversations c ON c.id = m.conversation_id WHERE ")
    if after is not None:
        rows = store.all(select + where + " AND r.id > ? ORDER BY r.id LIMIT ?",
                         *args, after, limit)
    else:
        rows = list(reversed(store.all(select + where + " ORDER BY r.id DESC LIMIT ?",
                                       *args, limit)))
    return {"received": [_received(row) for row in rows]}


def _received(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "to": row["address"], "from": row["proxy_address"],
            "conversation_sid": row["conversation_sid"], "message_sid": row["message_sid"],
            "receipt_sid": row["sid"], "channel_message_sid": row["channel_message_sid"],
            "participant_sid": row["participant_sid"], "author": row["author"],
            "body": row["body"], "media": json.loads(row["media"]) if row["media"] else None,
            "status": row["status"], "error_code": row["error_code"],
            "date_created": row["date_created"]}
