"""Shell completion through the real program: the environment-variable protocol the scripts
in completions/ speak (Typer's), answered by `python -m convo_cli` in its own process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from cli_helpers import convo
from convo_cli import config as cfg
from convo_cli.app import build_app
from convo_cli.cache import names_file, write_names
from convo_cli.completion import script
from convo_cli.docs import SCRIPTS, ROOT

CONVERSATION_COMMANDS = ["join", "leave", "add", "add-sms", "participants", "messages", "send",
                         "show", "edit", "delete", "remove", "edit-message", "delete-message"]
SID = "CH" + "0" * 32


def tab(line: str, shell: str = "bash", **env: str) -> subprocess.CompletedProcess:
    """What convo answers to a TAB at the end of `line`, as the `shell` script asks."""
    variables = {"_CONVO_COMPLETE": f"complete_{shell}"}
    if shell == "bash":  # the words as bash splits them, and the index of the one to complete
        variables |= {"COMP_WORDS": line, "COMP_CWORD": str(line.count(" "))}
    else:
        variables["_TYPER_COMPLETE_ARGS"] = line
        if shell == "fish":
            variables["_TYPER_COMPLETE_FISH_ACTION"] = env.pop("action", "get-args")
    return subprocess.run([sys.executable, "-m", "convo_cli"], capture_output=True, text=True,
                          env={**os.environ, **variables, **env}, timeout=60)


def answer(line: str, shell: str = "bash", **env: str) -> str:
    result = tab(line, shell, **env)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


# The protocol: commands, options, names

@pytest.mark.parametrize("shell, expected", [
    ("bash", "messages\n"),
    ("zsh", "_arguments '*: :((\"messages\":\"Show a conversation'\\''s messages, "
            "oldest...\"))'\n"),
    ("fish", "messages\tShow a conversation's messages, oldest...\n"),
])
def test_tab_completes_a_command_name_in_each_shell(shell, expected):
    assert answer("convo mes", shell) == expected


def test_tab_lists_every_command_and_completes_options():
    commands = list(typer.main.get_command(build_app()).commands)  # type: ignore[attr-defined]
    assert {"create", "messages", "completion"} <= set(commands)
    assert answer("convo ").split() == commands
    assert answer("convo messages --pa") == "--page-size\n"
    assert answer("convo --pro") == "--profile\n"
    assert answer("convo completion ") == "bash\nzsh\nfish\n"


def test_tab_completes_a_conversation_name_after_it_was_created():
    assert answer("convo messages st") == "\n"
    assert convo("create", "--unique-name", "standup").code == 0
    for command in CONVERSATION_COMMANDS:
        assert answer(f"convo {command} st") == "standup\n", command
    assert answer("convo messages st", "fish") == "standup\n"
    assert answer("convo messages st", "zsh") == "_arguments '*: :((\"standup\"))'\n"
    assert answer("convo --identity bob send st") == "standup\n"


def test_sids_are_offered_for_conversations_without_a_unique_name_and_after_CH():
    named = convo("create", "--unique-name", "standup").rows()[0][0]
    unnamed = convo("create", "--friendly-name", "no unique name").rows()[0][0]
    assert answer("convo join ").split() == sorted([unnamed, "standup"])
    assert answer("convo join CH").split() == sorted([named, unnamed])
    assert answer(f"convo join {named[:6]}").split() == [named]


def test_names_a_shell_could_misread_are_not_offered():
    for name in ("ops$(touch pwned)", "a b", "quote'd", "back`tick"):
        assert convo("create", "--unique-name", name).code == 0
    assert convo("create", "--unique-name", "release-2.0@eu:blue").code == 0
    assert answer("convo join ").split() == ["release-2.0@eu:blue"]


def test_fish_first_asks_whether_there_are_candidates():
    assert tab("convo mes", "fish", action="is-args").returncode == 0
    assert tab("convo send standup ", "fish", action="is-args").returncode == 1


def test_a_tab_with_nothing_to_offer_prints_an_empty_answer():
    assert answer("convo messages standup --all ") == "\n"
    assert answer("convo send standup ") == "\n"


def test_a_bad_completion_request_is_one_line_and_exit_2():
    result = tab("convo mes", "tcsh")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("convo: error: _CONVO_COMPLETE='complete_tcsh': expected "
                             "complete_bash, complete_zsh or complete_fish\n")


# Profiles: the names after --profile, and whose conversation names a TAB offers

def save_profiles(active: str | None = None) -> None:
    work = cfg.ProfileConfig("work", "server", "http://127.0.0.1:8080", "AC" + "1" * 32)
    staging = cfg.ProfileConfig("staging", "twilio", account_sid="AC" + "2" * 32)
    cfg.save_config(cfg.Config(active, {"work": work, "staging": staging}), os.environ)


def test_tab_completes_profile_names_from_the_config():
    assert answer("convo --profile ") == "local\n"
    save_profiles()
    assert answer("convo --profile ") == "local\nstaging\nwork\n"
    assert answer("convo --profile w", "fish") == "work\n"


def test_conversation_names_come_from_the_profile_the_command_would_use():
    write_names(names_file(os.environ, "work"), {SID: "deploy"})
    assert answer("convo messages d") == "\n"
    assert answer("convo --profile work messages d") == "deploy\n"
    assert answer("convo messages d", CONVO_PROFILE="work") == "deploy\n"
    save_profiles(active="work")
    assert answer("convo messages d") == "deploy\n"
    assert answer("convo --profile local messages d") == "\n"


def test_an_unreadable_cache_offers_nothing():
    path = names_file(os.environ, "local")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert answer("convo messages ") == "\n"


def test_a_broken_config_file_only_means_local():
    write_names(names_file(os.environ, "local"), {SID: "standup"})
    cfg.config_path(os.environ).parent.mkdir(parents=True)
    cfg.config_path(os.environ).write_text("this is [not toml")
    assert answer("convo messages st") == "standup\n"
    assert answer("convo --profile ") == "local\n"


# What a TAB may not touch

PROBE = """
import json, sys
from convo_cli.main import run
code = run([])
print(json.dumps([code, sorted(m for m in sys.modules
                               if m.split('.')[0] in ('httpx', 'rich', 'keyring', 'sqlite3'))]),
      file=sys.stderr)
