"""Retransmission: NACKs from receivers answered from the source's packet history, or
forwarded (translated) to the source, whose RTX then goes only to the receivers that
asked; a retransmission leaves over the receiver's RTX stream if it negotiated one."""

from __future__ import annotations

from livelens.media import rtcp
from livelens.media.reference_relay.base import Transmit
from livelens.media.reference_relay.forwarding import Forwarding
from livelens.media.reference_relay.streams import MAX_PENDING_RTX, U16, Leg, Segment, Source
from livelens.media.rtp import RtpPacket

HISTORY_SIZE = 512  # packets kept per source for NACK answers (a power of two)


class Retransmission(Forwarding):
    """NACK answers and RTX. Built on :class:`Forwarding`: a retransmission is rewritten like
    the media it repeats."""

    def _on_source_rtx(
        self, source: Source, pkt: RtpPacket, now: float, out: list[Transmit]
    ) -> None:
        source.rtx_packets += 1
        if len(pkt.payload) < 2:
            source.padding_only += 1  # bandwidth probe: nothing to repair
            return
        apt = source.rtx_apt.get(pkt.payload_type)
        if apt is None or source.ssrc is None:
            self._drop(source.drops, "codec_mismatch")
            return
        osn = int.from_bytes(pkt.payload[:2], "big")
        original = RtpPacket(
            payload_type=apt,
            sequence_number=osn,
            timestamp=pkt.timestamp,
            ssrc=source.ssrc,
            marker=pkt.marker,
            csrc=pkt.csrc,
            extensions=pkt.extensions,
            payload=pkt.payload[2:],
        )
        if source.history.get(osn) is None:
            source.history.put(original)
        # Only receivers that asked get it; unsolicited RTX (probing) stops here.
        for sink, segment in source.pending_rtx.pop(osn, ()):
            if sink.removed or segment.route.removed or not sink.leg.deliverable:
                continue
            self._send_retransmission(segment, original, now, out)

    def _on_nack(self, leg: Leg, nack: rtcp.GenericNack, now: float, out: list[Transmit]) -> None:
        sink = leg.sink_by_ssrc.get(nack.media_ssrc)
        if sink is None or not leg.deliverable:
            return  # the gate also covers retransmissions
        sink.nacks_received += 1
        to_forward: dict[Source, list[int]] = {}
        for out_seq in nack.lost:
            segment = sink.segment_covering(out_seq)
            if segment is None or segment.route.removed:
                continue
            source = segment.route.source
            if segment.generation != source.generation or source.ssrc is None:
                continue
            src_seq = (out_seq - segment.seq_offset) & U16
            original = source.history.get(src_seq)
            if original is not None:
                self._send_retransmission(segment, original, now, out)
                continue
            waiting = source.pending_rtx.setdefault(src_seq, [])
            if not any(s is sink for s, _ in waiting):
                waiting.append((sink, segment))
            while len(source.pending_rtx) > MAX_PENDING_RTX:
                del source.pending_rtx[next(iter(source.pending_rtx))]
            to_forward.setdefault(source, []).append(src_seq)
        for source, seqs in to_forward.items():
            if source.ssrc is None or not source.leg.connected:
                continue
            source.nacks_forwarded += 1
            forwarded = rtcp.GenericNack(source.line.send_ssrc, source.ssrc, tuple(seqs))
            self._emit(out, source.leg, forwarded.to_bytes(), rtcp=True)

    def _send_retransmission(
        self, segment: Segment, original: RtpPacket, now: float, out: list[Transmit]
    ) -> None:
        route = segment.route
        sink = route.sink
        dst_pt = route.pt_map.get(original.payload_type)
        if dst_pt is None:
            return
        media = self._rewrite(route, segment, original, dst_pt, original.marker, now)
        rtx_pt = route.rtx_pt.get(dst_pt)
        if sink.line.send_rtx_ssrc is None or rtx_pt is None:
            data = media.to_bytes()  # no RTX negotiated: resend as the original packet
        else:
            sink.rtx_seq = (sink.rtx_seq + 1) & U16
            data = RtpPacket(
                payload_type=rtx_pt,
                sequence_number=sink.rtx_seq,
                timestamp=media.timestamp,
                ssrc=sink.line.send_rtx_ssrc,
                marker=media.marker,
                csrc=media.csrc,
                extensions=media.extensions,
                payload=media.sequence_number.to_bytes(2, "big") + media.payload,
            ).to_bytes()
        sink.retransmits += 1
        self._emit(out, sink.leg, data, rtcp=False)
