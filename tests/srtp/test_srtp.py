"""SRTP/SRTCP through the Python binding: the published vectors, ROC across sequence wrap,
replay, tampering, truncation and the counters."""

from __future__ import annotations

import contextlib
import hmac
import random
import struct
from hashlib import sha1
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from livelens._fastpath import (
    AuthenticationFailed,
    MalformedPacket,
    ReplayedPacket,
    SrtpContext,
    SrtpError,
)
from tests.srtp.packets import (
    PROFILES,
    TAG_LEN,
    compound_rtcp,
    master_keys,
    rtp,
    varied_rtp,
    vectors,
)

RFC3711 = vectors("rfc3711")
RFC6188 = vectors("rfc6188")
RFC7714 = vectors("rfc7714")
u = bytes.fromhex


def aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def prf(master_key: bytes, master_salt: bytes, label: int, length: int) -> bytes:
    """RFC 3711 section 4.3.3 written out with ``cryptography``, for checking the files."""
    x = bytearray(master_salt.ljust(14, b"\0"))
    x[7] ^= label
    return aes_ctr(master_key, bytes(x) + b"\0\0", bytes(length))


def pair(profile: str, seed: int = 0) -> tuple[SrtpContext, SrtpContext]:
    key, salt = master_keys(profile, random.Random(seed))
    return SrtpContext(profile, key, salt), SrtpContext(profile, key, salt)


def gcm_context(case: dict[str, Any]) -> SrtpContext:
    key, salt = u(case["session_key"]), u(case["session_salt"])
    return SrtpContext.from_session_keys(case["profile"], key, salt, key, salt)


# -- The vector files themselves, recomputed independently with `cryptography` ----------


def test_vector_files_agree_with_an_independent_computation() -> None:
    stream = RFC3711["aes_cm_keystream"]
    keystream = aes_ctr(u(stream["session_key"]), u(stream["counter_start"]), bytes(16 * 0x10000))
    for block in stream["blocks"]:
        n = int(block["counter"][-4:], 16)
        assert keystream[16 * n : 16 * n + 16] == u(block["keystream"])
    for doc in (RFC3711, RFC6188):
        kdf = doc["key_derivation"]
        for derived in kdf["derived"]:
            value = u(derived["value"])
            assert (
                prf(u(kdf["master_key"]), u(kdf["master_salt"]), derived["label"], len(value))
                == value
            )
    for case in RFC7714["srtp"]:
        plain = u(case["plain"])
        sealed = AESGCM(u(case["session_key"])).encrypt(u(case["iv"]), plain[12:], plain[:12])
        assert plain[:12] + sealed == u(case["protected"])
    for case in RFC7714["srtcp"]:
        plain, word = (
            u(case["plain"]),
            struct.pack("!I", case["srtcp_index"] | case["encrypted"] << 31),
        )
        gcm = AESGCM(u(case["session_key"]))
        if case["encrypted"]:
            expected = plain[:8] + gcm.encrypt(u(case["iv"]), plain[8:], plain[:8] + word) + word
        else:
            expected = plain + gcm.encrypt(u(case["iv"]), b"", plain + word) + word
        assert expected == u(case["protected"])


# -- The vectors through the binding ------------------------------------------------------


def test_rfc3711_b3_session_keys_are_the_ones_the_binding_derives() -> None:
    """Protect with the B.3 master key; the packet must be exactly what AES-CM and
    HMAC-SHA1 produce under B.3's published session keys."""
    kdf = RFC3711["key_derivation"]
    derived = {d["label"]: u(d["value"]) for d in kdf["derived"]}
    cipher_key, auth_key, salt = derived[0], derived[1][:20], derived[2]
    ctx = SrtpContext("AES_CM_128_HMAC_SHA1_80", u(kdf["master_key"]), u(kdf["master_salt"]))
    ssrc, seq = 0xCAFEBABE, 0x1234
    plain = rtp(seq, ssrc, b"\xab" * 40)
    iv = bytearray(salt + b"\0\0")
    for i, b in enumerate(struct.pack("!I", ssrc)):
        iv[4 + i] ^= b
    for i, b in enumerate(struct.pack("!Q", seq)[2:]):
        iv[8 + i] ^= b
    body = plain[:12] + aes_ctr(cipher_key, bytes(iv), plain[12:])
    tag = hmac.new(auth_key, body + b"\0\0\0\0", sha1).digest()[:10]
    assert ctx.protect(plain) == body + tag


