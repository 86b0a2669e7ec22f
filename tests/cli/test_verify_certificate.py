"""``livelens verify-certificate FILE``: 0 and what it certifies for a genuine
certificate, non-zero and one line of reason for anything else; as a process, and
in-process for the many ways a certificate can be wrong."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from livelens import cli
from livelens.lifecycle import certificate

KEY = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(certificate.public_bytes(KEY)).decode()


def issued() -> dict[str, Any]:
    return certificate.issue(
        KEY, certificate_id="c" * 32, kind="account",
        subject={"account_id": "a" * 32, "account_name": "Acme"},
        counts={"users": 2, "session_items": 9}, at=1_800_000_000.0,
        by={"user_id": "u" * 32, "email": "boss@acme.test", "name": "Boss"},
    )  # fmt: skip


def verify(path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "livelens", "verify-certificate", str(path), *more],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_genuine_certificate_passes(tmp_path: Path) -> None:
    path = tmp_path / "deletion-certificate.json"
    path.write_text(json.dumps({"certificate": issued()}, indent=2))  # as the API answers
    done = verify(path)
    assert done.returncode == 0, done.stderr
    assert "Genuine" in done.stdout and "account Acme" in done.stdout
    assert "users: 2" in done.stdout and "boss@acme.test" in done.stdout
    assert certificate.fingerprint(certificate.public_bytes(KEY)) in done.stdout
    key_file = tmp_path / "signing-key.json"  # GET /api/instance/signing-key, saved
    key_file.write_text(json.dumps({"public_key": PUBLIC}))
    trusted = verify(path, "--public-key", str(key_file))
    assert trusted.returncode == 0 and "the key given" in trusted.stdout


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: c["counts"].update(users=1), "altered"),
        (
            lambda c: c.update(
                signature=c["signature"][:9]
                + ("B" if c["signature"][9] == "A" else "A")
                + c["signature"][10:]
            ),
            "altered",
        ),
        (lambda c: c.pop("deleted_by"), "'deleted_by' is missing"),
    ],
)
def test_an_altered_certificate_fails_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, reason: str
) -> None:
    cert = issued()
    change(cert)
    path = tmp_path / "altered.json"
    path.write_text(json.dumps(cert))
    assert cli.main(["verify-certificate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and reason in err and len(err.strip().splitlines()) == 1


def test_an_altered_certificate_fails_as_a_process(tmp_path: Path) -> None:
    cert = issued()
    cert["subject"]["account_name"] = "Globex"
    path = tmp_path / "altered.json"
    path.write_text(json.dumps(cert))
    done = verify(path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == (
        "livelens: not a valid certificate: The signature does not match the content: "
        "the certificate was altered."
    )


def test_bad_json_another_key_and_a_missing_file_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text("{not json")
    assert cli.main(["verify-certificate", str(path)]) == 1
    assert "Not JSON" in capsys.readouterr().err
    path.write_text(json.dumps(issued()))
    other = base64.b64encode(certificate.public_bytes(Ed25519PrivateKey.generate())).decode()
    assert cli.main(["verify-certificate", str(path), "--public-key", other]) == 1
    assert "another key" in capsys.readouterr().err
    assert cli.main(["verify-certificate", str(path), "--public-key", "nonsense"]) == 1
    assert "--public-key" in capsys.readouterr().err
    assert cli.main(["verify-certificate", str(tmp_path / "nowhere.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
