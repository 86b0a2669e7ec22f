"""ICE-lite for aiortc: an object standing in for aioice's ``Connection`` under
aiortc's ``RTCIceGatherer``/``RTCIceTransport``, backed by the Rust media port.

Why a stand-in rather than rewriting aiortc's answer: aiortc keeps using its own
transport objects (SDP generation, connection states, DTLS) unchanged, and every call
it makes on the connection is one of the few below, pinned by
tests/media/test_aiortc_contract.py. The Rust side answers the browser's STUN checks
(we are ICE-lite: never checking, always controlled), so this object only

* offers our ufrag/password and the media port's host candidate(s) for the answer: UDP,
  and passive ICE-TCP (RFC 6544) on the port's TCP twin at a lower priority, so a
  browser whose UDP is blocked still connects, and lower still on the web port (443)
  when media shares it, for networks that allow nothing else;
* waits in ``connect()`` until Rust reports the browser's nomination (USE-CANDIDATE);
* carries DTLS records: ``recv()`` from Rust's events, ``send()`` back through Rust;
* reports consent loss as ``ConnectionClosed``, which aiortc turns into "failed".
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from typing import TYPE_CHECKING, Any, NamedTuple

from aioice import Candidate, ConnectionClosed
from aiortc.rtcicetransport import RTCIceParameters

if TYPE_CHECKING:  # media_port imports peer, which imports this module
    from livelens.media.dtls_srtp import SrtpKeys
    from livelens.media.media_port import MediaPort

log = logging.getLogger(__name__)

_ICE_CHARS = string.ascii_letters + string.digits  # a subset of RFC 8839 ice-char
_HOST_PREFERENCE = 126  # RFC 8445 §5.1.2.2 type preference of host candidates
_PASSIVE_DIRECTION = 4  # RFC 6544 §4.2 direction-pref of a passive host candidate


def _random(length: int) -> str:
    return "".join(secrets.choice(_ICE_CHARS) for _ in range(length))


def host_priority(local_preference: int = 65535, component: int = 1) -> int:
    return (_HOST_PREFERENCE << 24) | (local_preference << 8) | (256 - component)


def tcp_local_preference(other_preference: int = 8191) -> int:
    """RFC 6544 §4.2: ``2^13 * direction-pref + other-pref``. A passive candidate's is at
    most 40959, under every UDP host candidate's (65535 down), so browsers that can use
    UDP do."""
    return (_PASSIVE_DIRECTION << 13) | other_preference


# other-pref (RFC 6544 §4.2) of passive candidates: the TCP twin's above the web port's.
_TWIN_PREFERENCE = 8191
_WEB_PREFERENCE = 4095


def local_candidates(
    addresses: list[str],
    udp_port: int,
    tcp_port: int | None,
    web_port: int | None = None,
    web_addresses: list[str] | None = None,
) -> list[Candidate]:
    """The answer's candidates: a UDP host candidate per address and, where the port
    has a TCP twin, a passive TCP one per address at a lower priority; with the web port
    shared, a passive TCP one there per address it is reachable on (``web_addresses``,
    default all), lower again."""  # fmt: skip
    candidates = [
        Candidate(
            foundation=str(i + 1),
            component=1,
            transport="udp",
            priority=host_priority(65535 - i),
            host=address,
            port=udp_port,
            type="host",
        )
        for i, address in enumerate(addresses)
    ]
    on_web = addresses if web_addresses is None else web_addresses
    passive = ((tcp_port, _TWIN_PREFERENCE, addresses), (web_port, _WEB_PREFERENCE, on_web))
    for port, preference, reachable in passive:
        if port is None:
            continue
        first = len(candidates) + 1
        candidates += [
            Candidate(
                foundation=str(first + i),
                component=1,
                transport="tcp",
                priority=host_priority(tcp_local_preference(preference - i)),
                host=address,
                port=port,
                type="host",
                tcptype="passive",
            )
            for i, address in enumerate(reachable)
        ]
    return candidates


class PortLeg(NamedTuple):
    """Where a participant's connection belongs on the media port: the port, and the
    numbers of its session and leg there (given once, when the leg is first made)."""

    port: MediaPort
    session: int
    leg: int


class IceLiteConnection:
    """The aioice ``Connection`` surface aiortc uses, for one participant's transport."""

    def __init__(self, where: PortLeg) -> None:
        port = where.port
        self.local_username = _random(8)  # ufrag: at least 4 chars (RFC 8839)
        self.local_password = _random(24)  # at least 22 chars
        self.ice_controlling = False  # aiortc sets this; an ICE-lite agent is controlled
        self.remote_is_lite = False
        self.remote_username: str | None = None
        self.remote_password: str | None = None
        self.remote_candidates: list[Candidate] = []
        self.selected_address: tuple[str, int] | None = None
        self.moves = 0
        self._port = port
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._selected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closed_event: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closed = False
        self.local_candidates = local_candidates(
            port.addresses,
            port.port,
            port.tcp_port,
            port.web_candidate_port,
            port.web_candidate_addresses,
        )
        self.transport_id = port.add_transport(
            where.session, where.leg, self.local_username, self.local_password, self
        )

    # ---------------------------------------------------------------- aioice surface

    async def gather_candidates(self) -> None:
        """Nothing to gather: the media port's address is the candidate."""

    async def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """Ignored: an ICE-lite agent learns addresses from the checks it receives."""

    async def connect(self) -> None:
        """Return once the browser nominated an address; ConnectionError if closed first."""
        if self.remote_username:
            self._port.socket.set_remote_ufrag(self.transport_id, self.remote_username)
        await asyncio.shield(self._selected)

    async def recv(self) -> bytes:
        data = await self._queue.get()
        if data is None:
            self._queue.put_nowait(None)  # every later recv() fails too
            raise ConnectionError("Connection lost while receiving data")
        return data

    async def send(self, data: bytes) -> None:
        if self._closed or not self._port.socket.send(self.transport_id, bytes(data)):
            raise ConnectionError("Cannot send data, not connected")

    def set_srtp_keys(self, keys: SrtpKeys) -> None:
        """The finished handshake's keys: SRTP never enters Python after this."""
        self._port.set_srtp_keys(self.transport_id, keys)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._port.remove_transport(self.transport_id)
        self._queue.put_nowait(None)
        if not self._selected.done():
            self._selected.set_exception(ConnectionError("ICE closed before connecting"))
            self._selected.exception()  # retrieved: nobody may be waiting
        if not self._closed_event.done():
            self._closed_event.set_result(None)

    async def get_event(self) -> Any:
        """The one event aiortc watches for: ``ConnectionClosed`` (None once closed)."""
        if self._closed_event.done():
            return None
        await self._closed_event  # aiortc's monitor is the only waiter and is never cancelled
        return ConnectionClosed()

    # ---------------------------------------------------------------- media port events

    def on_dtls(self, data: bytes) -> None:
        if not self._closed:
            self._queue.put_nowait(data)

    def on_selected(self, address: tuple[str, int]) -> None:
        self.selected_address = address
        if not self._selected.done():
            self._selected.set_result(None)

    def on_moved(self, address: tuple[str, int]) -> None:
        log.info("transport %d: browser moved to %s:%d", self.transport_id, *address)
        self.selected_address = address
        self.moves += 1

    def on_consent_expired(self) -> None:
        log.info("transport %d: ICE consent expired", self.transport_id)
        # aiortc's ICE monitor sees ConnectionClosed and reports "failed"; then DTLS's
        # receive loop ends with the ConnectionError from recv(). In that order: if DTLS
        # closed first, the connection would read as "closed" rather than "failed".
        if not self._closed_event.done():
            self._closed_event.set_result(None)
        asyncio.get_running_loop().call_soon(self._queue.put_nowait, None)


def install(dtls: Any, connection: IceLiteConnection) -> None:
    """Put ``connection`` under an aiortc ``RTCDtlsTransport`` whose ICE has not started.

    Call after ``setRemoteDescription`` (the BUNDLE transport is final) and before
    ``setLocalDescription`` (which gathers and starts ICE). The gatherer's parameters
    carry ``iceLite`` so the answer says ``a=ice-lite``.
    """
    ice_transport = dtls.transport
    gatherer = ice_transport.iceGatherer
    if gatherer.state != "new" or ice_transport.state != "new":
        raise RuntimeError("ICE already started on this transport")
    gatherer._connection = connection
    ice_transport._connection = connection
    ice_transport._recv = connection.recv
    ice_transport._send = connection.send

    def local_parameters() -> RTCIceParameters:
        return RTCIceParameters(
            usernameFragment=connection.local_username,
            password=connection.local_password,
            iceLite=True,
        )

    gatherer.getLocalParameters = local_parameters
