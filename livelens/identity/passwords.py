"""Password policy and Argon2id hashing.

Hashing is deliberately slow, so the async helpers run it on a worker thread,
never on the event loop: a pool of its own with a thread per core, whose threads run at
a lower priority than the loop's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from livelens.errors import WeakPassword

MIN_LENGTH = 8
MAX_LENGTH = 256  # bounds hashing cost for hostile input
# How much further back in the CPU queue than the event loop a hashing thread stands (a
# nice value, per thread on Linux): a sign-in storm must not hold up live sessions.
HASHING_NICENESS = 10


def _yield_to_the_loop() -> None:
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


# Each Argon2id hash is CPU and 64 MiB: more threads than cores would only queue in the
# kernel beside the event loop's thread (and hold more memory); fewer would leave cores
# idle in a sign-in storm. asyncio's default pool (cores + 4, shared with file I/O) was
# both. Threads start on first use.
HASHING_POOL = ThreadPoolExecutor(
    max_workers=len(os.sched_getaffinity(0)),
    thread_name_prefix="livelens-hashing",
    initializer=_yield_to_the_loop,
)


def check_policy(password: str) -> None:
    """Raise WeakPassword with a message a person can act on."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Password must be at most {MAX_LENGTH} characters long.")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        raise WeakPassword("Password must contain both letters and digits.")


@dataclass(frozen=True)
class HashParameters:
    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 2


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


class PasswordHashing:
    """Argon2id with the instance's parameters; knows when a stored hash is stale."""

    def __init__(self, params: HashParameters | None = None) -> None:
        p = params or HashParameters()
        self._hasher = PasswordHasher(
            time_cost=p.time_cost,
            memory_cost=p.memory_cost,
            parallelism=p.parallelism,
            type=Type.ID,
        )
        # Verified against when the e-mail is unknown, so both paths cost the same.
        self._decoy = self._hasher.hash("decoy-password-0")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> Verification:
        target = stored_hash or self._decoy
        try:
            self._hasher.verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(ok=False)
        if stored_hash is None:
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._hasher.check_needs_rehash(stored_hash))

    async def hash_async(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(HASHING_POOL, self.hash, password)

    async def verify_async(self, stored_hash: str | None, password: str) -> Verification:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(HASHING_POOL, self.verify, stored_hash, password)
