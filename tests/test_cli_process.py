"""The real program as a user runs it: the `convo` console script and `python -m convo_cli`,
as separate processes with piped streams."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import convo
from convo_cli.app import COMMANDS, command_in

SCRIPT = Path(sys.executable).parent / "convo"


def run(*argv: str, stdin: str = "", module: bool = False) -> subprocess.CompletedProcess:
    program = [sys.executable, "-m", "convo_cli"] if module else [str(SCRIPT)]
    return subprocess.run([*program, *argv], input=stdin, capture_output=True, text=True,
                          env=dict(os.environ), timeout=60)


@pytest.mark.skipif(not SCRIPT.exists(), reason="needs the package installed (pip install -e .)")
def test_the_console_script_runs_the_scenario_and_keeps_data_between_runs():
    created = run("create", "--friendly-name", "Hello from convo", "--unique-name", "hello")
    assert (created.returncode, created.stderr) == (0, "")
    assert created.stdout.split("\t")[1:3] == ["hello", "Hello from convo"]
    assert run("join", "hello").returncode == 0
    sent = run("send", "hello", "-", stdin="piped in\n")
    assert sent.returncode == 0 and sent.stdout.split("\t")[2:] == ["alice", "piped in\n"]
    history = run("messages", "hello", module=True)
    assert history.stdout.split("\t")[3] == "piped in\n"
    assert (Path(os.environ["CONVO_DATA_DIR"]) / "local.db").exists()


def test_errors_are_one_line_with_the_exit_code_and_no_traceback():
    missing = run("messages", "nope", module=True)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == ("convo: error: conversation 'nope' not found [Twilio error 20404] "
                              "(https://www.twilio.com/docs/errors/20404)\n")
    usage = run("list", "--nope", module=True)
    assert (usage.returncode, usage.stdout) == (2, "")
    assert usage.stderr == "convo: error: No such option: --nope (see: convo list --help)\n"


def test_help_lists_every_command_and_each_command_has_examples():
    top = convo("--help")
    assert top.code == 0
    for name in COMMANDS:
        assert f" {name} " in top.out
    for name in COMMANDS:
        result = convo(name, "--help")
        assert result.code == 0 and "$ convo " in result.out, name


def test_no_command_shows_help_and_exits_2():
    result = convo()
    assert (result.code, result.err) == (2, "")
    assert "Usage: convo" in result.out


@pytest.mark.parametrize("argv, name", [
    (["messages", "standup"], "messages"),
    (["--identity", "bob", "list"], "list"),
    (["--profile", "send", "--debug", "add-sms", "x"], "add-sms"),
    (["--help", "list"], None),
    (["-h", "list"], None),
    (["--version"], "--version"),
    (["frobnicate"], None),
    ([], None),
])
def test_command_in_finds_the_command_after_the_global_options(argv, name):
    assert command_in(argv) == name


def test_a_reader_that_goes_away_ends_the_listing_quietly():
    assert convo("create", "--unique-name", "long").code == 0
    client_script = (
        "import os\n"
        "from convo_cli.api import Client\n"
        "from convo_cli.engine.inprocess import InProcessTransport\n"
        "c = Client(InProcessTransport(os.path.join(os.environ['CONVO_DATA_DIR'], 'local.db')))\n"
        "for n in range(300): c.send_message('long', body='x' * 200)\n")
    subprocess.run([sys.executable, "-c", client_script], check=True, timeout=60)
    shell = f"{sys.executable} -m convo_cli messages long --all | head -n 1"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.startswith("0\t") and result.stdout.count("\n") == 1
    assert result.stderr == ""
    assert result.returncode == 141  # as a shell reports SIGPIPE: not a failure of the service
