"""Forwarding: a source's media in, a rewritten copy out to each sink that has it
selected. Learns unsignalled SSRCs from the MID extension, picks which source a sink
plays (idle switch, dominant speaker) and opens the segments whose offsets make one
continuous output stream across switches."""

from __future__ import annotations

from livelens.media import rtp
from livelens.media.reference_relay.base import Transmit
from livelens.media.reference_relay.keyframes import Keyframes
from livelens.media.reference_relay.reports import REPORT_INTERVAL
from livelens.media.reference_relay.streams import (
    U16,
    U32,
    Leg,
    LossCounter,
    Reception,
    Route,
    Segment,
    Sink,
    Source,
)
from livelens.media.rtp import HeaderExtension, RtpPacket
from livelens.media.streams import ABS_SEND_TIME_URI

SOURCE_IDLE_SWITCH = 1.0  # s of silence from a sink's source before another may take over
SPEAKER_HOLD = 1.5  # s a sink keeps its audio source before a louder one may take over
LEVEL_SMOOTHING = 0.2


class Forwarding(Keyframes):
    """Media to sinks. Built on :class:`Keyframes`: a new video segment asks its source for one."""

    def _learn_ssrc(self, leg: Leg, pkt: RtpPacket) -> tuple[Source, bool] | None:
        """Bind an unsignalled SSRC to a source through the MID header extension."""
        mid = next((e.value for e in pkt.extensions if e.id in leg.mid_ext_ids), None)
        source = leg.source_by_mid.get(mid) if mid is not None else None
        if source is None:
            return None
        codec = source.line.codec(pkt.payload_type)
        is_rtx = codec is not None and codec.is_rtx
        if is_rtx:
            if source.rtx_ssrc is not None:
                leg.ssrc_table.pop(source.rtx_ssrc, None)
            source.rtx_ssrc = pkt.ssrc
        else:
            if source.ssrc is not None:
                leg.ssrc_table.pop(source.ssrc, None)
            source.ssrc = pkt.ssrc
            source.generation += 1
            source.history.clear()
            source.pending_rtx.clear()
            source.loss = LossCounter()
            source.reception = Reception()
        leg.ssrc_table[pkt.ssrc] = (source, is_rtx)
        return source, is_rtx

    def _on_source_media(
        self, source: Source, pkt: RtpPacket, now: float, out: list[Transmit]
    ) -> None:
        in_order = source.loss.note(pkt.sequence_number)
        clock_rate = source.clock_rates.get(pkt.payload_type)
        if in_order and clock_rate is not None:
            source.reception.note_arrival(pkt.timestamp, now, clock_rate)
        if source.leg.report_due is None:
            source.leg.report_due = now + REPORT_INTERVAL
        if pkt.payload_type not in source.media_pts:
            self._drop(source.drops, "codec_mismatch")
            return
        if source.audio_level_id is not None:
            value = pkt.extension(source.audio_level_id)
            level = rtp.audio_level(value) if value is not None else None
            if level is not None:
                source.level += LEVEL_SMOOTHING * (level - source.level)
        source.history.put(pkt)
        # A source without RTX resends on its media SSRC; that copy goes out below.
        source.pending_rtx.pop(pkt.sequence_number, None)
        if not source.routes:
            self._drop(source.drops, "no_route")
            return
        for route in source.routes:
            self._forward(route, pkt, now, out)

    def _forward(self, route: Route, pkt: RtpPacket, now: float, out: list[Transmit]) -> None:
        sink = route.sink
        if not sink.leg.forwarding:
            self._drop(sink.drops, "gated")
            return
        if not sink.leg.connected:
            self._drop(sink.drops, "not_connected")
            return
        dst_pt = route.pt_map.get(pkt.payload_type)
        if dst_pt is None:
            self._drop(sink.drops, "codec_mismatch")
            return
        segment = self._segment_for(route, pkt, now, out)
        if segment is None:
            self._drop(sink.drops, "not_selected")
            return
        # Audio: mark the start of a talkspurt so the jitter buffer resyncs after a switch.
        marker = pkt.marker or (segment.fresh and sink.kind == "audio")
        segment.fresh = False
        rewritten = self._rewrite(route, segment, pkt, dst_pt, marker, now)
        data = rewritten.to_bytes()
        sink.note_sent(rewritten, len(data), now)
        self._emit(out, sink.leg, data, rtcp=False)

    def _segment_for(
        self, route: Route, pkt: RtpPacket, now: float, out: list[Transmit]
    ) -> Segment | None:
        sink, source = route.sink, route.source
        current = sink.current
        if current is not None and current.route is route:
            if current.generation == source.generation:
                return current
        elif current is not None and not self._may_switch(sink, current.route.source, source, now):
            return None
        if sink.last_seq is None:
            start_seq = self._rng.getrandbits(15)  # below 2^15, like browsers: SRTP ROC safety
            ts_base = self._rng.getrandbits(32)
        else:
            start_seq = (sink.last_seq + 1) & U16
            clock_rate = route.clock_rate.get(pkt.payload_type, 90000)
            elapsed = max(0.0, now - sink.last_sent_at)
            ts_base = (sink.last_ts + max(1, round(elapsed * clock_rate))) & U32
        segment = Segment(
            route,
            source.generation,
            start_seq,
            (start_seq - pkt.sequence_number) & U16,
            (ts_base - pkt.timestamp) & U32,
        )
        sink.segments.append(segment)
        sink.current = segment
        sink.switched_at = now
        if sink.kind == "video":
            self._request_keyframe(source, now, out)  # decoding can only start at a keyframe
        return segment

    def _may_switch(self, sink: Sink, current: Source, candidate: Source, now: float) -> bool:
        last = current.last_packet_at
        if current.removed or last is None or now - last >= SOURCE_IDLE_SWITCH:
            return True
        # Dominant speaker for audio, from the RFC 6464 levels the browsers send.
        return (
            sink.kind == "audio"
            and now - sink.switched_at >= SPEAKER_HOLD
            and candidate.speaking
            and not current.speaking
        )

    def _rewrite(
        self,
        route: Route,
        segment: Segment,
        pkt: RtpPacket,
        dst_pt: int,
        marker: bool,
        now: float,
    ) -> RtpPacket:
        extensions: list[HeaderExtension] = []
        if route.mid_id is not None:
            extensions.append(HeaderExtension(route.mid_id, route.mid_value))
        for ext in pkt.extensions:
            mapped = route.ext_map.get(ext.id)
            if mapped is None:
                continue  # not negotiated with this receiver
            dst_id, uri = mapped
            # The receiver's delay-based estimate must see our send time, not the source's.
            value = rtp.abs_send_time(now) if uri == ABS_SEND_TIME_URI else ext.value
            extensions.append(HeaderExtension(dst_id, value))
        return RtpPacket(
            payload_type=dst_pt,
            sequence_number=(pkt.sequence_number + segment.seq_offset) & U16,
            timestamp=(pkt.timestamp + segment.ts_offset) & U32,
            ssrc=route.sink.line.send_ssrc,
            marker=marker,
            csrc=pkt.csrc,
            extensions=tuple(extensions),
            payload=pkt.payload,
            padding=pkt.padding,
        )
