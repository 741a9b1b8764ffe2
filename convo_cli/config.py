"""The configuration file: profiles and the active profile, in TOML, never a secret.

`config.toml` lives in the platformdirs user config dir for "convo" (or `CONVO_CONFIG_DIR`),
mode 0600 in a 0700 directory. It is replaced atomically (temp file in the same directory,
fsync, `os.replace`), so a crash half-way or a full disk leaves the previous file intact.
Reading uses `tomllib`; writing uses the tiny writer below, which knows the only types the
file holds (strings, booleans, tables of them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from convo_cli.errors import ConvoError, UsageError

CONFIG_FILE = "config.toml"
LOCAL = "local"
KINDS = ("local", "server", "twilio")
TWILIO_BASE_URL = "https://conversations.twilio.com"
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class ConfigError(UsageError):
    """The config file cannot be read or makes no sense: exit 2 (the user's own input,
    rejected before anything was sent). The message names the file."""


class ConfigWriteError(ConvoError):
    """The config file could not be written (full disk, permissions): exit 1. The previous
    file, if any, is intact."""


class ProfileConfig(NamedTuple):
    name: str
    kind: str  # "local" | "server" | "twilio"
    base_url: str | None = None  # server (twilio's is fixed: TWILIO_BASE_URL)
    account_sid: str | None = None  # AC…, server and twilio
    api_key: str | None = None  # SK…, twilio: authenticate with an API key instead
    identity: str | None = None
    service_sid: str | None = None  # IS…, any kind: paths become /v1/Services/{IS}/…
    insecure_storage: bool = False  # the secret is in a 0600 file, not the keyring

    @property
    def username(self) -> str | None:
        """The Basic auth user name, and the keyring entry's user name."""
        return self.api_key or self.account_sid


class Config(NamedTuple):
    active: str | None = None
    profiles: Mapping[str, ProfileConfig] = {}


# The order fields are written in; only these are read back.
_FIELDS = ("kind", "base_url", "account_sid", "api_key", "identity", "service_sid",
           "insecure_storage")


def config_dir(env: Mapping[str, str]) -> Path:
    if env.get("CONVO_CONFIG_DIR"):
        return Path(env["CONVO_CONFIG_DIR"])
    from platformdirs import user_config_dir

    return Path(user_config_dir("convo", appauthor=False))


def config_path(env: Mapping[str, str]) -> Path:
    return config_dir(env) / CONFIG_FILE


def data_dir(env: Mapping[str, str]) -> Path:
    if env.get("CONVO_DATA_DIR"):
        return Path(env["CONVO_DATA_DIR"])
    from platformdirs import user_data_dir

    return Path(user_data_dir("convo", appauthor=False))


def check_profile_name(name: str) -> str:
    if not PROFILE_NAME.fullmatch(name):
        raise UsageError(f"invalid profile name {name!r}: use letters, digits, '.', '_' or '-' "
                         "(at most 64, starting with a letter or digit)")
    return name


def load_config(env: Mapping[str, str]) -> Config:
    """The configuration; a missing file is a fresh install (no profiles, no active one)."""
    path = config_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {_reason(error)}") from None
    import tomllib  # only when there is a file: a fresh install starts faster

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML ({error}); "
                          "fix or remove it") from None
    return _parse(document, path)


def _parse(document: dict[str, object], path: Path) -> Config:
    def bad(what: str) -> ConfigError:
        return ConfigError(f"config file {path}: {what}; fix or remove it")

    active = document.get("active_profile")
    if active is not None and not isinstance(active, str):
        raise bad("active_profile must be a string")
    tables = document.get("profiles", {})
    if not isinstance(tables, dict):
        raise bad("[profiles] must be a table")
    profiles: dict[str, ProfileConfig] = {}
    for name, table in tables.items():
        if not isinstance(table, dict) or not PROFILE_NAME.fullmatch(name):
            raise bad(f"profile {name!r} must be a table with a valid name")
        values = {key: table.get(key) for key in _FIELDS if key in table}
        for key, value in values.items():
            wanted = bool if key == "insecure_storage" else str
            if not isinstance(value, wanted):
                raise bad(f"profile {name!r}: {key} must be a {wanted.__name__}")
        kind = values.get("kind")
        if kind not in KINDS:
            raise bad(f"profile {name!r}: kind must be one of {', '.join(KINDS)}")
        if kind == "server" and not values.get("base_url"):
            raise bad(f"profile {name!r}: a server profile needs base_url")
        if kind in ("server", "twilio") and not values.get("account_sid"):
            raise bad(f"profile {name!r}: a {kind} profile needs account_sid")
        profiles[name] = ProfileConfig(name=name, **values)  # type: ignore[arg-type]
    return Config(active, profiles)


def save_config(config: Config, env: Mapping[str, str]) -> Path:
    path = config_path(env)
    write_private_file(path, render_config(config).encode("utf-8"))
    return path


def render_config(config: Config) -> str:
    lines = ["# convo profiles. No secrets here: they live in the OS keyring.", ""]
    if config.active:
        lines += [f"active_profile = {_string(config.active)}", ""]
    for name in sorted(config.profiles):
        profile = config.profiles[name]
        lines.append(f"[profiles.{_string(name)}]")
        for key in _FIELDS:
            value = getattr(profile, key)
            if isinstance(value, bool):
                if value:
                    lines.append(f"{key} = true")
            elif value is not None:
                lines.append(f"{key} = {_string(value)}")
        lines.append("")
    return "\n".join(lines)


def _string(value: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    out = []
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def with_profile(config: Config, profile: ProfileConfig) -> Config:
    return Config(config.active, {**config.profiles, profile.name: profile})


def without_profile(config: Config, name: str) -> Config:
    profiles = {key: value for key, value in config.profiles.items() if key != name}
    return Config(None if config.active == name else config.active, profiles)


def with_active(config: Config, name: str | None) -> Config:
    return Config(name, config.profiles)


def ensure_private_dir(path: Path) -> None:
    """Create the directory 0700 (umask aside), and any missing parent likewise. An existing
    directory is left as it is: it may be one the user chose and shares on purpose."""
    if not path.is_dir():
        if not path.parent.is_dir():
            ensure_private_dir(path.parent)
        path.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)


def write_private_file(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, mode 0600, atomically: readers see the old file or the
    new one, never a half-written one, and a failure leaves no temp file behind."""
    import tempfile  # ~5 ms, and only writers need it

    try:
        ensure_private_dir(path.parent)
        # mkstemp creates the file 0600 whatever the umask, before a byte is written.
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise ConfigWriteError(f"cannot write {path}: {_reason(error)}") from None
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException as error:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise ConfigWriteError(f"cannot write {path}: {_reason(error)}; "
                                   "the previous file is unchanged") from None
        raise
    _sync_dir(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_dir(path: Path) -> None:
    # So the rename itself survives a power cut; not possible everywhere (Windows).
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or "unknown error"
