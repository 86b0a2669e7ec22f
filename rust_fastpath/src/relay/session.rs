//! The relay: forwarding state of one session, sans-IO. Every call takes its input and
//! `now` (seconds, any epoch) and appends what to send to a `Vec<Transmit>`; nothing here
//! opens a socket, starts a thread or reads a clock. Behaviour, step for step, is the
//! reference's (`livelens/media/reference_relay.py`, whose docstring is the spec); the
//! differential tests in `tests/media/test_relay_equivalence.py` hold the two together.

use std::collections::HashMap;

use super::arena::{Arena, Id};
use super::error::RelayError;
use super::history::History;
use super::media::{validate_lines, MediaKind, MediaLine};
use super::rewrite::{write_media, write_rtx, Rewrite, RouteMaps};
use super::rng::Rng;
use super::rtcp::{
    parse_rtcp, GenericNack, PictureLossIndication, ReceiverEstimatedMaxBitrate, ReceiverReport,
    ReportBlock, RtcpPacket, SenderReport, SourceDescription,
};
use super::rtp::{audio_level, parse_rtp, wrap_integral, RtpPacket};
use super::stats::{
    DropReason, Drops, LegStats, RelayStats, SinkStats, SourceStats, Total, Totals,
};
use super::streams::{Leg, Reception, Route, Segment, Sink, Source, Waiter, MAX_PENDING_RTX};

/// A participant's transport, named by the caller.
pub type LegId = String;

/// At most one PLI per source per this many seconds.
pub const KEYFRAME_REQUEST_INTERVAL: f64 = 0.5;
/// Packets kept per source for NACK answers (a power of two).
pub const HISTORY_SIZE: usize = 512;
/// Seconds of silence from a sink's source before another may take over.
pub const SOURCE_IDLE_SWITCH: f64 = 1.0;
/// Seconds a sink keeps its audio source before a louder one may take over.
pub const SPEAKER_HOLD: f64 = 1.5;
/// Seconds between two receiver reports to a leg.
pub const REPORT_INTERVAL: f64 = 1.0;
/// At most one REMB per source per this many seconds, unless it drops by more than 20 %.
pub const REMB_INTERVAL: f64 = 0.5;
const LEVEL_SMOOTHING: f64 = 0.2;

/// One plaintext RTP or RTCP packet for the adapter to protect and send on a leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub leg_id: LegId,
    pub data: Vec<u8>,
}

/// How a relay is built.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// `Some`: sequence-number and timestamp starts from splitmix64 with this seed, the
    /// same as the Python reference with the same seed. `None`: OS randomness.
    pub seed: Option<u64>,
    /// Packets kept per source for NACK answers: a power of two up to 65536.
    pub history_size: usize,
    /// Seconds between two keyframe requests to one source.
    pub keyframe_interval: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: None,
            history_size: HISTORY_SIZE,
            keyframe_interval: KEYFRAME_REQUEST_INTERVAL,
        }
    }
}

/// Forwarding state of one session. Not thread-safe; one caller at a time.
pub struct Relay {
    rng: Rng,
    history_size: usize,
    keyframe_interval: f64,
    legs: Arena<Leg>,
    leg_ids: HashMap<LegId, Id<Leg>>,
    /// Legs in the order they were added, which is the order work is done in.
    leg_order: Vec<Id<Leg>>,
    sources: Arena<Source>,
    sinks: Arena<Sink>,
    routes: Arena<Route>,
    totals: Totals,
    drops: Drops,
}

/// Like Python's `min(deadline, due)`: the earlier one wins only if strictly earlier.
fn earliest(deadline: Option<f64>, due: f64) -> f64 {
    match deadline {
        Some(d) if due < d => due,
        Some(d) => d,
        None => due,
    }
}

/// Counts one packet sent and queues it.
fn emit(totals: &mut Totals, out: &mut Vec<Transmit>, leg_id: &str, data: Vec<u8>, rtcp: bool) {
    totals.add(if rtcp { Total::RtcpOut } else { Total::RtpOut }, 1);
    totals.add(Total::BytesOut, data.len() as u64);
    out.push(Transmit {
        leg_id: leg_id.to_owned(),
        data,
    });
}

