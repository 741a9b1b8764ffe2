"""The one thread that talks to the service for the chat screen.

Every API call runs here, one after another, so the screen never waits on the network and
the client (an SQLite connection in-process, an httpx client otherwise) is only ever used by
one thread. A daemon thread, not a ThreadPoolExecutor: those are joined at exit, so Ctrl-C
would wait for a request to a dead server to time out (30 s) before the shell came back.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class ApiWorker:
    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="convo-api", daemon=True)
        self._thread.start()

    async def call(self, function: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((function, loop, future))
        return await future

    def stop(self) -> None:
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            function, loop, future = job
            if future.cancelled():
                continue
            try:
                result = function()
            except BaseException as error:  # noqa: BLE001 - handed to the awaiting task
                _settle(loop, future, error=error)
            else:
                _settle(loop, future, result=result)


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], *,
            result: Any = None, error: BaseException | None = None) -> None:
    def settle() -> None:
        if future.done():  # cancelled meanwhile: the screen moved on
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the screen's loop has closed: nobody is waiting
        pass
