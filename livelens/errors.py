"""Domain errors. Each carries a stable machine-readable code and a human message.

HTTP handlers map them to JSON ``{error, message}`` with the HTTP status each class
declares; the CLI prints the message on one line and exits non-zero. A subclass names
its code and status in its bases (``class NotFound(LiveLensError, code=..., status=404)``)
and inherits the status of its parent when it names none.
"""

from __future__ import annotations

from typing import ClassVar


class LiveLensError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init_subclass__(cls, *, code: str, status: int | None = None) -> None:
        super().__init_subclass__()
        cls.code = code
        if status is not None:
            cls.status = status

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(LiveLensError, code="invalid_input"): ...


class WeakPassword(InvalidInput, code="weak_password"): ...


class InvalidJson(InvalidInput, code="invalid_json"): ...


class NotFound(LiveLensError, code="not_found", status=404): ...


class Conflict(LiveLensError, code="conflict", status=409): ...


class StaleRecord(Conflict, code="stale_record"):
    """A record was saved from a copy older than the stored one (compare-and-set)."""


class DuplicateEmail(Conflict, code="duplicate_email"): ...


class DuplicateTenant(Conflict, code="duplicate_tenant"): ...


class InvalidCredentials(LiveLensError, code="invalid_credentials", status=401): ...


class OtpRequired(LiveLensError, code="otp_required", status=401): ...


class InvalidOtp(LiveLensError, code="invalid_otp", status=401): ...


class NotAuthenticated(LiveLensError, code="not_authenticated", status=401): ...


class Forbidden(LiveLensError, code="forbidden", status=403): ...


class TotpEnrollmentRequired(Forbidden, code="totp_enrollment_required"): ...


class PayloadTooLarge(LiveLensError, code="payload_too_large", status=413): ...


class StoreUnavailable(LiveLensError, code="store_unavailable", status=503): ...


class AccountLocked(LiveLensError, code="account_locked", status=423):
    def __init__(self, retry_after: int) -> None:
        message = f"Too many failed sign-ins. Try again in {retry_after} seconds."
        super().__init__(message, retry_after=retry_after)


class RateLimited(LiveLensError, code="rate_limited", status=429):
    def __init__(self, retry_after: int, what: str = "attempts") -> None:
        message = f"Too many {what}. Try again in {retry_after} seconds."
        super().__init__(message, retry_after=retry_after)
