"""Security alerts, the rules: which security events are alerts, what a webhook
receives, how it is signed, and how long to wait before trying again. No I/O.

A webhook receives one alert per POST, a JSON object (see :func:`body`), with

- ``LiveLens-Signature: t=<unix time>,v1=<hex>``: HMAC-SHA256, keyed with the hook's
  secret, over ``<t>.<body>`` (the scheme Stripe's webhooks use). A receiver recomputes
  it, compares in constant time and refuses a ``t`` too far from its own clock, so a
  captured request cannot be replayed later (:func:`verify` does all three);
- ``LiveLens-Delivery``: the alert's id, the same on every retry (for de-duplication);
- ``LiveLens-Event``: the event's kind.

A delivery is tried up to :data:`MAX_TRIES` times, waiting :func:`retry_delay` between
tries; the receiver takes an alert by answering 2xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime

from livelens.store.records import AlertTally, SecurityEvent

SIGNATURE_HEADER = "LiveLens-Signature"
DELIVERY_HEADER = "LiveLens-Delivery"
EVENT_HEADER = "LiveLens-Event"
SECRET_PREFIX = "llwhsec_"  # noqa: S105  (tells a LiveLens signing secret from others)
SIGNATURE_TOLERANCE = 300  # seconds a receiver accepts between t and its clock
TEST_KIND = "alert_hook.test"

# The security events worth waking someone up for: lockouts and sign-in floods, PIN
# guessing, forged media and malformed-signalling floods, and a recording that stopped on
# its own (signalling.recording: the session went on unrecorded). Each is reported at
# most once per burst (a minute) or per order of magnitude (media), so a flood is a few
# alerts. Single bad tokens, PINs or messages stay in the security log only.
ALERT_KINDS = frozenset({
    "auth.locked",  # an address locked after too many failed sign-ins
    "auth.locked_attempt",  # sign-ins keep coming at a locked address
    "ratelimit.signin",  # too many sign-ins from one network
    "ratelimit.pin",  # PIN guessing: too many PIN attempts from one network
    "signalling.flood",  # a connection cut after too many malformed messages
    "recording.stopped",  # a session's recording stopped on its own (storage full...)
})  # fmt: skip
ALERT_PREFIXES = ("media.",)  # forged SRTP, STUN with forged or wrong credentials

MAX_TRIES = 5
FIRST_RETRY = 10.0  # seconds after the first failed try
RETRY_FACTOR = 4.0  # then 40 s, 160 s, 640 s: about 14 minutes from first to last try


def is_alert(kind: str) -> bool:
    return kind in ALERT_KINDS or kind.startswith(ALERT_PREFIXES)


def new_secret() -> str:
    """A hook's signing secret: 256 random bits."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def body(event: SecurityEvent, *, test: bool = False) -> bytes:
    """What a webhook receives for ``event``: the event as the security log has it
    (no secrets: the log never holds tokens, PINs, passwords or e-mail addresses)."""
    at = datetime.fromtimestamp(event.at, UTC).isoformat(timespec="milliseconds")
    alert = {
        "type": "livelens.security_event",
        "id": event.id,
        "kind": event.kind,
        "at": at.replace("+00:00", "Z"),
        "account": event.tenant_id,
        "ip": event.ip,
        "details": event.details,
        "test": test,
    }
    return json.dumps(alert, sort_keys=True, separators=(",", ":")).encode()


def _mac(secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, payload: bytes) -> str:
    """The ``LiveLens-Signature`` header of ``payload`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_mac(secret, timestamp, payload)}"


def verify(
    header: str, payload: bytes, secret: str, now: float, tolerance: int = SIGNATURE_TOLERANCE
) -> bool:
    """What a receiver checks: a ``v1`` signature of ``payload`` with ``secret``, made at
    a ``t`` no more than ``tolerance`` seconds from ``now``."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, payload)
    return any(hmac.compare_digest(expected, s) for s in signatures)


def retry_delay(failures: int, jitter: float) -> float:
    """Seconds to wait after an alert's ``failures``-th failed try: 10 s, 40 s, 160 s,
    640 s, each scaled into its upper half by ``jitter`` (uniform in [0, 1)), so that
    alerts failing together (a receiver down) do not all come back at once."""
    base = FIRST_RETRY * RETRY_FACTOR ** (max(failures, 1) - 1)
    return base * (0.5 + min(max(jitter, 0.0), 1.0) / 2)


def schedule(jitters: list[float]) -> list[float]:
    """The waits between the tries of an alert that always fails (MAX_TRIES - 1 of them),
    with one jitter per wait: when each try happens, from the first."""
    return [retry_delay(n, jitters[n - 1]) for n in range(1, MAX_TRIES)]


def merge(first: AlertTally | None, then: AlertTally) -> AlertTally:
    """Two tallies of one hook as one (a node writes its counts once per batch)."""
    if first is None:
        return then
    return AlertTally(
        at=max(first.at, then.at),
        delivered=first.delivered + then.delivered,
        failed=first.failed + then.failed,
        abandoned=first.abandoned + then.abandoned,
        dropped=first.dropped + then.dropped,
        error=then.error if then.failed and then.error else first.error,
    )


def short_error(text: str, limit: int = 200) -> str:
    """A failure as the administrator sees it: one line, printable, bounded."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
