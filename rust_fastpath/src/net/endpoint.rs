//! The sans-IO core of the media port: every datagram of every session goes through
//! [`Endpoint::handle_datagram`], which demultiplexes it (RFC 7983), answers STUN
//! (ICE-lite), queues DTLS for Python, and unprotects SRTP/SRTCP into the session's
//! router, whose output it protects per receiving leg. No sockets, no clock, no Python:
//! the I/O adapter (`io.rs`/`driver.rs`) feeds it datagrams and `now`. ICE-TCP
//! connections (`tcp.rs`, `tcp_link.rs`) feed it frames instead, and get their own
//! bounded send queues: a transport's nominated [`Path`] is either.
//!
//! Sessions, legs and transports are numbers: Python numbers its sessions and
//! participants once, when it creates their legs, so the per-packet path (address ->
//! transport -> session -> router -> receiving legs -> their transports) never carries,
//! hashes or allocates a string.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;

use super::demux::{self, Kind};
use super::ice_lite::{local_part, IceLite, Nomination};
use super::path::Path;
use super::router::{
    LegId, MediaKind, MediaLine, PacketRouter, RelayError, RelayStats, Switch, Transmit,
};
use super::stun::Message;
use super::tcp_link::{Class, TcpConfig, TcpLinks};
use crate::srtp::{self, Profile, SrtpContext};

/// One transport: a participant's (BUNDLEd) ICE/DTLS/SRTP connection. Numbered by the
/// endpoint, from 1.
pub type TransportId = u64;
/// A session (one relay), numbered by the caller.
pub type SessionId = u64;

/// SRTP datagrams kept per transport while its keys are on their way from Python
/// (the browser may finish DTLS and send media before aiortc has exported the keys).
const MAX_PENDING_SRTP: usize = 256;
/// Events Python has not collected yet; past this, DTLS is dropped (and counted).
const MAX_EVENTS: usize = 8192;

/// What Python has to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A DTLS record for aiortc's `RTCDtlsTransport` of this transport.
    Dtls(TransportId, Vec<u8>),
    /// ICE nominated its first address: the transport is up, DTLS may start.
    Selected(TransportId, SocketAddr),
    /// A valid nomination from a new address: the browser moved (network change).
    Moved(TransportId, SocketAddr),
    /// No valid consent check for 30 s: the transport is dead.
    ConsentExpired(TransportId),
    /// Input that suggests an attack rather than a bad network (forged SRTP, STUN with
    /// wrong credentials), reported at the 1st, 10th, 100th, ... occurrence of `reason`
    /// on the transport (None: no transport matched) so a flood stays a few events.
    Anomaly {
        transport: Option<TransportId>,
        reason: &'static str,
        count: u64,
        from: SocketAddr,
    },
    /// The recording on this leg of the session ended on its own (see `recording`).
    RecordingFailed {
        session: SessionId,
        leg: LegId,
        reason: String,
    },
}

/// Drop reasons the security log hears about (see [`Event::Anomaly`]).
const ANOMALIES: [&str; 4] = [
    "srtp_auth_failed",
    "stun_bad_integrity",
    "stun_wrong_username",
    "stun_unknown_username",
];

/// The 1st, 10th, 100th, ... occurrence.
fn notable(count: u64) -> bool {
    count == 1 || (count.is_multiple_of(10) && notable(count / 10))
}

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

/// Packet and byte counters, and drops by reason.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub rx_packets: HashMap<&'static str, u64>,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub drops: HashMap<&'static str, u64>,
}

impl Counters {
    fn rx(&mut self, kind: &'static str, bytes: usize) {
        *self.rx_packets.entry(kind).or_default() += 1;
        self.rx_bytes += bytes as u64;
    }

    fn tx(&mut self, bytes: usize) {
        self.tx_packets += 1;
        self.tx_bytes += bytes as u64;
    }

