"""Rust SRTP against libsrtp (``pylibsrtp``, aiortc's SRTP) in both directions, for the
three profiles: byte-identical protection, the same accept/refuse decision for every
delivered packet (reordering, sequence wrap, big jumps, replays, tampering), RTCP too."""

from __future__ import annotations

import random
from collections.abc import Callable

import pylibsrtp
import pytest
from pylibsrtp import Policy, Session

from livelens._fastpath import SrtpContext
from tests.srtp.packets import PROFILES, compound_rtcp, master_keys, rtp, varied_rtp

LIBSRTP_PROFILE = {
    "AES_CM_128_HMAC_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AEAD_AES_128_GCM": Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "AEAD_AES_256_GCM": Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}
REFUSED = "refused"

pytestmark = pytest.mark.parametrize("profile", PROFILES)


def libsrtp(profile: str, key: bytes, salt: bytes, *, outbound: bool) -> Session:
    """A libsrtp session keyed the way aiortc keys its own (``allow_repeat_tx`` on)."""
    policy = Policy(
        key=key + salt,
        ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
        srtp_profile=LIBSRTP_PROFILE[profile],
    )
    policy.allow_repeat_tx = True
    return Session(policy)


class Both:
    """The same keys in Rust and in libsrtp, a sender and a receiver of each."""

    def __init__(self, profile: str, seed: int) -> None:
        key, salt = master_keys(profile, random.Random(seed))
        self.rust_tx, self.rust_rx = (
            SrtpContext(profile, key, salt),
            SrtpContext(profile, key, salt),
        )
        self.lib_tx = libsrtp(profile, key, salt, outbound=True)
        self.lib_rx = libsrtp(profile, key, salt, outbound=False)


def outcome(operation: Callable[[bytes], bytes], packet: bytes) -> bytes | str:
    try:
        return operation(packet)
    except (ValueError, pylibsrtp.Error):
        return REFUSED


def sequence_walk(rng: random.Random, count: int) -> list[int]:
    """Mostly consecutive sequence numbers with reordering, losses, the odd jump of half
    the sequence space, and a start that is often just before the wrap."""
    seq = rng.choice((65_500, 65_535, 0, 32_768, rng.randrange(65_536)))
    walk = []
    for _ in range(count):
        r = rng.random()
        if r < 0.85:
            seq += 1
        elif r < 0.93:
            seq -= rng.randrange(1, 140)
        elif r < 0.97:
            seq += rng.randrange(2, 3_000)
        else:
            seq += rng.choice((-1, 1)) * rng.randrange(20_000, 40_000)
        seq %= 65_536
        walk.append(seq)
    return walk


def deliveries(rng: random.Random, packets: list[bytes]) -> list[bytes]:
    """The packets as a network delivers them: local reordering, duplicates, late copies,
    and tampered ones."""
    order = list(packets)
    for i in range(len(order) - 1):
        if rng.random() < 0.15:
            j = min(len(order) - 1, i + rng.randrange(1, 6))
            order[i], order[j] = order[j], order[i]
    out: list[bytes] = []
    for packet in order:
        out.append(packet)
        r = rng.random()
        if r < 0.05:
            out.append(packet)
        elif r < 0.08 and out:
            out.append(rng.choice(out))
        elif r < 0.12:
            bad = bytearray(packet)
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
            out.append(bytes(bad))
    return out


def test_rtp_protection_is_byte_identical_and_crosses_both_ways(profile: str) -> None:
    both = Both(profile, seed=10)
    rng = random.Random(10)
    plain: list[bytes] = []
    for n in range(60):
        # Three SSRCs; one starts right before the wrap; reordered sends inside the window.
        plain.append(varied_rtp(rng, (65_520 + n) % 65_536, 0xDEADBEEF))
        plain.append(varied_rtp(rng, 1_000 + (n ^ 1), 0x00000001))  # pairs swapped
        plain.append(varied_rtp(rng, 40_000 + 3 * n, 0xFFFFFFFF))
    for packet in plain:
        ours, theirs = both.rust_tx.protect(packet), both.lib_tx.protect(packet)
        assert ours == theirs
        assert both.lib_rx.unprotect(ours) == packet, "libsrtp reads Rust"
        assert both.rust_rx.unprotect(theirs) == packet, "Rust reads libsrtp"


