"""The relay of one session: :class:`Relay`, its public API and the topology. What it does
with packets is in the concern modules it inherits from (see the package docstring)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

from livelens.media import rtcp, rtp
from livelens.media.reference_relay.base import Transmit
from livelens.media.reference_relay.history import valid_history_size
from livelens.media.reference_relay.keyframes import KEYFRAME_REQUEST_INTERVAL
from livelens.media.reference_relay.reports import REMB_INTERVAL, Reports
from livelens.media.reference_relay.retransmission import HISTORY_SIZE, Retransmission
from livelens.media.reference_relay.rng import U64, RandomBits, SplitMix64
from livelens.media.reference_relay.stats import DROP_REASONS, drop_dict
from livelens.media.reference_relay.streams import Leg, LegId, Route, Switch
from livelens.media.streams import MediaKind, MediaLine

_Parsed = TypeVar("_Parsed")


def _earliest(deadline: float | None, due: float) -> float:
    return due if deadline is None else min(deadline, due)


class Relay(Retransmission, Reports):
    """Forwarding state of one session. Not thread-safe; one caller at a time."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        history_size: int = HISTORY_SIZE,
        keyframe_interval: float = KEYFRAME_REQUEST_INTERVAL,
    ) -> None:
        """``seed``: 0 <= seed < 2**64 for reproducible output (the same as the Rust
        relay's with that seed); None for OS randomness."""
        if seed is not None and not 0 <= seed <= U64:
            raise ValueError("seed must be an unsigned 64-bit integer")
        if not valid_history_size(history_size):
            raise ValueError("history size must be a power of two up to 65536")
        # Sequence/timestamp starts need unpredictability, not secrecy (SRTP protects them).
        self._rng: RandomBits = random.SystemRandom() if seed is None else SplitMix64(seed)
        self._history_size = history_size
        self._keyframe_interval = keyframe_interval
        self._legs: dict[LegId, Leg] = {}
        self._totals: Counter[str] = Counter()
        self._total_drops: Counter[str] = Counter()

    # ------------------------------------------------------------------ topology

    def add_leg(
        self, leg_id: LegId, media: Iterable[MediaLine], *, forwarding: bool = False
    ) -> None:
        """Register a participant's transport. Fails closed: nothing reaches it until
        :meth:`switch` opens its gate (``forwarding``) and reports it up (``connected``)."""
        if leg_id in self._legs:
            raise ValueError(f"leg {leg_id!r} already exists")
        self._legs[leg_id] = Leg(
            leg_id,
            media,
            forwarding=forwarding,
            history_size=self._history_size,
            rng=self._rng,
        )

    def remove_leg(self, leg_id: LegId) -> None:
        leg = self._legs.pop(leg_id, None)
        if leg is None:
            return
        for source in leg.sources.values():
            for route in list(source.routes):
                self._unlink(route)
            source.removed = True
        for sink in leg.sinks.values():
            for route in list(sink.routes):
                self._unlink(route)
            sink.removed = True

    def add_route(self, source_leg: LegId, sink_leg: LegId, kind: MediaKind) -> bool:
        """Subscribe ``sink_leg`` to the ``kind`` stream of ``source_leg``.

        Returns False (and does nothing) when the source leg does not send that kind
        or the sink leg does not receive it, e.g. a listen-only participant.
        """
        if source_leg == sink_leg:
            raise ValueError("a leg cannot subscribe to itself")
        source = self._leg(source_leg).sources.get(kind)
        sink = self._leg(sink_leg).sinks.get(kind)
        if source is None or sink is None:
            return False
        if not any(route.sink is sink for route in source.routes):
            route = Route(source, sink)
            source.routes.append(route)
            sink.routes.append(route)
        return True

    def remove_route(self, source_leg: LegId, sink_leg: LegId, kind: MediaKind) -> None:
        source = self._leg(source_leg).sources.get(kind)
        for route in list(source.routes if source else ()):
            if route.sink.leg.id == sink_leg:
                self._unlink(route)

    def switch(self, leg_id: LegId, switch: Switch, on: bool, now: float) -> list[Transmit]:
        """Turn one of a leg's switches on or off: ``"forwarding"`` (its consent gate; opening
        it asks its video sources for a keyframe) or ``"connected"`` (its transport: packets
        are only produced for legs that are up)."""
        leg = self._leg(leg_id)
        was = leg.deliverable
        out: list[Transmit] = []
        if switch == "forwarding":
            leg.forwarding = on
        elif switch == "connected":
            leg.connected = on
            if on:
                # Keyframe requests that waited for this leg's transport can go now.
                for source in leg.sources.values():
                    self._flush_keyframe_request(source, now, out)
        else:
            raise ValueError(f"no switch {switch!r}")
        self._deliverability_changed(leg, was, now, out)
        return out

    # ------------------------------------------------------------------ packets

    def handle_packet(self, leg_id: LegId, packet: bytes, now: float) -> list[Transmit]:
        """One plaintext packet received on a leg: RTP or RTCP, told apart as RFC 5761 says."""
        out: list[Transmit] = []
        if rtp.is_rtcp(packet):
            rtcp_in = self._arrival(leg_id, "rtcp_in", packet, rtcp.parse_rtcp)
            if rtcp_in is not None:
                self._on_rtcp(*rtcp_in, now, out)
        else:
            rtp_in = self._arrival(leg_id, "rtp_in", packet, rtp.parse_rtp)
            if rtp_in is not None:
                self._on_rtp(*rtp_in, len(packet), now, out)
        return out

    def _on_rtp(
        self, leg: Leg, pkt: rtp.RtpPacket, size: int, now: float, out: list[Transmit]
    ) -> None:
        """An RTP packet of ``size`` bytes from ``leg``: counted at its source, then forwarded
        (media) or matched to the NACKs it answers (RTX)."""
        found = leg.ssrc_table.get(pkt.ssrc) or self._learn_ssrc(leg, pkt)
        if found is None:
            self._drop(leg.drops, "unknown_ssrc")
            return
        source, is_rtx = found
        source.packets += 1
        source.bytes += size
        source.last_packet_at = now
        self._flush_keyframe_request(source, now, out)
        if is_rtx:
            self._on_source_rtx(source, pkt, now, out)
        else:
            self._on_source_media(source, pkt, now, out)

    def _on_rtcp(
        self, leg: Leg, packets: list[rtcp.RtcpPacket], now: float, out: list[Transmit]
    ) -> None:
        """An RTCP compound from ``leg``: feedback about its sinks, reports from its sources."""
        for item in packets:
            if isinstance(item, rtcp.SenderReport | rtcp.ReceiverReport):
                self._on_report_blocks(leg, item.reports)
            if isinstance(item, rtcp.SenderReport):
                self._on_sender_report(leg, item, now, out)
            elif isinstance(item, rtcp.PictureLossIndication):
                self._on_keyframe_request(leg, item.media_ssrc, now, out)
            elif isinstance(item, rtcp.FullIntraRequest):
                for entry in item.entries:
                    self._on_keyframe_request(leg, entry.ssrc, now, out)
            elif isinstance(item, rtcp.GenericNack):
                self._on_nack(leg, item, now, out)
            elif isinstance(item, rtcp.ReceiverEstimatedMaxBitrate):
                self._on_remb(leg, item, now, out)
            # SDES, BYE, transport-cc: consumed here (aiortc cannot use transport-cc).

    def next_timeout(self) -> float | None:
        """When :meth:`handle_timeout` next has work (a deferred keyframe request or REMB, a
        receiver report), if ever."""
        deadline: float | None = None
        for leg in self._legs.values():
            for source in leg.sources.values():
                last = source.last_keyframe_request_at
                # Requests waiting for an SSRC or a transport go out on the first packet or
                # on the connected switch instead; a deadline for them would only spin.
                ready = source.ssrc is not None and leg.connected
                if source.keyframe_request_pending and last is not None and ready:
                    deadline = _earliest(deadline, last + self._keyframe_interval)
                sent_at = source.remb_sent_at
                if source.remb_pending and sent_at is not None and ready:
                    deadline = _earliest(deadline, sent_at + REMB_INTERVAL)
            if leg.report_due is not None and leg.connected:
                deadline = _earliest(deadline, leg.report_due)
        return deadline

    def handle_timeout(self, now: float) -> list[Transmit]:
        out: list[Transmit] = []
        for leg in self._legs.values():
            for source in leg.sources.values():
                self._flush_keyframe_request(source, now, out)
        for leg in self._legs.values():
            self._report(leg, now, out)
        for leg in self._legs.values():
            for source in leg.sources.values():
                if source.remb_pending:
                    self._send_remb(source, now, out)
        return out

    def stats(self) -> dict[str, object]:
        legs: dict[str, object] = {}
        for leg in self._legs.values():
            legs[leg.id] = {
                "connected": leg.connected,
                "forwarding": leg.forwarding,
                "drops": drop_dict(leg.drops),
                "sources": {kind: s.stats() for kind, s in leg.sources.items()},
                "sinks": {kind: s.stats() for kind, s in leg.sinks.items()},
            }
        totals: dict[str, object] = dict(self._totals)
        totals["drops"] = {reason: self._total_drops[reason] for reason in DROP_REASONS}
        return {"totals": totals, "legs": legs}

    # ------------------------------------------------------------------ internals

    def _arrival(
        self,
        leg_id: LegId,
        total: Literal["rtp_in", "rtcp_in"],
        packet: bytes,
        parse: Callable[[bytes], _Parsed],
    ) -> tuple[Leg, _Parsed] | None:
        """Counts a packet in (``total`` and its bytes) and finds its leg and what ``parse``
        makes of it. A packet for a leg that is gone is counted as such, one that does not
        parse as a drop at its leg; neither goes further."""
        leg = self._legs.get(leg_id)
        if leg is None:
            self._totals["unknown_leg"] += 1
            return None
        self._totals[total] += 1
        self._totals["bytes_in"] += len(packet)
        try:
            return leg, parse(packet)
        except rtp.MalformedPacket:
            self._drop(leg.drops, "malformed")
            return None

    def _leg(self, leg_id: LegId) -> Leg:
        try:
            return self._legs[leg_id]
        except KeyError:
            raise KeyError(f"unknown leg {leg_id!r}") from None

    def _unlink(self, route: Route) -> None:
        route.removed = True
        if route in route.source.routes:
            route.source.routes.remove(route)
        if route in route.sink.routes:
            route.sink.routes.remove(route)
        current = route.sink.current
        if current is not None and current.route is route:
            route.sink.current = None  # the next source continues the same output stream

    def _deliverability_changed(self, leg: Leg, was: bool, now: float, out: list[Transmit]) -> None:
        if leg.deliverable == was:
            return
        for sink in leg.sinks.values():
            # Restart with a fresh segment: timestamps rebased on elapsed time, a marker
            # on audio, and (video) a keyframe the receiver can start decoding from.
            sink.current = None
            if leg.deliverable and sink.kind == "video":
                for route in sink.routes:
                    self._request_keyframe(route.source, now, out)