def test_rfc3711_b2_keystream_through_session_keys() -> None:
    """SSRC 0, sequence 0, ROC 0 and a zero payload: the ciphertext is B.2's keystream."""
    stream = RFC3711["aes_cm_keystream"]
    key, salt = u(stream["session_key"]), u(stream["session_salt"])
    ctx = SrtpContext.from_session_keys(
        "AES_CM_128_HMAC_SHA1_80", key, salt, key, salt, bytes(20), bytes(20)
    )
    protected = ctx.protect(rtp(0, 0, bytes(48)))
    assert protected[12:60] == b"".join(u(b["keystream"]) for b in stream["blocks"][:3])


@pytest.mark.parametrize("case", RFC7714["srtp"], ids=lambda c: c["sections"])
def test_rfc7714_srtp(case: dict[str, Any]) -> None:
    plain, protected = u(case["plain"]), u(case["protected"])
    assert gcm_context(case).protect(plain) == protected
    receiver = gcm_context(case)
    assert receiver.unprotect(protected) == plain
    with pytest.raises(ValueError, match="replayed packet"):
        receiver.unprotect(protected)


@pytest.mark.parametrize("case", RFC7714["srtcp"], ids=lambda c: c["section"])
def test_rfc7714_srtcp(case: dict[str, Any]) -> None:
    plain, protected = u(case["plain"]), u(case["protected"])
    if case["encrypted"]:
        sender = gcm_context(case)
        for _ in range(case["srtcp_index"] - 1):  # the first SRTCP index is 1
            sender.protect_rtcp(plain)
        assert sender.protect_rtcp(plain) == protected
    receiver = gcm_context(case)
    assert receiver.unprotect_rtcp(protected) == plain
    with pytest.raises(ValueError, match="replayed packet"):
        receiver.unprotect_rtcp(protected)


