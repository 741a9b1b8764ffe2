"""A real Secret Service for the credential tests, and a scan for leaked secrets.

`secret_service` (session scope) starts what `dbus-run-session` plus
`printf pw | gnome-keyring-daemon --unlock --components=secrets` give a desktop: a private
D-Bus session bus and an unlocked gnome-keyring, in a temp directory of their own, with no
display and no standard input (as in CI, as root). It does not skip: when the daemons are
missing the test fails and says what to install. `real_keyring` points one test at it.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

DAEMONS = ("dbus-daemon", "gnome-keyring-daemon")
INSTALL_HINT = ("the credential tests need a real Secret Service: install Debian's "
                "gnome-keyring, dbus-daemon and dbus (apt-get install gnome-keyring "
                "dbus-daemon dbus), as .ci/run does")
SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"

# No <servicedir>: the bus must not auto-start a second, locked gnome-keyring of its own
# (the system one would then prompt for a password, with no display to prompt on).
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SecretService(NamedTuple):
    bus_address: str
    home: Path


@pytest.fixture(scope="session")
def secret_service() -> Iterator[SecretService]:
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: {INSTALL_HINT}", pytrace=False)
    home = Path(tempfile.mkdtemp(prefix="convo-secret-service-"))
    run_dir = home / "run"
    run_dir.mkdir(mode=0o700)
    (home / "bus.conf").write_text(BUS_CONFIG.format(dir=run_dir))
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_RUNTIME_DIR": str(run_dir)}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    processes: list[subprocess.Popen[str]] = []
    try:
        bus = subprocess.Popen(
            ["dbus-daemon", "--nofork", "--print-address=1", f"--config-file={home / 'bus.conf'}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, text=True)
        processes.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        if not address:
            pytest.fail(f"dbus-daemon printed no address (exit {bus.poll()})", pytrace=False)
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, text=True)
        processes.append(keyring_daemon)
        assert keyring_daemon.stdin is not None
        keyring_daemon.stdin.write("test-keyring-password")  # unlocks the login keyring
        keyring_daemon.stdin.close()
        _wait_for_name(address, "org.freedesktop.secrets", keyring_daemon)
        yield SecretService(address, home)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        shutil.rmtree(home, ignore_errors=True)


def _wait_for_name(address: str, name: str, owner: subprocess.Popen[str]) -> None:
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus=address) as connection:
        for _ in range(200):
            reply = connection.send_and_get_reply(message_bus.NameHasOwner(name), timeout=5)
            if reply.body[0]:
                return
            if owner.poll() is not None:
                break
            time.sleep(0.05)
    pytest.fail(f"gnome-keyring-daemon did not provide {name} on the test bus "
                f"(exit {owner.poll()})", pytrace=False)


@pytest.fixture
def real_keyring(secret_service: SecretService, monkeypatch: pytest.MonkeyPatch) -> SecretService:
    """This test's keyring calls go to the test Secret Service (the SecretService backend
    reads DBUS_SESSION_BUS_ADDRESS from os.environ on every call)."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.bus_address)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", SECRET_SERVICE_BACKEND)
    return secret_service


def files_containing(secret: str, *roots: Path) -> list[Path]:
    """Every file under `roots` holding `secret` as it is, or encoded as a careless store
    would (UTF-16, base64, as keyrings.alt does). Empty means no leak."""
    needles = [secret.encode(), secret.encode("utf-16-le"), base64.b64encode(secret.encode()),
               base64.urlsafe_b64encode(secret.encode()).rstrip(b"=")]
    found = []
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                found.append(path)
    return found
