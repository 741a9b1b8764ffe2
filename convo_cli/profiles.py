"""Which profile and identity a call uses, and where its credentials come from; and the
profile operations the commands perform (login, logout, use, remove).

Profile: `--profile` > `CONVO_PROFILE` > the `TWILIO_*` environment variables (an implicit
Twilio profile, as twilio-cli) > the active profile > `local`.
Identity: `--identity` > `CONVO_IDENTITY` > the profile's > the login name (`local` only).
Conversation Service: `--service` > `CONVO_SERVICE` > the profile's > none (the account's
default service, `/v1/Conversations…`); an empty `CONVO_SERVICE` is unset, as for the identity.
Nothing here reads a secret: resolving is cheap (no keyring import); the secret is read by
`secret_for` only when a request is about to be sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from convo_cli import config as cfg
from convo_cli.config import LOCAL, TWILIO_BASE_URL, Config, ProfileConfig
from convo_cli.errors import UsageError
from convo_cli.limits import NAME_LIMIT

ENV_PROFILE = "(environment)"  # the implicit TWILIO_* profile; not a valid profile name
ENV_NOT_STORED = "the TWILIO_* environment's profile is not stored: {instead} instead"
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
SERVICE_SID = re.compile(r"IS[0-9a-fA-F]{32}")
BASE_URL = re.compile(r"https?://[^\s/?#]+/?")

# Where things come from, as `whoami` prints them.
FROM_FLAG, FROM_ENV_VAR, FROM_TWILIO_ENV = "--profile", "CONVO_PROFILE", "TWILIO_* environment"
FROM_ACTIVE, FROM_DEFAULT = "active profile", "default"
ENVIRONMENT, KEYRING, INSECURE_FILE = "environment", "keyring", "insecure file"


class Resolved(NamedTuple):
    """The profile a call runs with. Field names match the factory's `Profile` record."""

    name: str
    kind: str  # "local" | "server" | "twilio"
    identity: str | None
    db_path: str | None  # local
    base_url: str | None  # server, twilio
    account_sid: str | None
    username: str | None  # Basic auth user: the API key SID if any, else the account SID
    service_sid: str | None
    selected_by: str  # FROM_FLAG | FROM_ENV_VAR | FROM_TWILIO_ENV | FROM_ACTIVE | FROM_DEFAULT
    identity_source: str | None  # "--identity" | "CONVO_IDENTITY" | "profile" | "login name"
    secret_source: str | None  # ENVIRONMENT | KEYRING | INSECURE_FILE; None for local
    stored: ProfileConfig | None  # the configured profile, None for implicit ones
    service_source: str | None = None  # "--service" | "CONVO_SERVICE" | "profile"


def resolve(env: Mapping[str, str], *, profile_flag: str | None = None,
            identity_flag: str | None = None, service_flag: str | None = None,
            config: Config | None = None) -> Resolved:
    """The profile, identity and service for one call (no secret is read)."""
    return _with_service(_resolve(env, profile_flag, identity_flag, config), env, service_flag)


def _resolve(env: Mapping[str, str], profile_flag: str | None, identity_flag: str | None,
             config: Config | None) -> Resolved:
    if profile_flag:
        chosen, selected_by = profile_flag, FROM_FLAG
    elif env.get("CONVO_PROFILE"):
        chosen, selected_by = env["CONVO_PROFILE"], FROM_ENV_VAR
    elif env.get("TWILIO_ACCOUNT_SID"):
        return _with_identity(_from_twilio_env(env), env, identity_flag)
    else:
        chosen, selected_by = "", FROM_DEFAULT
    config = cfg.load_config(env) if config is None else config
    if not chosen:
        chosen, selected_by = (config.active, FROM_ACTIVE) if config.active else (LOCAL, FROM_DEFAULT)
    stored = config.profiles.get(chosen)
    if stored is None and chosen != LOCAL:
        where = {FROM_ENV_VAR: " (from CONVO_PROFILE)",
                 FROM_ACTIVE: f" (the active profile in {cfg.config_path(env)})"}
        raise UsageError(f"unknown profile {chosen!r}{where.get(selected_by, '')}; "
                         "see: convo profiles")
    return _with_identity(_from_stored(chosen, stored, selected_by, env), env, identity_flag)