# -- Behaviour ----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_round_trip_of_varied_packets_on_several_ssrcs(profile: str) -> None:
    tx, rx = pair(profile)
    rng = random.Random(1)
    for n in range(200):
        ssrc = (0x11111111, 0x22222222, 0xFFFFFFFF)[n % 3]
        plain = varied_rtp(rng, 1000 + n // 3, ssrc)
        protected = tx.protect(plain)
        assert len(protected) == len(plain) + TAG_LEN[profile]
        assert rx.unprotect(protected) == plain
        report = compound_rtcp(rng, ssrc)
        protected_rtcp = tx.protect_rtcp(report)
        assert len(protected_rtcp) == len(report) + TAG_LEN[profile] + 4
        assert protected_rtcp[:8] == report[:8]
        assert rx.unprotect_rtcp(protected_rtcp) == report
    assert tx.stats()["rtp_protected"] == rx.stats()["rtp_unprotected"] == 200
    assert tx.stats()["rtcp_protected"] == rx.stats()["rtcp_unprotected"] == 200


@pytest.mark.parametrize("profile", PROFILES)
def test_roc_increments_across_sequence_wrap(profile: str) -> None:
    tx, rx = pair(profile, seed=2)
    seqs = [*range(65530, 65536), *range(10)]
    protected = [tx.protect(rtp(s, 7, b"x" * 20)) for s in seqs]
    # Out of order around the wrap, each once.
    order = [0, 2, 1, 3, 6, 4, 5, 7, 9, 8, *range(10, 16)]
    for i in order:
        assert rx.unprotect(protected[i]) == rtp(seqs[i], 7, b"x" * 20)
    # A receiver that never saw the wrap assumes ROC 0 and cannot authenticate seq 0.
    _, late = pair(profile, seed=2)
    with pytest.raises(ValueError, match="authentication failed"):
        late.unprotect(protected[6])
    # Re-protecting after the wrap uses ROC 1: the same bytes as the first time.
    assert tx.protect(rtp(5, 7, b"x" * 20)) == protected[11]


@pytest.mark.parametrize("profile", PROFILES)
def test_replays_are_refused_and_counted(profile: str) -> None:
    tx, rx = pair(profile, seed=3)
    packets = [tx.protect(rtp(s, 1, b"p")) for s in range(300)]
    reports = [tx.protect_rtcp(compound_rtcp(random.Random(s), 1)) for s in range(3)]
    rx.unprotect(packets[299])
    rx.unprotect_rtcp(reports[2])
    rx.unprotect_rtcp(reports[0])  # reordered SRTCP inside the window
    for packet in (packets[299], packets[299 - 128], packets[0]):
        with pytest.raises(ValueError, match="replayed packet"):
            rx.unprotect(packet)
    for report in (reports[2], reports[0]):
        with pytest.raises(ValueError, match="replayed packet"):
            rx.unprotect_rtcp(report)
    assert rx.unprotect(packets[299 - 127]) == rtp(172, 1, b"p")
    assert rx.unprotect_rtcp(reports[1])[:8] == compound_rtcp(random.Random(1), 1)[:8]
    assert rx.stats()["replayed"] == 5


@pytest.mark.parametrize("profile", PROFILES)
def test_a_tampered_byte_anywhere_is_refused(profile: str) -> None:
    tx, rx = pair(profile, seed=4)
    plain = rtp(9, 42, b"payload" * 5, csrcs=(1, 2), extension=(0xBEDE, b"\x10\xaa"), padding=4)
    protected = tx.protect(plain)
    report = compound_rtcp(random.Random(4), 42)
    protected_rtcp = tx.protect_rtcp(report)
    for i in range(len(protected)):
        for flip in (0x01, 0x80):
            bad = bytearray(protected)
            bad[i] ^= flip
            with pytest.raises(ValueError, match=r"authentication failed|malformed packet"):
                rx.unprotect(bytes(bad))
    for i in range(len(protected_rtcp)):
        bad = bytearray(protected_rtcp)
        bad[i] ^= 0x04
        with pytest.raises(ValueError, match=r"authentication failed|malformed packet"):
            rx.unprotect_rtcp(bytes(bad))
    # Failures left no state behind: the genuine packets still go through, once.
    assert rx.unprotect(protected) == plain
    assert rx.unprotect_rtcp(protected_rtcp) == report
    stats = rx.stats()
    assert stats["auth_failed"] + stats["malformed"] == 2 * len(protected) + len(protected_rtcp)


@pytest.mark.parametrize("profile", PROFILES)
def test_every_truncation_and_short_garbage_is_a_value_error(profile: str) -> None:
    tx, rx = pair(profile, seed=5)
    protected = tx.protect(rtp(1, 5, b"z" * 30, extension=(0xBEDE, b"\x10\x01")))
    protected_rtcp = tx.protect_rtcp(compound_rtcp(random.Random(5), 5))
    for n in range(len(protected)):
        with pytest.raises(ValueError, match=r"malformed packet|authentication failed"):
            rx.unprotect(protected[:n])
    for n in range(len(protected_rtcp)):
        with pytest.raises(ValueError, match=r"malformed packet|authentication failed"):
            rx.unprotect_rtcp(protected_rtcp[:n])
    for garbage in (b"", b"\x80", b"\x80" * 11, b"\x40" + bytes(40), b"\xc0" + bytes(40)):
        with pytest.raises(ValueError, match="malformed packet"):
            tx.protect(garbage)
    with pytest.raises(ValueError, match="malformed packet"):
        tx.protect_rtcp(b"\x80\xc8\x00")
    # A header extension that claims more words than the packet has.
    with pytest.raises(ValueError, match="malformed packet"):
        tx.protect(bytes([0x90]) + rtp(1, 5)[1:12] + b"\xbe\xde\xff\xff")


@pytest.mark.parametrize("profile", PROFILES)
def test_protect_allows_a_retransmission_but_not_an_index_behind_the_window(profile: str) -> None:
    tx, _ = pair(profile, seed=6)
    first = tx.protect(rtp(10, 1, b"a"))
    assert tx.protect(rtp(10, 1, b"a")) == first
    for s in range(11, 200):
        tx.protect(rtp(s, 1, b"a"))
    with pytest.raises(ValueError, match="replayed packet"):
        tx.protect(rtp(10, 1, b"a"))


def test_bad_profiles_and_key_lengths() -> None:
    with pytest.raises(ValueError, match="unknown SRTP profile"):
        SrtpContext("AES_CM_128_HMAC_SHA1_32", bytes(16), bytes(14))
    for profile in PROFILES:
        key, salt = master_keys(profile, random.Random(0))
        for bad_key, bad_salt in (
            (key[:-1], salt),
            (key + b"\0", salt),
            (key, salt[:-1]),
            (key, b""),
        ):
            with pytest.raises(ValueError, match="wrong key or salt length"):
                SrtpContext(profile, bad_key, bad_salt)
        context = SrtpContext(profile, key, salt)
        assert context.profile == profile
        assert repr(context) == f"SrtpContext(profile='{profile}')"
    with pytest.raises(ValueError, match="wrong key or salt length"):
        SrtpContext.from_session_keys(
            "AEAD_AES_128_GCM", bytes(16), bytes(12), bytes(16), bytes(12), bytes(20)
        )
    with pytest.raises(ValueError, match="wrong key or salt length"):
        SrtpContext.from_session_keys(
            "AES_CM_128_HMAC_SHA1_80", bytes(16), bytes(14), bytes(16), bytes(14)
        )
    with pytest.raises(TypeError):
        SrtpContext("AEAD_AES_128_GCM", bytearray(16), bytes(12))  # type: ignore[arg-type]


def test_counters_add_up() -> None:
    tx, rx = pair("AEAD_AES_256_GCM", seed=7)
    good = tx.protect(rtp(1, 1, b"x"))
    tampered = bytearray(tx.protect(rtp(2, 1, b"x")))
    tampered[-1] ^= 1
    # The replay check comes before authentication, as in libsrtp: a tampered copy of a
    # packet already received counts as replayed.
    for packet in (good, good, b"\x80" * 5, bytes(tampered)):
        with contextlib.suppress(ValueError):
            rx.unprotect(packet)
    assert rx.stats() == {
        "rtp_protected": 0,
        "rtp_unprotected": 1,
        "rtcp_protected": 0,
        "rtcp_unprotected": 0,
        "malformed": 1,
        "auth_failed": 1,
        "replayed": 1,
        "rejected": 0,
    }


@pytest.mark.parametrize("profile", PROFILES)
def test_each_refusal_has_its_exception_class(profile: str) -> None:
    # One class per reason (chosen in rust_fastpath/src/py/error.rs), all SrtpErrors and
    # so ValueErrors, as every refusal was before.
    tx, rx = pair(profile, seed=7)
    protected = tx.protect(rtp(1, 9, b"body"))
    forged = protected[:-1] + bytes([protected[-1] ^ 1])
    with pytest.raises(AuthenticationFailed, match="authentication failed"):
        rx.unprotect(forged)
    with pytest.raises(MalformedPacket, match="malformed packet"):
        rx.unprotect(b"\x80")
    rx.unprotect(protected)
    with pytest.raises(ReplayedPacket, match="replayed packet"):
        rx.unprotect(protected)
    with pytest.raises(SrtpError, match="unknown SRTP profile") as caught:
        SrtpContext("NULL", b"k" * 16, b"s" * 14)
    assert type(caught.value) is SrtpError
    for refused in (AuthenticationFailed, MalformedPacket, ReplayedPacket, SrtpError):
        assert issubclass(refused, SrtpError) and issubclass(refused, ValueError)
