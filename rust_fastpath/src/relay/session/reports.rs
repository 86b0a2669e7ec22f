//! Reports: sender reports translated into each sink's timestamp space, our own RFC 3550
//! receiver reports to publishing legs, REMB (the lowest of the receivers' estimates) to
//! video sources, and the loss receivers report about our streams.

use super::{emit, Relay, Transmit};
use crate::relay::arena::Id;
use crate::relay::media::MediaKind;
use crate::relay::rtcp::{
    ReceiverEstimatedMaxBitrate, ReceiverReport, ReportBlock, SenderReport, SourceDescription,
};
use crate::relay::stats::Total;
use crate::relay::streams::{Leg, Sink, Source};

/// Seconds between two receiver reports to a leg.
pub const REPORT_INTERVAL: f64 = 1.0;
/// At most one REMB per source per this many seconds, unless it drops by more than 20 %.
pub const REMB_INTERVAL: f64 = 0.5;

impl Relay {
    pub(super) fn on_sender_report(
        &mut self,
        key: Id<Leg>,
        report: &SenderReport,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(leg) = self.legs.get(key) else {
            return;
        };
        let Some(&(source_id, false)) = leg.ssrc_table.get(&report.ssrc) else {
            return;
        };
        let Some(source) = self.sources.get_mut(source_id) else {
            return;
        };
        source.reception.last_sr = (report.ntp_timestamp >> 16) as u32;
        source.reception.last_sr_at = Some(now);
        let source = &*source;
        for &route_id in &source.routes {
            let Some(sink) = self
                .routes
                .get(route_id)
                .and_then(|r| self.sinks.get_mut(r.sink))
            else {
                continue;
            };
            let Some(segment) = sink.current else {
                continue;
            };
            let Some(sink_leg) = self.legs.get(sink.leg) else {
                continue;
            };
            if segment.route != route_id
                || segment.generation != source.generation
                || !sink_leg.deliverable()
            {
                continue;
            }
            // Same NTP time, RTP time moved into the sink's timestamp space: this is what
            // lets the receiver line audio and video up. Report blocks are not ours to pass.
            let mut data = Vec::with_capacity(64);
            let translated = SenderReport {
                ssrc: sink.line.send_ssrc,
                ntp_timestamp: report.ntp_timestamp,
                rtp_timestamp: report.rtp_timestamp.wrapping_add(segment.ts_offset),
                packet_count: sink.packets as u32,
                octet_count: sink.payload_octets as u32,
                reports: Vec::new(),
            };
            if translated.write_to(&mut data).is_err() {
                continue;
            }
            if let Some(cname) = sink.line.cname.as_ref().filter(|c| !c.is_empty()) {
                let sdes = SourceDescription {
                    chunks: vec![(sink.line.send_ssrc, cname.as_bytes().to_vec())],
                };
                if sdes.write_to(&mut data).is_err() {
                    continue;
                }
            }
            sink.sender_reports += 1;
            emit(&mut self.totals, out, sink_leg.id, data, true);
        }
    }

