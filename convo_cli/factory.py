"""One factory of lazy providers (gh's cmdutil.Factory): the profile, the identity, the API
client, the output. Nothing is built until a command asks for it, which is also what keeps
start-up fast: `--help` never opens the database, `--json` never imports Rich.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from convo_cli.errors import UsageError
from convo_cli.render.streams import IOStreams

if TYPE_CHECKING:
    from convo_cli.api.client import Client
    from convo_cli.api.transport import Transport
    from convo_cli.render.output import Output

LOCAL = "local"


class Profile(NamedTuple):
    name: str
    kind: str  # "local" | "server" | "twilio"
    identity: str | None = None
    db_path: str | None = None  # local
    base_url: str | None = None  # server, twilio


def data_dir(env: Mapping[str, str]) -> str:
    if env.get("CONVO_DATA_DIR"):
        return env["CONVO_DATA_DIR"]
    from platformdirs import user_data_dir

    return user_data_dir("convo", appauthor=False)


def resolve_profile(name: str | None, env: Mapping[str, str]) -> Profile:
    """The profile for this call: `--profile` > `CONVO_PROFILE` > `local`.

    The one place that later learns the configured profiles (`convo_cli.config`), the
    implicit Twilio profile from `TWILIO_*`, and the active profile; for now only the
    built-in `local` profile exists.
    """
    chosen = name or env.get("CONVO_PROFILE") or LOCAL
    if chosen != LOCAL:
        raise UsageError(f"unknown profile {chosen!r} (this version knows only {LOCAL!r})")
    return Profile(LOCAL, "local", db_path=os.path.join(data_dir(env), "local.db"))


def login_name(env: Mapping[str, str]) -> str | None:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if env.get(variable):
            return env[variable]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return None


def make_transport(profile: Profile) -> Transport:
    if profile.kind == "local":
        from convo_cli.engine.inprocess import InProcessTransport

        assert profile.db_path is not None
        return InProcessTransport(profile.db_path)
    raise UsageError(f"profile {profile.name!r}: kind {profile.kind!r} is not supported yet")


class Factory:
    def __init__(self, io: IOStreams, env: Mapping[str, str] | None = None, *,
                 debug: bool = False) -> None:
        self.io = io
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        self.profile_name: str | None = None  # --profile
        self.identity_flag: str | None = None  # --identity
        self.debug = debug
        self._profile: Profile | None = None
        self._client: Client | None = None

    def profile(self) -> Profile:
        if self._profile is None:
            self._profile = resolve_profile(self.profile_name, self.env)
        return self._profile

    def identity(self) -> str:
        """Who "I" am: `--identity` > `CONVO_IDENTITY` > the profile's > the login name
        (the `local` profile only; others get theirs at login)."""
        profile = self.profile()
        for candidate in (self.identity_flag, self.env.get("CONVO_IDENTITY"), profile.identity):
            if candidate:
                return candidate
        if profile.kind == "local":
            name = login_name(self.env)
            if name:
                return name
        raise UsageError("no identity: pass --identity or set CONVO_IDENTITY")

    def client(self) -> Client:
        if self._client is None:
            from convo_cli.api.client import Client
            from convo_cli.cache import Recorder, names_file

            profile = self.profile()
            # Every response goes past the name cache, which shell completion reads.
            recorder = Recorder(make_transport(profile), names_file(self.env, profile.name))
            self._client = Client(recorder)
        return self._client

    def output(self, *, as_json: bool = False) -> Output:
        from convo_cli.render.output import Output

        return Output(self.io, as_json=as_json)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
