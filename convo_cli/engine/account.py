"""The served engine's account: the account SID and auth token its clients authenticate with.

They come from `CONVO_SERVE_ACCOUNT_SID` and `CONVO_SERVE_AUTH_TOKEN`, or else are generated
on the first start and kept beside the database in a 0600 file, so clients configured once
keep working across restarts. That file is the server's own secret (as a server keeps its
TLS key), not a client's: clients keep theirs in the keyring.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from typing import NamedTuple

from convo_cli.errors import ConvoError, UsageError

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
# The shortest auth token accepted: anything shorter is guessable (Twilio's are 32 hex
# digits, and so are the ones generated here).
MIN_TOKEN = 16
SID_VARIABLE, TOKEN_VARIABLE = "CONVO_SERVE_ACCOUNT_SID", "CONVO_SERVE_AUTH_TOKEN"


class Account(NamedTuple):
    sid: str
    token: str
    where: str  # where the token is kept, for the start-up line (never the token itself)


def credentials_path(db_path: str) -> str:
    return db_path + ".credentials.json"


def load_account(env: Mapping[str, str], db_path: str) -> Account:
    sid, token = env.get(SID_VARIABLE), env.get(TOKEN_VARIABLE)
    if sid or token:
        if not (sid and token):
            raise UsageError(f"set both {SID_VARIABLE} and {TOKEN_VARIABLE}, or neither")
        if not ACCOUNT_SID.match(sid):
            raise UsageError(f"{SID_VARIABLE} must be AC followed by 32 hexadecimal digits")
        if len(token.strip()) < MIN_TOKEN:
            raise UsageError(f"{TOKEN_VARIABLE} is too short: at least {MIN_TOKEN} characters "
                             "(generate one with: python3 -c 'import secrets; "
                             "print(secrets.token_hex(16))')")
        return Account(sid, token, f"${TOKEN_VARIABLE}")
    path = credentials_path(db_path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    account = Account("AC" + secrets.token_hex(16), secrets.token_hex(16), path)
    content = json.dumps({"account_sid": account.sid, "auth_token": account.token}) + "\n"
    staging = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(content)
        # A hard link appears whole or not at all, and fails if the name exists: two
        # servers starting on one database at once end up sharing one token.
        os.link(staging, path)
    except FileExistsError:
        return _read(path)
    except OSError as error:
        raise ConvoError(f"cannot write the server's credentials to {path}: "
                         f"{error.strerror}") from None
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
    return account


def _read(path: str) -> Account:
    try:
        with open(path, encoding="utf-8") as file:
            mode = os.fstat(file.fileno()).st_mode & 0o777
            if mode & 0o077:
                # The token in it is the whole account's key.
                raise UsageError(f"{path} is open to other users (mode {mode:04o}); "
                                 f"make it private: chmod 600 {path}")
            data = json.load(file)
        sid, token = data["account_sid"], data["auth_token"]
    except FileNotFoundError:
        raise
    except OSError as error:
        raise ConvoError(f"cannot read the server's credentials in {path}: "
                         f"{error.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise ConvoError(f"{path} is not a credentials file (expected JSON with account_sid "
                         "and auth_token); move it away to generate new credentials") from None
    if not (isinstance(sid, str) and ACCOUNT_SID.match(sid) and isinstance(token, str)
            and len(token.strip()) >= MIN_TOKEN):
        raise ConvoError(f"{path}: account_sid must be AC followed by 32 hexadecimal digits "
                         f"and auth_token a string of at least {MIN_TOKEN} characters")
    return Account(sid, token, path)
