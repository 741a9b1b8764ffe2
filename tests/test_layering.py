"""The API layer is a library: importing it (and using it in-process) loads no Typer, no
Rich, and no httpx; the in-process CLI path loads no httpx either (start-up time)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in sys.modules
                        if m.split('.')[0] in ('typer', 'rich', 'httpx', 'click',
                                               'textual'))))
"""


def loaded(body: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(body=body)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_api_package_imports_neither_typer_nor_rich_nor_httpx():
    assert loaded("import convo_cli.api, convo_cli.api.client, convo_cli.api.history, "
                  "convo_cli.api.follow, convo_cli.api.live, convo_cli.api.inbox, "
                  "convo_cli.api.paging, convo_cli.api.models, convo_cli.api.http") == []


def test_api_used_in_process_stays_light(tmp_path):
    body = f"""
from convo_cli.api import Client
from convo_cli.api.history import read_window
from convo_cli.engine.inprocess import InProcessTransport
client = Client(InProcessTransport({str(tmp_path / 'x.db')!r}))
sid = client.create_conversation(unique_name='u').sid
client.send_message(sid, body='hi', author='alice')
assert [m.body for m in read_window(client, sid, page_size=5)] == ['hi']
"""
    assert loaded(body) == []


def test_piped_and_json_commands_load_no_rich_and_no_httpx(tmp_path):
    for argv in (["create", "--unique-name", "u"], ["messages", "u"], ["list", "--json"],
                 ["show", "u"], ["delete", "u", "--yes"]):
        body = f"""
import io, os
os.environ['CONVO_DATA_DIR'] = {str(tmp_path)!r}
from convo_cli.main import run
from convo_cli.render.streams import IOStreams
io = IOStreams.test()
assert run({argv!r}, io) == 0, io.err()
"""
        modules = loaded(body)
        assert "typer" in modules  # the probe does see what the CLI loads
        assert [m for m in modules if m.split(".")[0] in ("rich", "httpx", "click")] == []


def test_only_chat_loads_textual(tmp_path):
    """Textual costs ~200 ms to import: `convo chat` alone pays it, not `--help` (which builds
    every command), a terminal listing, or the chat command refusing a pipe."""
    for argv in (["--help"], ["list"], ["messages", "u"], ["chat", "u"]):
        body = f"""
import io, os
os.environ['CONVO_DATA_DIR'] = {str(tmp_path)!r}
from convo_cli.main import run
from convo_cli.render.streams import IOStreams
run(['create', '--unique-name', 'u'], IOStreams.test())
run({argv!r}, IOStreams.test(tty=True))
"""
        assert [m for m in loaded(body) if m.startswith("textual")] == [], argv
