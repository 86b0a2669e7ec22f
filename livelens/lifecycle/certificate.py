"""Signed deletion certificates: what was deleted, when and by whom, signed with the
instance's Ed25519 key. No I/O: issuing takes the key, verifying takes the text.

A certificate is one JSON object. Its ``signature`` (base64) is the Ed25519 signature
of every other field written canonically: keys sorted, no spaces, ASCII only (see
:func:`canonical`). Only strings, whole numbers and objects of them appear in it, so
reading and writing it again gives the same bytes. The signing key's public half is in
it (``instance.public_key``), so anyone can check it without the instance; that proves
it unaltered, not who made it: to know it comes from this LiveLens, compare the key's
fingerprint with the instance's (``GET /api/instance/signing-key``), or pass that key
to ``livelens verify-certificate --public-key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from livelens.errors import LiveLensError

FORMAT = "livelens-deletion-certificate/1"
KINDS = ("session", "account", "retention")
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
# Every field, and the type of its value.
FIELDS: dict[str, type] = {
    "format": str,
    "id": str,
    "kind": str,
    "subject": dict,
    "counts": dict,
    "deleted_at": str,
    "deleted_by": dict,
    "instance": dict,
    "signature": str,
}
INSTANCE_FIELDS = ("id", "public_key", "fingerprint")


class InvalidCertificate(LiveLensError, code="invalid_certificate"):
    """Not a deletion certificate, or one that was altered or signed by another key."""


def canonical(fields: Mapping[str, object]) -> bytes:
    """The bytes that are signed: the fields as JSON, keys sorted, no spaces, ASCII."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(public_key: bytes) -> str:
    """The SHA-256 of the raw public key, in hex: what an operator compares."""
    return hashlib.sha256(public_key).hexdigest()


def instance_id(public_key: bytes) -> str:
    """The instance's id: the start of its signing key's fingerprint, stable for as long
    as the key is."""
    return fingerprint(public_key)[:16]


def instance_view(public_key: bytes) -> dict[str, str]:
    """What a certificate (and ``GET /api/instance/signing-key``) says of the signer."""
    return {
        "id": instance_id(public_key),
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(public_key).decode(),
        "fingerprint": fingerprint(public_key),
    }


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue(
    key: Ed25519PrivateKey,
    *,
    certificate_id: str,
    kind: str,
    subject: Mapping[str, str],
    counts: Mapping[str, int],
    at: float,
    by: Mapping[str, str | None],
) -> dict[str, Any]:
    """A signed certificate: ``kind`` of deletion of ``subject`` (account and session
    ids and names), ``counts`` of what was deleted, ``at`` when, ``by`` whom."""
    if kind not in KINDS:
        raise ValueError(f"unknown deletion kind {kind!r}")
    fields: dict[str, Any] = {
        "format": FORMAT,
        "id": certificate_id,
        "kind": kind,
        "subject": dict(subject),
        "counts": {name: int(count) for name, count in counts.items()},
        "deleted_at": iso(at),
        "deleted_by": dict(by),
        "instance": instance_view(public_bytes(key)),
    }
    signature = key.sign(canonical(fields))
    return {**fields, "signature": base64.b64encode(signature).decode()}


@dataclass(frozen=True)
class Verified:
    certificate: dict[str, Any]
    fingerprint: str  # of the key that signed it
    trusted_key: bool  # checked against a key given by the verifier, not only its own


