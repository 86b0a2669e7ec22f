import base64
import json
from pathlib import Path

import pytest

from livelens.identity import totp

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "rfc6238_sha1.json").read_text())
SECRET = base64.b32encode(VECTORS["secret_ascii"].encode()).decode()


@pytest.mark.parametrize("row", VECTORS["vectors"], ids=lambda r: str(r["time"]))
def test_rfc6238_vectors_accepted_at_their_time(row: dict[str, object]) -> None:
    # A 6-digit code is the 8-digit one modulo 10^6: its last six digits.
    code = str(row["totp8"])[-6:]
    assert totp.verify_code(SECRET, code, float(str(row["time"])))


@pytest.mark.parametrize("row", VECTORS["vectors"], ids=lambda r: str(r["time"]))
def test_rfc6238_codes_rejected_far_from_their_time(row: dict[str, object]) -> None:
    code = str(row["totp8"])[-6:]
    assert not totp.verify_code(SECRET, code, float(str(row["time"])) + 3600)


def test_one_step_of_drift_is_tolerated_but_not_two() -> None:
    code = "287082"  # valid for t in [30, 60)
    assert totp.verify_code(SECRET, code, 59 + 30)
    assert not totp.verify_code(SECRET, code, 59 + 90)


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "28708 2x"])
def test_malformed_codes_are_rejected(bad: str) -> None:
    assert not totp.verify_code(SECRET, bad, 59)


def test_code_with_spaces_is_accepted() -> None:
    assert totp.verify_code(SECRET, "287 082", 59)


def test_recovery_codes_are_unique_and_match_once_normalised() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == totp.RECOVERY_CODE_COUNT == len(set(codes))
    stored = tuple(totp.hash_recovery_code(c) for c in codes)
    assert totp.match_recovery_code(codes[3].upper().replace("-", " "), stored) == stored[3]
    assert totp.match_recovery_code("aaaa-bbbb-cccc", stored) is None
    assert all(codes[0] not in s for s in stored)  # only digests are kept


def test_provisioning_uri_names_issuer_and_account() -> None:
    uri = totp.provisioning_uri(totp.new_secret(), "ann@example.com")
    assert uri.startswith("otpauth://totp/LiveLens:ann%40example.com?")
    assert "issuer=LiveLens" in uri


def test_matching_step_refuses_steps_already_used() -> None:
    step = totp.matching_step(SECRET, "287082", 59)
    assert step == 1
    assert totp.matching_step(SECRET, "287082", 59, after=step) is None
    assert totp.matching_step(SECRET, "287082", 59, after=step - 1) == step