"""


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_tab_loads_no_httpx_rich_or_keyring_and_opens_no_database(shell, tmp_path):
    write_names(names_file(os.environ, "local"), {SID: "standup"})
    env = {"CONVO_DATA_DIR": str(tmp_path / "no-such-dir"), "PYTHON_KEYRING_BACKEND": "no.such"}
    for line in ("convo ", "convo messages st", "convo --profile "):
        variables = {"_CONVO_COMPLETE": f"complete_{shell}", "COMP_WORDS": line,
                     "COMP_CWORD": str(line.count(" ")), "_TYPER_COMPLETE_ARGS": line,
                     "_TYPER_COMPLETE_FISH_ACTION": "get-args", **env}
        result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                                env={**os.environ, **variables}, timeout=60)
        assert result.stdout.strip(), line
        assert json.loads(result.stderr) == [0, []], line
    assert not (tmp_path / "no-such-dir").exists()


# The scripts, and the shells running them

def test_completion_prints_each_committed_script():
    for shell, path in SCRIPTS.items():
        result = convo("completion", shell.value)
        assert (result.code, result.err) == (0, "")
        assert result.out == (ROOT / path).read_text() == script(shell.value)
    bad = convo("completion", "tcsh")
    assert (bad.code, bad.out) == (2, "")
    assert bad.err == ("convo: error: Invalid value for 'SHELL': 'tcsh' is not one of 'bash', "
                       "'zsh', 'fish'. (see: convo completion --help)\n")


def shell_env() -> dict[str, str]:
    """convo on PATH, as the shell scripts call it by name."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "convo").exists():
        pytest.skip("needs the package installed (pip install -e .)")
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def run_shell(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, env=shell_env(), timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    return result.stdout


BASH = """source {script}
for line in 'convo mes' 'convo messages st' 'convo messages --pa'; do
  read -ra COMP_WORDS <<< "$line"; COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
  _convo_completion convo; echo "${{COMPREPLY[*]}}"
done"""


def test_bash_runs_the_script():
    assert convo("create", "--unique-name", "standup").code == 0
    out = run_shell(["bash", "--norc", "-c", BASH.format(script=ROOT / SCRIPTS["bash"])])
    assert out == "messages\nstandup\n--page-size\n"


# zsh without a terminal: _arguments, which needs one, prints what it was given instead.
ZSH = """compdef() {{ print -r -- "compdef $*" }}
_arguments() {{ print -rl -- "$@" }}
source {script}
for line in 'convo mes' 'convo messages st'; do
  words=(${{=line}}); CURRENT=${{#words}}; _convo_completion
done"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_runs_the_script():
    assert convo("create", "--unique-name", "standup").code == 0
    out = run_shell(["zsh", "-f", "-c", ZSH.format(script=ROOT / SCRIPTS["zsh"])])
    assert out == ("compdef _convo_completion convo\n"
                   "*: :((\"messages\":\"Show a conversation's messages, oldest...\"))\n"
                   "*: :((\"standup\"))\n")


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_runs_the_script():
    assert convo("create", "--unique-name", "standup").code == 0
    commands = [f"source {ROOT / SCRIPTS['fish']}", "complete -C 'convo mes'",
                "complete -C 'convo messages st'", "complete -C 'convo --profile '"]
    out = run_shell(["fish", "--no-config", "-c", "; ".join(commands)])
    assert out == "messages\tShow a conversation's messages, oldest...\nstandup\nlocal\n"
