"""Help as users read it (`--help` at 80 columns), and the generated documentation: the
README's command reference and completions/ must match what the app generates now."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from convo_cli import docs
from convo_cli.app import build_app

ROOT_COMMAND = typer.main.get_command(build_app())
COMMANDS = {"": ROOT_COMMAND, **ROOT_COMMAND.commands}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_has_a_one_line_summary_and_examples_each_on_lines_of_their_own(name):
    paragraphs = COMMANDS[name].help.split("\n\n")
    summary = paragraphs[0]
    examples = [line for p in paragraphs for line in p.splitlines() if line.startswith("$ ")]
    assert "\n" not in summary and any(e.startswith("$ convo ") for e in examples), name
    env = {k: v for k, v in os.environ.items() if k not in ("TERMINAL_WIDTH", "COLUMNS")}
    result = subprocess.run([sys.executable, "-m", "convo_cli", *name.split(), "--help"],
                            capture_output=True, text=True, env={**env, "COLUMNS": "80"},
                            timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    lines = [line.strip() for line in result.stdout.splitlines()]
    for paragraph in [summary, *examples]:
        assert rendered(paragraph, lines), (name, paragraph)


def rendered(text: str, lines: list[str]) -> bool:
    """Whether `text` starts a line of the help and nothing follows it before a blank line
    or the next example: wrapped at the width is fine, merged with another line is not."""
    for start, line in enumerate(lines):
        if line and text.startswith(line):
            end = start + 1
            while end < len(lines) and lines[end] and not lines[end].startswith("$ "):
                end += 1
            if " ".join(lines[start:end]) == " ".join(text.split()):
                return True
    return False


def test_the_readme_reference_and_completion_scripts_are_generated_from_the_app():
    stale = [str(path.relative_to(docs.ROOT)) for path in docs.stale()]
    assert stale == [], "out of date: run python -m convo_cli.docs"


def test_the_reference_lists_every_command_with_its_usage_options_and_examples():
    reference = docs.reference()
    for name, command in COMMANDS.items():
        path = f"convo {name}".strip()
        assert f"### `{path}`\n\n{command.help.split(chr(10))[0]}\n" in reference
    assert "\nconvo messages [OPTIONS] {CONVERSATION}\n" in reference
    assert "| `--page-size <int>` | How many messages (1 to 100). [default: 30] |" in reference
    assert "$ convo messages standup --all --json > history.json\n" in reference


def test_the_docs_check_names_what_drifted(tmp_path, monkeypatch):
    (tmp_path / "completions").mkdir()
    (tmp_path / "README.md").write_text(f"# x\n\n{docs.BEGIN}\nstale text\n{docs.END}\n")
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    assert docs.main(["--check"]) == 1
    assert docs.main([]) == 0
    assert docs.main(["--check"]) == 0
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith(f"# x\n\n{docs.BEGIN}\n\n### `convo`\n") and "stale text" not in readme
    assert (tmp_path / "completions" / "_convo").read_text().startswith("#compdef convo\n")
