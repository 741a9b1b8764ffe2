"""Exit codes, the command line's own errors, and the one place that turns any failure into
one line on standard error and an exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # the service refused or failed: not found, conflict, server error, network
    USAGE = 2  # bad usage, or input rejected before anything was sent
    AUTH = 4  # no credentials, or the service rejected them
    INTERRUPTED = 130
    PIPE = 141  # standard output closed by its reader (`| head`): 128 + SIGPIPE, as a shell says


class ConvoError(Exception):
    exit_code = ExitCode.FAILURE


class UsageError(ConvoError):
    """Caught before anything was sent (or written)."""

    exit_code = ExitCode.USAGE


class AuthError(ConvoError):
    exit_code = ExitCode.AUTH


def describe(error: BaseException) -> tuple[str, ExitCode]:
    """The one line a user sees, without the `convo: error: ` prefix, and the exit code.
    A service's error `message` and `more_info` are untrusted text (a hostile server could
    write an OSC 52 clipboard sequence into them): the line is made safe for a terminal."""
    from convo_cli.render.text import one_line

    message, code = _describe(error)
    return one_line(message), code


def _describe(error: BaseException) -> tuple[str, ExitCode]:
    from convo_cli.api.errors import ApiError, ServiceNotFoundError, TransportError

    if isinstance(error, ConvoError):
        return str(error), error.exit_code
    if isinstance(error, ApiError):
        # 20403: the credentials are fine, their role does not allow this (a refusal).
        if error.status in (401, 403) and error.code != 20403 or error.code == 20003:
            return str(error), ExitCode.AUTH
        return str(error), ExitCode.FAILURE
    if isinstance(error, (TransportError, ServiceNotFoundError)):
        return str(error), ExitCode.FAILURE
    exit_code = getattr(error, "exit_code", None)
    if exit_code is not None and hasattr(error, "format_message"):
        # Typer's (vendored Click's) usage errors: unknown option, missing argument…
        return _usage_line(error), ExitCode(exit_code) if exit_code in (1, 2) else ExitCode.USAGE
    return _unexpected(error), ExitCode.FAILURE


def _unexpected(error: BaseException) -> str:
    """A failure nothing above expected: a plain line, never an exception class name (the
    traceback is for `--debug`)."""
    if isinstance(error, OSError):
        # The operating system's own words and the path it was about: enough to act on.
        what = error.strerror or "the operating system refused"
        what = what[0].lower() + what[1:]
        return f"{error.filename}: {what}" if error.filename is not None else what
    if isinstance(error, RecursionError):
        return "the input is nested too deeply to process"
    if isinstance(error, MemoryError):
        return "out of memory"
    text = " ".join(str(error).split())[:300]
    detail = f" ({text})" if text and not text.startswith(("'", '"')) else ""
    return f"unexpected internal failure{detail}; run again with --debug for the details"


def _usage_line(error: BaseException) -> str:
    message = error.format_message()  # type: ignore[attr-defined]
    if type(error).__name__ == "NoArgsIsHelpError":
        return ""  # the help it carries has been printed
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        hint = f" (see: {ctx.command_path} --help)"
        return " ".join(message.split()) + hint
    return " ".join(message.split())
