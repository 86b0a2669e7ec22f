"""What both engines share beyond the field tables (:mod:`.schema`): the tenant scope's
own checks, and the domain errors that a refused write becomes."""

from __future__ import annotations

from livelens.errors import (
    Conflict,
    DuplicateEmail,
    DuplicateTenant,
    InvalidInput,
    NotFound,
    StaleRecord,
)
from livelens.store.records import Tenant, User


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
