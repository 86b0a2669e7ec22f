"""ServerPeer against a real aiortc client on loopback: answer, hooks, keys, states, refusals."""

from __future__ import annotations

from typing import Any

import pylibsrtp
import pytest

from livelens.media import rtp
from livelens.media.peer import OfferRejected, PeerState, ServerPeer
from tests.media.clients import LOOPBACK, Client, Probe, customer_client

LIBSRTP_PROFILES = {
    "SRTP_AES128_CM_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "SRTP_AEAD_AES_128_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "SRTP_AEAD_AES_256_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}


class Recorder:
    """A PeerListener and PacketListener that keeps everything it is given."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.rtp: list[bytes] = []
        self.rtcp: list[bytes] = []
        self.states: list[PeerState] = []

    async def peer_rtp(self, peer: ServerPeer, data: bytes) -> None:
        self.rtp.append(data)
        self.probe.poke()

    async def peer_rtcp(self, peer: ServerPeer, data: bytes) -> None:
        self.rtcp.append(data)
        self.probe.poke()

    def peer_state(self, peer: ServerPeer, state: PeerState) -> None:
        self.states.append(state)
        self.probe.poke()


def session(key: bytes, profile: str, direction: str) -> Any:
    ssrc_type = (
        pylibsrtp.Policy.SSRC_ANY_OUTBOUND
        if direction == "tx"
        else pylibsrtp.Policy.SSRC_ANY_INBOUND
    )
    return pylibsrtp.Session(
        pylibsrtp.Policy(key=key, ssrc_type=ssrc_type, srtp_profile=LIBSRTP_PROFILES[profile])
    )


async def test_peer_relays_untouched_packets_and_exports_working_keys() -> None:
    probe = Probe()
    recorder = Recorder(probe)
    peer = ServerPeer(
        "p1", recorder, directions={"video": "recvonly"}, host_addresses=LOOPBACK, packets=recorder
    )
    client = customer_client(probe)
    try:
        offer = await client.offer()
        answer = await peer.accept(offer)
        await client.accept_answer(answer)
        await probe.until(lambda: "connected" in recorder.states, "DTLS connected")
        await probe.until(
            lambda: len(recorder.rtp) >= 30 and bool(recorder.rtcp), "packets from the client"
        )

        # The answer: we are the DTLS client, only loopback candidates, our codec choice.
        assert "a=setup:active" in answer
        candidates = [line for line in answer.splitlines() if line.startswith("a=candidate")]
        assert candidates and all(" 127.0.0.1 " in c for c in candidates)
        media = {line.kind: line for line in peer.media}
        assert [c.mime_type for c in media["audio"].codecs] == ["audio/opus"]
        assert [c.mime_type for c in media["video"].codecs][:3] == [
            "video/vp8",
            "video/rtx",
            "video/h264",
        ]
        assert media["video"].receives and not media["video"].sends
        assert media["audio"].receives and media["audio"].sends
        assert {media["audio"].recv_ssrc, media["video"].recv_ssrc} <= {
            p.ssrc for p in client.sent_rtp
        }

        # Decrypted packets reach the listener byte for byte as the client sent them,
        # header extensions and all.
        assert all(data in client.sent_raw for data in recorder.rtp)

        # aiortc's own media machinery never started on the server side, and so it
        # sent nothing of its own (no SR/RR/BYE) to the client.
        for transceiver in peer.pc.getTransceivers():
            assert transceiver.sender._RTCRtpSender__rtp_task is None
            assert transceiver.receiver._RTCRtpReceiver__decoder_thread is None
        assert client.received_rtp == [] and client.received_rtcp == []

        # The exported keys are the ones aiortc's sessions on both ends use.
        keys = peer.srtp_keys
        assert keys is not None and keys.dtls_role == "client"
        assert keys.profile in LIBSRTP_PROFILES
        assert len(keys.tx_key) == len(keys.rx_key) == keys.key_length + keys.salt_length
        assert "tx_key" not in repr(keys)
        ours = rtp.RtpPacket(96, 1, 1, 0x5EED0001, payload=b"server to client").to_bytes()
        protected = session(keys.tx_key, keys.profile, "tx").protect(ours)
        assert client.dtls._rx_srtp.unprotect(protected) == ours
        theirs = rtp.RtpPacket(96, 1, 1, 0x5EED0002, payload=b"client to server").to_bytes()
        protected = client.dtls._tx_srtp.protect(theirs)
        assert session(keys.rx_key, keys.profile, "rx").unprotect(protected) == theirs

        # send() puts plaintext through aiortc's SRTP to the client.
        out = rtp.RtpPacket(96, 7, 960, media["audio"].send_ssrc, payload=b"hello").to_bytes()
        assert await peer.send(out)
        await probe.until(
            lambda: any(p.payload == b"hello" for p in client.received_rtp), "sent packet"
        )
    finally:
        await peer.close()
        await client.close()
    assert recorder.states == ["connected", "closed"]
    assert not await peer.send(b"\x80" * 12)


async def test_peer_that_never_connects_fails_after_the_timeout() -> None:
    probe = Probe()
    recorder = Recorder(probe)
    peer = ServerPeer(
        "p2", recorder, host_addresses=LOOPBACK, connect_timeout=0.3, packets=recorder
    )
    client = customer_client(probe)
    try:
        await peer.accept(await client.offer())  # the client never gets the answer
        await probe.until(lambda: recorder.states == ["failed"], "connect timeout", within=3)
    finally:
        await peer.close()
        await client.close()
    assert recorder.states == ["failed", "closed"]


async def _offer(build: str) -> str:
    client = Client("x", Probe())
    if build in ("two-video", "no-bundle", "oversized"):
        client.pc.addTransceiver("video", "sendrecv")
        client.pc.addTransceiver("video" if build == "two-video" else "audio", "sendrecv")
    elif build == "datachannel":
        client.pc.addTransceiver("audio", "sendrecv")
        client.pc.createDataChannel("chat")
    offer = await client.offer() if build != "garbage" else "v=0\r\nm=video x\r\n"
    await client.close()
    if build == "no-bundle":
        offer = "".join(line for line in offer.splitlines(True) if not line.startswith("a=group:"))
    if build == "oversized":
        offer += "a=x-padding:" + "x" * 70000 + "\r\n"
    return offer


@pytest.mark.parametrize(
    ("build", "why"),
    [
        ("garbage", "unparseable"),
        ("two-video", "more than one video"),
        ("no-bundle", "BUNDLE"),
        ("datachannel", "application"),
        ("oversized", "too large"),
    ],
)
async def test_unsupported_offers_are_rejected_cleanly(build: str, why: str) -> None:
    recorder = Recorder(Probe())
    peer = ServerPeer("p3", recorder, host_addresses=LOOPBACK, packets=recorder)
    with pytest.raises(OfferRejected, match=why) as caught:
        await peer.accept(await _offer(build))
    assert caught.value.code == "offer_rejected"
    assert recorder.states == ["closed"]  # the peer cleaned up after itself
