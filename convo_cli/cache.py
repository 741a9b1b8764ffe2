"""The name cache: the conversations (SID and unique name) seen through each profile, so
that a TAB can offer them without the network, the engine's database or the keyring.

One small JSON file per profile, `names/<profile>.json` under the platformdirs user cache
dir (`$CONVO_CACHE_DIR` overrides), mode 0600 in a 0700 directory; and one per profile and
Conversation Service named, `names/<profile>@IS….json`, since each service has
conversations of its own. It holds SIDs and unique names only: no secret, no message text.
Entries are kept most recently seen last, at most `MAX_ENTRIES` of them. Beside it,
`services/<profile>.json` holds the services `convo services` last listed.

`Recorder` keeps it fresh from one place: the factory wraps every client's transport in
one, and it watches the responses go by (a conversation created, fetched, listed, deleted
or not found; your own participant removed, by `leave` or `remove`). It writes the file
once, when the command ends, and only if something changed. A cache is never worth a
failed command: a file that cannot be read counts as empty, one that cannot be written is
left as it was.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from convo_cli.api.transport import Request, Response, Transport

MAX_ENTRIES = 1000

Names = dict[str, str | None]  # conversation SID -> unique name (or None), oldest first

# Paths under /v1 or /v1/Services/IS…: a conversation (or the collection), one of its
# participants, and the list of the conversations an identity takes part in.
_ROOT = r"/v1(?:/Services/[^/]+)?"
_CONVERSATION = re.compile(_ROOT + r"/Conversations(?:/([^/]+)(/Participants/[^/]+)?)?")
_PARTICIPANT_CONVERSATIONS = re.compile(_ROOT + r"/ParticipantConversations")
_USER_CONVERSATIONS = re.compile(_ROOT + r"/Users/[^/]+/Conversations")  # `list`'s inbox


def cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("CONVO_CACHE_DIR"):
        return Path(env["CONVO_CACHE_DIR"])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("convo", appauthor=False))


def names_file(env: Mapping[str, str], profile: str, *, service: str | None = None) -> Path:
    # Quoted, since the implicit profile's name "(environment)" is not a plain word; a
    # profile name never holds "@".
    scope = quote(profile, safe="") + (f"@{quote(service, safe='')}" if service else "")
    return cache_dir(env) / "names" / f"{scope}.json"


def completion_profile(flag: str | None, env: Mapping[str, str]) -> str:
    """Whose names a TAB offers: the profile the command being typed would run with
    (`--profile` > `CONVO_PROFILE` > `TWILIO_*` > the active profile > `local`), worked
    out without failing: a bad config file only means `local`."""
    from convo_cli.config import LOCAL, ConfigError, load_config

    if flag:
        return flag
    if env.get("CONVO_PROFILE"):
        return env["CONVO_PROFILE"]
    if env.get("TWILIO_ACCOUNT_SID"):
        from convo_cli.profiles import ENV_PROFILE

        return ENV_PROFILE
    try:
        return load_config(env).active or LOCAL
    except ConfigError:
        return LOCAL


def completion_service(profile: str, flag: str | None, env: Mapping[str, str]) -> str | None:
    """The Conversation Service the command being typed would work in (`--service` >
    `CONVO_SERVICE` > the profile's), worked out without failing: a bad config file or a
    malformed SID only means none."""
    from convo_cli.config import ConfigError, load_config
    from convo_cli.profiles import SERVICE_SID

    service = flag or env.get("CONVO_SERVICE")
    if not service:
        try:
            stored = load_config(env).profiles.get(profile)
        except ConfigError:
            stored = None
        service = stored.service_sid if stored else None
    return service if service and SERVICE_SID.fullmatch(service) else None


def read_names(path: Path) -> Names:
    try:
        document = json.loads(path.read_bytes())
        return {str(sid): None if name is None else str(name)
                for sid, name in document["conversations"]}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def write_names(path: Path, names: Names) -> None:
    """Replace the file atomically (a reader sees the old one or the new one). No fsync:
    after a crash an old or missing cache only means fewer names on a TAB."""
    kept = list(names.items())[-MAX_ENTRIES:]
    _write_json(path, {"conversations": kept})


def _write_json(path: Path, document: object) -> None:
    data = json.dumps(document, ensure_ascii=False).encode()
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass


# The Conversation Services an account has, as `convo services` last listed them (it
# rewrites the file; `services create` and `delete` amend it): what `--service <TAB>` offers.

def services_file(env: Mapping[str, str], profile: str) -> Path:
    return cache_dir(env) / "services" / f"{quote(profile, safe='')}.json"


def read_services(path: Path) -> Names:
    """Service SID -> friendly name."""
    try:
        return {str(sid): None if name is None else str(name)
                for sid, name in json.loads(path.read_bytes())["services"]}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def write_services(path: Path, services: Names) -> None:
    _write_json(path, {"services": list(services.items())[-MAX_ENTRIES:]})


class Recorder:
    """A transport that passes every request on and notes the conversations in the
    responses; `close()` writes the names file if they changed it."""

    def __init__(self, transport: Transport, path: Path, *, identity: str | None = None) -> None:
        self.transport = transport
        self.path = path
        self.identity = identity  # whose removal makes a conversation no longer "yours"
        self._identities: dict[str, str | None] = {}  # participant SID -> identity, seen so far
        self._names: Names | None = None  # read at the first change
        self._changed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)  # base_url, convo_engine…

    def send(self, request: Request) -> Response:
        response = self.transport.send(request)
        try:
            self._observe(request, response)
        except (ValueError, TypeError, KeyError, AttributeError):
            pass  # not the JSON expected: nothing to note
        return response

    def close(self) -> None:
        try:
            if self._changed:
                assert self._names is not None
                write_names(self.path, self._names)
        finally:
            self.transport.close()

    def unique_names(self) -> list[str]:
        """The unique names seen through this profile, as now known (for "did you mean")."""
        return [name for name in self._entries().values() if name]

    def _observe(self, request: Request, response: Response) -> None:
        ok = 200 <= response.status < 300
        if _PARTICIPANT_CONVERSATIONS.fullmatch(request.path):
            if ok and request.method == "GET":
                for item in response.json()["conversations"]:
                    self._seen(item["conversation_sid"], item.get("conversation_unique_name"))
            return
        if _USER_CONVERSATIONS.fullmatch(request.path):
            if ok and request.method == "GET":
                for item in response.json()["conversations"]:
                    self._seen(item["conversation_sid"], item.get("unique_name"))
            return
        match = _CONVERSATION.fullmatch(request.path)
        if match is None:
            return
        key, participant = match.group(1), match.group(2)
        if participant:
            # Once your own participant is removed the conversation is no longer one of
            # yours (as `list` would show); removing someone else changes nothing here.
            # convo fetches a participant before removing it, so its identity is known.
            member = unquote(participant.rsplit("/", 1)[1])
            if ok and request.method == "DELETE":
                if self.identity and self.identity in (member, self._identities.get(member)):
                    self._gone(unquote(key))
            elif ok:
                body = response.json()
                self._identities[body["sid"]] = body.get("identity")
        elif (ok and request.method == "DELETE") or (response.status == 404 and key):
            self._gone(unquote(key))
        elif ok and key is None and request.method == "GET":
            for item in response.json()["conversations"]:
                self._seen(item["sid"], item.get("unique_name"))
        elif ok:
            body = response.json()
            self._seen(body["sid"], body.get("unique_name"))

    def _entries(self) -> Names:
        if self._names is None:
            self._names = read_names(self.path)
        return self._names

    def _seen(self, sid: str, unique_name: str | None) -> None:
        names = self._entries()
        if names.get(sid, False) != unique_name:
            self._changed = True
            # A unique name freed by a deleted conversation may now name another one.
            for other in [s for s, n in names.items() if unique_name and n == unique_name]:
                del names[other]
        names.pop(sid, None)
        names[sid] = unique_name  # most recently seen last

    def _gone(self, key: str) -> None:
        names = self._entries()
        for sid in [s for s, n in names.items() if key in (s, n)]:
            del names[sid]
            self._changed = True

