//! The relay: forwarding state of one session, sans-IO. Every call takes its input and
//! `now` (seconds, any epoch) and appends what to send to a `Vec<Transmit>`; nothing here
//! opens a socket, starts a thread or reads a clock. Behaviour, step for step, is the
//! reference's (`livelens/media/reference_relay/`, whose docstring is the spec); the
//! differential tests in `tests/media/test_relay_equivalence.py` hold the two together.
//!
//! This module has [`Relay`], its public API and the topology; each concern is an
//! `impl Relay` of its own, named like the reference's modules:
//!
//! | module           | what                                                             |
//! |------------------|------------------------------------------------------------------|
//! | `forwarding`     | SSRC learning, source selection, rewritten media to each sink    |
//! | `retransmission` | NACKs answered from the history or forwarded, RTX to who asked   |
//! | `keyframes`      | PLI/FIR from receivers, rate-limited PLIs to sources             |
//! | `reports`        | SR translation, our receiver reports, REMB towards publishers    |

use std::collections::HashMap;

use super::arena::{Arena, Id};
use super::error::{Malformed, RelayError};
use super::history::History;
use super::media::{validate_lines, MediaKind, MediaLine};
use super::rewrite::RouteMaps;
use super::rng::Rng;
use super::rtcp::{parse_rtcp, RtcpPacket};
use super::rtp::{is_rtcp, parse_rtp, RtpPacket};
use super::stats::{
    DropReason, Drops, LegStats, RelayStats, SinkStats, SourceStats, Total, Totals,
};
use super::streams::{Leg, Route, Sink, Source};

mod forwarding;
mod keyframes;
mod reports;
mod retransmission;

pub use forwarding::{SOURCE_IDLE_SWITCH, SPEAKER_HOLD};
pub use keyframes::KEYFRAME_REQUEST_INTERVAL;
pub use reports::{REMB_INTERVAL, REPORT_INTERVAL};
pub use retransmission::HISTORY_SIZE;

/// A participant's transport, numbered by the caller: the media port's are numbered
/// once, when Python creates the leg, so no packet carries or looks up a string.
pub type LegId = u64;

/// One plaintext RTP or RTCP packet for the adapter to protect and send on a leg: the
/// relay's output and the media port's router's alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub leg_id: LegId,
    pub data: Vec<u8>,
}

/// One of a leg's two switches, on or off ([`Relay::switch`]). A leg gets the others'
/// media only with both on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// The (consent) gate: whether the leg may receive the others' media.
    Forwarding(bool),
    /// Whether the leg's transport is up; no packet goes to a leg that is down.
    Connected(bool),
}

/// What a received packet is, as its transport told RTP and RTCP apart on one port
/// (RFC 5761).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Rtp,
    Rtcp,
}

impl Protocol {
    /// RFC 5761's rule: RTCP packet types 192-223 are never RTP payload types.
    #[must_use]
    pub fn of(packet: &[u8]) -> Self {
        if is_rtcp(packet) {
            Self::Rtcp
        } else {
            Self::Rtp
        }
    }
}

/// Room a media transmit's buffer is made with beyond the payload: for the header and
/// extensions the relay writes, and for the SRTP tag the media port appends when it
/// protects the packet in place, so that neither reallocates it.
const TRANSMIT_HEADROOM: usize = 128;

