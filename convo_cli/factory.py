"""One factory of lazy providers (gh's cmdutil.Factory): the profile, the identity, the API
client, the output. Nothing is built until a command asks for it, which is also what keeps
start-up fast: `--help` never opens the database, `--json` never imports Rich, and the
local profile never imports httpx or keyring.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from convo_cli.errors import UsageError
from convo_cli.render.streams import IOStreams

if TYPE_CHECKING:
    from convo_cli.api.client import Client
    from convo_cli.api.transport import Transport
    from convo_cli.profiles import Resolved
    from convo_cli.render.output import Output


def make_transport(profile: Resolved, secret: str | None = None, *,
                   http_transport: Any = None,
                   debug: Callable[[str], None] | None = None) -> Transport:
    """The back end a profile talks to: the engine in-process, a `convo serve`, or Twilio."""
    if profile.kind == "local":
        from convo_cli.engine.inprocess import InProcessTransport

        assert profile.db_path is not None
        return InProcessTransport(profile.db_path)
    from convo_cli.api.http import HttpTransport

    assert profile.base_url is not None
    return HttpTransport(profile.base_url, username=profile.username, password=secret,
                         convo_engine=profile.kind == "server", transport=http_transport,
                         debug=debug)


class Factory:
    def __init__(self, io: IOStreams, env: Mapping[str, str] | None = None, *,
                 debug: bool = False, http_transport: Any = None) -> None:
        self.io = io
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        self.profile_name: str | None = None  # --profile
        self.identity_flag: str | None = None  # --identity
        self.service_flag: str | None = None  # --service
        self.debug = debug
        # An httpx transport for the network profiles; tests inject one that records.
        self.http_transport = http_transport
        self._profile: Resolved | None = None
        self._client: Client | None = None

    def profile(self) -> Resolved:
        """`--profile` > `CONVO_PROFILE` > `TWILIO_*` > the active profile > `local`; its
        service: `--service` > `CONVO_SERVICE` > the profile's."""
        if self._profile is None:
            from convo_cli.profiles import resolve

            self._profile = resolve(self.env, profile_flag=self.profile_name,
                                    identity_flag=self.identity_flag,
                                    service_flag=self.service_flag)
        return self._profile

    def identity(self) -> str:
        """Who "I" am: `--identity` > `CONVO_IDENTITY` > the profile's > the login name
        (the `local` profile only; others get theirs at login)."""
        profile = self.profile()
        if profile.identity:
            return profile.identity
        hint = "" if profile.kind == "local" else \
            f", or log in again with: convo login --profile {profile.name} --identity ID"
        raise UsageError(f"no identity: pass --identity or set CONVO_IDENTITY{hint}")

    def client(self) -> Client:
        if self._client is None:
            from convo_cli.api.client import Client
            from convo_cli.cache import Recorder, names_file
            from convo_cli.profiles import secret_for

            profile = self.profile()
            secret = secret_for(profile, self.env, warn=self.io.info)
            transport = make_transport(profile, secret, http_transport=self.http_transport,
                                       debug=self._debug_line if self.debug else None)
            # Every response goes past the name cache, which shell completion reads.
            # Conversations differ per service: so do the names a TAB offers.
            recorder = Recorder(transport, names_file(self.env, profile.name,
                                                      service=profile.service_sid),
                                identity=profile.identity)
            self._client = Client(recorder, service_sid=profile.service_sid)
        return self._client

    def _debug_line(self, line: str) -> None:
        # `--debug` shows a URL and a reason phrase as the service sent them: untrusted.
        from convo_cli.render.text import one_line

        self.io.info(one_line(line))

    def login_hint(self) -> str:
        """What to do when the service rejects this call's credentials."""
        from convo_cli.profiles import login_hint

        return login_hint(self.profile())

    def output(self, *, as_json: bool = False) -> Output:
        from convo_cli.render.output import Output

        return Output(self.io, as_json=as_json)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
