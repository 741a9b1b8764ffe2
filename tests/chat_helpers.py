"""Driving `convo chat` headlessly through Textual's own test harness (keys in, screen out).

    with chatting(client, "alice", "standup") as chat:
        chat.type("hello", "enter")
        chat.wait_for("hello")

Each test runs the app in its own event loop on a background thread, so a test reads as a
script and other clients can act between keys from the test's own thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from convo_cli.api import Client
from convo_cli.chat.app import ChatApp

DEADLINE = 10.0  # seconds: generous, a shared CI machine; never an assertion about speed


def screen_text(app: ChatApp) -> str:
    """The screen as plain lines, as a terminal would show it."""
    update = app.screen._compositor.render_full_update()
    return "\n".join("".join(strip.text for strip in line).rstrip() for line in update.strips)


class Chat:
    def __init__(self, app: ChatApp, pilot: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.pilot, self.loop = app, pilot, loop

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(DEADLINE)

    def type(self, *keys: str) -> None:
        """Words are typed a character at a time; key names (enter, up, ctrl+d…) pressed."""
        presses: list[str] = []
        for key in keys:
            presses += [key] if _is_key_name(key) else [_char(c) for c in key]
        try:
            self.run(self.pilot.press(*presses))
        except concurrent.futures.CancelledError:
            if self.app.is_running:  # else a key closed the app: the pilot stops with it
                raise

    def screen(self) -> str:
        return self.run(_on_loop(self.app, lambda: screen_text(self.app)))

    def wait_for(self, condition: str | Callable[[str], bool]) -> str:
        """The screen once it shows `condition` (text, or a test on the screen)."""
        test = (lambda s: condition in s) if isinstance(condition, str) else condition
        deadline = time.monotonic() + DEADLINE
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed {condition!r}:\n{screen}")
            time.sleep(0.05)

    def until(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"never: {what}\n{self.screen()}")
            time.sleep(0.05)

    @property
    def running(self) -> bool:
        return self.app.is_running


KEY_NAMES = {"enter", "up", "down", "escape", "pageup", "pagedown", "tab", "f2", "home", "end",
             "backspace"}


def _is_key_name(key: str) -> bool:
    return key in KEY_NAMES or key.startswith(("ctrl+", "alt+", "shift+"))


def _char(c: str) -> str:
    return {" ": "space", "/": "slash", "+": "plus", "[": "left_square_bracket",
            "]": "right_square_bracket"}.get(c, c)


async def _on_loop(app: ChatApp, function: Callable[[], Any]) -> Any:
    # A coroutine sent from another thread runs in that thread's context: no active app.
    from textual._context import active_app

    active_app.set(app)
    return function()


@contextlib.contextmanager
def chatting(client: Client, me: str, conversation: str | None = None, *,
             size: tuple[int, int] = (100, 30), page_size: int = 30) -> Iterator[Chat]:
    started = threading.Event()
    box: dict[str, Any] = {}
    done: asyncio.Event | None = None

    async def main() -> None:
        nonlocal done
        done = asyncio.Event()
        target = client.fetch_conversation(conversation) if conversation else None
        app = ChatApp(client, me, target, page_size=page_size)
        async with app.run_test(size=size) as pilot:
            box["chat"] = Chat(app, pilot, asyncio.get_running_loop())
            started.set()
            while app.is_running and not done.is_set():
                await asyncio.sleep(0.02)
        box["return_code"] = app.return_code

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            box["error"] = error
            started.set()

    thread = threading.Thread(target=thread_main, daemon=True)
    thread.start()
    started.wait(DEADLINE * 3)
    if "error" in box:
        raise box["error"]
    chat: Chat = box["chat"]
    try:
        yield chat
    finally:
        if done is not None and not chat.loop.is_closed():
            try:
                chat.loop.call_soon_threadsafe(done.set)
            except RuntimeError:  # the loop closed in between: the app has ended
                pass
        thread.join(DEADLINE)
    if "error" in box:
        raise box["error"]
    chat.return_code = box.get("return_code")  # type: ignore[attr-defined]
