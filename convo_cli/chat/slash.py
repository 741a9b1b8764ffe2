"""Slash commands: what one does while chatting, through the same API calls as the commands
(`add`, `add-sms`, `remove`, `participants`, `edit --friendly-name`, `leave`). No Textual
here: each takes the client and returns the lines to show, or raises what the commands do
(UsageError, ApiError, TransportError), which the screen shows as an error line.
"""

from __future__ import annotations

from typing import NamedTuple

from convo_cli.api.client import Client
from convo_cli.api.errors import ApiError
from convo_cli.api.models import Participant
from convo_cli.commands.checks import check_binding
from convo_cli.errors import UsageError
from convo_cli.render.chat import author_label

HELP = (
    ("/add IDENTITY", "add a chat participant"),
    ("/sms ADDRESS PROXY", "add an SMS or WhatsApp participant (+1555…, whatsapp:+1555…)"),
    ("/remove WHO", "remove a participant: identity, address or MB… SID"),
    ("/who", "list the participants"),
    ("/rename TEXT", "set the conversation's friendly name"),
    ("/leave", "leave the conversation"),
    ("/quit", "leave convo chat (also Ctrl-C, or Ctrl-D on an empty input)"),
    ("/help", "this list"),
)
NAMES = tuple(usage.split()[0][1:] for usage, _ in HELP)


class Slash(NamedTuple):
    name: str
    argument: str  # the rest of the line, stripped


def parse(line: str) -> Slash | None:
    """`/name rest…`, or None for a message. `//text` is the message `/text`."""
    if not line.startswith("/") or line.startswith("//"):
        return None
    name, _, rest = line[1:].partition(" ")
    return Slash(name.lower(), rest.strip())


def needs_conversation(slash: Slash) -> bool:
    return slash.name not in ("quit", "help")


def usage_of(name: str) -> str:
    return next(usage for usage, _ in HELP if usage.split()[0] == "/" + name)


def run(slash: Slash, client: Client, conversation_sid: str, me: str) -> list[str]:
    """The lines to show after running one slash command (not /quit or /help)."""
    words = slash.argument.split()
    if slash.name == "add":
        _arity(slash, words, 1)
        client.add_participant(conversation_sid, identity=words[0])
        return []  # the join shows as everyone else's does
    if slash.name == "sms":
        _arity(slash, words, 2)
        try:
            check_binding(words[0], words[1])
        except UsageError as error:  # the same checks as `add-sms`, in this command's words
            raise UsageError(str(error).replace("--proxy-address", "PROXY")
                             .replace("--address", "ADDRESS")) from None
        client.add_participant(conversation_sid, address=words[0], proxy_address=words[1])
        return []
    if slash.name == "remove":
        _arity(slash, words, 1)
        participant = find_participant(client, conversation_sid, words[0])
        client.remove_participant(conversation_sid, participant.sid)
        return []
    if slash.name == "who":
        people = list(client.list_participants(conversation_sid))
        return [f"{len(people)} participant{'s' if len(people) != 1 else ''}:"] + \
            [f"  {describe(p)}  {p.sid}" for p in people]
    if slash.name == "rename":
        if not slash.argument:
            raise UsageError(f"usage: {usage_of('rename')}")
        client.update_conversation(conversation_sid, friendly_name=slash.argument)
        return []
    if slash.name == "leave":
        participant = find_participant(client, conversation_sid, me)
        client.remove_participant(conversation_sid, participant.sid)
        return ["you left this conversation (F2: your conversations)"]
    raise UsageError(f"unknown command /{slash.name}: /help lists them")


def help_lines() -> list[str]:
    width = max(len(usage) for usage, _ in HELP)
    return [f"{usage:<{width}}  {what}" for usage, what in HELP] + \
        ["//text sends a message that starts with /"]


def describe(participant: Participant) -> str:
    if participant.identity:
        return participant.identity
    return f"{author_label(participant.address)} via {participant.proxy_address}"


def find_participant(client: Client, conversation_sid: str, who: str) -> Participant:
    """By MB SID or identity (a fetch), or by address (a scan: there is no fetch by address)."""
    if not who.startswith(("+", "whatsapp:")):
        try:
            return client.fetch_participant(conversation_sid, who)
        except ApiError as error:
            if error.status != 404:
                raise
    found = next((p for p in client.list_participants(conversation_sid)
                  if who in (p.address, p.identity, p.sid)), None)
    if found is None:
        raise UsageError(f"{who} is not a participant of this conversation")
    return found


def _arity(slash: Slash, words: list[str], count: int) -> None:
    if len(words) != count:
        raise UsageError(f"usage: {usage_of(slash.name)}")