impl Relay {
    /// # Errors
    /// [`RelayError::InvalidConfig`] if the history size is not a power of two up to 65536.
    pub fn new(config: Config) -> Result<Self, RelayError> {
        if !History::valid_size(config.history_size) {
            return Err(RelayError::InvalidConfig(
                "history size must be a power of two up to 65536".to_owned(),
            ));
        }
        Ok(Relay {
            rng: Rng::new(config.seed),
            history_size: config.history_size,
            keyframe_interval: config.keyframe_interval,
            legs: Arena::default(),
            leg_ids: HashMap::new(),
            leg_order: Vec::new(),
            sources: Arena::default(),
            sinks: Arena::default(),
            routes: Arena::default(),
            totals: Totals::default(),
            drops: Drops::default(),
        })
    }

    // ------------------------------------------------------------------ topology

    /// Whether a leg of this id exists.
    #[must_use]
    pub fn has_leg(&self, leg_id: &str) -> bool {
        self.leg_ids.contains_key(leg_id)
    }

    /// Registers a participant's transport. Fails closed: nothing reaches it until
    /// [`Relay::set_forwarding`] opens its gate and [`Relay::set_connected`] reports it up.
    ///
    /// # Errors
    /// [`RelayError::LegExists`], or [`RelayError::InvalidMedia`] for m-lines the relay
    /// cannot serve (nothing is changed then).
    pub fn add_leg(
        &mut self,
        leg_id: &str,
        media: &[MediaLine],
        forwarding: bool,
    ) -> Result<(), RelayError> {
        if self.has_leg(leg_id) {
            return Err(RelayError::LegExists(leg_id.to_owned()));
        }
        validate_lines(leg_id, media)?;
        let mut leg = Leg::new(leg_id, forwarding, media);
        let key = self.legs.insert(Leg::new(leg_id, forwarding, &[]));
        for line in media {
            leg.note_mid_extension(line);
            if line.receives {
                let source = self
                    .sources
                    .insert(Source::new(key, line, self.history_size));
                leg.sources.push((line.kind, source));
                leg.source_by_mid
                    .insert(line.mid.as_bytes().to_vec(), source);
                if let Some(ssrc) = line.recv_ssrc {
                    leg.ssrc_table.insert(ssrc, (source, false));
                }
                if let Some(ssrc) = line.recv_rtx_ssrc {
                    leg.ssrc_table.insert(ssrc, (source, true));
                }
            }
            if line.sends {
                let rtx_seq = self.rng.bits(15) as u16;
                let sink = self.sinks.insert(Sink::new(key, line, rtx_seq));
                leg.sinks.push((line.kind, sink));
                leg.sink_by_ssrc.insert(line.send_ssrc, sink);
                if let Some(ssrc) = line.send_rtx_ssrc {
                    leg.sink_by_ssrc.insert(ssrc, sink);
                }
            }
        }
        if let Some(slot) = self.legs.get_mut(key) {
            *slot = leg;
        }
        self.leg_ids.insert(leg_id.to_owned(), key);
        self.leg_order.push(key);
        Ok(())
    }

    /// Forgets a leg and every route to or from it; unknown legs are ignored.
    pub fn remove_leg(&mut self, leg_id: &str) {
        let Some(key) = self.leg_ids.remove(leg_id) else {
            return;
        };
        self.leg_order.retain(|k| *k != key);
        let Some(leg) = self.legs.remove(key) else {
            return;
        };
        for (_, source) in leg.sources {
            let routes = self
                .sources
                .get(source)
                .map(|s| s.routes.clone())
                .unwrap_or_default();
            for route in routes {
                self.unlink(route);
            }
            self.sources.remove(source);
        }
        for (_, sink) in leg.sinks {
            let routes = self
                .sinks
                .get(sink)
                .map(|s| s.routes.clone())
                .unwrap_or_default();
            for route in routes {
                self.unlink(route);
            }
            self.sinks.remove(sink);
        }
    }

