"""Leases in the store: work that must run on one node at a time (the retention job).

A lease is taken term by term. A node may take the next term when the current one has
run out or is its own (a renewal); taking it is a unique insert of ``(name, term)``
(Store.take_lease), so of nodes racing for a term exactly one gets it: a
compare-and-set on the term number that every engine does atomically, FerretDB
included. Time is :mod:`livelens.clock`'s.
"""

from __future__ import annotations

import os
import secrets
import socket

from livelens import clock
from livelens.store.records import Lease
from livelens.store.repository import Store


def holder_id() -> str:
    """A name for this process as a lease holder: host, process and a random part."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"


async def acquire(store: Store, name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease ``name`` for ``seconds`` from now; False while another
    holder's term runs."""
    now = clock.now()
    current = await store.current_lease(name)
    if current is not None and current.holder != holder and current.expires_at > now:
        return False
    term = 1 if current is None else current.term + 1
    return await store.take_lease(Lease(name, term, holder, now + seconds))


async def release(store: Store, name: str, holder: str) -> None:
    """Let the next holder in at once: a term of ours that has already run out."""
    current = await store.current_lease(name)
    if current is not None and current.holder == holder:
        await store.take_lease(Lease(name, current.term + 1, holder, clock.now()))
