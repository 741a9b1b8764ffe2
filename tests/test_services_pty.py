"""`convo services` on a real pseudo-terminal 100, 80, 60 and 40 columns wide: one line per
service and a header, every line within the width as the terminal measures it, a SID whole
or absent (never cut), `*` on the service this call works in, and long or wide names
shortened with `…` before anything is dropped."""

from __future__ import annotations

import os
import re

import pytest

from convo_cli.api import Client
from convo_cli.api.services import create_service, list_services
from convo_cli.engine.inprocess import InProcessTransport
from pty_helpers import cells, convo_executable, run_in_pty

WIDTHS = [100, 80, 60, 40]
NAMES = ["Customer support for the enterprise accounts in Europe and Asia \U0001f680",
         "\u6771\u4eac\u30aa\u30d5\u30a3\u30b9\u306e\u30b5\u30dd\u30fc\u30c8\u7a93\u53e3",
         "ops"]
SID = re.compile(r"(?<![A-Za-z0-9])IS[0-9a-f]+")  # a cut SID is still found


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A local engine with the default service and three named ones; the profile works in
    the second."""
    root = tmp_path_factory.mktemp("services-pty")
    client = Client(InProcessTransport(str(root / "data" / "local.db")))
    made = [create_service(client, name).sid for name in NAMES]
    assert len(list(list_services(client))) == len(NAMES) + 1
    client.close()
    return root, made[1]


def screen(home, width: int, *argv: str) -> list[str]:
    root, in_use = home
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("CONVO_", "TWILIO_", "XDG_"))}
    env = {**keep, "HOME": str(root), "CONVO_DATA_DIR": str(root / "data"),
           "CONVO_CONFIG_DIR": str(root / "config"), "CONVO_CACHE_DIR": str(root / "cache"),
           "CONVO_SERVICE": in_use, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "TERM": "xterm-256color", "TZ": "UTC"}
    shown = run_in_pty([*convo_executable(), *argv], width, env=env)
    assert shown.code == 0, shown.raw
    # The hint `services create` writes to standard error: two lines the terminal folds
    # below 80 columns.
    hint = ("Work in it with:", "or make it the profile's:")
    lines = [line for line in shown.lines() if not line.startswith(hint)]
    assert all(cells(line) <= width for line in lines), (width, lines)
    assert all(len(sid) == 34 for line in lines for sid in SID.findall(line)), lines
    return lines


@pytest.mark.parametrize("width", WIDTHS)
def test_services_keep_one_line_each_and_every_sid_whole(home, width):
    lines = screen(home, width, "services")
    assert len(lines) == 1 + len(NAMES) + 1  # the header, three named, the default
    assert len([sid for line in lines for sid in SID.findall(line)]) == len(NAMES) + 1
    marked = [line for line in lines if line.startswith("*")]
    assert len(marked) == 1 and home[1] in marked[0]
    if width == 100:
        assert lines[0].split() == ["SID", "Friendly", "name", "Created", "Default"]
        assert sum(line.rstrip().endswith("yes") for line in lines) == 1
    if 40 < width < 100:
        assert any("\u2026" in line for line in lines)  # a name shortened, visibly


@pytest.mark.parametrize("width", [80, 40])
def test_a_created_service_keeps_its_labels_and_sid_whole(home, width):
    lines = screen(home, width, "services", "create", f"Created at {width} columns")
    text = "\n".join(lines)
    for label in ("SID", "Friendly name", "Created"):
        assert re.search(rf"^{label}\b", text, re.M), (label, lines)
    assert len([sid for line in lines for sid in SID.findall(line)]) >= 1