    /// Subscribes `sink_leg` to the `kind` stream of `source_leg`. `Ok(false)` (and no
    /// change) when the source leg does not send that kind or the sink leg does not
    /// receive it, e.g. a listen-only participant.
    ///
    /// # Errors
    /// [`RelayError::SelfRoute`], [`RelayError::UnknownLeg`].
    pub fn add_route(
        &mut self,
        source_leg: &str,
        sink_leg: &str,
        kind: MediaKind,
    ) -> Result<bool, RelayError> {
        if source_leg == sink_leg {
            return Err(RelayError::SelfRoute);
        }
        let source_id = self.leg(source_leg)?.source(kind);
        let sink_id = self.leg(sink_leg)?.sink(kind);
        let (Some(source_id), Some(sink_id)) = (source_id, sink_id) else {
            return Ok(false);
        };
        let (Some(source), Some(sink)) = (self.sources.get(source_id), self.sinks.get(sink_id))
        else {
            return Ok(false);
        };
        let routes = &self.routes;
        let exists = source
            .routes
            .iter()
            .any(|&r| routes.get(r).is_some_and(|r| r.sink == sink_id));
        if !exists {
            let maps = RouteMaps::new(&source.line, &sink.line);
            let route = self.routes.insert(Route {
                source: source_id,
                sink: sink_id,
                maps,
            });
            if let Some(source) = self.sources.get_mut(source_id) {
                source.routes.push(route);
            }
            if let Some(sink) = self.sinks.get_mut(sink_id) {
                sink.routes.push(route);
            }
        }
        Ok(true)
    }

    /// Unsubscribes `sink_leg` from the `kind` stream of `source_leg`.
    ///
    /// # Errors
    /// [`RelayError::UnknownLeg`] for an unknown source leg (an unknown sink leg has no
    /// route to remove).
    pub fn remove_route(
        &mut self,
        source_leg: &str,
        sink_leg: &str,
        kind: MediaKind,
    ) -> Result<(), RelayError> {
        let Some(source) = self.leg(source_leg)?.source(kind) else {
            return Ok(());
        };
        let routes = self
            .sources
            .get(source)
            .map(|s| s.routes.clone())
            .unwrap_or_default();
        for route in routes {
            let to_sink_leg = self
                .routes
                .get(route)
                .and_then(|r| self.sinks.get(r.sink))
                .and_then(|s| self.legs.get(s.leg))
                .is_some_and(|leg| leg.id == sink_leg);
            if to_sink_leg {
                self.unlink(route);
            }
        }
        Ok(())
    }