def test_rtcp_protection_is_byte_identical_and_crosses_both_ways(profile: str) -> None:
    both = Both(profile, seed=11)
    rng = random.Random(11)
    for n in range(150):
        report = compound_rtcp(rng, (0x01020304, 0xCAFEBABE, 7)[n % 3])
        ours, theirs = both.rust_tx.protect_rtcp(report), both.lib_tx.protect_rtcp(report)
        assert ours == theirs
        assert both.lib_rx.unprotect_rtcp(ours) == report
        assert both.rust_rx.unprotect_rtcp(theirs) == report
    for packet in (ours, theirs):
        assert outcome(both.rust_rx.unprotect_rtcp, packet) == REFUSED
        assert outcome(both.lib_rx.unprotect_rtcp, packet) == REFUSED


@pytest.mark.parametrize("seed", range(6))
def test_random_rtp_streams_get_the_same_decisions(profile: str, seed: int) -> None:
    both = Both(profile, seed=100 + seed)
    rng = random.Random(seed)
    protected: list[bytes] = []
    for ssrc in (rng.getrandbits(32), rng.getrandbits(32)):
        for seq in sequence_walk(rng, 700):
            packet = rtp(seq, ssrc, rng.randbytes(rng.choice((0, 20, 200))))
            ours, theirs = (
                outcome(both.rust_tx.protect, packet),
                outcome(both.lib_tx.protect, packet),
            )
            assert ours == theirs, f"protect seq {seq}"
            if isinstance(ours, bytes):
                protected.append(ours)
    refused = 0
    for packet in deliveries(rng, protected):
        ours, theirs = (
            outcome(both.rust_rx.unprotect, packet),
            outcome(both.lib_rx.unprotect, packet),
        )
        assert ours == theirs, f"unprotect {packet[:12].hex()}"
        refused += ours == REFUSED
    assert refused > 0, "the walk exercised refusals"
    stats = both.rust_rx.stats()
    assert stats["malformed"] + stats["auth_failed"] + stats["replayed"] == refused


@pytest.mark.parametrize("seed", range(3))
def test_random_rtcp_streams_get_the_same_decisions(profile: str, seed: int) -> None:
    both = Both(profile, seed=200 + seed)
    rng = random.Random(seed)
    protected = []
    for _ in range(400):
        report = compound_rtcp(rng, rng.choice((1, 2, 3)))
        ours = both.rust_tx.protect_rtcp(report)
        assert ours == both.lib_tx.protect_rtcp(report)
        protected.append(ours)
    # Hold some packets back beyond the 128-packet window so they arrive too old.
    held = [protected.pop(rng.randrange(len(protected))) for _ in range(20)]
    for packet in deliveries(rng, protected) + held:
        ours_rx, theirs_rx = (
            outcome(both.rust_rx.unprotect_rtcp, packet),
            outcome(both.lib_rx.unprotect_rtcp, packet),
        )
        assert ours_rx == theirs_rx, packet[:8].hex()


def test_a_retransmission_protects_identically(profile: str) -> None:
    both = Both(profile, seed=12)
    packets = [rtp(s, 5, b"frame %d" % s) for s in range(10)]
    sent = [both.rust_tx.protect(p) for p in packets]
    for p in packets:
        both.lib_tx.protect(p)
    # A NACKed packet sent again: same sequence number, same bytes, both implementations.
    assert both.rust_tx.protect(packets[3]) == both.lib_tx.protect(packets[3]) == sent[3]