def _from_stored(name: str, stored: ProfileConfig | None, selected_by: str,
                 env: Mapping[str, str]) -> Resolved:
    if stored is None or stored.kind == "local":
        db = cfg.data_dir(env) / ("local.db" if name == LOCAL else f"{name}.db")
        return Resolved(name, "local", stored.identity if stored else None, str(db), None,
                        None, None, stored.service_sid if stored else None, selected_by, None,
                        None, stored)
    base_url = TWILIO_BASE_URL if stored.kind == "twilio" else stored.base_url
    secret_source = INSECURE_FILE if stored.insecure_storage else KEYRING
    if _env_secret(env, stored.account_sid, stored.api_key) is not None:
        # CI with a configured profile and no keyring: the environment holds the secret
        # of that same account (or API key).
        secret_source = ENVIRONMENT
    return Resolved(name, stored.kind, stored.identity, None, base_url, stored.account_sid,
                    stored.username, stored.service_sid, selected_by, None, secret_source,
                    stored)


def _from_twilio_env(env: Mapping[str, str]) -> Resolved:
    account = env["TWILIO_ACCOUNT_SID"]
    if not ACCOUNT_SID.fullmatch(account):
        raise UsageError("TWILIO_ACCOUNT_SID is not an account SID (AC followed by 32 hex digits)")
    pair = _env_pair(env)
    if pair is None:
        from convo_cli.credentials import CredentialsError

        raise CredentialsError("TWILIO_ACCOUNT_SID is set without TWILIO_AUTH_TOKEN "
                               "(or TWILIO_API_KEY and TWILIO_API_SECRET)")
    return Resolved(ENV_PROFILE, "twilio", None, None, TWILIO_BASE_URL, account, pair[0],
                    None, FROM_TWILIO_ENV,
                    None, ENVIRONMENT, None)