    /// Counts a drop; returns how many of this reason so far.
    fn drop(&mut self, reason: &'static str) -> u64 {
        let count = self.drops.entry(reason).or_default();
        *count += 1;
        *count
    }
}

struct Srtp {
    rx: SrtpContext,
    tx: SrtpContext,
}

struct Transport {
    session: SessionId,
    leg: LegId,
    ice: IceLite,
    srtp: Option<Srtp>,
    pending: Vec<Vec<u8>>,
    consent_reported: bool,
    counters: Counters,
}

struct Session {
    router: Box<dyn PacketRouter>,
    /// Which transport currently carries each leg (a reconnect replaces it).
    legs: HashMap<LegId, TransportId>,
    /// What each leg is sent, for the send queues of ICE-TCP legs.
    lines: HashMap<LegId, LegLines>,
    /// Sink legs that record instead of sending (see `recording`).
    recorders: HashMap<LegId, recording::RecorderLeg>,
}

/// The SSRCs the server sends a leg, by kind, and its video SSRC (for a keyframe request
/// after a TCP queue dropped video).
#[derive(Default)]
struct LegLines {
    ssrcs: Vec<(u32, MediaKind)>,
    video: Option<u32>,
}

impl LegLines {
    fn new(media: &[MediaLine]) -> Self {
        let mut lines = Self::default();
        for line in media {
            lines.ssrcs.push((line.send_ssrc, line.kind));
            if let Some(rtx) = line.send_rtx_ssrc {
                lines.ssrcs.push((rtx, line.kind));
            }
            if line.kind == MediaKind::Video && lines.video.is_none() {
                lines.video = Some(line.send_ssrc);
            }
        }
        lines
    }

    /// What a plaintext packet to this leg is, for its send queue.
    fn class(&self, packet: &[u8]) -> Class {
        if demux::classify(packet) != Kind::Rtp {
            return Class::Control;
        }
        let ssrc = packet
            .get(8..12)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        match self.ssrcs.iter().find(|(s, _)| Some(*s) == ssrc) {
            Some((_, MediaKind::Audio)) => Class::Audio,
            _ => Class::Video, // video, or a stream we do not know: the first to go
        }
    }
}

/// Makes the router of a new session.
pub type RouterFactory = fn() -> Box<dyn PacketRouter>;

pub struct Endpoint {
    transports: HashMap<TransportId, Transport>,
    by_ufrag: HashMap<String, TransportId>,
    by_address: HashMap<Path, TransportId>,
    sessions: HashMap<SessionId, Session>,
    tcp: TcpLinks,
    /// Legs whose TCP queue dropped video: a keyframe request is due for each.
    keyframes: Vec<(SessionId, LegId)>,
    /// NACKs recorder legs queued, to feed their relays (see `recording`).
    recorder_feedback: Vec<(SessionId, LegId, Vec<u8>)>,
    events: VecDeque<Event>,
    next_id: TransportId,
    counters: Counters,
    new_router: RouterFactory,
    consent_timeout: f64,
    /// Reused for every packet: the datagram being unprotected, and the router's output.
    packet: Vec<u8>,
    transmits: Vec<Transmit>,
}

fn srtp_reason(error: srtp::Error) -> &'static str {
    match error {
        srtp::Error::Malformed => "srtp_malformed",
        srtp::Error::AuthFailed => "srtp_auth_failed",
        srtp::Error::Replayed => "srtp_replayed",
        _ => "srtp_rejected",
    }
}

