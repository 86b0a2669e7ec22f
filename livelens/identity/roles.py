"""Who may do what. Handlers ask for a permission, never compare role names."""

from __future__ import annotations

from enum import Enum

from livelens.errors import Forbidden, InvalidInput
from livelens.store.records import ROLES, Role


class Permission(Enum):
    MANAGE_USERS = "manage_users"
    MANAGE_ACCOUNT = "manage_account"
    VIEW_AUDIT = "view_audit"
    RUN_SESSIONS = "run_sessions"


GRANTS: dict[Role, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "agent": frozenset({Permission.RUN_SESSIONS}),
}


def parse_role(value: object) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise InvalidInput(f"Role must be one of: {', '.join(ROLES)}.")


def can(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def require(role: Role, permission: Permission) -> None:
    if not can(role, permission):
        raise Forbidden("Your role does not allow this.")
