"""Deletion certificates (lifecycle.certificate): what a genuine one says, and why an
altered or foreign one is refused; and which content the retention job deletes."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from livelens.lifecycle import certificate, retention
from livelens.lifecycle.certificate import InvalidCertificate
from livelens.store.records import SupportSession, Tenant

AT = 1_800_000_000.0
KEY = Ed25519PrivateKey.generate()


def issued(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "certificate_id": "c" * 32,
        "kind": "session",
        "subject": {"account_id": "a" * 32, "account_name": "Acme Café", "session_id": "s" * 32},
        "counts": {"chat": 2, "snapshot": 1, "session_keys": 1, "support_sessions": 1},
        "at": AT,
        "by": {"user_id": "u" * 32, "email": "ann@acme.test", "name": "Ann"},
    }
    return certificate.issue(KEY, **(fields | changes))


def text(cert: dict[str, Any]) -> str:
    return json.dumps(cert, indent=2)


def test_a_genuine_certificate_verifies_and_says_what_it_certifies() -> None:
    cert = issued()
    verified = certificate.verify(text(cert))
    assert verified.certificate == cert
    assert verified.fingerprint == certificate.fingerprint(certificate.public_bytes(KEY))
    assert not verified.trusted_key
    said = certificate.describe(verified)
    assert "Genuine" in said and "s" * 32 in said and "Acme Café" in said
    assert "chat: 2" in said and "ann@acme.test" in said and "2027-01-15T08:00:00Z" in said
    # Against the instance's key, given by the one who checks.
    trusted = certificate.verify(text(cert), certificate.public_bytes(KEY))
    assert trusted.trusted_key and "the key given" in certificate.describe(trusted)
    # As the API answered it ({"certificate": ...}), and in any JSON layout.
    assert certificate.verify(json.dumps({"certificate": cert})).certificate == cert
    assert certificate.verify(json.dumps(cert, separators=(",", ":"))).certificate == cert


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("counts", "chat"), 0),
        (("subject", "session_id"), "t" * 32),
        (("deleted_at",), "2026-01-01T00:00:00Z"),
        (("deleted_by", "email"), "someone@else.test"),
        (("kind",), "account"),
        (("counts", "extra"), 1),
    ],
)
def test_an_altered_field_is_refused(path: tuple[str, ...], value: object) -> None:
    cert = issued()
    target = cert
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidCertificate, match="altered"):
        certificate.verify(text(cert))


def test_an_altered_signature_is_refused() -> None:
    cert = issued()
    raw = bytearray(base64.b64decode(cert["signature"]))
    raw[5] ^= 0x01
    cert["signature"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(InvalidCertificate, match="altered"):
        certificate.verify(text(cert))
    cert["signature"] = "not base64!"
    with pytest.raises(InvalidCertificate, match="signature"):
        certificate.verify(text(cert))


def test_a_certificate_signed_by_another_key_is_refused() -> None:
    forger = Ed25519PrivateKey.generate()
    forged = certificate.issue(forger, certificate_id="f" * 32, kind="account",
                               subject={"account_id": "a" * 32, "account_name": "Acme"},
                               counts={"users": 3}, at=AT, by={"email": "x@y.test"})  # fmt: skip
    # Self-consistent, so it checks out against its own key, whose fingerprint differs...
    assert (
        certificate.verify(text(forged)).fingerprint
        != certificate.verify(text(issued())).fingerprint
    )
    # ...and is refused against the instance's.
    with pytest.raises(InvalidCertificate, match="another key"):
        certificate.verify(text(forged), certificate.public_bytes(KEY))
    # Swapping the instance's key in does not help the forger.
    mixed = forged | {"instance": issued()["instance"]}
    with pytest.raises(InvalidCertificate, match="altered"):
        certificate.verify(text(mixed), certificate.public_bytes(KEY))
    # Nor does a fingerprint that does not belong to the key.
    wrong = forged | {"instance": forged["instance"] | {"fingerprint": "0" * 64}}
    with pytest.raises(InvalidCertificate, match="fingerprint"):
        certificate.verify(text(wrong))


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("{not json", "Not JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({k: v for k, v in issued().items() if k != "counts"}), "'counts' is missing"),
        (json.dumps(issued() | {"counts": [1]}), "'counts' must be a JSON object"),
        (json.dumps(issued() | {"format": "other/1"}), "Unknown format"),
        (json.dumps(issued() | {"note": "hi"}), "Unknown field"),
        (json.dumps(issued() | {"instance": {"id": "x"}}), "instance.public_key"),
    ],
)
def test_what_is_no_certificate_is_refused_with_a_reason(given: str, reason: str) -> None:
    with pytest.raises(InvalidCertificate, match=reason):
        certificate.verify(given)


def test_control_characters_in_a_certificate_are_not_printed() -> None:
    cert = issued(subject={"account_id": "a", "account_name": "Evil\x1b[2J\nname"})
    said = certificate.describe(certificate.verify(text(cert)))
    assert "\x1b" not in said and "Evil?[2J?name" in said


# -- retention rules ---------------------------------------------------------------


def tenant(**changes: Any) -> Tenant:
    base = Tenant(id="t", name="Acme", region="eu", created_at=AT, wrapped_data_key=b"",
                  master_key_id="mk", retention_days=30)  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_the_cutoff_follows_the_retention_until_90_days_after_the_subscription() -> None:
    day = retention.DAY
    assert retention.cutoff(tenant(), AT) == (AT - 30 * day, "retention")
    ends = tenant(subscription_ends="2027-01-15")  # AT is 2027-01-15 08:00 UTC
    end = 1_800_057_600.0  # 2027-01-16 00:00 UTC: the subscription has ended
    assert retention.cutoff(ends, end + 89 * day) == (end + 59 * day, "retention")
    assert retention.cutoff(ends, end + 90 * day) == (end + 90 * day, "subscription_ended")


def test_only_ended_or_abandoned_sessions_are_due() -> None:
    session = SupportSession(id="s", tenant_id="t", agent_id="u", created_at=AT,
                             join_expires_at=AT + 900, join_token_hash="h",
                             pin_hash=None, status="live")  # fmt: skip
    assert not retention.due(session, AT + 3600)
    assert retention.due(dataclasses.replace(session, status="ended"), AT + 3600)
    assert retention.due(session, AT + retention.ABANDONED_AFTER + 1)
