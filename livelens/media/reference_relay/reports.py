"""Reports: sender reports translated into each sink's timestamp space, our own RFC 3550
receiver reports to publishing legs, REMB (the lowest of the receivers' estimates) to
video sources, and the loss receivers report about our streams."""

from __future__ import annotations

from collections.abc import Iterable

from livelens.media import rtcp
from livelens.media.reference_relay.base import RelayBase, Transmit
from livelens.media.reference_relay.streams import U32, Leg, Sink, Source

REPORT_INTERVAL = 1.0  # s between two receiver reports to a leg
REMB_INTERVAL = 0.5  # s; at most one REMB per source per interval, unless it drops > 20 %


class Reports(RelayBase):
    """RTCP reports: translated SRs, our RRs and REMBs, receivers' report blocks."""

    def _on_sender_report(
        self, leg: Leg, report: rtcp.SenderReport, now: float, out: list[Transmit]
    ) -> None:
        found = leg.ssrc_table.get(report.ssrc)
        if found is None or found[1]:
            return
        source = found[0]
        source.reception.last_sr = (report.ntp_timestamp >> 16) & U32
        source.reception.last_sr_at = now
        for route in source.routes:
            sink = route.sink
            segment = sink.current
            if (
                segment is None
                or segment.route is not route
                or segment.generation != source.generation
                or not sink.leg.deliverable
            ):
                continue
            # Same NTP time, RTP time moved into the sink's timestamp space: this is what
            # lets the receiver line audio and video up. Report blocks are not ours to pass.
            translated = rtcp.SenderReport(
                ssrc=sink.line.send_ssrc,
                ntp_timestamp=report.ntp_timestamp,
                rtp_timestamp=(report.rtp_timestamp + segment.ts_offset) & U32,
                packet_count=sink.packets,
                octet_count=sink.payload_octets,
            )
            data = translated.to_bytes()
            if sink.line.cname:
                sdes = rtcp.SourceDescription(((sink.line.send_ssrc, sink.line.cname),))
                data += sdes.to_bytes()
            sink.sender_reports += 1
            self._emit(out, sink.leg, data, rtcp=True)

    def _report(self, leg: Leg, now: float, out: list[Transmit]) -> None:
        """The leg's receiver report, if due: a block per source that sent since the last.

        It goes to a connected leg whether or not its gate is open: the gate keeps other
        participants' media from a leg, and an RR only tells the leg about its own stream.
        """
        due = leg.report_due
        if due is None or not leg.connected or now < due:
            return
        blocks = [
            self._report_block(source, now)
            for source in leg.sources.values()
            if source.ssrc is not None and source.loss.received > source.reception.received_prior
        ]
        if not blocks:
            leg.report_due = None  # idle: the next media packet schedules the next report
            return
        leg.report_due = now + REPORT_INTERVAL
        data = rtcp.ReceiverReport(leg.rtcp_ssrc, tuple(blocks)).to_bytes()
        if leg.rtcp_cname:  # RFC 3550 §6.1: a compound carries our CNAME
            data += rtcp.SourceDescription(((leg.rtcp_ssrc, leg.rtcp_cname),)).to_bytes()
        self._totals["rtcp_reports_sent"] += 1
        self._emit(out, leg, data, rtcp=True)

    @staticmethod
    def _report_block(source: Source, now: float) -> rtcp.ReportBlock:
        assert source.ssrc is not None
        loss, reception = source.loss, source.reception
        expected_interval = loss.expected - reception.expected_prior
        lost_interval = expected_interval - (loss.received - reception.received_prior)
        reception.expected_prior = loss.expected
        reception.received_prior = loss.received
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        dlsr = 0
        if reception.last_sr_at is not None:  # in 1/65536 s
            dlsr = min(U32, max(0, int((now - reception.last_sr_at) * 65536.0)))
        return rtcp.ReportBlock(
            ssrc=source.ssrc,
            fraction_lost=fraction,
            packets_lost=min(loss.lost, 0x7FFFFF),
            highest_sequence=loss.highest & U32,
            jitter=(reception.jitter >> 4) & U32,
            last_sr=reception.last_sr,
            delay_since_last_sr=dlsr,
        )

    def _on_remb(
        self, leg: Leg, remb: rtcp.ReceiverEstimatedMaxBitrate, now: float, out: list[Transmit]
    ) -> None:
        """A receiver's bandwidth estimate: each source it receives from may have to slow
        down (or may speed up) to the slowest of its receivers."""
        sinks: list[Sink] = []
        for ssrc in remb.ssrcs:
            sink = leg.sink_by_ssrc.get(ssrc)
            if sink is not None and sink not in sinks:
                sinks.append(sink)
        sources: list[Source] = []
        for sink in sinks:
            sink.remb = remb.bitrate
            for route in sink.routes:
                if route.source not in sources:
                    sources.append(route.source)
        for source in sources:
            self._send_remb(source, now, out)

    def _send_remb(self, source: Source, now: float, out: list[Transmit]) -> None:
        """REMB to a video source: the lowest latest estimate of the receivers it reaches,
        at most once per REMB_INTERVAL unless it fell by more than 20 %. A source none of
        whose receivers sent one gets none: the browser's own estimate stands."""
        source.remb_pending = False
        if source.kind != "video" or source.removed:
            return
        estimates = [
            route.sink.remb
            for route in source.routes
            if route.sink.remb is not None and route.sink.leg.deliverable
        ]
        if not estimates:
            return
        bitrate = min(estimates)
        last, sent_at = source.remb_sent, source.remb_sent_at
        # A clock that went backwards must not lock REMBs out, hence the `now < sent_at`.
        due = (
            sent_at is None
            or now >= sent_at + REMB_INTERVAL
            or now < sent_at
            or (last is not None and bitrate * 5 < last * 4)
        )
        if not due or source.ssrc is None or not source.leg.connected:
            source.remb_pending = True  # a later REMB or handle_timeout sends it
            return
        source.remb_sent, source.remb_sent_at = bitrate, now
        leg = source.leg
        remb = rtcp.ReceiverEstimatedMaxBitrate(leg.rtcp_ssrc, bitrate, (source.ssrc,))
        self._totals["remb_forwarded"] += 1
        self._emit(out, leg, remb.to_bytes(), rtcp=True)

    def _on_report_blocks(self, leg: Leg, blocks: Iterable[rtcp.ReportBlock]) -> None:
        """What receivers report about our streams: the loss counter of each sink."""
        for block in blocks:
            sink = leg.sink_by_ssrc.get(block.ssrc)
            if sink is not None and sink.line.send_ssrc == block.ssrc:
                sink.receiver_lost = block.packets_lost
