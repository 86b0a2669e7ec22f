//! Forwarding: a source's media in, a rewritten copy out to each sink that has it
//! selected. Learns unsignalled SSRCs from the MID extension, picks which source a sink
//! plays (idle switch, dominant speaker) and opens the segments whose offsets make one
//! continuous output stream across switches.

use super::{emit, media_buffer, Relay, Transmit, REPORT_INTERVAL};
use crate::relay::arena::Id;
use crate::relay::media::MediaKind;
use crate::relay::rewrite::{write_media, Rewrite};
use crate::relay::rtp::{audio_level, wrap_integral, RtpPacket};
use crate::relay::stats::DropReason;
use crate::relay::streams::{Leg, Reception, Route, Segment, Sink, Source};

/// Seconds of silence from a sink's source before another may take over.
pub const SOURCE_IDLE_SWITCH: f64 = 1.0;
/// Seconds a sink keeps its audio source before a louder one may take over.
pub const SPEAKER_HOLD: f64 = 1.5;
const LEVEL_SMOOTHING: f64 = 0.2;

impl Relay {
    /// Binds an unsignalled SSRC to a source through the MID header extension.
    pub(super) fn learn_ssrc(
        &mut self,
        key: Id<Leg>,
        pkt: &RtpPacket,
    ) -> Option<(Id<Source>, bool)> {
        let leg = self.legs.get_mut(key)?;
        let mid = &pkt
            .extensions
            .iter()
            .find(|e| leg.mid_ext_ids.contains(&e.id))?
            .value;
        let source_id = *leg.source_by_mid.get(mid)?;
        let source = self.sources.get_mut(source_id)?;
        let is_rtx = source
            .line
            .codec(pkt.payload_type)
            .is_some_and(|c| c.is_rtx());
        let previous = if is_rtx {
            source.rtx_ssrc.replace(pkt.ssrc)
        } else {
            source.generation += 1;
            source.history.clear();
            source.pending_rtx.clear();
            source.loss.reset();
            source.reception = Reception::default();
            source.ssrc.replace(pkt.ssrc)
        };
        if let Some(previous) = previous {
            leg.ssrc_table.remove(&previous);
        }
        leg.ssrc_table.insert(pkt.ssrc, (source_id, is_rtx));
        Some((source_id, is_rtx))
    }

    pub(super) fn on_source_media(
        &mut self,
        source_id: Id<Source>,
        pkt: RtpPacket,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(source) = self.sources.get_mut(source_id) else {
            return;
        };
        let in_order = source.loss.note(pkt.sequence_number);
        if let (true, Some(clock_rate)) = (in_order, source.clock_rate(pkt.payload_type)) {
            source
                .reception
                .note_arrival(pkt.timestamp, now, clock_rate);
        }
        if let Some(leg) = self.legs.get_mut(source.leg) {
            leg.report_due.get_or_insert(now + REPORT_INTERVAL);
        }
        if !source.is_media_pt(pkt.payload_type) {
            self.drop_at_source(source_id, DropReason::CodecMismatch);
            return;
        }
        if let Some(level) = source
            .audio_level_id
            .and_then(|id| pkt.extension(id))
            .and_then(audio_level)
        {
            source.level += LEVEL_SMOOTHING * (f64::from(level) - source.level);
        }
        // A source without RTX resends on its media SSRC; that copy goes out below.
        source.pending_rtx.take(pkt.sequence_number);
        let routes = source.routes.len();
        if routes == 0 {
            source.history.put(pkt);
            self.drop_at_source(source_id, DropReason::NoRoute);
            return;
        }
        for i in 0..routes {
            let Some(&route) = self.sources.get(source_id).and_then(|s| s.routes.get(i)) else {
                break;
            };
            self.forward(route, &pkt, now, out);
        }
        // Forwarding never reads the history, so keeping the packet last saves a copy.
        if let Some(source) = self.sources.get_mut(source_id) {
            source.history.put(pkt);
        }
    }

