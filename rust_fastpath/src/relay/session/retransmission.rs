//! Retransmission: NACKs from receivers answered from the source's packet history, or
//! forwarded (translated) to the source, whose RTX then goes only to the receivers that
//! asked; a retransmission leaves over the receiver's RTX stream if it negotiated one.

use super::{emit, media_buffer, Relay, Transmit};
use crate::relay::arena::{Arena, Id};
use crate::relay::rewrite::{write_media, write_rtx, Rewrite};
use crate::relay::rtcp::GenericNack;
use crate::relay::rtp::RtpPacket;
use crate::relay::stats::{DropReason, Totals};
use crate::relay::streams::{Leg, Route, Segment, Sink, Source, Waiter, MAX_PENDING_RTX};

/// Packets kept per source for NACK answers (a power of two).
pub const HISTORY_SIZE: usize = 512;

/// What sending a retransmission writes, borrowed apart from the sources so that the
/// packet sent can stay in a source's history (no copy).
struct Resend<'a> {
    routes: &'a Arena<Route>,
    sinks: &'a mut Arena<Sink>,
    legs: &'a Arena<Leg>,
    totals: &'a mut Totals,
}

impl Relay {
    fn split_for_resend(&mut self) -> (&mut Arena<Source>, Resend<'_>) {
        let resend = Resend {
            routes: &self.routes,
            sinks: &mut self.sinks,
            legs: &self.legs,
            totals: &mut self.totals,
        };
        (&mut self.sources, resend)
    }

    pub(super) fn on_source_rtx(
        &mut self,
        source_id: Id<Source>,
        pkt: &RtpPacket,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(source) = self.sources.get_mut(source_id) else {
            return;
        };
        source.rtx_packets += 1;
        let Some((osn, payload)) = pkt.payload.split_first_chunk::<2>() else {
            source.padding_only += 1; // bandwidth probe: nothing to repair
            return;
        };
        let apt = source
            .rtx_apt
            .get(usize::from(pkt.payload_type))
            .copied()
            .flatten();
        let (Some(apt), Some(ssrc)) = (apt, source.ssrc) else {
            self.drop_at_source(source_id, DropReason::CodecMismatch);
            return;
        };
        let osn = u16::from_be_bytes(*osn);
        let original = RtpPacket {
            payload_type: apt,
            sequence_number: osn,
            timestamp: pkt.timestamp,
            ssrc,
            marker: pkt.marker,
            csrc: pkt.csrc.clone(),
            extensions: pkt.extensions.clone(),
            payload: payload.to_vec(),
            padding: Vec::new(),
        };
        // Only receivers that asked get it; unsolicited RTX (probing) stops here.
        let waiters = source.pending_rtx.take(osn);
        let (sources, mut resend) = self.split_for_resend();
        for (sink_id, segment) in waiters {
            let live = resend.routes.contains(segment.route)
                && resend
                    .sinks
                    .get(sink_id)
                    .and_then(|sink| resend.legs.get(sink.leg))
                    .is_some_and(Leg::deliverable);
            if live {
                resend.send(segment, &original, now, out);
            }
        }
        // Retransmitting never reads the history, so keeping the packet last saves a copy.
        if let Some(source) = sources.get_mut(source_id) {
            if source.history.get(osn).is_none() {
                source.history.put(original);
            }
        }
    }

    pub(super) fn on_nack(
        &mut self,
        key: Id<Leg>,
        nack: &GenericNack,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some((sink_id, sink)) = self.feedback_sink(key, nack.media_ssrc) else {
            return;
        };
        sink.nacks_received += 1;
        let mut to_forward: Vec<(Id<Source>, Vec<u16>)> = Vec::new();
        let (sources, mut resend) = self.split_for_resend();
        for &out_seq in &nack.lost {
            let Some(segment) = resend
                .sinks
                .get(sink_id)
                .and_then(|s| s.segment_covering(out_seq))
            else {
                continue;
            };
            let Some(source_id) = resend.routes.get(segment.route).map(|r| r.source) else {
                continue; // the route has gone
            };
            let Some(source) = sources.get_mut(source_id) else {
                continue;
            };
            if segment.generation != source.generation || source.ssrc.is_none() {
                continue;
            }
            let src_seq = out_seq.wrapping_sub(segment.seq_offset);
            if let Some(original) = source.history.get(src_seq) {
                resend.send(segment, original, now, out);
                continue;
            }
            let waiting = source.pending_rtx.waiters(src_seq);
            if !waiting.iter().any(|(s, _)| *s == sink_id) {
                let waiter: Waiter = (sink_id, segment);
                waiting.push(waiter);
            }
            while source.pending_rtx.len() > MAX_PENDING_RTX {
                source.pending_rtx.evict_oldest();
            }
            match to_forward.iter_mut().find(|(s, _)| *s == source_id) {
                Some((_, seqs)) => seqs.push(src_seq),
                None => to_forward.push((source_id, vec![src_seq])),
            }
        }
        for (source_id, lost) in to_forward {
            let Some(source) = self.sources.get_mut(source_id) else {
                continue;
            };
            let Some(leg) = self.legs.get(source.leg) else {
                continue;
            };
            let Some(ssrc) = source.ssrc.filter(|_| leg.connected) else {
                continue;
            };
            source.nacks_forwarded += 1;
            let mut data = Vec::new();
            let nack = GenericNack {
                sender_ssrc: source.line.send_ssrc,
                media_ssrc: ssrc,
                lost,
            };
            if nack.write_to(&mut data).is_ok() {
                emit(&mut self.totals, out, leg.id, data, true);
            }
        }
    }
}