/// Errors of the control API; each becomes its own Python exception (`src/py/error.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlError {
    UnknownTransport(TransportId),
    UnknownSession(SessionId),
    DuplicateUfrag,
    NotConnected,
    /// The SRTP profile or a key or salt length.
    Srtp(srtp::Error),
    /// The session's router refused a topology change (unknown leg, self route, ...).
    Router(RelayError),
    /// A leg number the session already uses (for a recorder).
    LegInUse(LegId),
    /// No recording runs in the session on that leg (stopped, failed, never started).
    NotRecording(SessionId),
    /// The recording's sealing refused (its key, its id) or failed.
    Recording(crate::record::seal::SealError),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTransport(id) => write!(f, "unknown transport {id}"),
            Self::UnknownSession(id) => write!(f, "unknown session {id}"),
            Self::DuplicateUfrag => f.write_str("ICE ufrag already in use"),
            Self::NotConnected => f.write_str("transport has no nominated address"),
            Self::Srtp(error) => error.fmt(f),
            Self::Router(error) => error.fmt(f),
            Self::LegInUse(leg) => write!(f, "leg {leg} is in use"),
            Self::NotRecording(id) => write!(f, "no recording in session {id}"),
            Self::Recording(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ControlError {}

impl From<RelayError> for ControlError {
    fn from(error: RelayError) -> Self {
        Self::Router(error)
    }
}

/// One transport's counters and state, for `MediaSocket.stats`.
#[derive(Clone, Debug)]
pub struct TransportStats {
    pub session: SessionId,
    pub leg: LegId,
    pub counters: Counters,
    /// Where we send: the address ICE nominated ...
    pub nominated: Option<SocketAddr>,
    /// ... over `"udp"` or `"tcp"`.
    pub protocol: Option<&'static str>,
    /// The receiving SRTP context's counters, once keys are set.
    pub srtp: Option<srtp::Stats>,
}

/// The whole port: its own counters (what matched no transport), every transport's.
#[derive(Clone, Debug)]
pub struct PortStats {
    pub port: Counters,
    pub transports: Vec<(TransportId, TransportStats)>,
    pub sessions: usize,
    pub tcp: TcpStats,
}

/// The ICE-TCP side: connections open and accepted, closes by reason.
#[derive(Clone, Debug, Default)]
pub struct TcpStats {
    pub connections: usize,
    pub accepted: u64,
    pub closed: HashMap<&'static str, u64>,
}

/// One session: the transports that carry its legs, and its router's counters (None for
/// a session the endpoint does not have).
#[derive(Clone, Debug)]
pub struct SessionStats {
    pub legs: Vec<(LegId, TransportStats)>,
    pub router: Option<RelayStats>,
}

impl Endpoint {
    #[must_use]
    pub fn new(new_router: RouterFactory) -> Self {
        Self {
            transports: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_address: HashMap::new(),
            sessions: HashMap::new(),
            tcp: TcpLinks::new(TcpConfig::default()),
            keyframes: Vec::new(),
            recorder_feedback: Vec::new(),
            events: VecDeque::new(),
            next_id: 1,
            counters: Counters::default(),
            new_router,
            consent_timeout: super::ice_lite::CONSENT_TIMEOUT,
            packet: Vec::new(),
            transmits: Vec::new(),
        }
    }

    /// Seconds without a valid check before a transport's consent expires (for new
    /// transports; RFC 7675's 30 s by default, shorter in tests).
    pub fn set_consent_timeout(&mut self, seconds: f64) {
        self.consent_timeout = seconds;
    }

    /// Limits and timeouts of ICE-TCP connections (for connections accepted from now).
    pub fn set_tcp_config(&mut self, config: TcpConfig) {
        self.tcp.config = config;
    }

    // ------------------------------------------------------------------ packets

    /// One received datagram; what to send goes to `out`, what Python must see to the
    /// event queue.
    pub fn handle_datagram(
        &mut self,
        from: SocketAddr,
        data: &[u8],
        now: f64,
        out: &mut Vec<Outgoing>,
    ) {
        let from = Path::Udp(from);
        match demux::classify(data) {
            Kind::Stun => {
                self.handle_stun(from, data, now, out);
            }
            Kind::Dtls => self.handle_dtls(from, data),
            Kind::Rtp => self.handle_srtp(from, data, false, now, out),
            Kind::Rtcp => self.handle_srtp(from, data, true, now, out),
            Kind::Unknown => {
                self.counters.drop("unknown_protocol");
            }
        }
    }

    /// Send `data` down `path`: a datagram to `out`, or a frame on a TCP connection's
    /// queue. `Err`: the drop reason (the queue was full, the connection is gone).
    fn emit(
        tcp: &mut TcpLinks,
        path: Path,
        class: Class,
        data: Vec<u8>,
        now: f64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), &'static str> {
        match path {
            Path::Udp(to) => {
                out.push(Outgoing { to, data });
                Ok(())
            }
            Path::Tcp(conn, _) if tcp.link(conn).is_none() => Err("tx_path_closed"),
            Path::Tcp(conn, _) => match tcp.send(conn, class, &data, now) {
                true => Ok(()),
                false => Err(class.drop_reason()),
            },
        }
    }

    /// A STUN message; the transport whose check it passed, if it did.
    fn handle_stun(
        &mut self,
        from: Path,
        data: &[u8],
        now: f64,
        out: &mut Vec<Outgoing>,
    ) -> Option<TransportId> {
        let message = match Message::parse(data) {
            Ok(m) => m,
            Err(_) => {
                self.counters.drop("stun_malformed");
                return None;
            }
        };
        let Some(&id) = message
            .username()
            .and_then(|u| self.by_ufrag.get(local_part(u)))
        else {
            // No answer: the source may be forged (see `ice_lite` on reflection).
            let count = self.counters.drop("stun_unknown_username");
            self.anomaly(None, "stun_unknown_username", count, from.address());
            return None;
        };
        let transport = self.transports.get_mut(&id)?;
        transport.counters.rx("stun", data.len());
        match transport.ice.handle_request(&message, from, now) {
            Ok((response, nomination, evicted)) => {
                let len = response.len();
                match Self::emit(&mut self.tcp, from, Class::Control, response, now, out) {
                    Ok(()) => transport.counters.tx(len),
                    Err(reason) => _ = transport.counters.drop(reason),
                }
                if let Some(old) = evicted {
                    if self.by_address.get(&old) == Some(&id) {
                        self.by_address.remove(&old);
                    }
                }
                self.by_address.insert(from, id);
                match nomination {
                    Nomination::None => {}
                    Nomination::Selected(p) => self.push_event(Event::Selected(id, p.address())),
                    Nomination::Moved(p) => self.push_event(Event::Moved(id, p.address())),
                }
                Some(id)
            }
            Err(refusal) => {
                let count = transport.counters.drop(refusal.reason());
                self.counters.drop(refusal.reason());
                self.anomaly(Some(id), refusal.reason(), count, from.address());
                None
            }
        }
    }

    fn handle_dtls(&mut self, from: Path, data: &[u8]) {
        let Some(&id) = self.by_address.get(&from) else {
            {
                self.counters.drop("unknown_address");
                return;
            };
        };
        if let Some(t) = self.transports.get_mut(&id) {
            t.counters.rx("dtls", data.len());
        }
        self.push_event(Event::Dtls(id, data.to_vec()));
    }

    fn anomaly(
        &mut self,
        transport: Option<TransportId>,
        reason: &'static str,
        count: u64,
        from: SocketAddr,
    ) {
        if ANOMALIES.contains(&reason) && notable(count) {
            self.push_event(Event::Anomaly {
                transport,
                reason,
                count,
                from,
            });
        }
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.counters.drop("events_overflow");
            return;
        }
        self.events.push_back(event);
    }

    fn handle_srtp(
        &mut self,
        from: Path,
        data: &[u8],
        rtcp: bool,
        now: f64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(&id) = self.by_address.get(&from) else {
            {
                self.counters.drop("unknown_address");
                return;
            };
        };
        let Some(transport) = self.transports.get_mut(&id) else {
            return;
        };
        transport
            .counters
            .rx(if rtcp { "srtcp" } else { "srtp" }, data.len());
        let Some(srtp) = transport.srtp.as_mut() else {
            if transport.pending.len() < MAX_PENDING_SRTP {
                transport.pending.push(data.to_vec());
            } else {
                transport.counters.drop("srtp_no_keys");
            }
            return;
        };
        let packet = &mut self.packet;
        packet.clear();
        packet.extend_from_slice(data);
        let result = if rtcp {
            srtp.rx.unprotect_rtcp(packet)
        } else {
            srtp.rx.unprotect_rtp(packet)
        };
        if let Err(error) = result {
            let reason = srtp_reason(error);
            let count = transport.counters.drop(reason);
            self.anomaly(Some(id), reason, count, from.address());
            return;
        }
        let Some(session) = self.sessions.get_mut(&transport.session) else {
            transport.counters.drop("no_session");
            return;
        };
        if session.legs.get(&transport.leg) != Some(&id) {
            transport.counters.drop("stale_transport");
            return;
        }
        let transmits = &mut self.transmits;
        if rtcp {
            session
                .router
                .handle_rtcp(transport.leg, packet, now, transmits);
        } else {
            session
                .router
                .handle_rtp(transport.leg, packet, now, transmits);
        }
        let session_id = transport.session;
        self.send_transmits(session_id, now, out);
        self.request_keyframes(now, out);
    }

    /// Protect each transmit the router left in `self.transmits` for its leg's transport
    /// and send it down the transport's path.
    fn send_transmits(&mut self, session: SessionId, now: f64, out: &mut Vec<Outgoing>) {
        let mut transmits = std::mem::take(&mut self.transmits);
        let mut recorded = Vec::new();
        if let Some(s) = self.sessions.get_mut(&session) {
            for transmit in transmits.drain(..) {
                let leg = transmit.leg_id;
                if !s.recorders.is_empty() {
                    if let Some(recorder) = s.recorders.get_mut(&leg) {
                        recorded.push((leg, recorder.take(&transmit.data, now)));
                        continue;
                    }
                }
                let sent = Self::send_transmit(
                    s,
                    &mut self.transports,
                    &mut self.tcp,
                    &mut self.counters,
                    transmit,
                    now,
                    out,
                );
                if sent == Sent::VideoDropped {
                    self.keyframes.push((session, leg));
                }
            }
        }
        transmits.clear(); // the session is gone: nothing to send
        self.transmits = transmits; // keeps its capacity for the next packet
        for (leg, recorded) in recorded {
            self.recorded(session, leg, recorded);
        }
    }

    fn send_transmit(
        session: &Session,
        transports: &mut HashMap<TransportId, Transport>,
        tcp: &mut TcpLinks,
        counters: &mut Counters,
        Transmit { leg_id, mut data }: Transmit,
        now: f64,
        out: &mut Vec<Outgoing>,
    ) -> Sent {
        let Some(t) = session
            .legs
            .get(&leg_id)
            .and_then(|id| transports.get_mut(id))
        else {
            counters.drop("tx_unknown_leg");
            return Sent::No;
        };
        let (Some(srtp), Some(path)) = (t.srtp.as_mut(), t.ice.nominated()) else {
            t.counters.drop("tx_not_ready");
            return Sent::No;
        };
        let class = match path {
            Path::Udp(_) => Class::Control, // not used: datagrams have no queue
            Path::Tcp(..) => session
                .lines
                .get(&leg_id)
                .map_or(Class::Video, |l| l.class(&data)),
        };
        let result = if demux::classify(&data) == Kind::Rtcp {
            srtp.tx.protect_rtcp(&mut data)
        } else {
            srtp.tx.protect_rtp(&mut data)
        };
        if result.is_err() {
            t.counters.drop("tx_protect_failed");
            return Sent::No;
        }
        let len = data.len();
        match Self::emit(tcp, path, class, data, now, out) {
            Ok(()) => t.counters.tx(len),
            Err(reason) => _ = t.counters.drop(reason),
        }
        match path {
            Path::Tcp(conn, _) if tcp.take_keyframe_wanted(conn, now) => Sent::VideoDropped,
            _ => Sent::Yes,
        }
    }

    /// A keyframe request (PLI) for each leg whose TCP queue dropped video, as if the
    /// receiver had sent it: the relay passes it on to the source, rate-limited.
    fn request_keyframes(&mut self, now: f64, out: &mut Vec<Outgoing>) {
        self.send_recorder_feedback(now, out);
        if self.keyframes.is_empty() {
            return;
        }
        for (session, leg) in std::mem::take(&mut self.keyframes) {
            let Some(s) = self.sessions.get_mut(&session) else {
                continue;
            };
            let Some(ssrc) = s.lines.get(&leg).and_then(|l| l.video) else {
                continue;
            };
            let mut pli = vec![0x81, 206, 0, 2, 0, 0, 0, 0];
            pli.extend_from_slice(&ssrc.to_be_bytes());
            s.router.handle_rtcp(leg, &pli, now, &mut self.transmits);
            self.send_transmits(session, now, out);
        }
        // Drops caused by these requests wait for the next packet's turn.
    }

    /// Timers: consent expiry and the routers' own.
    pub fn handle_timeout(&mut self, now: f64, out: &mut Vec<Outgoing>) {
        let mut expired = Vec::new();
        for (id, t) in &mut self.transports {
            if !t.consent_reported && t.ice.consent_expired(now) {
                t.consent_reported = true;
                expired.push(*id);
            }
        }
        for id in expired {
            self.push_event(Event::ConsentExpired(id));
        }
        self.tcp.handle_timeout(now);
        let due: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.router.next_timeout().is_some_and(|t| t <= now))
            .map(|(&k, _)| k)
            .collect();
        for session in due {
            if let Some(s) = self.sessions.get_mut(&session) {
                s.router.handle_timeout(now, &mut self.transmits);
                self.send_transmits(session, now, out);
            }
        }
        self.request_keyframes(now, out);
    }

    #[must_use]
    pub fn next_timeout(&self) -> Option<f64> {
        let consent = self
            .transports
            .values()
            .filter(|t| !t.consent_reported)
            .filter_map(|t| t.ice.consent_deadline());
        let routers = self
            .sessions
            .values()
            .filter_map(|s| s.router.next_timeout());
        consent
            .chain(routers)
            .chain(self.tcp.next_timeout())
            .reduce(f64::min)
    }

    #[must_use]
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Events for Python, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    // ------------------------------------------------------------------ transports

    /// A transport for one participant's connection with our ICE credentials.
    pub fn add_transport(
        &mut self,
        session: SessionId,
        leg: LegId,
        local_ufrag: &str,
        local_pwd: &str,
    ) -> Result<TransportId, ControlError> {
        if self.by_ufrag.contains_key(local_ufrag) {
            return Err(ControlError::DuplicateUfrag);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.by_ufrag.insert(local_ufrag.to_owned(), id);
        let mut ice = IceLite::new(local_ufrag.to_owned(), local_pwd.to_owned());
        ice.consent_timeout = self.consent_timeout;
        self.transports.insert(
            id,
            Transport {
                session,
                leg,
                ice,
                srtp: None,
                pending: Vec::new(),
                consent_reported: false,
                counters: Counters::default(),
            },
        );
        Ok(id)
    }

    pub fn set_remote_ufrag(&mut self, id: TransportId, ufrag: &str) -> Result<(), ControlError> {
        let t = self
            .transports
            .get_mut(&id)
            .ok_or(ControlError::UnknownTransport(id))?;
        t.ice.set_remote_ufrag(ufrag.to_owned());
        Ok(())
    }

    pub fn remove_transport(&mut self, id: TransportId) {
        let Some(t) = self.transports.remove(&id) else {
            return;
        };
        self.by_ufrag.remove(t.ice.local_ufrag());
        self.by_address.retain(|_, v| *v != id);
        if let Some(s) = self.sessions.get_mut(&t.session) {
            if s.legs.get(&t.leg) == Some(&id) {
                s.legs.remove(&t.leg);
            }
        }
    }

    /// Send DTLS (or anything else Python sends) down a transport's nominated path.
    ///
    /// # Errors
    /// An unknown transport; one without a nominated path.
    pub fn send(
        &mut self,
        id: TransportId,
        data: Vec<u8>,
        now: f64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), ControlError> {
        let t = self
            .transports
            .get_mut(&id)
            .ok_or(ControlError::UnknownTransport(id))?;
        let path = t.ice.nominated().ok_or(ControlError::NotConnected)?;
        let len = data.len();
        match Self::emit(&mut self.tcp, path, Class::Control, data, now, out) {
            Ok(()) => t.counters.tx(len),
            Err(reason) => _ = t.counters.drop(reason),
        }
        Ok(())
    }

    /// SRTP keys from the DTLS handshake; packets that waited for them are processed now.
    #[allow(clippy::too_many_arguments)]
    pub fn set_srtp(
        &mut self,
        id: TransportId,
        profile: &str,
        tx_key: &[u8],
        tx_salt: &[u8],
        rx_key: &[u8],
        rx_salt: &[u8],
        now: f64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), ControlError> {
        let profile = Profile::from_name(profile).map_err(ControlError::Srtp)?;
        let tx = SrtpContext::new(profile, tx_key, tx_salt).map_err(ControlError::Srtp)?;
        let rx = SrtpContext::new(profile, rx_key, rx_salt).map_err(ControlError::Srtp)?;
        let t = self
            .transports
            .get_mut(&id)
            .ok_or(ControlError::UnknownTransport(id))?;
        t.srtp = Some(Srtp { rx, tx });
        let pending = std::mem::take(&mut t.pending);
        let from = t.ice.nominated();
        if let Some(from) = from {
            for data in pending {
                let rtcp = demux::classify(&data) == Kind::Rtcp;
                // Counted once already when it arrived; undo that before re-handling.
                if let Some(t) = self.transports.get_mut(&id) {
                    let key = if rtcp { "srtcp" } else { "srtp" };
                    if let Some(n) = t.counters.rx_packets.get_mut(key) {
                        *n = n.saturating_sub(1);
                    }
                    t.counters.rx_bytes = t.counters.rx_bytes.saturating_sub(data.len() as u64);
                }
                self.handle_srtp(from, &data, rtcp, now, out);
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------ sessions

    fn session(&mut self, session: SessionId) -> &mut Session {
        let new_router = self.new_router;
        self.sessions.entry(session).or_insert_with(|| Session {
            router: new_router(),
            legs: HashMap::new(),
            lines: HashMap::new(),
            recorders: HashMap::new(),
        })
    }

    /// Register a leg with the session's router, carried by `transport`.
    ///
    /// # Errors
    /// An unknown transport; the router's refusal of the leg.
    pub fn add_leg(
        &mut self,
        session: SessionId,
        leg: LegId,
        transport: TransportId,
        media: &[MediaLine],
        forwarding: bool,
    ) -> Result<(), ControlError> {
        if !self.transports.contains_key(&transport) {
            return Err(ControlError::UnknownTransport(transport));
        }
        self.recording_source_changed(session, leg);
        let s = self.session(session);
        // A reconnect re-adds a leg: the new transport replaces the old one.
        s.router.remove_leg(leg);
        s.router.add_leg(leg, media, forwarding)?;
        s.legs.insert(leg, transport);
        s.lines.insert(leg, LegLines::new(media));
        Ok(())
    }

    pub fn remove_leg(&mut self, session: SessionId, leg: LegId) {
        self.recording_source_changed(session, leg);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.legs.remove(&leg);
            s.lines.remove(&leg);
            s.router.remove_leg(leg);
        }
    }

    /// The router of a session the endpoint has.
    fn router(&mut self, session: SessionId) -> Result<&mut dyn PacketRouter, ControlError> {
        let s = self
            .sessions
            .get_mut(&session)
            .ok_or(ControlError::UnknownSession(session))?;
        Ok(s.router.as_mut())
    }

    /// Subscribe `sink` to the `kind` stream of `source`; `Ok(false)` if one side has no
    /// such stream (a listen-only leg, say).
    ///
    /// # Errors
    /// An unknown session; the router's refusal (unknown leg, a route to itself).
    pub fn add_route(
        &mut self,
        session: SessionId,
        source: LegId,
        sink: LegId,
        kind: MediaKind,
    ) -> Result<bool, ControlError> {
        let added = self.router(session)?.add_route(source, sink, kind)?;
        if added {
            self.note_recording_route(session, source, sink);
        }
        Ok(added)
    }

    /// # Errors
    /// An unknown session; an unknown source leg.
    pub fn remove_route(
        &mut self,
        session: SessionId,
        source: LegId,
        sink: LegId,
        kind: MediaKind,
    ) -> Result<(), ControlError> {
        Ok(self.router(session)?.remove_route(source, sink, kind)?)
    }

    /// Turns one of a leg's switches on or off (see `Relay::switch`) and sends what that
    /// sets off.
    ///
    /// # Errors
    /// An unknown session or leg.
    pub fn switch(
        &mut self,
        session: SessionId,
        leg: LegId,
        switch: Switch,
        now: f64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), ControlError> {
        let transmits = self.router(session)?.switch(leg, switch, now)?;
        self.transmits.extend(transmits);
        self.send_transmits(session, now, out);
        Ok(())
    }

    pub fn end_session(&mut self, session: SessionId) {
        self.sessions.remove(&session);
    }

    // ------------------------------------------------------------------ stats

    /// Counters of the whole port, and of each transport.
    #[must_use]
    pub fn stats(&self) -> PortStats {
        PortStats {
            port: self.counters.clone(),
            transports: self
                .transports
                .iter()
                .map(|(&id, t)| (id, Self::transport_stats(t)))
                .collect(),
            sessions: self.sessions.len(),
            tcp: TcpStats {
                connections: self.tcp.len(),
                accepted: self.tcp.accepted,
                closed: self.tcp.closed.clone(),
            },
        }
    }

    fn transport_stats(t: &Transport) -> TransportStats {
        TransportStats {
            session: t.session,
            leg: t.leg,
            counters: t.counters.clone(),
            nominated: t.ice.nominated().map(Path::address),
            protocol: t.ice.nominated().map(Path::protocol),
            srtp: t.srtp.as_ref().map(|s| *s.rx.stats()),
        }
    }

    /// One session: its legs' transport counters and the router's own view.
    #[must_use]
    pub fn session_stats(&self, session: SessionId) -> SessionStats {
        let Some(s) = self.sessions.get(&session) else {
            return SessionStats {
                legs: Vec::new(),
                router: None,
            };
        };
        SessionStats {
            legs: s
                .legs
                .iter()
                .filter_map(|(&leg, id)| {
                    Some((leg, Self::transport_stats(self.transports.get(id)?)))
                })
                .collect(),
            router: Some(s.router.stats()),
        }
    }
}

/// What became of a transmit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
    No,
    Yes,
    /// Sent or not, its TCP queue dropped video and wants a keyframe.
    VideoDropped,
}

mod recording;
mod tcp;
pub use recording::{
    recorder_lines, MAX_UNCOLLECTED, RECORDER_AUDIO_SSRC, RECORDER_OPUS_PT, RECORDER_VIDEO_SSRC,
    RECORDER_VP8_PT,
};
#[cfg(test)]
mod tests;
