"""Display names: what a customer sees of an agent, instead of the e-mail address."""

from __future__ import annotations

import re
import unicodedata

from livelens.errors import InvalidInput

MAX_LENGTH = 80


def validate(name: str) -> str:
    """One line of 1 to 80 printable characters, inner spaces collapsed."""
    value = " ".join(name.split())
    if not value or len(value) > MAX_LENGTH:
        raise InvalidInput(f"A display name must be 1 to {MAX_LENGTH} characters.")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise InvalidInput("A display name cannot contain control characters.")
    return value


def from_address(email: str) -> str:
    """A name from the address's local part when none is given: "anna.de-vries2@..."
    becomes "Anna De Vries"; "" when nothing name-like is left."""
    words = [w for w in re.split(r"[._+\-\d]+", email.partition("@")[0]) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words)[:MAX_LENGTH]
