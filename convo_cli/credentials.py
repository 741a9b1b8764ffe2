"""Secrets: in the OS keyring through `keyring`, or, on the user's explicit
`--insecure-storage`, in a 0600 file under the config dir. Never in config.toml, output,
error messages or argv.

`keyring` is imported only when a secret is actually needed: `import keyring` with backend
discovery costs ~200 ms, and the local profile must start well under that. Every keyring
call runs in a worker thread with a timeout, so a hung Secret Service daemon is an error
rather than a hang.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from convo_cli.config import ProfileConfig, config_dir, write_private_file
from convo_cli.errors import AuthError, ConvoError

KEYRING_TIMEOUT = 10.0  # seconds; a desktop unlock prompt can take a moment
INSECURE_DIR = "insecure-secrets"

T = TypeVar("T")

SECRET_SERVICE_FIX = (
    "run a Secret Service such as gnome-keyring (headless: printf PASSWORD | "
    "gnome-keyring-daemon --unlock --components=secrets, inside dbus-run-session)"
)
TWILIO_ENV_FIX = ("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and "
                  "TWILIO_API_SECRET) in the environment")


class CredentialsError(AuthError):
    """No usable secret: exit 4."""


class KeyringUnavailable(CredentialsError):
    """No usable keyring: keyring's fail backend, no D-Bus, a locked or hung daemon."""


def service_name(profile_name: str) -> str:
    return f"convo:{profile_name}"


def insecure_path(profile_name: str, env: Mapping[str, str]) -> Path:
    return config_dir(env) / INSECURE_DIR / profile_name


def insecure_warning(profile_name: str, env: Mapping[str, str]) -> str:
    return (f"warning: the secret of profile {profile_name!r} is stored unencrypted in "
            f"{insecure_path(profile_name, env)} (--insecure-storage)")


def no_keyring_fixes(profile: ProfileConfig, *, storing: bool) -> str:
    """What works without a keyring for this kind of profile. The TWILIO_* variables only
    for a Twilio profile: for any other they select Twilio itself as the destination."""
    fixes = ["add --insecure-storage to keep the secret in a 0600 file instead" if storing
             else "log in again adding --insecure-storage (the secret in a 0600 file)"]
    if profile.kind == "twilio":
        fixes.append(("skip login and " if storing else "") + TWILIO_ENV_FIX)
    fixes.append(SECRET_SERVICE_FIX)
    return "; or ".join(fixes)


def check_secret(secret: str) -> str:
    """A secret as read from a prompt or standard input: one trailing newline dropped."""
    if secret.endswith("\n"):
        secret = secret[:-1]
    if secret.endswith("\r"):
        secret = secret[:-1]
    if not secret or any(ord(char) < 0x20 or ord(char) == 0x7F for char in secret):
        # The message must not echo the secret.
        raise CredentialsError("the secret is empty or contains control characters")
    return secret


def store_secret(profile: ProfileConfig, secret: str, env: Mapping[str, str], *,
                 backend: Any = None, timeout: float = KEYRING_TIMEOUT) -> str:
    """Store the profile's secret; returns where it went ("keyring" or "insecure file").
    With no usable keyring this raises KeyringUnavailable and writes nothing."""
    username = _username(profile)
    if profile.insecure_storage:
        write_private_file(insecure_path(profile.name, env), secret.encode("utf-8"))
        return "insecure file"
    _call_keyring(lambda kr: kr.set_password(service_name(profile.name), username, secret),
                  env, backend, timeout, no_keyring_fixes(profile, storing=True))
    return "keyring"


