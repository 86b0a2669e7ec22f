"""Turns: a room's steps one at a time, in the order they asked, never overtaken by one
taken at once (livelens/services/turns.py)."""

from __future__ import annotations

import asyncio

from livelens.services.turns import Turns


async def test_a_free_turn_is_taken_at_once_and_a_held_one_is_not() -> None:
    turns = Turns()
    assert turns.take_now()
    assert not turns.take_now()
    turns.end()
    assert turns.take_now()


async def test_waiters_get_the_turn_in_the_order_they_asked() -> None:
    turns, order = Turns(), []
    assert turns.take_now()

    async def step(name: str) -> None:
        await turns.take()
        order.append(name)
        await asyncio.sleep(0)  # give the others every chance to overtake
        turns.end()

    tasks = [asyncio.create_task(step(name)) for name in "abc"]
    await asyncio.sleep(0)  # all three are waiting now
    turns.end()
    assert not turns.take_now()  # handed to "a", not free for one taken at once
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c"]
    assert turns.take_now()


async def test_a_cancelled_waiter_does_not_keep_the_turn() -> None:
    turns = Turns()
    assert turns.take_now()
    gone = asyncio.create_task(turns.take())
    after = asyncio.create_task(turns.take())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    turns.end()
    await asyncio.wait_for(after, 5)  # "after" got it past the cancelled one
    turns.end()
    assert turns.take_now()


async def test_a_waiter_cancelled_just_as_it_is_handed_the_turn_passes_it_on() -> None:
    turns = Turns()
    assert turns.take_now()
    first = asyncio.create_task(turns.take())
    second = asyncio.create_task(turns.take())
    await asyncio.sleep(0)
    turns.end()  # handed to "first"...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.wait_for(second, 5)
    assert first.cancelled()
    turns.end()
    assert turns.take_now()