    /// The leg's receiver report, if due: a block per source that sent since the last.
    ///
    /// It goes to a connected leg whether or not its gate is open: the gate keeps other
    /// participants' media from a leg, and an RR only tells the leg about its own stream.
    pub(super) fn report(&mut self, key: Id<Leg>, now: f64, out: &mut Vec<Transmit>) {
        let Some(leg) = self.legs.get_mut(key) else {
            return;
        };
        match leg.report_due {
            Some(due) if leg.connected && now >= due => {}
            _ => return,
        }
        let mut blocks = Vec::new();
        for &(_, source_id) in &leg.sources {
            let Some(source) = self.sources.get_mut(source_id) else {
                continue;
            };
            if let Some(ssrc) = source.ssrc {
                if source.loss.received() > source.reception.received_prior {
                    blocks.push(report_block(source, ssrc, now));
                }
            }
        }
        if blocks.is_empty() {
            leg.report_due = None; // idle: the next media packet schedules the next report
            return;
        }
        leg.report_due = Some(now + REPORT_INTERVAL);
        let mut data = Vec::with_capacity(64);
        let report = ReceiverReport {
            ssrc: leg.rtcp_ssrc,
            reports: blocks,
        };
        if report.write_to(&mut data).is_err() {
            return; // at most one block per source: cannot happen
        }
        if let Some(cname) = leg.rtcp_cname.as_ref().filter(|c| !c.is_empty()) {
            // RFC 3550 §6.1: a compound carries our CNAME.
            let sdes = SourceDescription {
                chunks: vec![(leg.rtcp_ssrc, cname.as_bytes().to_vec())],
            };
            if sdes.write_to(&mut data).is_err() {
                return;
            }
        }
        self.totals.add(Total::RtcpReportsSent, 1);
        emit(&mut self.totals, out, leg.id, data, true);
    }

    /// A receiver's bandwidth estimate: each source it receives from may have to slow
    /// down (or may speed up) to the slowest of its receivers.
    pub(super) fn on_remb(
        &mut self,
        key: Id<Leg>,
        remb: &ReceiverEstimatedMaxBitrate,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(leg) = self.legs.get(key) else {
            return;
        };
        let mut sinks: Vec<Id<Sink>> = Vec::new();
        for ssrc in &remb.ssrcs {
            if let Some(&sink) = leg.sink_by_ssrc.get(ssrc) {
                if !sinks.contains(&sink) {
                    sinks.push(sink);
                }
            }
        }
        let mut sources: Vec<Id<Source>> = Vec::new();
        for sink_id in sinks {
            let Some(sink) = self.sinks.get_mut(sink_id) else {
                continue;
            };
            sink.remb = Some(remb.bitrate);
            for route in &sink.routes {
                if let Some(source) = self.routes.get(*route).map(|r| r.source) {
                    if !sources.contains(&source) {
                        sources.push(source);
                    }
                }
            }
        }
        for source in sources {
            self.send_remb(source, now, out);
        }
    }

    /// REMB to a video source: the lowest latest estimate of the receivers it reaches, at
    /// most once per [`REMB_INTERVAL`] unless it fell by more than 20 %. A source none of
    /// whose receivers sent one gets none: the browser's own estimate stands.
    pub(super) fn send_remb(&mut self, source_id: Id<Source>, now: f64, out: &mut Vec<Transmit>) {
        let Some(source) = self.sources.get(source_id) else {
            return;
        };
        let estimates = source.routes.iter().filter_map(|&r| {
            let sink = self.sinks.get(self.routes.get(r)?.sink)?;
            let deliverable = self.legs.get(sink.leg).is_some_and(Leg::deliverable);
            sink.remb.filter(|_| deliverable)
        });
        let bitrate = estimates.min();
        let Some(source) = self.sources.get_mut(source_id) else {
            return;
        };
        source.remb_pending = false;
        let Some(bitrate) = bitrate.filter(|_| source.kind == MediaKind::Video) else {
            return;
        };
        // A clock that went backwards must not lock REMBs out, hence the `now < sent_at`.
        let due = source.remb_sent.is_none_or(|(last, sent_at)| {
            now >= sent_at + REMB_INTERVAL
                || now < sent_at
                || u128::from(bitrate) * 5 < u128::from(last) * 4
        });
        let Some(leg) = self.legs.get(source.leg) else {
            return;
        };
        let Some(ssrc) = source.ssrc.filter(|_| due && leg.connected) else {
            source.remb_pending = true; // a later REMB or handle_timeout sends it
            return;
        };
        source.remb_sent = Some((bitrate, now));
        let mut data = Vec::with_capacity(24);
        let remb = ReceiverEstimatedMaxBitrate {
            sender_ssrc: leg.rtcp_ssrc,
            bitrate,
            ssrcs: vec![ssrc],
        };
        if remb.write_to(&mut data).is_ok() {
            self.totals.add(Total::RembForwarded, 1);
            emit(&mut self.totals, out, leg.id, data, true);
        }
    }

