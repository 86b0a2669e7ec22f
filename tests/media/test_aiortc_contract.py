"""Pins every private aiortc / aioice detail livelens.media relies on.

When any of these fail after an upgrade, re-check the hook points in
livelens/media/peer.py, dtls_srtp.py and ice.py before adjusting the test.
Static checks only: no sockets are opened.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import aioice
import aioice.ice
import aiortc
import pylibsrtp
from aiortc import rtcdtlstransport as dtls_module
from aiortc import rtcicetransport as ice_module
from aiortc import rtcpeerconnection as pc_module
from aiortc import rtcrtpreceiver as receiver_module
from aiortc import rtcrtpsender as sender_module
from aiortc import sdp as sdp_module
from aiortc.codecs import CODECS, HEADER_EXTENSIONS
from OpenSSL import SSL

from livelens.media.dtls_srtp import split_keying_material
from livelens.media.ice_lite import IceLiteConnection

RTCDtlsTransport: Any = dtls_module.RTCDtlsTransport


def source(obj: Any) -> str:
    return inspect.getsource(obj)


def params(func: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_versions_are_the_reviewed_ones() -> None:
    assert aiortc.__version__ == "1.16.0", "review the hooks below before upgrading aiortc"
    assert aioice.__version__ == "0.13.0", "review livelens/media/ice.py before upgrading aioice"


def test_dtls_receive_hooks_are_looked_up_on_the_instance() -> None:
    # peer.py replaces these two per instance; _recv_next must call them through self.
    assert params(RTCDtlsTransport._handle_rtp_data) == ["self", "data", "arrival_time_ms"]
    assert params(RTCDtlsTransport._handle_rtcp_data) == ["self", "data"]
    recv_next = source(RTCDtlsTransport._recv_next)
    assert "self._rx_srtp.unprotect_rtcp(data)" in recv_next
    assert "await self._handle_rtcp_data(data)" in recv_next
    assert "self._rx_srtp.unprotect(data)" in recv_next
    assert "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)" in recv_next
    # aiortc demultiplexes RTCP by this range; our RTCP (200-206) must fall inside it.
    assert all(aiortc.rtp.is_rtcp(bytes((0x81, pt))) for pt in range(200, 207))
    assert not any(
        aiortc.rtp.is_rtcp(bytes((0x80, 0x80 | pt))) for pt in (0, 8, 9, *range(96, 128))
    )


def test_dtls_send_path() -> None:
    assert params(RTCDtlsTransport._send_rtp) == ["self", "data"]
    send = source(RTCDtlsTransport._send_rtp)
    assert "if self._state != State.CONNECTED:" in send
    assert "raise ConnectionError" in send
    assert "self._tx_srtp.protect_rtcp(data)" in send and "self._tx_srtp.protect(data)" in send


def test_srtp_setup_can_be_wrapped_and_keys_re_exported() -> None:
    assert params(RTCDtlsTransport._setup_srtp) == ["self"]
    assert "self._setup_srtp()" in source(RTCDtlsTransport.start)
    setup = source(RTCDtlsTransport._setup_srtp)
    assert "self._ssl.get_selected_srtp_profile()" in setup
    assert "for srtp_profile in self._srtp_profiles:" in setup
    assert 'b"EXTRACTOR-dtls_srtp"' in setup
    assert "2 * (srtp_profile.key_length + srtp_profile.salt_length)" in setup
    assert 'if self._role == "server":' in setup
    init = source(RTCDtlsTransport.__init__)
    for attribute in ("self._role", "self._srtp_profiles", "self._ssl", "self._state"):
        assert attribute in init
    assert "def state(self) -> str:" in source(RTCDtlsTransport)
    assert hasattr(SSL.Connection, "export_keying_material")
    assert hasattr(SSL.Connection, "get_selected_srtp_profile")
    assert issubclass(pylibsrtp.Error, Exception)


def test_our_key_split_matches_aiortcs() -> None:
    for profile in dtls_module.SRTP_PROFILES:
        total = 2 * (profile.key_length + profile.salt_length)
        material = bytes(range(total))
        tx, rx = split_keying_material(material, profile.key_length, profile.salt_length, "client")
        assert tx == profile.get_key_and_salt(material, 0)
        assert rx == profile.get_key_and_salt(material, 1)
        tx, rx = split_keying_material(material, profile.key_length, profile.salt_length, "server")
        assert (tx, rx) == (
            profile.get_key_and_salt(material, 1),
            profile.get_key_and_salt(material, 0),
        )
    names = {p.openssl_profile for p in dtls_module.SRTP_PROFILES}
    assert names == {b"SRTP_AEAD_AES_256_GCM", b"SRTP_AEAD_AES_128_GCM", b"SRTP_AES128_CM_SHA1_80"}


def test_sender_and_receiver_can_be_neutered() -> None:
    # RTCPeerConnection.__connect reaches send()/receive() through attribute lookup ...
    connect = source(pc_module.RTCPeerConnection)
    assert "await transceiver.sender.send(self.__localRtp(transceiver))" in connect
    assert "await transceiver.receiver.receive(" in connect
    # ... and they are what would start aiortc's media machinery ...
    send = source(sender_module.RTCRtpSender.send)
    assert "_run_rtp" in send and "_run_rtcp" in send
    assert "decoder_worker" in source(receiver_module.RTCRtpReceiver.receive)
    # ... while stop() does nothing if they never ran, so pc.close() stays clean.
    assert "if self.__started:" in source(sender_module.RTCRtpSender.stop)
    assert "if self.__started:" in source(receiver_module.RTCRtpReceiver.stop)
    # test-only: how the integration test checks nothing started
    assert "self.__rtp_task: Optional[asyncio.Future[None]] = None" in source(
        sender_module.RTCRtpSender.__init__
    )
    assert "self.__decoder_thread: Optional[threading.Thread] = None" in source(
        receiver_module.RTCRtpReceiver.__init__
    )


def test_pre_created_transceivers_shape_the_answer() -> None:
    set_remote = source(pc_module.RTCPeerConnection.setRemoteDescription)
    # matched by kind while their mid is unset ...
    assert "if t.kind == media.kind and t.mid in [None, media.rtp.muxId]:" in set_remote
    # ... codec preferences filter the answer's codecs right there ...
    assert "transceiver._preferred_codecs," in set_remote
    # ... and the BUNDLE transport is swapped in here (hence: read it afterwards).
    assert "transceiver.receiver.setTransport(primaryTransport)" in set_remote
    assert "codec.parameters == pref.parameters" in source(pc_module.filter_preferred_codecs)
    # Gathering happens in setLocalDescription, which is what ice.host_addresses wraps.
    assert "await self.__gather()" in source(pc_module.RTCPeerConnection.setLocalDescription)


def test_answer_echoes_the_offerers_numbering() -> None:
    assert "codec.payloadType = c.payloadType" in source(pc_module.find_common_codecs)
    assert "common.append(rx)" in source(pc_module.find_common_header_extensions)
    media = source(pc_module.create_media_description_for_transceiver)
    assert "transceiver.sender._ssrc" in media and "transceiver.sender._rtx_ssrc" in media
    assert 'semantic="FID"' in media


def test_codec_and_extension_tables() -> None:
    uris = {kind: [e.uri for e in exts] for kind, exts in HEADER_EXTENSIONS.items()}
    assert uris == {
        "audio": [
            "urn:ietf:params:rtp-hdrext:sdes:mid",
            "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        ],
        "video": [
            "urn:ietf:params:rtp-hdrext:sdes:mid",
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        ],
    }
    assert [c.mimeType for c in CODECS["video"]] == [
        "video/VP8",
        "video/rtx",
        "video/H264",
        "video/rtx",
        "video/H264",
        "video/rtx",
    ]
    assert CODECS["audio"][0].mimeType == "audio/opus"


def test_no_stun_server_with_an_empty_list() -> None:
    gatherer = source(ice_module.RTCIceGatherer.__init__)
    assert "if iceServers is None:" in gatherer  # [] is kept: no default Google STUN
    assert "iceServers=self.__configuration.iceServers" in source(pc_module.RTCPeerConnection)


def test_host_address_hook() -> None:
    assert params(aioice.ice.get_host_addresses) in (
        ["use_ipv4", "use_ipv6"],
        ["_get_host_addresses.use_ipv4", "use_ipv6"],
    )
    gather = source(aioice.ice.Connection.gather_candidates)
    # Looked up as a module global at call time, so replacing the module attribute works.
    assert "addresses = get_host_addresses(" in gather
    assert "use_ipv4=self._use_ipv4, use_ipv6=self._use_ipv6" in gather


def test_sdp_parser_surface() -> None:
    media = sdp_module.MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", [111])
    for attribute in ("direction", "ssrc", "ssrc_group", "rtp"):
        assert hasattr(media, attribute)
    assert {"muxId", "codecs", "headerExtensions"} <= set(vars(media.rtp))
    assert hasattr(sdp_module.SessionDescription(), "group")
    assert (
        sdp_module.parse_h264_profile_level_id("42e01f")[0].name == "PROFILE_CONSTRAINED_BASELINE"
    )
    assert sdp_module.parse_h264_profile_level_id("42001f")[0].name == "PROFILE_BASELINE"


def test_ice_lite_stand_in_covers_what_aiortc_calls_on_the_connection() -> None:
    # livelens.media.ice_lite.IceLiteConnection replaces aioice's Connection; these are
    # every use aiortc makes of it (gatherer, ICE transport, peer connection).
    uses = {
        "gatherer": source(ice_module.RTCIceGatherer),
        "transport": source(ice_module.RTCIceTransport),
        "pc": source(pc_module.RTCPeerConnection),
    }
    used = {name for text in uses.values() for name in re.findall(r"_connection\.(\w+)", text)}
    assert used == {
        "gather_candidates",
        "local_candidates",
        "local_username",
        "local_password",
        "recv",
        "send",
        "ice_controlling",
        "add_remote_candidate",
        "remote_candidates",
        "remote_is_lite",
        "remote_username",
        "remote_password",
        "connect",
        "close",
        "get_event",
    }
    # The stand-in has all of them (methods on the class, attributes once built).
    for name in ("gather_candidates", "recv", "send", "add_remote_candidate", "connect"):
        assert callable(getattr(IceLiteConnection, name))
    for name in ("close", "get_event"):
        assert inspect.iscoroutinefunction(getattr(IceLiteConnection, name))
    init = source(IceLiteConnection.__init__)
    for name in used - {n for n in used if hasattr(IceLiteConnection, n)}:
        assert re.search(rf"self\.{name}(: [^=]+)? =", init), name
    # ice_lite.install swaps these: the transport binds recv/send once, in __init__ ...
    transport_init = source(ice_module.RTCIceTransport.__init__)
    assert "self._connection = gatherer._connection" in transport_init
    assert "self._recv = self._connection.recv" in transport_init
    assert "self._send = self._connection.send" in transport_init
    # ... DTLS only ever goes through them ...
    dtls = source(RTCDtlsTransport)
    assert "self.transport._recv()" in dtls and "self.transport._send(data)" in dtls
    # ... connect() ending means "completed", ConnectionError means "failed" ...
    start = source(ice_module.RTCIceTransport.start)
    assert "await self._connection.connect()" in start
    assert "except ConnectionError:" in start
    # ... and a ConnectionClosed event after completion means "failed".
    monitor = source(ice_module.RTCIceTransport._monitor)
    assert "isinstance(event, ConnectionClosed)" in monitor
    assert 'self.__setState("failed")' in monitor


def test_ice_lite_reaches_the_answer_through_the_gatherer_parameters() -> None:
    # The answer's ICE parameters come from the gatherer, looked up on the instance ...
    described = source(pc_module.add_transport_description)
    assert "media.ice = iceGatherer.getLocalParameters()" in described
    assert "media.ice_candidates = iceGatherer.getLocalCandidates()" in described
    # ... and iceLite on any m-line makes the session say a=ice-lite.
    assert 'lines += ["a=ice-lite"]' in source(sdp_module.SessionDescription.__str__)
    assert "iceLite" in {f for f in ice_module.RTCIceParameters.__dataclass_fields__}
    # Gathering and candidates: the gatherer asks the connection, nothing else.
    gather = source(ice_module.RTCIceGatherer.gather)
    assert "await self._connection.gather_candidates()" in gather
    # aioice's Candidate constructor we build our host candidate with.
    assert params(aioice.Candidate.__init__)[:8] == [
        "self",
        "foundation",
        "component",
        "transport",
        "priority",
        "host",
        "port",
        "type",
    ]