def _env_pair(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(username, secret) from TWILIO_*: the API key pair wins over the auth token."""
    if env.get("TWILIO_API_KEY") and env.get("TWILIO_API_SECRET"):
        return env["TWILIO_API_KEY"], env["TWILIO_API_SECRET"]
    if env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN"):
        return env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"]
    return None


def _env_secret(env: Mapping[str, str], account_sid: str | None,
                api_key: str | None) -> str | None:
    if not account_sid or env.get("TWILIO_ACCOUNT_SID") != account_sid:
        return None
    pair = _env_pair(env)
    if pair is None or pair[0] != (api_key or account_sid):
        return None
    return pair[1]


def _with_identity(profile: Resolved, env: Mapping[str, str],
                   identity_flag: str | None) -> Resolved:
    if identity_flag is not None:  # given, even empty: a mistake to report, not to skip
        check_identity(identity_flag, "--identity")
    where = f"the identity of profile {profile.name!r}"
    for value, source, what in ((identity_flag, "--identity", "--identity"),
                                (env.get("CONVO_IDENTITY"), "CONVO_IDENTITY", "CONVO_IDENTITY"),
                                (profile.identity, "profile", where)):
        if value:  # an empty CONVO_IDENTITY is unset, as shells use it
            check_identity(value, what)
            return profile._replace(identity=value, identity_source=source)
    if profile.kind == "local":
        name = login_name(env)
        if name and name.strip():
            return profile._replace(identity=name, identity_source="login name")
    return profile._replace(identity=None, identity_source=None)


def _with_service(profile: Resolved, env: Mapping[str, str],
                  service_flag: str | None) -> Resolved:
    if service_flag is not None:  # given, even empty: a mistake to report
        check_service(service_flag, "--service")
    for value, source, what in (
            (service_flag, "--service", "--service"),
            (env.get("CONVO_SERVICE"), "CONVO_SERVICE", "CONVO_SERVICE"),
            (profile.service_sid, "profile", f"the service of profile {profile.name!r}")):
        if value:  # an empty CONVO_SERVICE is unset, as shells use it
            return profile._replace(service_sid=check_service(value, what),
                                    service_source=source)
    return profile._replace(service_sid=None, service_source=None)


def check_service(value: str, what: str) -> str:
    """A Conversation Service SID as given (`--service`, CONVO_SERVICE, a profile's): checked
    here, since in a path a typo would only come back as a puzzling 404."""
    if not SERVICE_SID.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise UsageError(f"{what} must be IS followed by 32 hex digits, not {shown!r}")
    return value


def check_identity(value: str, what: str) -> str:
    """An identity as given (`--identity`, CONVO_IDENTITY, a profile's, `add IDENTITY`):
    a blank one would be stored as a name nobody can see or type."""
    if not value.strip():
        raise UsageError(f"{what} is blank: an identity needs a visible character")
    if len(value) > NAME_LIMIT:
        raise UsageError(f"{what} is {len(value):,} characters long; an identity takes at "
                         f"most {NAME_LIMIT}")
    return value


def login_name(env: Mapping[str, str]) -> str | None:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if env.get(variable):
            return env[variable]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return None


def secret_for(profile: Resolved, env: Mapping[str, str], *,
               warn: Callable[[str], None] | None = None, backend: Any = None) -> str | None:
    """The secret to authenticate with (None for local): from the environment, the keyring
    or the insecure file, as `profile.secret_source` says."""
    if profile.kind == "local":
        return None
    if profile.secret_source == ENVIRONMENT:
        pair = _env_pair(env)
        assert pair is not None  # resolve() saw it
        return pair[1]
    from convo_cli.credentials import read_secret

    assert profile.stored is not None
    return read_secret(profile.stored, env, warn=warn, backend=backend)


def login_hint(profile: Resolved) -> str:
    """What to do when the service rejects the credentials (401 / 20003)."""
    if profile.secret_source == ENVIRONMENT:
        return "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and " \
               "TWILIO_API_SECRET) in the environment"
    return f"run: convo login --profile {profile.name}"


def whoami(profile: Resolved, env: Mapping[str, str], *, backend: Any = None) -> dict[str, Any]:
    """What `whoami` shows: never the secret, only where it comes from and whether it is
    there (`secret_stored` is None when the keyring cannot be asked)."""
    record: dict[str, Any] = {
        "profile": profile.name, "kind": profile.kind, "selected_by": profile.selected_by,
        "base_url": profile.base_url or "convo://local", "identity": profile.identity,
        "identity_source": profile.identity_source, "account_sid": profile.account_sid,
        "username": profile.username, "service_sid": profile.service_sid,
        "service_source": profile.service_source,
        "secret_source": profile.secret_source, "secret_stored": None,
    }
    if profile.kind == "local":
        record["database"] = profile.db_path
    elif profile.secret_source == ENVIRONMENT:
        record["secret_stored"] = True
    else:
        from convo_cli.credentials import CredentialsError, has_secret

        assert profile.stored is not None
        try:
            record["secret_stored"] = has_secret(profile.stored, env, backend=backend)
        except CredentialsError as error:
            record["secret_error"] = str(error)
    return record


# The operations behind `convo login`, `logout`, `profiles`, `profiles use`, `profiles remove`.

def build_profile(name: str, *, kind: str, account_sid: str, base_url: str | None = None,
                  api_key: str | None = None, identity: str | None = None,
                  service_sid: str | None = None, insecure_storage: bool = False) -> ProfileConfig:
    """A profile from `login`'s options, checked before anything is stored (exit 2)."""
    cfg.check_profile_name(name)
    if name == LOCAL:
        raise UsageError("'local' is the built-in engine's profile; choose another name")
    if kind not in ("server", "twilio"):
        raise UsageError(f"a profile logs in to a server or to twilio, not {kind!r}")
    if not ACCOUNT_SID.fullmatch(account_sid):
        raise UsageError("--account-sid must be AC followed by 32 hex digits")
    if api_key is not None and not API_KEY_SID.fullmatch(api_key):
        raise UsageError("--api-key must be SK followed by 32 hex digits")
    if service_sid is not None:
        check_service(service_sid, "--service")
    if identity is not None:
        check_identity(identity, "--identity")
    if kind == "server":
        if not base_url or not BASE_URL.fullmatch(base_url):
            raise UsageError("--server must be an http:// or https:// URL with no path, "
                             "such as http://127.0.0.1:8080")
        base_url = base_url.rstrip("/")
    else:
        base_url = None
    return ProfileConfig(name, kind, base_url, account_sid, api_key, identity or None,
                         service_sid, insecure_storage)


def login(profile: ProfileConfig, secret: str, env: Mapping[str, str], *,
          activate: bool = False, backend: Any = None) -> str:
    """Store the secret, then the profile; returns where the secret went. The secret goes
    first, so that with no usable keyring (exit 4) nothing at all is written."""
    from convo_cli.credentials import check_secret, delete_secret, store_secret

    secret = check_secret(secret)
    config = cfg.load_config(env)
    old = config.profiles.get(profile.name)
    moved = old is not None and (old.insecure_storage, old.username) != (
        profile.insecure_storage, profile.username)
    where = store_secret(profile, secret, env, backend=backend)
    updated = cfg.with_profile(config, profile)
    try:
        cfg.save_config(cfg.with_active(updated, profile.name) if activate else updated, env)
    except BaseException:
        if old is None or moved:  # otherwise the old config still names this very entry
            _quietly(lambda: delete_secret(profile, env, backend=backend))
        raise
    if moved:
        assert old is not None
        _quietly(lambda: delete_secret(old, env, backend=backend))
    return where


def logout(name: str, env: Mapping[str, str], *, backend: Any = None) -> bool:
    """Remove the profile's secret (the profile stays); False when none was stored."""
    from convo_cli.credentials import delete_secret

    stored = _existing(name, env, built_in="has no credentials to log out of")
    return delete_secret(stored, env, backend=backend)


def use(name: str, env: Mapping[str, str]) -> None:
    config = cfg.load_config(env)
    if name != LOCAL:
        _existing(name, env, config)
    cfg.save_config(cfg.with_active(config, name), env)


def set_service(name: str, service_sid: str | None, env: Mapping[str, str]) -> None:
    """Make `service_sid` (None: the account's default) the profile's Conversation Service;
    the built-in `local` profile included, which is stored then with just that."""
    if name == ENV_PROFILE:
        raise UsageError(ENV_NOT_STORED.format(instead="set CONVO_SERVICE"))
    config = cfg.load_config(env)
    stored = config.profiles.get(name)
    if stored is None and name == LOCAL:
        stored = ProfileConfig(LOCAL, "local")
    if stored is None:
        raise UsageError(f"no profile {name!r} to act on; see: convo profiles")
    updated = stored._replace(service_sid=service_sid)
    if updated == ProfileConfig(LOCAL, "local"):  # the built-in profile as it was: no entry
        cfg.save_config(cfg.without_profile(config, LOCAL)._replace(active=config.active), env)
    else:
        cfg.save_config(cfg.with_profile(config, updated), env)


def remove(name: str, env: Mapping[str, str], *, backend: Any = None) -> None:
    """Forget the profile and its secret; the secret first, so a keyring error leaves the
    profile in place to try again."""
    from convo_cli.credentials import delete_secret

    config = cfg.load_config(env)
    stored = _existing(name, env, config, built_in="cannot be removed")
    delete_secret(stored, env, backend=backend)
    cfg.save_config(cfg.without_profile(config, name), env)


def list_profiles(env: Mapping[str, str]) -> list[tuple[ProfileConfig, bool]]:
    """Every profile (the built-in `local` one included) and whether it is the active one."""
    config = cfg.load_config(env)
    profiles = dict(config.profiles)
    profiles.setdefault(LOCAL, ProfileConfig(LOCAL, "local"))
    active = config.active if config.active in profiles else LOCAL
    return [(profiles[name], name == active) for name in sorted(profiles)]


def _existing(name: str, env: Mapping[str, str], config: Config | None = None, *,
              built_in: str = "cannot be changed") -> ProfileConfig:
    if name == ENV_PROFILE:
        raise UsageError("the environment's credentials are not stored: unset TWILIO_* instead")
    config = cfg.load_config(env) if config is None else config
    stored = config.profiles.get(name)
    if name == LOCAL and (stored is None or stored.kind == "local"):
        # `convo profiles` lists it, so "no profile 'local'" would contradict it.
        raise UsageError(f"'local' is the built-in engine's profile: it {built_in}")
    if stored is None:
        raise UsageError(f"no profile {name!r} to act on; see: convo profiles")
    return stored


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # cleanup after another error: that error is the one to report
        pass
