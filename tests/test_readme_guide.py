"""The README's "A short guide" runs as written, in order, on a fresh install: each line of
its code block through bash, with the installed `convo`, in a data directory of its own.
A `--follow` line runs until it has printed the history, then gets Ctrl-C (exit 130)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from convo_cli.docs import ROOT

PATIENCE = 60  # seconds: a bound against a hang, not a measure of speed


def guide_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A short guide"):]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start:section.index("\n```", start)]
    return [line for line in block.splitlines() if line.strip()]


def shell_env() -> dict[str, str]:
    """This test's isolated environment (conftest), with the installed `convo` first."""
    scripts = Path(sys.executable).parent
    assert (scripts / "convo").exists(), "convo is not installed in this environment"
    return {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"}


def interrupted_after_first_line(line: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = subprocess.Popen(["bash", "-o", "pipefail", "-c", line], cwd=cwd, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for out in process.stdout:
            lines.put(out)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        first = lines.get(timeout=PATIENCE)
        assert first is not None, process.stderr.read() if process.stderr else ""
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's process group
        code = process.wait(timeout=PATIENCE)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return code, first


def test_every_line_of_the_guide_runs_as_written_in_order(tmp_path):
    env = shell_env()
    lines = guide_lines()
    assert lines[0].startswith("convo create") and len(lines) > 10
    assert not (Path(env["CONVO_DATA_DIR"]) / "local.db").exists()  # a fresh install
    followed = 0
    for line in lines:
        if "--follow" in line:
            code, first = interrupted_after_first_line(line, tmp_path, env)
            assert code == 130, line
            assert first.split("\t")[0] == "0", line
            followed += 1
            continue
        result = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=tmp_path, env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=PATIENCE)
        assert result.returncode == 0, (line, result.stderr)
        assert "error" not in result.stderr, (line, result.stderr)
    assert followed == 1
    history = json.loads((tmp_path / "history.json").read_text())
    assert [m["author"] for m in history] == ["alice", "alice", "bob"]
