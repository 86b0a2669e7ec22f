"""What both engines share beyond the field tables (:mod:`.schema`): the tenant scope's
own checks, and the domain errors that a refused write becomes."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

from livelens.errors import (
    Conflict,
    DuplicateEmail,
    DuplicateTenant,
    InvalidInput,
    NotFound,
    StaleRecord,
)
from livelens.store.encryption import WrappedKey
from livelens.store.records import AlertTally, SupportSession, Tenant, User
from livelens.store.repository import SessionQuery


class TenantScope:
    """The part of a :class:`~livelens.store.repository.TenantStore` that is no query:
    the tenant id it is bound to, and the refusal of records of another account."""

    def __init__(self, tenant_id: str) -> None:
        if not tenant_id:
            raise InvalidInput("A tenant id is required.")
        self._tenant_id = tenant_id

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    def _check(self, tenant_id: str, what: str) -> None:
        if tenant_id != self._tenant_id:
            raise InvalidInput(f"The {what} belongs to another account.")


class InstanceKeys(ABC):
    """The instance's sealed keys, ``"derivation"`` and ``"signing"``, over an engine's
    keeping of one named key: a base of each engine's instance-level store."""

    @abstractmethod
    async def _kept_key(self, name: str, candidate: WrappedKey) -> WrappedKey:
        """The instance key ``name`` as stored, ``candidate`` stored first if none is."""

    @abstractmethod
    async def _replace_key(self, name: str, wrapped: WrappedKey) -> None:
        """Store the instance key ``name`` sealed anew."""

    async def derivation_key(self, candidate: WrappedKey) -> WrappedKey:
        return await self._kept_key("derivation", candidate)

    async def replace_derivation_key(self, wrapped: WrappedKey) -> None:
        await self._replace_key("derivation", wrapped)

    async def signing_key(self, candidate: WrappedKey) -> WrappedKey:
        return await self._kept_key("signing", candidate)

    async def replace_signing_key(self, wrapped: WrappedKey) -> None:
        await self._replace_key("signing", wrapped)


async def keyset_pages(
    page: Callable[[SessionQuery], Awaitable[list[SupportSession]]],
    query: SessionQuery,
    batch: int,
) -> AsyncIterator[list[SupportSession]]:
    """Every session ``query`` matches, a page of ``batch`` at a time, each page read
    after the last one's ``(created_at, id)``: for an engine whose ranged reads are cheap."""
    query = replace(query, limit=batch, after=None)
    while found := await page(query):
        yield found
        if len(found) < batch:
            return
        query = replace(query, after=(found[-1].created_at, found[-1].id))


def duplicate_tenant(tenant: Tenant) -> DuplicateTenant:
    return DuplicateTenant(f"An account named {tenant.name!r} already exists.")


def duplicate_email(user: User) -> DuplicateEmail:
    return DuplicateEmail(f"A user with e-mail {user.email} already exists.")


def duplicate_join_token() -> Conflict:
    return Conflict("A support session with this join token already exists.")


def duplicate_id(what: str) -> Conflict:
    return Conflict(f"{what} with this id already exists.")


def refused_session_save(exists: bool) -> Conflict | NotFound:
    """Why a compare-and-set save of a support session changed nothing."""
    if exists:
        return StaleRecord("The support session was changed since it was read; read it again.")
    return NotFound("No such support session.")


def tally_times(tally: AlertTally) -> tuple[float | None, str | None, float | None]:
    """What counting ``tally`` sets besides the counts: ``last_success_at`` when something
    was delivered, ``last_error`` and ``last_error_at`` when a try failed with an error
    (None: left as it was)."""
    failed = tally.failed > 0 and tally.error is not None
    return (tally.at if tally.delivered else None, tally.error if failed else None,
            tally.at if failed else None)  # fmt: skip


_RECORDING_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def recording_id(value: str) -> str:
    """A recording's id, which names its bytes' file on the embedded engine: letters,
    digits, ``_`` and ``-`` only, so it can never name a path elsewhere."""
    if not _RECORDING_ID.fullmatch(value):
        raise InvalidInput("A recording id is 1 to 64 letters, digits, '_' or '-'.")
    return value
