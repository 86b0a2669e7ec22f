"""``livelens verify-certificate FILE``: check a deletion certificate, offline.

It needs neither the store nor the keys: the certificate carries the public key that
signed it, and the check proves it unaltered since. Which instance made it is another
question, answered by comparing that key with the instance's: ``--public-key`` takes
the instance's (base64, or a file holding it or the answer of
``GET /api/instance/signing-key``) and then nothing else will do; without it the
fingerprint is printed to compare by eye.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from pathlib import Path

from livelens.lifecycle import certificate

MAX_FILE_BYTES = 1024 * 1024


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = "check a signed deletion certificate (exit status 0: genuine)"
    verify = commands.add_parser("verify-certificate", help=text, description=text)
    verify.add_argument("file", type=Path, help="the certificate, as downloaded ('-': stdin)")
    verify.add_argument(
        "--public-key",
        metavar="KEY",
        help="the instance's signing key: base64, or a file with it or with the answer of "
        "GET /api/instance/signing-key (default: the key in the certificate)",
    )


def _read(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def public_key(value: str) -> bytes:
    """The raw key from ``--public-key``; raises InvalidCertificate if it is none."""
    text = value.strip()
    path = Path(text)
    if len(text) < 4096 and path.is_file():
        text = path.read_text(errors="replace").strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("public_key", ""))
        except (ValueError, AttributeError):
            text = ""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != certificate.PUBLIC_KEY_BYTES:
        raise certificate.InvalidCertificate(
            "--public-key is not an Ed25519 public key (32 bytes, base64)."
        )
    return raw


def run(args: argparse.Namespace) -> int:
    try:
        data = _read(args.file)
    except OSError as exc:
        print(f"livelens: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        if len(data) > MAX_FILE_BYTES:
            raise certificate.InvalidCertificate("The file is too large for a certificate.")
        trusted = None if args.public_key is None else public_key(args.public_key)
        verified = certificate.verify(data, trusted)
    except certificate.InvalidCertificate as exc:
        print(f"livelens: not a valid certificate: {exc.message}", file=sys.stderr)
        return 1
    print(certificate.describe(verified))
    return 0