    /// What receivers report about our streams: the loss counter of each sink.
    pub(super) fn on_report_blocks(&mut self, key: Id<Leg>, blocks: &[ReportBlock]) {
        let Some(leg) = self.legs.get(key) else {
            return;
        };
        for block in blocks {
            let Some(sink) = leg
                .sink_by_ssrc
                .get(&block.ssrc)
                .and_then(|&s| self.sinks.get_mut(s))
            else {
                continue;
            };
            if sink.line.send_ssrc == block.ssrc {
                sink.receiver_lost = block.packets_lost;
            }
        }
    }
}

/// A source's report block, which also starts its next reporting interval.
fn report_block(source: &mut Source, ssrc: u32, now: f64) -> ReportBlock {
    let (loss, reception) = (&source.loss, &mut source.reception);
    let expected_interval = loss.expected() as i128 - reception.expected_prior as i128;
    let received_interval = loss.received() as i128 - reception.received_prior as i128;
    let lost_interval = expected_interval - received_interval;
    reception.expected_prior = loss.expected();
    reception.received_prior = loss.received();
    let fraction = if expected_interval > 0 && lost_interval > 0 {
        ((lost_interval << 8) / expected_interval).min(255) as u8
    } else {
        0
    };
    let dlsr = reception.last_sr_at.map_or(0, |at| {
        // In 1/65536 s, like Python's min(U32, max(0, int(...))).
        let delay = (now - at) * 65536.0;
        if delay >= f64::from(u32::MAX) {
            u32::MAX
        } else if delay > 0.0 {
            delay as u32
        } else {
            0
        }
    });
    ReportBlock {
        ssrc,
        fraction_lost: fraction,
        packets_lost: loss.lost().min(0x7F_FFFF) as i32,
        highest_sequence: loss.highest() as u32,
        jitter: (reception.jitter >> 4) as u32,
        last_sr: reception.last_sr,
        delay_since_last_sr: dlsr,
    }
}

#[cfg(test)]
mod tests {
    use crate::relay::rtcp::{
        ReceiverEstimatedMaxBitrate, ReceiverReport, ReportBlock, RtcpPacket, SenderReport,
        SourceDescription,
    };
    use crate::relay::tests::{join, line, rtcp, rtcp_to, rtp_to, session, video_packet, A, B, C};
    use crate::relay::MediaKind;

    const NTP: u64 = 0x0000_1234_5678_0000;

    fn sender_report_from_a(rtp_timestamp: u32) -> Vec<u8> {
        let report = SenderReport {
            ssrc: 1111,
            ntp_timestamp: NTP,
            rtp_timestamp,
            packet_count: 40,
            octet_count: 4000,
            reports: vec![],
        };
        rtcp(|data| report.write_to(data).unwrap())
    }

    #[test]
    fn a_sender_report_is_translated_into_the_sinks_timestamps() {
        let mut relay = session();
        let sent = rtp_to(&relay.handle_rtp(A, &video_packet(1111, 10, 9000), 1.0), B);
        let out = relay.handle_rtcp(A, &sender_report_from_a(9900), 1.01);
        assert_eq!(
            rtcp_to(&out, B),
            [
                RtcpPacket::SenderReport(SenderReport {
                    ssrc: 6001,
                    ntp_timestamp: NTP,
                    rtp_timestamp: sent[0].timestamp.wrapping_add(900),
                    packet_count: 1,
                    octet_count: 5,
                    reports: vec![],
                }),
                RtcpPacket::SourceDescription(SourceDescription {
                    chunks: vec![(6001, b"c".to_vec())],
                }),
            ]
        );
    }