impl Resend<'_> {
    /// Sends a NACKed packet to one receiver again: over its RTX stream if it negotiated
    /// one, else as the original packet.
    fn send(&mut self, segment: Segment, original: &RtpPacket, now: f64, out: &mut Vec<Transmit>) {
        let Some(route) = self.routes.get(segment.route) else {
            return;
        };
        let Some(dst_pt) = route.maps.dst_pt(original.payload_type) else {
            return;
        };
        let Some(sink) = self.sinks.get_mut(route.sink) else {
            return;
        };
        let Some(leg) = self.legs.get(sink.leg) else {
            return;
        };
        let rewrite = Rewrite {
            ssrc: sink.line.send_ssrc,
            payload_type: dst_pt,
            marker: original.marker,
            seq_offset: segment.seq_offset,
            ts_offset: segment.ts_offset,
        };
        let mut data = media_buffer(original.payload.len(), original.padding.len());
        let written = match (sink.line.send_rtx_ssrc, route.maps.rtx_pt(dst_pt)) {
            (Some(rtx_ssrc), Some(rtx_pt)) => {
                sink.rtx_seq = sink.rtx_seq.wrapping_add(1);
                let rtx = (rtx_ssrc, rtx_pt, sink.rtx_seq);
                write_rtx(&route.maps, rewrite, rtx, original, now, &mut data)
            }
            // No RTX negotiated: resend as the original packet.
            _ => write_media(&route.maps, rewrite, original, now, &mut data).map(|_| ()),
        };
        if written.is_err() {
            return; // not possible for m-lines add_leg accepted
        }
        sink.retransmits += 1;
        emit(self.totals, out, leg.id, data, false);
    }
}

#[cfg(test)]
mod tests {
    use crate::relay::rtcp::{GenericNack, RtcpPacket};
    use crate::relay::rtp::RtpPacket;
    use crate::relay::tests::{
        line, rtcp, rtcp_to, rtp_to, session, session_of, video, video_line_with_rtx, A, B,
    };
    use crate::relay::{MediaKind, Switch};

    /// b's NACK for what we sent it on SSRC 6001.
    fn nack(lost: u16) -> Vec<u8> {
        let nack = GenericNack {
            sender_ssrc: 2222,
            media_ssrc: 6001,
            lost: vec![lost],
        };
        rtcp(|data| nack.write_to(data).unwrap())
    }

    #[test]
    fn a_nack_is_answered_from_the_history_over_the_receivers_rtx() {
        let mut relay = session_of(
            line(MediaKind::Video, 96, 1111, 5001),
            video_line_with_rtx(120, 2222, 6001),
        );
        let sent = rtp_to(&relay.handle_rtp(A, &video(10), 1.0), B);
        let seq = sent[0].sequence_number;
        let out = relay.handle_rtcp(B, &nack(seq), 1.1);
        assert_eq!(out.len(), 1); // nothing for the source to do
        let rtx = &rtp_to(&out, B)[0];
        assert_eq!((rtx.ssrc, rtx.payload_type), (6002, 121));
        assert_eq!(rtx.timestamp, sent[0].timestamp);
        assert_eq!(rtx.payload[..2], seq.to_be_bytes());
        assert_eq!(&rtx.payload[2..], b"frame");
        let stats = relay.stats();
        let sink = &stats.legs[1].sinks[0].1;
        assert_eq!((sink.nacks_received, sink.retransmits), (1, 1));
    }

    #[test]
    fn a_nack_for_a_packet_never_received_goes_to_the_source_and_its_rtx_to_the_asker() {
        let mut relay = session_of(
            video_line_with_rtx(96, 1111, 5001),
            line(MediaKind::Video, 120, 2222, 6001),
        );
        let first = rtp_to(&relay.handle_rtp(A, &video(10), 1.0), B)[0].sequence_number;
        relay.handle_rtp(A, &video(12), 1.02); // 11 was lost on its way to us
        let lost = first.wrapping_add(1);
        let out = relay.handle_rtcp(B, &nack(lost), 1.1);
        assert_eq!(
            rtcp_to(&out, A),
            [RtcpPacket::GenericNack(GenericNack {
                sender_ssrc: 5001,
                media_ssrc: 1111,
                lost: vec![11],
            })]
        );
        let repair = RtpPacket {
            payload_type: 97,
            sequence_number: 300,
            timestamp: 9000,
            ssrc: 1112,
            payload: [&11u16.to_be_bytes()[..], b"frame"].concat(),
            ..RtpPacket::default()
        }
        .to_bytes()
        .unwrap();
        // b negotiated no RTX: it gets the original packet, in its place in the stream.
        let resent = rtp_to(&relay.handle_rtp(A, &repair, 1.2), B);
        assert_eq!(resent.len(), 1);
        assert_eq!(
            (
                resent[0].sequence_number,
                resent[0].ssrc,
                &resent[0].payload[..]
            ),
            (lost, 6001, &b"frame"[..])
        );
        // Asked once, answered once: the same repair again is unsolicited.
        assert!(relay.handle_rtp(A, &repair, 1.3).is_empty());
        assert_eq!(relay.stats().legs[0].sources[0].1.nacks_forwarded, 1);
    }

    #[test]
    fn the_gate_covers_retransmissions() {
        let mut relay = session();
        let seq = rtp_to(&relay.handle_rtp(A, &video(10), 1.0), B)[0].sequence_number;
        relay.switch(B, Switch::Forwarding(false), 1.05).unwrap();
        assert!(relay.handle_rtcp(B, &nack(seq), 1.1).is_empty());
        assert_eq!(relay.stats().legs[1].sinks[0].1.nacks_received, 0);
    }
}