    fn forward(&mut self, route_id: Id<Route>, pkt: &RtpPacket, now: f64, out: &mut Vec<Transmit>) {
        let Some(route) = self.routes.get(route_id) else {
            return;
        };
        let sink_id = route.sink;
        let dst_pt = route.maps.dst_pt(pkt.payload_type);
        let Some((forwarding, connected)) = self
            .sinks
            .get(sink_id)
            .and_then(|s| self.legs.get(s.leg))
            .map(|leg| (leg.forwarding, leg.connected))
        else {
            return;
        };
        if !forwarding {
            self.drop_at_sink(sink_id, DropReason::Gated);
            return;
        }
        if !connected {
            self.drop_at_sink(sink_id, DropReason::NotConnected);
            return;
        }
        let Some(dst_pt) = dst_pt else {
            self.drop_at_sink(sink_id, DropReason::CodecMismatch);
            return;
        };
        let Some(segment) = self.segment_for(route_id, pkt, now, out) else {
            self.drop_at_sink(sink_id, DropReason::NotSelected);
            return;
        };
        let (Some(route), Some(sink)) = (self.routes.get(route_id), self.sinks.get_mut(sink_id))
        else {
            return;
        };
        let Some(leg) = self.legs.get(sink.leg) else {
            return;
        };
        // Audio: mark the start of a talkspurt so the jitter buffer resyncs after a switch.
        let marker = pkt.marker || (segment.fresh && sink.kind == MediaKind::Audio);
        if let Some(current) = sink.current.as_mut() {
            current.fresh = false;
        }
        let rewrite = Rewrite {
            ssrc: sink.line.send_ssrc,
            payload_type: dst_pt,
            marker,
            seq_offset: segment.seq_offset,
            ts_offset: segment.ts_offset,
        };
        let mut data = media_buffer(pkt.payload.len(), pkt.padding.len());
        // Cannot fail for m-lines add_leg accepted; a packet that could not be written
        // is not sent, like any other packet that cannot be.
        let Ok(written) = write_media(&route.maps, rewrite, pkt, now, &mut data) else {
            return;
        };
        sink.note_sent(
            written.sequence_number,
            written.timestamp,
            pkt.payload.len(),
            data.len(),
            now,
        );
        emit(&mut self.totals, out, leg.id, data, false);
    }

    fn segment_for(
        &mut self,
        route_id: Id<Route>,
        pkt: &RtpPacket,
        now: f64,
        out: &mut Vec<Transmit>,
    ) -> Option<Segment> {
        let route = self.routes.get(route_id)?;
        let (source_id, sink_id) = (route.source, route.sink);
        let clock_rate = route.maps.clock_rate(pkt.payload_type);
        let generation = self.sources.get(source_id)?.generation;
        let sink = self.sinks.get(sink_id)?;
        if let Some(current) = sink.current {
            if current.route == route_id {
                if current.generation == generation {
                    return Some(current);
                }
            } else {
                let holder = self.routes.get(current.route).map(|r| r.source);
                if !self.may_switch(sink_id, holder, source_id, now) {
                    return None;
                }
            }
        }
        let sink = self.sinks.get(sink_id)?;
        let (start_seq, ts_base) = match sink.last_seq {
            None => {
                // Below 2^15, like browsers: SRTP ROC safety.
                let start_seq = self.rng.bits(15) as u16;
                (start_seq, self.rng.bits(32) as u32)
            }
            Some(last_seq) => {
                let since = now - sink.last_sent_at;
                let elapsed = if since > 0.0 { since } else { 0.0 };
                let ticks = (elapsed * f64::from(clock_rate)).round_ties_even();
                let step = if ticks > 1.0 { wrap_integral(ticks) } else { 1 };
                (
                    last_seq.wrapping_add(1),
                    sink.last_ts.wrapping_add(step as u32),
                )
            }
        };
        let segment = Segment {
            route: route_id,
            generation,
            start_seq,
            seq_offset: start_seq.wrapping_sub(pkt.sequence_number),
            ts_offset: ts_base.wrapping_sub(pkt.timestamp),
            fresh: true,
        };
        let sink = self.sinks.get_mut(sink_id)?;
        sink.open(segment, now);
        if sink.kind == MediaKind::Video {
            self.request_keyframe(source_id, now, out); // decoding can only start at a keyframe
        }
        Some(segment)
    }

    fn may_switch(
        &self,
        sink: Id<Sink>,
        holder: Option<Id<Source>>,
        candidate: Id<Source>,
        now: f64,
    ) -> bool {
        let Some(current) = holder.and_then(|h| self.sources.get(h)) else {
            return true; // the holder is gone
        };
        match current.last_packet_at {
            None => return true,
            Some(last) if now - last >= SOURCE_IDLE_SWITCH => return true,
            Some(_) => {}
        }
        // Dominant speaker for audio, from the RFC 6464 levels the browsers send.
        let (Some(sink), Some(candidate)) = (self.sinks.get(sink), self.sources.get(candidate))
        else {
            return false;
        };
        sink.kind == MediaKind::Audio
            && now - sink.switched_at >= SPEAKER_HOLD
            && candidate.speaking()
            && !current.speaking()
    }
}