    /// Opens or closes a leg's gate. Opening asks its video sources for a keyframe.
    ///
    /// # Errors
    /// [`RelayError::UnknownLeg`].
    pub fn set_forwarding(
        &mut self,
        leg_id: &str,
        allowed: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, RelayError> {
        let key = self.leg_key(leg_id)?;
        let mut out = Vec::new();
        if let Some(leg) = self.legs.get_mut(key) {
            let was = leg.deliverable();
            leg.forwarding = allowed;
            self.deliverability_changed(key, was, now, &mut out);
        }
        Ok(out)
    }

    /// Reports a leg's transport up or down (packets are only produced for legs that are up).
    ///
    /// # Errors
    /// [`RelayError::UnknownLeg`].
    pub fn set_connected(
        &mut self,
        leg_id: &str,
        connected: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, RelayError> {
        let key = self.leg_key(leg_id)?;
        let mut out = Vec::new();
        let Some(leg) = self.legs.get_mut(key) else {
            return Ok(out);
        };
        let was = leg.deliverable();
        leg.connected = connected;
        if connected {
            // Keyframe requests that waited for this leg's transport can go now.
            let sources: Vec<Id<Source>> = leg.sources.iter().map(|&(_, s)| s).collect();
            for source in sources {
                self.flush_keyframe_request(source, now, &mut out);
            }
        }
        self.deliverability_changed(key, was, now, &mut out);
        Ok(out)
    }

    // ------------------------------------------------------------------ packets

    /// Counts a packet in (`kind` and its bytes) and finds its leg; a packet for a leg
    /// that is gone is counted as such and goes no further.
    fn arrival(&mut self, leg_id: &str, kind: Total, len: usize) -> Option<Id<Leg>> {
        let Some(&key) = self.leg_ids.get(leg_id) else {
            self.totals.add(Total::UnknownLeg, 1);
            return None;
        };
        self.totals.add(kind, 1);
        self.totals.add(Total::BytesIn, len as u64);
        Some(key)
    }

    /// One plaintext RTP packet received on a leg.
    pub fn handle_rtp(&mut self, leg_id: &str, packet: &[u8], now: f64) -> Vec<Transmit> {
        let mut out = Vec::new();
        self.handle_rtp_into(leg_id, packet, now, &mut out);
        out
    }

    /// [`Relay::handle_rtp`], appending to `out` (for callers that batch).
    pub fn handle_rtp_into(
        &mut self,
        leg_id: &str,
        packet: &[u8],
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(key) = self.arrival(leg_id, Total::RtpIn, packet.len()) else {
            return;
        };
        let Ok(pkt) = parse_rtp(packet) else {
            self.drop_at_leg(key, DropReason::Malformed);
            return;
        };
        let known = self
            .legs
            .get(key)
            .and_then(|leg| leg.ssrc_table.get(&pkt.ssrc).copied());
        let Some((source_id, is_rtx)) = known.or_else(|| self.learn_ssrc(key, &pkt)) else {
            self.drop_at_leg(key, DropReason::UnknownSsrc);
            return;
        };
        let Some(source) = self.sources.get_mut(source_id) else {
            return;
        };
        source.packets += 1;
        source.bytes += packet.len() as u64;
        source.last_packet_at = Some(now);
        self.flush_keyframe_request(source_id, now, out);
        if is_rtx {
            self.on_source_rtx(source_id, &pkt, now, out);
        } else {
            self.on_source_media(source_id, pkt, now, out);
        }
    }

    /// One plaintext RTCP compound packet received on a leg.
    pub fn handle_rtcp(&mut self, leg_id: &str, packet: &[u8], now: f64) -> Vec<Transmit> {
        let mut out = Vec::new();
        self.handle_rtcp_into(leg_id, packet, now, &mut out);
        out
    }

    /// [`Relay::handle_rtcp`], appending to `out` (for callers that batch).
    pub fn handle_rtcp_into(
        &mut self,
        leg_id: &str,
        packet: &[u8],
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(key) = self.arrival(leg_id, Total::RtcpIn, packet.len()) else {
            return;
        };
        let Ok(packets) = parse_rtcp(packet) else {
            self.drop_at_leg(key, DropReason::Malformed);
            return;
        };
        for item in &packets {
            match item {
                RtcpPacket::SenderReport(report) => {
                    self.on_report_blocks(key, &report.reports);
                    self.on_sender_report(key, report, now, out);
                }
                RtcpPacket::ReceiverReport(report) => self.on_report_blocks(key, &report.reports),
                RtcpPacket::PictureLossIndication(pli) => {
                    self.on_keyframe_request(key, pli.media_ssrc, now, out);
                }
                RtcpPacket::FullIntraRequest(fir) => {
                    for entry in &fir.entries {
                        self.on_keyframe_request(key, entry.ssrc, now, out);
                    }
                }
                RtcpPacket::GenericNack(nack) => self.on_nack(key, nack, now, out),
                // SDES, BYE, transport-cc: consumed here (aiortc cannot use transport-cc).
                RtcpPacket::ReceiverEstimatedMaxBitrate(remb) => self.on_remb(key, remb, now, out),
                RtcpPacket::SourceDescription(_) | RtcpPacket::Other { .. } => {}
            }
        }
    }

    /// When [`Relay::handle_timeout`] next has work (a deferred keyframe request or REMB, a
    /// receiver report), if ever.
    #[must_use]
    pub fn next_timeout(&self) -> Option<f64> {
        let mut deadline: Option<f64> = None;
        for leg in self.leg_order.iter().filter_map(|&k| self.legs.get(k)) {
            for source in leg.sources.iter().filter_map(|&(_, s)| self.sources.get(s)) {
                // Requests waiting for an SSRC or a transport go out on the first packet or
                // on set_connected instead; a deadline for them would only spin.
                let ready = source.ssrc.is_some() && leg.connected;
                if let (true, Some(last), true) = (
                    source.keyframe_request_pending,
                    source.last_keyframe_request_at,
                    ready,
                ) {
                    deadline = Some(earliest(deadline, last + self.keyframe_interval));
                }
                if let (true, Some((_, sent_at)), true) =
                    (source.remb_pending, source.remb_sent, ready)
                {
                    deadline = Some(earliest(deadline, sent_at + REMB_INTERVAL));
                }
            }
            if let (Some(due), true) = (leg.report_due, leg.connected) {
                deadline = Some(earliest(deadline, due));
            }
        }
        deadline
    }

    /// Does the work that was due by `now`.
    pub fn handle_timeout(&mut self, now: f64) -> Vec<Transmit> {
        let mut out = Vec::new();
        let sources: Vec<Id<Source>> = self
            .leg_order
            .iter()
            .filter_map(|&k| self.legs.get(k))
            .flat_map(|leg| leg.sources.iter().map(|&(_, s)| s))
            .collect();
        for &source in &sources {
            self.flush_keyframe_request(source, now, &mut out);
        }
        for key in self.leg_order.clone() {
            self.report(key, now, &mut out);
        }
        for source in sources {
            if self.sources.get(source).is_some_and(|s| s.remb_pending) {
                self.send_remb(source, now, &mut out);
            }
        }
        out
    }

    /// Every counter: totals, and per leg its drops and per-stream counters.
    #[must_use]
    pub fn stats(&self) -> RelayStats {
        let legs = self
            .leg_order
            .iter()
            .filter_map(|&k| self.legs.get(k))
            .map(|leg| LegStats {
                id: leg.id.clone(),
                connected: leg.connected,
                forwarding: leg.forwarding,
                drops: leg.drops,
                sources: leg
                    .sources
                    .iter()
                    .filter_map(|&(kind, s)| Some((kind, self.source_stats(self.sources.get(s)?))))
                    .collect(),
                sinks: leg
                    .sinks
                    .iter()
                    .filter_map(|&(kind, s)| Some((kind, self.sink_stats(self.sinks.get(s)?))))
                    .collect(),
            })
            .collect();
        RelayStats {
            totals: self.totals,
            drops: self.drops,
            legs,
        }
    }

    // ------------------------------------------------------------------ internals

    fn leg_key(&self, leg_id: &str) -> Result<Id<Leg>, RelayError> {
        self.leg_ids
            .get(leg_id)
            .copied()
            .ok_or_else(|| RelayError::UnknownLeg(leg_id.to_owned()))
    }

    fn leg(&self, leg_id: &str) -> Result<&Leg, RelayError> {
        let key = self.leg_key(leg_id)?;
        self.legs
            .get(key)
            .ok_or_else(|| RelayError::UnknownLeg(leg_id.to_owned()))
    }

    fn leg_name(&self, leg: Id<Leg>) -> String {
        self.legs.get(leg).map(|l| l.id.clone()).unwrap_or_default()
    }

    fn source_stats(&self, source: &Source) -> SourceStats {
        SourceStats {
            ssrc: source.ssrc,
            rtx_ssrc: source.rtx_ssrc,
            packets: source.packets,
            bytes: source.bytes,
            rtx_packets: source.rtx_packets,
            padding_only: source.padding_only,
            lost: source.loss.lost(),
            keyframe_requests_sent: source.keyframe_requests,
            nacks_forwarded: source.nacks_forwarded,
            sinks: source
                .routes
                .iter()
                .filter_map(|&r| self.sinks.get(self.routes.get(r)?.sink))
                .map(|sink| self.leg_name(sink.leg))
                .collect(),
            drops: source.drops,
        }
    }

    fn sink_stats(&self, sink: &Sink) -> SinkStats {
        SinkStats {
            ssrc: sink.line.send_ssrc,
            rtx_ssrc: sink.line.send_rtx_ssrc,
            source: sink
                .current
                .and_then(|seg| self.routes.get(seg.route))
                .and_then(|r| self.sources.get(r.source))
                .map(|s| self.leg_name(s.leg)),
            packets: sink.packets,
            bytes: sink.bytes,
            retransmits: sink.retransmits,
            receiver_lost: sink.receiver_lost,
            keyframe_requests_received: sink.keyframe_requests,
            nacks_received: sink.nacks_received,
            sender_reports: sink.sender_reports,
            drops: sink.drops,
        }
    }

    fn drop_at_leg(&mut self, leg: Id<Leg>, reason: DropReason) {
        if let Some(leg) = self.legs.get_mut(leg) {
            leg.drops.add(reason);
        }
        self.drops.add(reason);
    }

    fn drop_at_source(&mut self, source: Id<Source>, reason: DropReason) {
        if let Some(source) = self.sources.get_mut(source) {
            source.drops.add(reason);
        }
        self.drops.add(reason);
    }

    fn drop_at_sink(&mut self, sink: Id<Sink>, reason: DropReason) {
        if let Some(sink) = self.sinks.get_mut(sink) {
            sink.drops.add(reason);
        }
        self.drops.add(reason);
    }

    fn unlink(&mut self, route_id: Id<Route>) {
        let Some(route) = self.routes.remove(route_id) else {
            return;
        };
        if let Some(source) = self.sources.get_mut(route.source) {
            source.routes.retain(|r| *r != route_id);
        }
        if let Some(sink) = self.sinks.get_mut(route.sink) {
            sink.routes.retain(|r| *r != route_id);
            if sink.current.is_some_and(|c| c.route == route_id) {
                sink.current = None; // the next source continues the same output stream
            }
        }
    }

    fn deliverability_changed(
        &mut self,
        key: Id<Leg>,
        was: bool,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(leg) = self.legs.get(key) else {
            return;
        };
        let deliverable = leg.deliverable();
        if deliverable == was {
            return;
        }
        let sinks: Vec<Id<Sink>> = leg.sinks.iter().map(|&(_, s)| s).collect();
        for sink_id in sinks {
            // Restart with a fresh segment: timestamps rebased on elapsed time, a marker
            // on audio, and (video) a keyframe the receiver can start decoding from.
            let Some(sink) = self.sinks.get_mut(sink_id) else {
                continue;
            };
            sink.current = None;
            if deliverable && sink.kind == MediaKind::Video {
                for source in self.route_sources(sink_id) {
                    self.request_keyframe(source, now, out);
                }
            }
        }
    }

    /// The sources of a sink's routes, in routing order.
    fn route_sources(&self, sink: Id<Sink>) -> Vec<Id<Source>> {
        self.sinks
            .get(sink)
            .map(|sink| {
                sink.routes
                    .iter()
                    .filter_map(|&r| self.routes.get(r).map(|r| r.source))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Binds an unsignalled SSRC to a source through the MID header extension.
    fn learn_ssrc(&mut self, key: Id<Leg>, pkt: &RtpPacket) -> Option<(Id<Source>, bool)> {
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

    fn on_source_media(
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

    fn on_source_rtx(
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
        for (sink_id, segment) in waiters {
            let live = self.routes.contains(segment.route)
                && self
                    .sinks
                    .get(sink_id)
                    .and_then(|sink| self.legs.get(sink.leg))
                    .is_some_and(Leg::deliverable);
            if live {
                self.retransmit(segment, &original, now, out);
            }
        }
        // Retransmitting never reads the history, so keeping the packet last saves a copy.
        if let Some(source) = self.sources.get_mut(source_id) {
            if source.history.get(osn).is_none() {
                source.history.put(original);
            }
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
        let mut data = Vec::new();
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
        emit(&mut self.totals, out, &leg.id, data, false);
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

    /// Sends a NACKed packet to one receiver again: over its RTX stream if it negotiated
    /// one, else as the original packet.
    fn retransmit(
        &mut self,
        segment: Segment,
        original: &RtpPacket,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        Self::retransmit_parts(
            &self.routes,
            &mut self.sinks,
            &self.legs,
            &mut self.totals,
            segment,
            original,
            now,
            out,
        );
    }

    /// [`Relay::retransmit`] on borrowed parts, so `original` may live in a source's history.
    #[allow(clippy::too_many_arguments)]
    fn retransmit_parts(
        routes: &Arena<Route>,
        sinks: &mut Arena<Sink>,
        legs: &Arena<Leg>,
        totals: &mut Totals,
        segment: Segment,
        original: &RtpPacket,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(route) = routes.get(segment.route) else {
            return;
        };
        let Some(dst_pt) = route.maps.dst_pt(original.payload_type) else {
            return;
        };
        let Some(sink) = sinks.get_mut(route.sink) else {
            return;
        };
        let Some(leg) = legs.get(sink.leg) else {
            return;
        };
        let rewrite = Rewrite {
            ssrc: sink.line.send_ssrc,
            payload_type: dst_pt,
            marker: original.marker,
            seq_offset: segment.seq_offset,
            ts_offset: segment.ts_offset,
        };
        let mut data = Vec::new();
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
        emit(totals, out, &leg.id, data, false);
    }

    fn request_keyframe(&mut self, source_id: Id<Source>, now: f64, out: &mut Vec<Transmit>) {
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
                emit(&mut self.totals, out, &leg.id, data, true);
            }
            _ => source.keyframe_request_pending = true, // sent when allowed, never lost
        }
    }

    fn flush_keyframe_request(&mut self, source: Id<Source>, now: f64, out: &mut Vec<Transmit>) {
        if self
            .sources
            .get(source)
            .is_some_and(|s| s.keyframe_request_pending)
        {
            self.request_keyframe(source, now, out);
        }
    }

    fn on_keyframe_request(
        &mut self,
        key: Id<Leg>,
        media_ssrc: u32,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        let Some(leg) = self.legs.get(key) else {
            return;
        };
        let Some(&sink_id) = leg.sink_by_ssrc.get(&media_ssrc) else {
            return;
        };
        if !leg.deliverable() {
            return;
        }
        let Some(sink) = self.sinks.get_mut(sink_id) else {
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

    fn on_nack(&mut self, key: Id<Leg>, nack: &GenericNack, now: f64, out: &mut Vec<Transmit>) {
        let Some(leg) = self.legs.get(key) else {
            return;
        };
        let Some(&sink_id) = leg.sink_by_ssrc.get(&nack.media_ssrc) else {
            return;
        };
        if !leg.deliverable() {
            return; // the gate also covers retransmissions
        }
        let Some(sink) = self.sinks.get_mut(sink_id) else {
            return;
        };
        sink.nacks_received += 1;
        let mut to_forward: Vec<(Id<Source>, Vec<u16>)> = Vec::new();
        for &out_seq in &nack.lost {
            let Some(segment) = self
                .sinks
                .get(sink_id)
                .and_then(|s| s.segment_covering(out_seq))
            else {
                continue;
            };
            let Some(source_id) = self.routes.get(segment.route).map(|r| r.source) else {
                continue; // the route has gone
            };
            let Some(source) = self.sources.get_mut(source_id) else {
                continue;
            };
            if segment.generation != source.generation || source.ssrc.is_none() {
                continue;
            }
            let src_seq = out_seq.wrapping_sub(segment.seq_offset);
            if let Some(original) = source.history.get(src_seq) {
                Self::retransmit_parts(
                    &self.routes,
                    &mut self.sinks,
                    &self.legs,
                    &mut self.totals,
                    segment,
                    original,
                    now,
                    out,
                );
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
                emit(&mut self.totals, out, &leg.id, data, true);
            }
        }
    }

    fn on_sender_report(
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
            emit(&mut self.totals, out, &sink_leg.id, data, true);
        }
    }

    /// The leg's receiver report, if due: a block per source that sent since the last.
    ///
    /// It goes to a connected leg whether or not its gate is open: the gate keeps other
    /// participants' media from a leg, and an RR only tells the leg about its own stream.
    fn report(&mut self, key: Id<Leg>, now: f64, out: &mut Vec<Transmit>) {
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
        emit(&mut self.totals, out, &leg.id, data, true);
    }

    /// A receiver's bandwidth estimate: each source it receives from may have to slow
    /// down (or may speed up) to the slowest of its receivers.
    fn on_remb(
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
    fn send_remb(&mut self, source_id: Id<Source>, now: f64, out: &mut Vec<Transmit>) {
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
            emit(&mut self.totals, out, &leg.id, data, true);
        }
    }

    /// What receivers report about our streams: the loss counter of each sink.
    fn on_report_blocks(&mut self, key: Id<Leg>, blocks: &[ReportBlock]) {
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
