"""SRTP per packet from Python: the Rust data plane, libsrtp (pylibsrtp, what aiortc
uses) and the bare crypto the profile needs (pyca/cryptography, one call per
primitive), side by side on the same 1,200-byte packets.

Each timed call handles BATCH packets of one stream, so the Python call overhead of
each path is part of its figure, as it would be for a caller in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pylibsrtp import Policy, Session
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.packets import BATCH, PROFILES, ROUNDS, master_keys, rtp_stream
from livelens._fastpath import SrtpContext

Transform = Callable[[bytes], bytes]

LIBSRTP_PROFILE = {
    "AES_CM_128_HMAC_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AEAD_AES_128_GCM": Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "AEAD_AES_256_GCM": Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}


def libsrtp(profile: str, *, outbound: bool) -> Session:
    key, salt = master_keys(profile)
    policy = Policy(
        key=key + salt,
        ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
        srtp_profile=LIBSRTP_PROFILE[profile],
    )
    return Session(policy)


def crypto_only(profile: str) -> Transform:
    """The primitives alone: AES-CTR over the payload and HMAC-SHA1 over the packet, or
    one AES-GCM seal with the header as AAD; no SRTP state, no IV derivation."""
    key, _ = master_keys(profile)
    if profile == "AES_CM_128_HMAC_SHA1_80":
        iv, auth_key = bytes(16), bytes(20)

        def cm(packet: bytes) -> bytes:
            encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
            body = packet[:12] + encryptor.update(packet[12:])
            mac = hmac.HMAC(auth_key, hashes.SHA1())
            mac.update(body)
            return body + mac.finalize()[:10]

        return cm
    aead, nonce = AESGCM(key), bytes(12)
    return lambda packet: packet[:12] + aead.encrypt(nonce, packet[12:], packet[:12])


def protector(path: str, profile: str) -> Transform:
    key, salt = master_keys(profile)
    if path == "rust":
        return SrtpContext(profile, key, salt).protect
    if path == "libsrtp":
        return libsrtp(profile, outbound=True).protect
    return crypto_only(profile)


def unprotector(path: str, profile: str) -> Transform:
    key, salt = master_keys(profile)
    if path == "rust":
        return SrtpContext(profile, key, salt).unprotect
    return libsrtp(profile, outbound=False).unprotect


def batches(packets: list[bytes]) -> Iterator[list[bytes]]:
    for start in range(0, len(packets), BATCH):
        yield packets[start : start + BATCH]


def run(benchmark: BenchmarkFixture, transform: Transform, packets: list[bytes]) -> None:
    """Time ``transform`` over consecutive batches: every packet is handled exactly once,
    as a stream's packets are (the receivers' replay windows refuse repeats)."""
    feed = batches(packets)

    def one_batch() -> None:
        for packet in next(feed):
            transform(packet)

    benchmark.extra_info["packets_per_round"] = BATCH
    benchmark.pedantic(one_batch, rounds=ROUNDS, iterations=1, warmup_rounds=1)


@pytest.fixture(scope="module")
def plain() -> list[bytes]:
    return rtp_stream(BATCH * (ROUNDS + 1))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("path", ["rust", "libsrtp", "crypto_only"])
def test_protect(benchmark: BenchmarkFixture, plain: list[bytes], path: str, profile: str) -> None:
    benchmark.group = f"protect {profile}"
    run(benchmark, protector(path, profile), plain)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("path", ["rust", "libsrtp"])
def test_unprotect(
    benchmark: BenchmarkFixture, plain: list[bytes], path: str, profile: str
) -> None:
    benchmark.group = f"unprotect {profile}"
    protect = protector("libsrtp", profile)
    protected = [protect(packet) for packet in plain]
    unprotect = unprotector(path, profile)
    assert unprotect(protected[0]) == plain[0]  # same keys, same bytes: a fair race
    run(benchmark, unprotect, protected[1:])
