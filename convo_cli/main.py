"""The entry point: run the Typer app without its standalone error handling, so that every
failure (ours, the service's, Typer's usage errors) becomes one line on standard error and
one exit code, here. No traceback unless `--debug`."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from convo_cli.errors import ExitCode, describe
from convo_cli.factory import Factory
from convo_cli.render.streams import IOStreams


def run(argv: Sequence[str], io: IOStreams | None = None,
        env: Mapping[str, str] | None = None, *, http_transport: Any = None) -> int:
    """Run one command line; returns the exit code. Tests call this with captured streams
    (and, for the network profiles, an httpx transport that records requests)."""
    import typer

    from convo_cli.app import build_app
    from convo_cli.completion import COMPLETE_VAR, answer

    io = io or IOStreams.system(env)
    deps = Factory(io, dict(os.environ if env is None else env), debug="--debug" in argv,
                   http_transport=http_transport)
    # A shell asking for completions (a TAB): the words are in the environment.
    completing = deps.env.get(COMPLETE_VAR)
    # Typer/Click print help and usage through sys.stdout/sys.stderr: point them at ours.
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.stdout, io.stderr
    try:
        if completing:
            code = answer(completing, deps, io.stdout)
        else:
            from convo_cli.render.help import help_settings

            command = typer.main.get_command(build_app(argv))
            result = command.main(args=list(argv), prog_name="convo", obj=deps,
                                  standalone_mode=False, **help_settings(command, io.width))
            code = result if isinstance(result, int) else ExitCode.OK
        io.stdout.flush()  # here, so that a closed pipe is seen now and not at exit
    except KeyboardInterrupt:
        io.info("convo: interrupted")
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        code = _closed(io)
    except SystemExit as exit_:
        # Typer turns a broken pipe (while printing help, say) into sys.exit(1), raised
        # while handling the BrokenPipeError: still a closed pipe, not a failure.
        if not isinstance(exit_.__context__, BrokenPipeError):
            raise
        code = _closed(io)
    except Exception as error:  # noqa: BLE001 - the one place errors become exit codes
        if deps.debug:
            import traceback

            from convo_cli.render.text import terminal_safe

            # A service's error text is in the traceback too: untrusted.
            io.stderr.write(terminal_safe(traceback.format_exc()))
        if type(error).__name__ == "NoArgsIsHelpError" and error.format_message():
            # `convo` alone on a narrow terminal: plain help, carried rather than printed.
            io.stdout.write(error.format_message() + "\n")
        message, code = describe(error)
        if code == ExitCode.AUTH and getattr(error, "status", None) in (401, 403):
            message += f"; {deps.login_hint()}"  # the service rejected the credentials
        try:
            io.stdout.flush()
        except BrokenPipeError:
            code, message = _closed(io), ""  # the reader left: nobody waits for the rest
        if message:  # empty when Typer already showed help (`convo` alone)
            io.info(f"convo: error: {message}")
    finally:
        sys.stdout, sys.stderr = saved
        deps.close()
    return int(code)


def _closed(io: IOStreams) -> ExitCode:
    """The reader went away (`convo messages --all | head`): stop quietly, with the status a
    shell gives a process ended by SIGPIPE, so that `set -o pipefail` does not read it as a
    failure of the service."""
    _silence_stdout(io)
    return ExitCode.PIPE


def _silence_stdout(io: IOStreams) -> None:
    """What is still buffered goes nowhere, so the interpreter's last flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, io.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main() -> None:
    """The `convo` console script and `python -m convo_cli`."""
    sys.exit(run(sys.argv[1:]))
