"""SRTP keys exported from a finished DTLS handshake (RFC 5764 §4.2).

aiortc derives its SRTP sessions inside ``RTCDtlsTransport._setup_srtp`` and keeps
no copy of the keys, so we derive them again the same way: pyOpenSSL allows the
exporter to be called any number of times. The Rust data plane will need exactly
these values to take SRTP over from aiortc.

Layout of the exported material: client_key | server_key | client_salt | server_salt.
Each direction's master key as libsrtp wants it is key || salt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

EXPORTER_LABEL = b"EXTRACTOR-dtls_srtp"

DtlsRole = Literal["client", "server"]


@dataclass(frozen=True)
class SrtpKeys:
    profile: (
        str  # OpenSSL name: SRTP_AES128_CM_SHA1_80, SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM
    )
    dtls_role: DtlsRole  # our side of the handshake (aiortc answers a=setup:active: "client")
    key_length: int
    salt_length: int
    tx_key: bytes  # key || salt protecting what the server sends
    rx_key: bytes  # key || salt unprotecting what the server receives

    def __repr__(self) -> str:  # keys never end up in logs
        return f"SrtpKeys(profile={self.profile!r}, dtls_role={self.dtls_role!r})"


def split_keying_material(
    material: bytes, key_length: int, salt_length: int, role: DtlsRole
) -> tuple[bytes, bytes]:
    """(tx, rx) master key || salt for our ``role`` from RFC 5764 exporter output."""
    if len(material) != 2 * (key_length + salt_length):
        raise ValueError("keying material has the wrong length for this profile")
    salts = 2 * key_length
    client = material[:key_length] + material[salts : salts + salt_length]
    server = material[key_length:salts] + material[salts + salt_length :]
    return (server, client) if role == "server" else (client, server)


def export_srtp_keys(dtls: Any) -> SrtpKeys | None:
    """Keys of an aiortc ``RTCDtlsTransport`` whose handshake is done; None if none negotiated.

    Touches private aiortc fields ``_ssl``, ``_srtp_profiles`` and ``_role`` (pinned by
    tests/media/test_aiortc_contract.py).
    """
    ssl = dtls._ssl
    if ssl is None:
        return None
    name = ssl.get_selected_srtp_profile()
    profile = next((p for p in dtls._srtp_profiles if p.openssl_profile == name), None)
    role = dtls._role
    if profile is None or role not in ("client", "server"):
        return None
    key_length, salt_length = int(profile.key_length), int(profile.salt_length)
    material = ssl.export_keying_material(EXPORTER_LABEL, 2 * (key_length + salt_length))
    tx, rx = split_keying_material(bytes(material), key_length, salt_length, role)
    return SrtpKeys(
        profile=bytes(name).decode(),
        dtls_role=role,
        key_length=key_length,
        salt_length=salt_length,
        tx_key=tx,
        rx_key=rx,
    )
