"""Turns: one step at a time, in the order they asked, like asyncio.Lock, and a turn can
be taken without awaiting when nobody holds or waits for one.

Why not asyncio.Lock: a room's common message (a mark, a quality report) is carried out
without a coroutine when the room is idle (issue 16's profile: the task an awaited
handler costs was most of such a message's cost), and asyncio.Lock has no synchronous
acquire. A turn ends by being handed to the oldest waiter, so a step that arrived
while another ran cannot be overtaken by one taken at once.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Turns:
    def __init__(self) -> None:
        self._held = False
        self._waiting: deque[asyncio.Future[None]] = deque()

    def take_now(self) -> bool:
        """Take the turn if it is free (nobody can be waiting then); else False."""
        if self._held:
            return False
        self._held = True
        return True

    async def take(self) -> None:
        """Wait for the turn, after everyone who asked before."""
        if self.take_now():
            return
        handed = asyncio.get_running_loop().create_future()
        self._waiting.append(handed)
        try:
            await handed
        except asyncio.CancelledError:
            if handed.done() and not handed.cancelled():
                self.end()  # handed the turn just as it was cancelled: pass it on
            raise

    def end(self) -> None:
        """End the holder's turn: the oldest waiter still waiting gets it."""
        while self._waiting:
            handed = self._waiting.popleft()
            if not handed.done():  # a cancelled waiter has gone
                handed.set_result(None)
                return
        self._held = False
