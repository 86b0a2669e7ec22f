"""Time-based one-time passwords (RFC 6238) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import secrets

import pyotp

ISSUER = "LiveLens"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes: i l o 0 1


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


STEP_SECONDS = 30


def matching_step(secret: str, code: str, at: float, after: int = 0) -> int | None:
    """The time step ``code`` belongs to: the current one or one either side (clock
    drift), and later than ``after`` (the last step used: a code works only once)."""
    digits = normalise_code(code)
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(at) // STEP_SECONDS
    for step in (now_step - 1, now_step, now_step + 1):
        if step > after and secrets.compare_digest(totp.at(step * STEP_SECONDS), digits):
            return step
    return None


def verify_code(secret: str, code: str, at: float) -> bool:
    return matching_step(secret, code, at) is not None


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def new_recovery_codes() -> list[str]:
    """Ten codes of 12 characters (~58 bits each), shown once as xxxx-xxxx-xxxx."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def hash_recovery_code(code: str) -> str:
    # High-entropy random codes: a fast hash is enough, unlike passwords.
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def match_recovery_code(code: str, stored: tuple[str, ...]) -> str | None:
    """The stored digest this code matches, if any (compared in constant time)."""
    digest = hash_recovery_code(code)
    found = None
    for candidate in stored:
        if secrets.compare_digest(candidate, digest):
            found = candidate
    return found
