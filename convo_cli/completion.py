"""Shell completion: the scripts for bash, zsh and fish, and the answer to one TAB.

The scripts run `convo` with `_CONVO_COMPLETE=complete_SHELL` and the words typed so far
in `COMP_WORDS`/`COMP_CWORD` (bash) or `_TYPER_COMPLETE_ARGS` (zsh, fish): Typer's protocol.
`convo_cli.main.run` hands such a request to `answer`, and Typer's completion classes work
out the candidates: command names, options, and for CONVERSATION arguments and `--profile`
the functions below. Those read the name cache and the config file only: a TAB never
touches the network, the engine's database or the keyring, and loads neither httpx, Rich
nor keyring.

Every command imports this module (for `complete_conversation`); Typer has already loaded
everything it imports.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

import typer
from typer._completion_classes import BashComplete, FishComplete, ZshComplete
from typer._completion_shared import get_completion_script

from convo_cli.errors import UsageError

COMPLETE_VAR = "_CONVO_COMPLETE"
PROG = "convo"

# Names from the service are untrusted, and zsh evals what a TAB prints: offer only names
# made of these characters (others can still be typed).
OFFERABLE = re.compile(r"[\w.,@+=%:/-]+")
HELP_TEXT = re.compile(r"[\w .,@+=%:/()'-]{1,80}")


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


# Typer's zsh script registers its function with compdef, which loses the first TAB when
# zsh autoloads the file from $fpath (the usual install). Like Click's own, this one
# completes at once when autoloaded, and registers itself when sourced.
ZSH_SCRIPT = f"""\
#compdef {PROG}

_{PROG}_completion() {{
  eval $(env _TYPER_COMPLETE_ARGS="${{words[1,$CURRENT]}}" {COMPLETE_VAR}=complete_zsh {PROG})
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _{PROG}_completion "$@"
else
  compdef _{PROG}_completion {PROG}
fi
"""


def script(shell: str) -> str:
    """The completion script for `shell`, as `convo completion SHELL` prints it."""
    if shell == "zsh":
        return ZSH_SCRIPT
    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell) + "\n"


class _ZshComplete(ZshComplete):
    def format_completion(self, item: Any) -> str:
        # Typer's own passes the help through Rich to strip markup: convo's help has none,
        # and a TAB must not pay for importing Rich. And `'` becomes `'\''`, not `''`, which
        # drops it from the single-quoted spec the script evals.
        def escape(text: str) -> str:
            return (text.replace('"', '""').replace("'", "'\\''").replace("$", "\\$")
                    .replace("`", "\\`").replace(":", r"\\:"))

        if item.help:
            return f'"{escape(item.value)}":"{escape(item.help)}"'
        return f'"{escape(item.value)}"'


class _FishComplete(FishComplete):
    def format_completion(self, item: Any) -> str:
        # As Typer's, without Rich (see _ZshComplete).
        if item.help:
            return item.value + "\t" + re.sub(r"\s", " ", item.help)
        return item.value


COMPLETERS = {"bash": BashComplete, "zsh": _ZshComplete, "fish": _FishComplete}


def answer(instruction: str, obj: Any, stdout: Any) -> int:
    """Answer `_CONVO_COMPLETE=complete_SHELL`: print the candidates for the words in the
    environment. Returns the exit code."""
    from convo_cli.app import build_app

    action, _, shell = instruction.partition("_")
    if action != "complete" or shell not in COMPLETERS:
        raise UsageError(f"{COMPLETE_VAR}={instruction!r}: expected complete_bash, "
                         "complete_zsh or complete_fish")
    completer = COMPLETERS[shell](None, {"obj": obj}, PROG, COMPLETE_VAR)
    try:
        # Once the command is typed, only it is built, as for a normal run (start-up time);
        # before that, every command, to be offered.
        words, _ = completer.get_completion_args()
        completer.cli = typer.main.get_command(build_app(words))
        text = completer.complete()
    except SystemExit as verdict:
        # fish first asks whether there are candidates, and reads the exit status.
        return verdict.code if isinstance(verdict.code, int) else 0
    except Exception:  # noqa: BLE001 - an error line would land in the command line being typed
        return 0
    stdout.write(text + "\n")
    return 0


# Candidates for parameters: Typer's `autocompletion=` (`complete_profile` suits any
# argument or option that takes a profile name).

def complete_conversation(ctx: typer.Context, incomplete: str) -> list[str]:
    """Unique names, and the SIDs of conversations without one (every SID once the word
    typed starts with CH), from the name cache of the profile the command would use."""
    from convo_cli.cache import completion_profile, completion_service, names_file, read_names

    env = _env(ctx)
    params = ctx.find_root().params
    profile = completion_profile(params.get("profile"), env)
    service = completion_service(profile, params.get("service"), env)
    offered = set()
    for sid, name in read_names(names_file(env, profile, service=service)).items():
        if name:
            offered.add(name)
        if not name or incomplete.startswith("CH"):
            offered.add(sid)
    return _matching(offered, incomplete)


def complete_service(ctx: typer.Context, incomplete: str) -> list[tuple[str, str] | str]:
    """The Conversation Services `convo services` last listed for the profile the command
    would use (their SIDs, with their friendly names as help where the shell shows it)."""
    from convo_cli.cache import completion_profile, read_services, services_file

    env = _env(ctx)
    profile = completion_profile(ctx.find_root().params.get("profile"), env)
    services = read_services(services_file(env, profile))
    # A friendly name is untrusted: shown as help (zsh, fish) only when plainly printable.
    return [(sid, name) if name and HELP_TEXT.fullmatch(name) else sid
            for sid in _matching(set(services), incomplete) for name in [services[sid]]]


def complete_profile(ctx: typer.Context, incomplete: str) -> list[str]:
    """The configured profiles and `local`, from the config file."""
    from convo_cli.config import LOCAL, ConfigError, load_config

    try:
        names = set(load_config(_env(ctx)).profiles)
    except ConfigError:
        names = set()
    return _matching(names | {LOCAL}, incomplete)


def _matching(values: set[str], incomplete: str) -> list[str]:
    return sorted(v for v in values if v.startswith(incomplete) and OFFERABLE.fullmatch(v))


def _env(ctx: typer.Context) -> Mapping[str, str]:
    """The environment `convo_cli.main.run` was given (tests pass their own)."""
    return getattr(ctx.find_root().obj, "env", os.environ)
