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

from convo_cli.engine import addresses, prehooks
from convo_cli.engine.form import parameters as _parameters
from convo_cli.engine.messages import view as message_view
from convo_cli.engine.paging import PAGING, int_key, page
from convo_cli.engine.service import EngineError, _address, not_found
from convo_cli.engine.store import Row, Store
from convo_cli.engine.views import Views

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
    wanted = "POST" if path == INBOUND else "GET"
    if method != wanted:
        raise EngineError(405, 20004, f"Method not allowed on {path}",
                          headers=[("Allow", wanted)])

    if path == INBOUND:
        if engine.scopes is None:  # a named service's engine
            raise EngineError(404, 20404, f"A phone writes to the account: POST {INBOUND} "
                              "(the message finds the service its binding is in)")
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


def routed(account: Any, sender: str, proxy: str) -> tuple[Any, Row | None]:
    """(the engine of the service, the conversation) a phone's message goes to: the
    binding is looked for in the default service, then in each named one."""
    for engine in account.scopes.every():
        conversation = route(engine.store, sender, proxy)
        if conversation is not None:
            return engine, conversation
    return account, None


def _binding(params: dict[str, str]) -> tuple[str, str, str]:
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
    params = _parameters(query, body, {"From", "To", "Body"})
    sender, proxy, kind = _binding(params)
    engine, conversation = routed(engine, sender, proxy)
    if conversation is None or not (engine.events.configuration() or {}).get("pre_webhook_url"):
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
    sender, proxy, kind = _binding(params)
    if not params.get("Body"):
        raise EngineError(400, 50503, "Message body not provided")
    account = engine
    engine, conversation = routed(account, sender, proxy)
    config = None
    if conversation is None:
        config = addresses.for_address(account.store, proxy)
        auto = json.loads(config["auto_creation"]) if config is not None else {}
        if not auto.get("enabled"):
            raise EngineError(404, 20404, f"No conversation has a participant with the binding "
                              f"{sender} -> {proxy}, and no Address Configuration for {proxy} "
                              "auto-creates one: the message is dropped")
        service_sid = auto.get("conversation_service_sid") or account.views.service_sid
        try:
            engine = account.scopes.engine(service_sid)
        except EngineError:
            raise EngineError(404, 20404, f"The Address Configuration for {proxy} auto-creates "
                              f"conversations in {service_sid}, a service this account does "
                              "not have: the message is dropped") from None
    events = engine.events
    events.enabled, events.source = True, kind.upper()
    try:
        if config is not None:
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
    views = account.views
    if engine is not account:  # a named service's message, at its path
        views = Views(views.base_url, views.account_sid, engine.views.service_sid, scoped=True)
    return message_view(row, views, conversation["sid"])


def outbox(store: Store, query: dict[str, str]) -> dict[str, Any]:
    """What the phones received, oldest first: the last PageSize receipts, or with
    `After=N` those after id N (a follower polls with the last id it saw); `To` keeps one
    phone's."""
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


# The receipts' routes (engine/wire.py dispatches here).

ROUTES = {("Conversations", "*", "Messages", "*", "Receipts"): "receipts",
          ("Conversations", "*", "Messages", "*", "Receipts", "*"): "receipt"}
PARAMETERS = {("receipts", "GET"): PAGING, ("receipt", "GET"): set()}


def _receipt_view(engine: Any, row: Row, conversation_sid: str, message_sid: str) -> dict[str, Any]:
    views = engine.views
    url = views.url("Conversations", conversation_sid, "Messages", message_sid, "Receipts",
                    row["sid"])
    return receipt_view(row, views.account_sid, conversation_sid, message_sid, url, views.chat)


def receipts(engine: Any, method: str, ids: list[str], p: Any) -> tuple[int, Any]:
    conversation = engine.service.conversation(ids[0])
    message = engine.service.message(conversation, ids[1])
    sid = conversation["sid"]
    segments = ("Conversations", sid, "Messages", message["sid"], "Receipts")
    return page(engine.views, p, segments, "delivery_receipts", "receipts", message["sid"], 50,
                [], lambda after, n: receipts_page(engine.store, message["id"],
                                                   int_key(after, 0), n),
                lambda row: _receipt_view(engine, row, sid, message["sid"]),
                lambda row: row["id"])


def one_receipt(engine: Any, method: str, ids: list[str], p: Any) -> tuple[int, Any]:
    conversation = engine.service.conversation(ids[0])
    message = engine.service.message(conversation, ids[1])
    row = receipt(engine.store, message["id"], ids[2])
    if row is None:
        raise not_found()
    return 200, _receipt_view(engine, row, conversation["sid"], message["sid"])


HANDLERS = {"receipts": receipts, "receipt": one_receipt}
