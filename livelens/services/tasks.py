"""Work started from a request that must not hold up its answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

log = logging.getLogger("livelens")

_background: set[asyncio.Task[None]] = set()


def spawn(coro: Coroutine[object, object, None]) -> None:
    """Run ``coro`` in the background, keeping a reference until it is done."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())


async def drain() -> None:
    """Wait for the background work started so far (tests, shutdown)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
