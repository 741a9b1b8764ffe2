"""A reader that goes away (`| head`) ends convo quietly with 141, as a shell reports a
process ended by SIGPIPE; and the two options every user tries first: `--version`, `-h`.

Real processes: a pipeline in bash with `pipefail`, or standard output a pipe whose reading
end is already closed (so that the outcome does not depend on who runs first)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from cli_helpers import convo
from convo_cli.app import COMMANDS

CONVO = f"{sys.executable} -m convo_cli"
NO_PYTHON = re.compile(r"Traceback|Error\b|Exception|\bwarning\b", re.IGNORECASE)


def into_closed_pipe(*argv: str) -> subprocess.CompletedProcess:
    """`convo ARGV…` writing to a pipe nobody reads any more."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "convo_cli", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)


def pipeline(shell: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def long_history() -> None:
    """`long`: 400 messages of 400 characters, well over what a pipe holds (64 KB)."""
    assert convo("create", "--unique-name", "long").code == 0
    assert convo("join", "long").code == 0
    script = ("import os\n"
              "from convo_cli.api import Client\n"
              "from convo_cli.engine.inprocess import InProcessTransport\n"
              "c = Client(InProcessTransport(os.path.join(os.environ['CONVO_DATA_DIR'], "
              "'local.db')))\n"
              "for n in range(400): c.send_message('long', body=f'{n} ' + 'x' * 400)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


@pytest.mark.parametrize("argv", [
    ["messages", "long", "--all"],
    ["messages", "long", "--all", "--json"],
])
def test_head_ends_a_long_listing_quietly_with_141(long_history, argv):
    result = pipeline(f"{CONVO} {' '.join(argv)} | head -n 1")
    assert result.stdout.count("\n") == 1
    assert (result.returncode, result.stderr) == (141, "")


@pytest.mark.parametrize("argv", [
    ["--help"], ["-h"], ["messages", "--help"], ["profiles", "-h"], ["--version"],
    ["list"], ["participants", "long"], ["messages", "long"], ["send", "long", "hi"],
    ["create", "--unique-name", "another"], ["profiles"], ["whoami"],
])
def test_any_output_into_a_closed_pipe_is_141_and_silent(long_history, argv):
    result = into_closed_pipe(*argv)
    assert (result.returncode, result.stderr) == (141, "")


def test_help_into_head_is_never_a_failure():
    """Whether head leaves before or after convo writes is a race: either way, no error."""
    for argv in ("--help", "-h", "messages --help", "serve -h"):
        result = pipeline(f"{CONVO} {argv} | head -n 3")
        assert result.returncode in (0, 141) and result.stderr == "", (argv, result)
        assert "Usage: convo" in result.stdout


def test_an_empty_listing_into_a_closed_pipe_succeeds():
    """Nothing to write, nothing lost: `convo list | head -0` on no conversations is 0."""
    result = into_closed_pipe("list")
    assert (result.returncode, result.stderr) == (0, "")


def test_an_error_with_standard_output_closed_is_still_reported():
    result = into_closed_pipe("messages", "nope")
    assert result.returncode == 1
    assert result.stderr.startswith("convo: error: conversation 'nope' not found")


def test_version_prints_the_package_version():
    from importlib.metadata import version

    result = convo("--version")
    assert (result.code, result.out, result.err) == (0, f"convo {version('convo')}\n", "")
    # Eager: whatever follows is not run.
    assert convo("--version", "frobnicate").out == result.out
    process = subprocess.run([sys.executable, "-m", "convo_cli", "--version"],
                             capture_output=True, text=True, timeout=60)
    assert (process.returncode, process.stdout) == (0, result.out)


@pytest.mark.parametrize("name", [None, *COMMANDS, "profiles use", "profiles remove"])
def test_h_is_help_everywhere(name):
    words = name.split() if name else []
    short, long = convo(*words, "-h"), convo(*words, "--help")
    assert (short.code, short.err) == (0, "")
    assert short.out == long.out and "Usage: convo" in short.out
    assert re.search(r"-h, --help|--help\s+-h", short.out)  # plain or Rich help


def test_no_python_reaches_the_user_on_a_closed_pipe(long_history):
    result = into_closed_pipe("--debug", "messages", "long", "--all")
    # --debug shows tracebacks for errors; a closed pipe is not one.
    assert result.returncode == 141 and not NO_PYTHON.search(result.stderr)