def read_secret(profile: ProfileConfig, env: Mapping[str, str], *,
                warn: Callable[[str], None] | None = None, backend: Any = None,
                timeout: float = KEYRING_TIMEOUT) -> str:
    """The profile's stored secret, or CredentialsError naming `convo login`."""
    if profile.insecure_storage:
        path = insecure_path(profile.name, env)
        try:
            secret = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _missing(profile) from None
        except (OSError, UnicodeDecodeError) as error:
            why = "it is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else \
                (error.strerror or "it cannot be read").lower()
            raise CredentialsError(f"cannot read {path}: {why}") from None
        if warn is not None:
            warn(insecure_warning(profile.name, env))
        return secret
    username = _username(profile)
    secret = _call_keyring(lambda kr: kr.get_password(service_name(profile.name), username),
                           env, backend, timeout, no_keyring_fixes(profile, storing=False))
    if not secret:
        raise _missing(profile)
    return str(secret)


def delete_secret(profile: ProfileConfig, env: Mapping[str, str], *, backend: Any = None,
                  timeout: float = KEYRING_TIMEOUT) -> bool:
    """Remove the profile's secret from where the profile keeps it; False when there was none."""
    if profile.insecure_storage:
        path = insecure_path(profile.name, env)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as error:
            raise ConvoError(f"cannot remove {path}: {error.strerror}") from None
        return True
    if not profile.username:
        return False

    def delete(kr: Any) -> bool:
        from keyring.errors import PasswordDeleteError

        try:
            kr.delete_password(service_name(profile.name), profile.username)
        except PasswordDeleteError:
            return False
        return True

    return _call_keyring(delete, env, backend, timeout,
                         no_keyring_fixes(profile, storing=False))


def has_secret(profile: ProfileConfig, env: Mapping[str, str], *, backend: Any = None,
               timeout: float = KEYRING_TIMEOUT) -> bool:
    """Whether a secret is stored (for `whoami`), without returning it."""
    if profile.insecure_storage:
        return insecure_path(profile.name, env).is_file()
    username = _username(profile)
    return bool(_call_keyring(
        lambda kr: kr.get_password(service_name(profile.name), username), env, backend, timeout,
        no_keyring_fixes(profile, storing=False)))


def load_backend(env: Mapping[str, str]) -> Any:
    """The keyring backend: `PYTHON_KEYRING_BACKEND` from `env` when set (as keyring itself
    does, but from the mapping the program was given), otherwise keyring's own choice."""
    import keyring
    import keyring.core

    name = env.get("PYTHON_KEYRING_BACKEND")
    if name:
        return keyring.core.load_keyring(name)
    return keyring.get_keyring()


def _call_keyring(action: Callable[[Any], T], env: Mapping[str, str], backend: Any,
                  timeout: float, fixes: str) -> T:
    """Run `action(backend)` in a daemon thread; loading the backend happens there too,
    since discovery itself talks to D-Bus and can hang."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = action(backend if backend is not None else load_backend(env))
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=work, name="convo-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise KeyringUnavailable(f"the OS keyring did not answer within {timeout:g} s; "
                                 f"{fixes}")
    if "error" in outcome:
        raise _unavailable(outcome["error"], fixes) from None
    return outcome["value"]  # type: ignore[no-any-return]


def _unavailable(error: BaseException, fixes: str) -> BaseException:
    if isinstance(error, (KeyboardInterrupt, SystemExit, ConvoError)):
        return error
    from keyring.errors import KeyringLocked, NoKeyringError

    if isinstance(error, NoKeyringError):
        why = "no usable OS keyring was found"
    elif isinstance(error, KeyringLocked):
        why = "the OS keyring is locked"
    else:
        # D-Bus missing, Secret Service not running, backend import failure… The exception's
        # text is the library's, never a secret; keep it short (its class name says nothing
        # to a user).
        detail = " ".join(str(getattr(error, "strerror", None) or error).split())[:160]
        why = f"the OS keyring is unusable ({detail})" if detail else \
            "the OS keyring is unusable"
    return KeyringUnavailable(f"{why}; {fixes}")


def _username(profile: ProfileConfig) -> str:
    if not profile.username:
        raise CredentialsError(f"profile {profile.name!r} has no account SID")
    return profile.username


def _missing(profile: ProfileConfig) -> CredentialsError:
    return CredentialsError(f"no secret stored for profile {profile.name!r}; "
                            f"run: convo login --profile {profile.name}")