def _b64(value: str, size: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise InvalidCertificate(f"The {what} is not {size} bytes of base64.")
    return raw


def _fields(text: str | bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidCertificate(f"Not JSON: {exc}.") from None
    # The API's answer ({"certificate": {...}}) is accepted as it was saved.
    if isinstance(parsed, dict) and set(parsed) == {"certificate"}:
        parsed = parsed["certificate"]
    if not isinstance(parsed, dict):
        raise InvalidCertificate("Not a deletion certificate: a JSON object is expected.")
    for name, kind in FIELDS.items():
        if name not in parsed:
            raise InvalidCertificate(f"The field {name!r} is missing.")
        if not isinstance(parsed[name], kind):
            raise InvalidCertificate(f"The field {name!r} must be a JSON {_json_type(kind)}.")
    unknown = sorted(set(parsed) - set(FIELDS))
    if unknown:
        raise InvalidCertificate(f"Unknown field {unknown[0][:40]!r}.")
    if parsed["format"] != FORMAT:
        raise InvalidCertificate(f"Unknown format {str(parsed['format'])[:60]!r}; "
                                 f"expected {FORMAT!r}.")  # fmt: skip
    for name in INSTANCE_FIELDS:
        if not isinstance(parsed["instance"].get(name), str):
            raise InvalidCertificate(f"The field 'instance.{name}' is missing.")
    return parsed


def _json_type(kind: type) -> str:
    names: dict[type, str] = {str: "string", dict: "object"}
    return names.get(kind, kind.__name__)


def verify(text: str | bytes, trusted_key: bytes | None = None) -> Verified:
    """Check a certificate: well-formed, and its signature right for its content. With
    ``trusted_key`` (the instance's public key, raw), it must be the key that signed
    it; without, the key in the certificate is used (see the module's note). Raises
    InvalidCertificate with the reason."""
    fields = _fields(text)
    instance = fields["instance"]
    embedded = _b64(instance["public_key"], PUBLIC_KEY_BYTES, "public key")
    if instance["fingerprint"] != fingerprint(embedded):
        raise InvalidCertificate("The instance's fingerprint does not match its public key.")
    if trusted_key is not None and trusted_key != embedded:
        raise InvalidCertificate(
            f"Signed by another key (fingerprint {fingerprint(embedded)}), not the one given "
            f"(fingerprint {fingerprint(trusted_key)})."
        )
    signature = _b64(fields["signature"], SIGNATURE_BYTES, "signature")
    signed = {name: value for name, value in fields.items() if name != "signature"}
    try:
        Ed25519PublicKey.from_public_bytes(embedded).verify(signature, canonical(signed))
    except InvalidSignature:
        raise InvalidCertificate(
            "The signature does not match the content: the certificate was altered."
        ) from None
    return Verified(fields, fingerprint(embedded), trusted_key is not None)


def _shown(value: object) -> str:
    """A value from a certificate, safe to print: no control characters."""
    text = value if isinstance(value, str) else json.dumps(value)
    return "".join(c if c.isprintable() else "?" for c in text)


def describe(verified: Verified) -> str:
    """What a genuine certificate certifies, in a few lines for the terminal."""
    cert = verified.certificate
    subject, by = cert["subject"], cert["deleted_by"]
    account = f"{_shown(subject.get('account_name', '?'))} ({_shown(subject.get('account_id'))})"
    what = f"account {account}"
    if cert["kind"] in ("session", "retention") and "session_id" in subject:
        what = f"session {_shown(subject['session_id'])} of {what}"
    elif cert["kind"] == "retention":
        what = f"content past its retention in {what}"
    counts = ", ".join(f"{_shown(k)}: {_shown(v)}" for k, v in sorted(cert["counts"].items()))
    who = _shown(by.get("email") or by.get("name") or "?")
    if by.get("user_id"):
        who += f" (user {_shown(by['user_id'])})"
    how = ("the key given" if verified.trusted_key else
           "the key in the certificate; compare its fingerprint with the instance's "
           "(GET /api/instance/signing-key) or pass --public-key")  # fmt: skip
    return "\n".join([
        f"Genuine LiveLens deletion certificate {_shown(cert['id'])}.",
        f"Deleted: {what}",
        f"Counts: {counts or 'none'}",
        f"When: {_shown(cert['deleted_at'])}",
        f"By: {who}",
        f"Instance: {_shown(cert['instance']['id'])}, key fingerprint {verified.fingerprint}",
        f"Checked against {how}.",
    ])  # fmt: skip
