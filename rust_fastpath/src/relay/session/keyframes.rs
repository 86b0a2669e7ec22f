//! Keyframes: PLI and FIR from receivers, and the relay's own needs (a new segment, an
//! opened gate), become a PLI to the source, at most one per keyframe interval; a request
//! that cannot go yet stays pending and is never lost.

use super::{emit, Relay, Transmit};
use crate::relay::arena::Id;
use crate::relay::media::MediaKind;
use crate::relay::rtcp::PictureLossIndication;
use crate::relay::streams::{Leg, Source};

/// At most one PLI per source per this many seconds.
pub const KEYFRAME_REQUEST_INTERVAL: f64 = 0.5;

impl Relay {
    pub(super) fn request_keyframe(
        &mut self,
        source_id: Id<Source>,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(source) = self.sources.get_mut(source_id) else {
            return; // removed
        };
        if source.kind != MediaKind::Video {
            return;
        }
        let Some(leg) = self.legs.get(source.leg) else {
            return;
        };
        let last = source.last_keyframe_request_at;
        // A clock that went backwards must not lock requests out, hence the `now < last`.
        let allowed = last.is_none_or(|last| now - last >= self.keyframe_interval || now < last);
        match source.ssrc {
            Some(ssrc) if leg.connected && allowed => {
                source.last_keyframe_request_at = Some(now);
                source.keyframe_request_pending = false;
                source.keyframe_requests += 1;
                let mut data = Vec::with_capacity(12);
                PictureLossIndication {
                    sender_ssrc: source.line.send_ssrc,
                    media_ssrc: ssrc,
                }
                .write_to(&mut data);
                emit(&mut self.totals, out, leg.id, data, true);
            }
            _ => source.keyframe_request_pending = true, // sent when allowed, never lost
        }
    }

    pub(super) fn flush_keyframe_request(
        &mut self,
        source: Id<Source>,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        if self
            .sources
            .get(source)
            .is_some_and(|s| s.keyframe_request_pending)
        {
            self.request_keyframe(source, now, out);
        }
    }

    pub(super) fn on_keyframe_request(
        &mut self,
        key: Id<Leg>,
        media_ssrc: u32,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some((sink_id, sink)) = self.feedback_sink(key, media_ssrc) else {
            return;
        };
        sink.keyframe_requests += 1;
        let sources = match sink.current {
            Some(current) => self
                .routes
                .get(current.route)
                .map(|r| r.source)
                .into_iter()
                .collect(),
            None => self.route_sources(sink_id),
        };
        for source in sources {
            self.request_keyframe(source, now, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::relay::rtcp::{FirEntry, FullIntraRequest, PictureLossIndication, RtcpPacket};
    use crate::relay::tests::{rtcp, rtcp_to, session, video, A, B};
    use crate::relay::Switch;

    /// What the source, a, gets: a PLI from its leg's SSRC for its media SSRC.
    const PLI_TO_A: RtcpPacket<'static> =
        RtcpPacket::PictureLossIndication(PictureLossIndication {
            sender_ssrc: 5001,
            media_ssrc: 1111,
        });

    fn pli_from_b() -> Vec<u8> {
        let pli = PictureLossIndication {
            sender_ssrc: 2222,
            media_ssrc: 6001,
        };
        rtcp(|data| pli.write_to(data))
    }

    #[test]
    fn a_receivers_pli_goes_to_the_source_at_most_once_per_interval() {
        let mut relay = session();
        relay.handle_rtp(A, &video(10), 1.0); // b's new stream asked a for one at 1.0
        assert!(relay.handle_rtcp(B, &pli_from_b(), 1.2).is_empty()); // kept, not lost
        assert_eq!(relay.next_timeout(), Some(1.5));
        assert_eq!(rtcp_to(&relay.handle_timeout(1.5), A), [PLI_TO_A]);
        let out = relay.handle_rtcp(B, &pli_from_b(), 2.0);
        assert_eq!(rtcp_to(&out, A), [PLI_TO_A]);
        let stats = relay.stats();
        assert_eq!(stats.legs[1].sinks[0].1.keyframe_requests_received, 2);
        assert_eq!(stats.legs[0].sources[0].1.keyframe_requests_sent, 3);
    }

    #[test]
    fn a_fir_becomes_a_pli_that_waits_for_the_sources_transport() {
        let mut relay = session();
        relay.switch(A, Switch::Connected(false), 0.5).unwrap();
        let fir = FullIntraRequest {
            sender_ssrc: 2222,
            entries: vec![FirEntry {
                ssrc: 6001,
                sequence_number: 1,
            }],
        };
        let fir = rtcp(|data| fir.write_to(data).unwrap());
        assert!(relay.handle_rtcp(B, &fir, 1.0).is_empty());
        assert_eq!(relay.next_timeout(), None); // the transport coming up sends it
        let out = relay.switch(A, Switch::Connected(true), 2.0).unwrap();
        assert_eq!(rtcp_to(&out, A), [PLI_TO_A]);
    }
}