#[cfg(test)]
mod tests {
    use crate::relay::rtcp::{parse_rtcp, PictureLossIndication, RtcpPacket};
    use crate::relay::rtp::{parse_rtp, RtpPacket};
    use crate::relay::tests::{
        join, line, rtp_to, session, session_of, video, video_packet, A, B, C,
    };
    use crate::relay::{DropReason, MediaKind, Switch};

    #[test]
    fn forwards_rewritten_and_asks_the_source_for_a_keyframe() {
        let mut relay = session();
        let out = relay.handle_rtp(A, &video(10), 1.0);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].leg_id, A); // PLI first: the new stream must start at a keyframe
        let Ok(rtcp) = parse_rtcp(&out[0].data) else {
            panic!("not RTCP")
        };
        assert_eq!(
            rtcp,
            [RtcpPacket::PictureLossIndication(PictureLossIndication {
                sender_ssrc: 5001,
                media_ssrc: 1111
            })]
        );
        assert_eq!(out[1].leg_id, B);
        let forwarded = parse_rtp(&out[1].data).unwrap();
        assert_eq!((forwarded.ssrc, forwarded.payload_type), (6001, 120));
        assert_eq!(forwarded.payload, b"frame");
        assert!(forwarded.sequence_number < 0x8000);
        let stats = relay.stats();
        assert_eq!(stats.legs[1].sinks[0].1.packets, 1);
        assert_eq!(stats.legs[0].sources[0].1.sinks, [B]);
    }

    #[test]
    fn a_closed_gate_is_a_counted_drop() {
        let mut relay = session();
        relay.switch(B, Switch::Forwarding(false), 0.5).unwrap();
        assert!(relay.handle_rtp(A, &video(1), 1.0).is_empty());
        assert_eq!(relay.stats().drops.get(DropReason::Gated), 1);
    }

    #[test]
    fn an_unsignalled_ssrc_is_learnt_from_the_mid_and_a_new_one_continues_the_stream() {
        let mut a = line(MediaKind::Video, 96, 0, 5001);
        a.recv_ssrc = None;
        let mut relay = session_of(a, line(MediaKind::Video, 120, 2222, 6001));
        let without_mid = RtpPacket {
            payload_type: 96,
            ssrc: 9999,
            payload: b"frame".to_vec(),
            ..RtpPacket::default()
        };
        assert!(relay
            .handle_rtp(A, &without_mid.to_bytes().unwrap(), 0.9)
            .is_empty());
        assert_eq!(relay.stats().drops.get(DropReason::UnknownSsrc), 1);
        let first = rtp_to(&relay.handle_rtp(A, &video_packet(1111, 10, 9000), 1.0), B);
        // A new SSRC on the same MID (the encoder restarted): the receiver's stream goes on.
        let next = rtp_to(&relay.handle_rtp(A, &video_packet(4444, 500, 1), 1.1), B);
        assert_eq!(
            next[0].sequence_number,
            first[0].sequence_number.wrapping_add(1)
        );
        // Timestamps advance by the time elapsed: 0.1 s at 90 kHz.
        assert_eq!(next[0].timestamp, first[0].timestamp.wrapping_add(9000));
        assert_eq!(relay.stats().legs[0].sources[0].1.ssrc, Some(4444));
    }

    #[test]
    fn a_sink_keeps_its_source_until_that_source_falls_silent() {
        let mut relay = session();
        join(&mut relay, C, line(MediaKind::Video, 96, 3333, 7001));
        assert!(relay.add_route(C, B, MediaKind::Video).unwrap());
        let held = rtp_to(&relay.handle_rtp(A, &video(10), 1.0), B);
        let early = relay.handle_rtp(C, &video_packet(3333, 70, 0), 1.5);
        assert!(rtp_to(&early, B).is_empty());
        assert_eq!(relay.stats().drops.get(DropReason::NotSelected), 1);
        let taken = rtp_to(&relay.handle_rtp(C, &video_packet(3333, 71, 0), 2.0), B);
        assert_eq!(
            taken[0].sequence_number,
            held[0].sequence_number.wrapping_add(1)
        );
        assert_eq!(relay.stats().legs[1].sinks[0].1.source, Some(C));
    }
}