    #[test]
    fn a_publishing_leg_gets_a_receiver_report_every_interval_while_it_sends() {
        let mut relay = session();
        for (seq, now) in [(10, 1.0), (11, 1.02), (13, 1.04)] {
            relay.handle_rtp(A, &video_packet(1111, seq, 3000 * u32::from(seq)), now);
        }
        relay.handle_rtcp(A, &sender_report_from_a(0), 1.5);
        assert_eq!(relay.next_timeout(), Some(2.0));
        let out = relay.handle_timeout(2.0);
        let [RtcpPacket::ReceiverReport(report), RtcpPacket::SourceDescription(sdes)] =
            &rtcp_to(&out, A)[..]
        else {
            panic!("not RR + SDES: {out:?}")
        };
        assert_eq!(report.ssrc, 5001);
        let block = report.reports[0];
        // 12 never came: 1 of 4 lost (64/256), LSR from the SR, DLSR 0.5 s in 1/65536 s.
        assert_eq!(
            (
                block.ssrc,
                block.fraction_lost,
                block.packets_lost,
                block.highest_sequence
            ),
            (1111, 64, 1, 13)
        );
        assert_eq!(
            (block.last_sr, block.delay_since_last_sr),
            (0x1234_5678, 32768)
        );
        assert_eq!(sdes.chunks, [(5001, b"c".to_vec())]);
        // Silent since: nothing to report, and no deadline until the next packet.
        assert!(relay.handle_timeout(3.0).is_empty());
        assert_eq!(relay.next_timeout(), None);
    }

    #[test]
    fn a_receivers_report_block_is_its_sinks_loss() {
        let mut relay = session();
        let block = ReportBlock {
            ssrc: 6001,
            fraction_lost: 0,
            packets_lost: 3,
            highest_sequence: 0,
            jitter: 0,
            last_sr: 0,
            delay_since_last_sr: 0,
        };
        let report = ReceiverReport {
            ssrc: 2222,
            reports: vec![block],
        };
        let report = rtcp(|data| report.write_to(data).unwrap());
        assert!(relay.handle_rtcp(B, &report, 1.0).is_empty());
        assert_eq!(relay.stats().legs[1].sinks[0].1.receiver_lost, 3);
    }

    fn remb(bitrate: u64, ssrc: u32) -> Vec<u8> {
        let remb = ReceiverEstimatedMaxBitrate {
            sender_ssrc: 1,
            bitrate,
            ssrcs: vec![ssrc],
        };
        rtcp(|data| remb.write_to(data).unwrap())
    }

    fn remb_to_a(bitrate: u64) -> [RtcpPacket<'static>; 1] {
        [RtcpPacket::ReceiverEstimatedMaxBitrate(
            ReceiverEstimatedMaxBitrate {
                sender_ssrc: 5001,
                bitrate,
                ssrcs: vec![1111],
            },
        )]
    }

    #[test]
    fn a_source_gets_the_lowest_remb_of_its_receivers_at_most_once_per_interval() {
        let mut relay = session();
        join(&mut relay, C, line(MediaKind::Video, 120, 3333, 7001));
        assert!(relay.add_route(A, C, MediaKind::Video).unwrap());
        let out = relay.handle_rtcp(B, &remb(1_000_000, 6001), 1.0);
        assert_eq!(rtcp_to(&out, A), remb_to_a(1_000_000));
        // c could take more; b cannot, and it is too soon anyway.
        assert!(relay.handle_rtcp(C, &remb(2_000_000, 7001), 1.1).is_empty());
        assert_eq!(relay.next_timeout(), Some(1.5));
        assert_eq!(rtcp_to(&relay.handle_timeout(1.5), A), remb_to_a(1_000_000));
        // A fall of more than 20 % goes at once.
        let out = relay.handle_rtcp(B, &remb(500_000, 6001), 1.6);
        assert_eq!(rtcp_to(&out, A), remb_to_a(500_000));
    }
}
