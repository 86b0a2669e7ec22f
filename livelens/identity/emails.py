"""E-mail addresses as sign-in names."""

from __future__ import annotations

import re

from livelens.errors import InvalidInput

MAX_LENGTH = 254
# Deliberately simple: one @, a dot in the domain, no spaces. Delivery is not our job.
_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise(email: str) -> str:
    """Canonical form used for storage, uniqueness and lookup."""
    return email.strip().lower()


def validate(email: str) -> str:
    value = normalise(email)
    if len(value) > MAX_LENGTH or not _PATTERN.match(value):
        raise InvalidInput(f"Not a valid e-mail address: {email.strip()[:80]!r}")
    return value
