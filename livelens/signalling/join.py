"""Join links and PINs: how a customer without an account reaches one session.

The link carries a 256-bit random token; the PIN is 6 digits for reading over the
phone. Both are stored only as keyed hashes (HMAC-SHA-256 with a server secret),
so a copy of the store neither reveals them nor allows an offline guess of the
short PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
PIN_DIGITS = 6
DEFAULT_JOIN_TTL = 15 * 60


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def new_device_secret() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def keyed_hash(secret: bytes, kind: str, value: str) -> str:
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalise_pin(text: str) -> str | None:
    """Digits only (spaces and dashes allowed between them); None if not a PIN."""
    digits = "".join(c for c in text if c not in " -")
    if len(digits) != PIN_DIGITS or not digits.isdigit() or not digits.isascii():
        return None
    return digits


def looks_like_token(text: str) -> bool:
    return 20 <= len(text) <= 64 and all(c.isalnum() or c in "-_" for c in text)