/// Buffer for one rewritten media packet carrying `payload` and `padding` bytes.
fn media_buffer(payload: usize, padding: usize) -> Vec<u8> {
    Vec::with_capacity(payload + padding + TRANSMIT_HEADROOM)
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

/// What `fill` appends, for the calls that return their packets.
fn collect(fill: impl FnOnce(&mut Vec<Transmit>)) -> Vec<Transmit> {
    let mut out = Vec::new();
    fill(&mut out);
    out
}

/// Counts one packet sent and queues it.
fn emit(totals: &mut Totals, out: &mut Vec<Transmit>, leg_id: LegId, data: Vec<u8>, rtcp: bool) {
    totals.add(if rtcp { Total::RtcpOut } else { Total::RtpOut }, 1);
    totals.add(Total::BytesOut, data.len() as u64);
    out.push(Transmit { leg_id, data });
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
    pub fn has_leg(&self, leg_id: LegId) -> bool {
        self.leg_ids.contains_key(&leg_id)
    }

    /// Registers a participant's transport. Fails closed: nothing reaches it until both
    /// of its switches are on ([`Relay::switch`]).
    ///
    /// # Errors
    /// [`RelayError::LegExists`], or [`RelayError::InvalidMedia`] for m-lines the relay
    /// cannot serve (nothing is changed then).
    pub fn add_leg(
        &mut self,
        leg_id: LegId,
        media: &[MediaLine],
        forwarding: bool,
    ) -> Result<(), RelayError> {
        if self.has_leg(leg_id) {
            return Err(RelayError::LegExists(leg_id));
        }
        validate_lines(media)?;
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
        self.leg_ids.insert(leg_id, key);
        self.leg_order.push(key);
        Ok(())
    }

    /// Forgets a leg and every route to or from it; unknown legs are ignored.
    pub fn remove_leg(&mut self, leg_id: LegId) {
        let Some(key) = self.leg_ids.remove(&leg_id) else {
            return;
        };
        self.leg_order.retain(|k| *k != key);
        let Some(leg) = self.legs.remove(key) else {
            return;
        };
        // The leg's streams go first; unlinking their routes then updates the other ends.
        let sources = leg
            .sources
            .iter()
            .filter_map(|&(_, s)| self.sources.remove(s));
        let mut routes: Vec<Id<Route>> = sources.flat_map(|s| s.routes).collect();
        let sinks = leg.sinks.iter().filter_map(|&(_, s)| self.sinks.remove(s));
        routes.extend(sinks.flat_map(|s| s.routes));
        for route in routes {
            self.unlink(route);
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
        source_leg: LegId,
        sink_leg: LegId,
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
        source_leg: LegId,
        sink_leg: LegId,
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

    /// Turns one of a leg's switches on or off. When that changes whether the leg is
    /// deliverable, its sinks restart, and becoming deliverable asks its video sources
    /// for a keyframe.
    ///
    /// # Errors
    /// [`RelayError::UnknownLeg`].
    pub fn switch(
        &mut self,
        leg_id: LegId,
        switch: Switch,
        now: f64,
    ) -> Result<Vec<Transmit>, RelayError> {
        let key = self.leg_key(leg_id)?;
        let mut out = Vec::new();
        let Some(leg) = self.legs.get_mut(key) else {
            return Ok(out);
        };
        let was = leg.deliverable();
        match switch {
            Switch::Forwarding(on) => leg.forwarding = on,
            Switch::Connected(on) => leg.connected = on,
        }
        if switch == Switch::Connected(true) {
            // Keyframe requests that waited for this leg's transport can go now.
            let sources: Vec<Id<Source>> = leg.sources.iter().map(|&(_, s)| s).collect();
            for source in sources {
                self.flush_keyframe_request(source, now, &mut out);
            }
        }
        if self
            .legs
            .get(key)
            .is_some_and(|leg| leg.deliverable() != was)
        {
            self.restart_sinks(key, now, &mut out);
        }
        Ok(out)
    }

    // ------------------------------------------------------------------ packets

    /// Counts a packet in (`kind` and its bytes), finds its leg and parses it; a packet
    /// for a leg that is gone, or malformed, is counted as such and goes no further.
    fn arrival<'p, P>(
        &mut self,
        leg_id: LegId,
        kind: Total,
        packet: &'p [u8],
        parse: impl FnOnce(&'p [u8]) -> Result<P, Malformed>,
    ) -> Option<(Id<Leg>, P)> {
        let Some(&key) = self.leg_ids.get(&leg_id) else {
            self.totals.add(Total::UnknownLeg, 1);
            return None;
        };
        self.totals.add(kind, 1);
        self.totals.add(Total::BytesIn, packet.len() as u64);
        let Ok(parsed) = parse(packet) else {
            self.drop_at_leg(key, DropReason::Malformed);
            return None;
        };
        Some((key, parsed))
    }

    /// One plaintext RTP packet received on a leg.
    pub fn handle_rtp(&mut self, leg_id: LegId, packet: &[u8], now: f64) -> Vec<Transmit> {
        collect(|out| self.receive(Protocol::Rtp, leg_id, packet, now, out))
    }

    /// One plaintext RTCP compound packet received on a leg.
    pub fn handle_rtcp(&mut self, leg_id: LegId, packet: &[u8], now: f64) -> Vec<Transmit> {
        collect(|out| self.receive(Protocol::Rtcp, leg_id, packet, now, out))
    }

    /// One plaintext packet received on a leg, of the protocol its transport found it to
    /// be, appending what it causes to `out` (for callers that batch).
    pub fn receive(
        &mut self,
        protocol: Protocol,
        leg_id: LegId,
        packet: &[u8],
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
        match protocol {
            Protocol::Rtp => {
                if let Some((key, pkt)) = self.arrival(leg_id, Total::RtpIn, packet, parse_rtp) {
                    self.on_rtp(key, pkt, packet.len(), now, out);
                }
            }
            Protocol::Rtcp => {
                if let Some((key, packets)) =
                    self.arrival(leg_id, Total::RtcpIn, packet, parse_rtcp)
                {
                    self.on_rtcp(key, &packets, now, out);
                }
            }
        }
    }

    /// An RTP packet of `size` bytes from a leg: counted at its source, then forwarded
    /// (media) or matched to the NACKs it answers (RTX).
    fn on_rtp(
        &mut self,
        key: Id<Leg>,
        pkt: RtpPacket,
        size: usize,
        now: f64,
        out: &mut Vec<Transmit>,
    ) {
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
        source.bytes += size as u64;
        source.last_packet_at = Some(now);
        self.flush_keyframe_request(source_id, now, out);
        if is_rtx {
            self.on_source_rtx(source_id, &pkt, now, out);
        } else {
            self.on_source_media(source_id, pkt, now, out);
        }
    }

    /// An RTCP compound from a leg: feedback about its sinks, reports from its sources.
    fn on_rtcp(&mut self, key: Id<Leg>, packets: &[RtcpPacket], now: f64, out: &mut Vec<Transmit>) {
        for item in packets {
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
                // on the Connected switch instead; a deadline for them would only spin.
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
                id: leg.id,
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

    fn leg_key(&self, leg_id: LegId) -> Result<Id<Leg>, RelayError> {
        self.leg_ids
            .get(&leg_id)
            .copied()
            .ok_or(RelayError::UnknownLeg(leg_id))
    }

    fn leg(&self, leg_id: LegId) -> Result<&Leg, RelayError> {
        let key = self.leg_key(leg_id)?;
        self.legs.get(key).ok_or(RelayError::UnknownLeg(leg_id))
    }

    /// The caller's number of a leg the relay holds.
    fn leg_number(&self, leg: Id<Leg>) -> Option<LegId> {
        self.legs.get(leg).map(|l| l.id)
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
                .filter_map(|sink| self.leg_number(sink.leg))
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
                .and_then(|s| self.leg_number(s.leg)),
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

    /// Restarts each sink of a leg whose deliverability changed with a fresh segment:
    /// timestamps rebased on elapsed time, a marker on audio, and (video, if it became
    /// deliverable) a keyframe the receiver can start decoding from.
    fn restart_sinks(&mut self, key: Id<Leg>, now: f64, out: &mut Vec<Transmit>) {
        let Some(leg) = self.legs.get(key) else {
            return;
        };
        let deliverable = leg.deliverable();
        let sinks: Vec<Id<Sink>> = leg.sinks.iter().map(|&(_, s)| s).collect();
        for sink_id in sinks {
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

    /// The sink that a receiver's feedback (PLI, FIR, NACK) about `media_ssrc` is for, if
    /// the receiver's leg is deliverable: the gate also covers what feedback sends.
    fn feedback_sink(&mut self, key: Id<Leg>, media_ssrc: u32) -> Option<(Id<Sink>, &mut Sink)> {
        let leg = self.legs.get(key)?;
        let &sink_id = leg.sink_by_ssrc.get(&media_ssrc)?;
        if !leg.deliverable() {
            return None;
        }
        Some((sink_id, self.sinks.get_mut(sink_id)?))
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
}
