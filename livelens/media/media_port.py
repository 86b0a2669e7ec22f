"""The media UDP port owned by the Rust data plane, as the asyncio side sees it.

One :class:`MediaPort` per node wraps ``livelens._fastpath.MediaSocket``: Rust answers
STUN, keeps SRTP and relays packets on its own thread; Python only receives DTLS
records and ICE changes, as events, through a wake-up file descriptor the event loop
watches. Each participant's connection registers an :class:`~livelens.media.ice_lite.
IceLiteConnection` here and gets its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import aioice.ice

from livelens._fastpath import MediaSocket
from livelens.config import DEFAULT_MEDIA_PORT
from livelens.media.dtls_srtp import SrtpKeys
from livelens.media.streams import MediaKind, MediaLine

if TYPE_CHECKING:  # typing-only names of the stub
    from livelens._fastpath import MediaLineTuple

log = logging.getLogger(__name__)

# OpenSSL's DTLS-SRTP profile names (what aiortc negotiates) -> the RFC names Rust uses.
SRTP_PROFILES = {
    "SRTP_AES128_CM_SHA1_80": "AES_CM_128_HMAC_SHA1_80",
    "SRTP_AEAD_AES_128_GCM": "AEAD_AES_128_GCM",
    "SRTP_AEAD_AES_256_GCM": "AEAD_AES_256_GCM",
}


class TransportEvents(Protocol):
    """What a registered connection is told (see ``MediaSocket.poll_events``)."""

    def on_dtls(self, data: bytes) -> None: ...

    def on_selected(self, address: tuple[str, int]) -> None: ...

    def on_moved(self, address: tuple[str, int]) -> None: ...

    def on_consent_expired(self) -> None: ...


def media_line_tuple(line: MediaLine) -> MediaLineTuple:
    codecs = [
        (c.payload_type, c.mime_type, c.clock_rate, c.channels, c.format_key, c.rtx_apt)
        for c in line.codecs
    ]
    return (
        line.kind,
        line.mid,
        codecs,
        list(line.extensions.items()),
        line.recv_ssrc,
        line.recv_rtx_ssrc,
        line.send_ssrc,
        line.send_rtx_ssrc,
        line.cname,
        line.receives,
        line.sends,
    )


def advertised_addresses(bound: str, host_addresses: Sequence[str] | None) -> list[str]:
    """The IPs to offer as host candidates for a socket bound to ``bound``."""
    if not ipaddress.ip_address(bound).is_unspecified:
        return [bound]
    if host_addresses is not None:
        return list(host_addresses)
    # Every IPv4 address of the machine, as aioice would gather them (not loopback).
    return list(aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False))


# (session id or None when no transport matched, drop reason, occurrences so far, IP)
AnomalyCallback = Callable[[str | None, str, int, str], None]


class MediaPort:
    """The node's media UDP port (default 15000). Create it inside the running loop."""

    def __init__(
        self,
        host: str = "0.0.0.0",  # noqa: S104 - the media port faces browsers
        port: int = DEFAULT_MEDIA_PORT,
        *,
        host_addresses: Sequence[str] | None = None,
        announced: Sequence[str] = (),
        consent_timeout: float = 30.0,
    ) -> None:
        """Bind ``host:port`` (port 0: ephemeral, for tests). ``host_addresses``: the
        IPs advertised when ``host`` is unspecified (None: the machine's addresses).
        ``announced``: IPs advertised instead, whatever is bound (behind 1:1 NAT, the
        public address forwards to this port). ``consent_timeout``: seconds without a
        STUN check before a connection fails."""
        self._socket = MediaSocket(host, port, consent_timeout)
        bound, self.port = self._socket.local_address
        self.addresses = list(announced) or advertised_addresses(bound, host_addresses)
        self._connections: dict[int, TransportEvents] = {}
        self._session_of: dict[int, str] = {}
        self._anomaly_callbacks: list[AnomalyCallback] = []
        self._loop = asyncio.get_running_loop()
        self._fd = self._socket.wakeup_fd()
        self._loop.add_reader(self._fd, self._on_wakeup)
        self._closed = False

    @property
    def socket(self) -> MediaSocket:
        """The Rust socket, for the hub's per-session calls."""
        return self._socket

    def add_transport(
        self, session_id: str, leg_id: str, ufrag: str, pwd: str, events: TransportEvents
    ) -> int:
        if self._closed:
            raise RuntimeError("media port is closed")
        transport = self._socket.add_transport(session_id, leg_id, ufrag, pwd)
        self._connections[transport] = events
        self._session_of[transport] = session_id
        return transport

    def remove_transport(self, transport: int) -> None:
        self._connections.pop(transport, None)
        self._session_of.pop(transport, None)
        if not self._closed:
            self._socket.remove_transport(transport)

    def set_srtp_keys(self, transport: int, keys: SrtpKeys) -> None:
        """Hand a finished handshake's keys to Rust: SRTP never enters Python after this."""
        profile = SRTP_PROFILES[keys.profile]
        k = keys.key_length
        self._socket.set_srtp_keys(
            transport, profile, keys.tx_key[:k], keys.tx_key[k:], keys.rx_key[:k], keys.rx_key[k:]
        )

    def add_leg(
        self,
        session_id: str,
        leg_id: str,
        transport: int,
        media: Sequence[MediaLine],
        forwarding: bool,
    ) -> None:
        lines = [media_line_tuple(line) for line in media]
        self._socket.add_leg(session_id, leg_id, transport, lines, forwarding)

    def add_route(self, session_id: str, source: str, sink: str, kind: MediaKind) -> None:
        self._socket.add_route(session_id, source, sink, kind)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self._socket.stats_json())
        return result

    def session_stats(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self._socket.session_stats_json(session_id))
        return result

    def _on_wakeup(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while os.read(self._fd, 4096):
                pass
        for kind, transport, data, address in self._socket.poll_events():
            if kind == "anomaly":
                self._report_anomaly(transport, data, address)
                continue
            connection = self._connections.get(transport)
            if connection is None:
                continue  # a transport closed meanwhile
            try:
                if kind == "dtls":
                    connection.on_dtls(data)
                elif kind == "selected" and address is not None:
                    connection.on_selected(address)
                elif kind == "moved" and address is not None:
                    connection.on_moved(address)
                elif kind == "consent_expired":
                    connection.on_consent_expired()
            except Exception:
                log.exception("media port: %s event handler failed", kind)

    def on_anomaly(self, callback: AnomalyCallback) -> None:
        """Call ``callback(session_id, reason, count, ip)`` when the port sees forged SRTP
        or STUN with wrong credentials: at the 1st, 10th, 100th, ... time per transport
        (per port when no transport matched), so a flood costs a few calls."""
        self._anomaly_callbacks.append(callback)

    def _report_anomaly(self, transport: int, data: bytes, address: tuple[str, int] | None) -> None:
        detail = json.loads(data)
        session_id = self._session_of.get(transport)
        ip = address[0] if address else ""
        for callback in list(self._anomaly_callbacks):
            try:
                callback(session_id, str(detail["reason"]), int(detail["count"]), ip)
            except Exception:
                log.exception("media port: anomaly callback failed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        self._socket.close()
        self._connections.clear()
        self._session_of.clear()
