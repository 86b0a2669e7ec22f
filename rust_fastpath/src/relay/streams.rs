//! The relay's state per leg and per stream: legs, sources (what a leg sends us), sinks
//! (what we send a leg), routes between them and segments of a sink's output.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::arena::Id;
use super::history::History;
use super::media::{MediaKind, MediaLine, AUDIO_LEVEL_URI, MID_URI};
use super::rewrite::RouteMaps;
use super::rtp::wrap_integral;
use super::session::LegId;
use super::stats::Drops;

/// A sink's output keeps this many segments back, to translate NACKs across a switch.
pub const MAX_SEGMENTS: usize = 8;
/// Per source: NACKed sequence numbers waiting for the source's RTX.
pub const MAX_PENDING_RTX: usize = 1024;
/// Smoothed -dBov below which a source counts as speaking.
pub const SPEAKING_LEVEL: f64 = 50.0;

/// One participant's transport (one BUNDLEd PeerConnection).
pub struct Leg {
    pub id: LegId,
    pub forwarding: bool,
    pub connected: bool,
    pub drops: Drops,
    pub sources: Vec<(MediaKind, Id<Source>)>,
    pub sinks: Vec<(MediaKind, Id<Sink>)>,
    /// SSRC -> (source, is RTX).
    pub ssrc_table: HashMap<u32, (Id<Source>, bool)>,
    pub sink_by_ssrc: HashMap<u32, Id<Sink>>,
    pub source_by_mid: HashMap<Vec<u8>, Id<Source>>,
    pub mid_ext_ids: Vec<u8>,
    /// The next receiver report, once media came.
    pub report_due: Option<f64>,
    /// Sender SSRC and CNAME of our RTCP towards the leg (RR, REMB).
    pub rtcp_ssrc: u32,
    pub rtcp_cname: Option<String>,
}

impl Leg {
    /// `lines`: the leg's m-lines. Our RTCP comes from the first one we send on (its SSRC
    /// and CNAME are in our answer), failing that from the first one.
    pub fn new(id: LegId, forwarding: bool, lines: &[MediaLine]) -> Self {
        let rtcp_line = lines.iter().find(|l| l.sends).or_else(|| lines.first());
        Leg {
            report_due: None,
            rtcp_ssrc: rtcp_line.map_or(0, |l| l.send_ssrc),
            rtcp_cname: rtcp_line.and_then(|l| l.cname.clone()),
            id,
            forwarding,
            connected: false,
            drops: Drops::default(),
            sources: Vec::new(),
            sinks: Vec::new(),
            ssrc_table: HashMap::new(),
            sink_by_ssrc: HashMap::new(),
            source_by_mid: HashMap::new(),
            mid_ext_ids: Vec::new(),
        }
    }

    /// Packets are produced for a leg only while its gate is open and its transport up.
    pub fn deliverable(&self) -> bool {
        self.connected && self.forwarding
    }

    pub fn source(&self, kind: MediaKind) -> Option<Id<Source>> {
        self.sources
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|&(_, id)| id)
    }

    pub fn sink(&self, kind: MediaKind) -> Option<Id<Sink>> {
        self.sinks
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|&(_, id)| id)
    }

    pub fn note_mid_extension(&mut self, line: &MediaLine) {
        if let Some(id) = line.extension_id(MID_URI) {
            if !self.mid_ext_ids.contains(&id) {
                self.mid_ext_ids.push(id);
            }
        }
    }
}

/// A source bound to a sink.
pub struct Route {
    pub source: Id<Source>,
    pub sink: Id<Sink>,
    pub maps: RouteMaps,
}

/// A run of a sink's output taken from one source generation, with fixed offsets.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub route: Id<Route>,
    pub generation: u64,
    pub start_seq: u16,
    pub seq_offset: u16,
    pub ts_offset: u32,
    /// The next packet opens the segment (audio marks it).
    pub fresh: bool,
}

/// Who waits for the source's retransmission of a sequence number.
pub type Waiter = (Id<Sink>, Segment);

/// NACKed sequence numbers waiting for the source's RTX, oldest request first.
#[derive(Default)]
pub struct PendingRtx {
    entries: HashMap<u16, (u64, Vec<Waiter>)>,
    order: BTreeMap<u64, u16>,
    next: u64,
}

impl PendingRtx {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The waiters of `seq`, made (as the newest entry) if there were none.
    pub fn waiters(&mut self, seq: u16) -> &mut Vec<Waiter> {
        let next = &mut self.next;
        let order = &mut self.order;
        &mut self
            .entries
            .entry(seq)
            .or_insert_with(|| {
                let at = *next;
                *next += 1;
                order.insert(at, seq);
                (at, Vec::new())
            })
            .1
    }

    pub fn take(&mut self, seq: u16) -> Vec<Waiter> {
        match self.entries.remove(&seq) {
            Some((at, waiters)) => {
                self.order.remove(&at);
                waiters
            }
            None => Vec::new(),
        }
    }

    pub fn evict_oldest(&mut self) {
        if let Some((_, seq)) = self.order.pop_first() {
            self.entries.remove(&seq);
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

/// Media packets a source's sequence numbers say never arrived: RFC 3550 A.3's expected
/// minus received, without A.1's probation; duplicates count as received, so late and
/// repeated packets bring it down, and it never goes below 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct LossCounter {
    /// (first extended sequence number, highest extended sequence number).
    span: Option<(u64, u64)>,
    received: u64,
}

impl LossCounter {
    /// Counts a packet; true if it is the first or the newest so far (in order).
    pub fn note(&mut self, seq: u16) -> bool {
        self.received += 1;
        match &mut self.span {
            None => {
                self.span = Some((u64::from(seq), u64::from(seq)));
                true
            }
            Some((_, highest)) => {
                let delta = seq.wrapping_sub(*highest as u16);
                let newer = (1..0x8000).contains(&delta);
                if newer {
                    *highest += u64::from(delta);
                }
                newer
            }
        }
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    /// Extended highest sequence number (0 before the first packet).
    pub fn highest(&self) -> u64 {
        self.span.map_or(0, |(_, highest)| highest)
    }

    pub fn expected(&self) -> u64 {
        self.span.map_or(0, |(base, highest)| highest - base + 1)
    }

    pub fn lost(&self) -> u64 {
        self.span.map_or(0, |(base, highest)| {
            (highest - base + 1).saturating_sub(self.received)
        })
    }

    pub fn reset(&mut self) {
        *self = LossCounter::default();
    }
}

/// The rest of RFC 3550 receiver statistics of a source's current SSRC, for our RRs:
/// interarrival jitter (A.8, in integers), the counts at the last report (for "fraction
/// lost", A.3) and the source's last SR (for LSR/DLSR, so it can measure round trips).
#[derive(Clone, Copy, Debug, Default)]
pub struct Reception {
    /// In timestamp units, times 16 (A.8's integer form).
    pub jitter: u64,
    /// Arrival minus RTP timestamp, mod 2^32.
    pub transit: Option<u32>,
    pub last_ts: Option<u32>,
    pub expected_prior: u64,
    pub received_prior: u64,
    /// The middle 32 bits of the NTP time of the source's last SR.
    pub last_sr: u32,
    pub last_sr_at: Option<f64>,
}

impl Reception {
    pub fn note_arrival(&mut self, timestamp: u32, now: f64, clock_rate: u32) {
        // Packets of one frame share a timestamp but not an arrival time; like libwebrtc,
        // only a frame's first (in-order) packet counts, or a burst would look like jitter.
        if self.last_ts == Some(timestamp) {
            return;
        }
        let arrival = wrap_integral(now * f64::from(clock_rate)) as u32;
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(previous) = self.transit {
            let d = transit.wrapping_sub(previous);
            let d = u64::from(d.min(d.wrapping_neg())); // |D| of a signed 32-bit difference
            self.jitter = self.jitter + d - ((self.jitter + 8) >> 4);
        }
        self.transit = Some(transit);
        self.last_ts = Some(timestamp);
    }
}

/// A stream a leg sends to the server (one per kind).
pub struct Source {
    pub leg: Id<Leg>,
    pub line: MediaLine,
    pub kind: MediaKind,
    pub ssrc: Option<u32>,
    pub rtx_ssrc: Option<u32>,
    /// Bumps when the SSRC changes: a new sequence-number and timestamp space.
    pub generation: u64,
    pub routes: Vec<Id<Route>>,
    pub history: History,
    pub pending_rtx: PendingRtx,
    pub media_pts: [bool; 128],
    /// Media PT -> its clock rate.
    pub clock_rates: [Option<u32>; 128],
    /// RTX PT -> the media PT it repairs.
    pub rtx_apt: [Option<u8>; 128],
    pub audio_level_id: Option<u8>,
    /// Smoothed -dBov; 127 is silence.
    pub level: f64,
    pub last_packet_at: Option<f64>,
    pub last_keyframe_request_at: Option<f64>,
    pub keyframe_request_pending: bool,
    /// The last bitrate sent to this source in a REMB, and when.
    pub remb_sent: Option<(u64, f64)>,
    /// A new REMB value waits for the interval to pass.
    pub remb_pending: bool,
    pub packets: u64,
    pub bytes: u64,
    pub rtx_packets: u64,
    pub padding_only: u64,
    pub keyframe_requests: u64,
    pub nacks_forwarded: u64,
    pub loss: LossCounter,
    pub reception: Reception,
    pub drops: Drops,
}

impl Source {
    pub fn new(leg: Id<Leg>, line: &MediaLine, history_size: usize) -> Self {
        let mut media_pts = [false; 128];
        let mut rtx_apt = [None; 128];
        let mut clock_rates = [None; 128];
        for codec in &line.codecs {
            let pt = usize::from(codec.payload_type & 0x7F);
            if !codec.is_rtx() {
                media_pts[pt] = true;
                clock_rates[pt] = Some(codec.clock_rate);
            } else if let Some(apt) = codec.rtx_apt {
                rtx_apt[pt] = Some(apt);
            }
        }
        Source {
            leg,
            kind: line.kind,
            ssrc: line.recv_ssrc,
            rtx_ssrc: line.recv_rtx_ssrc,
            generation: 0,
            routes: Vec::new(),
            history: History::new(history_size),
            pending_rtx: PendingRtx::default(),
            media_pts,
            clock_rates,
            rtx_apt,
            audio_level_id: line.extension_id(AUDIO_LEVEL_URI),
            level: 127.0,
            last_packet_at: None,
            last_keyframe_request_at: None,
            keyframe_request_pending: false,
            remb_sent: None,
            remb_pending: false,
            packets: 0,
            bytes: 0,
            rtx_packets: 0,
            padding_only: 0,
            keyframe_requests: 0,
            nacks_forwarded: 0,
            loss: LossCounter::default(),
            reception: Reception::default(),
            drops: Drops::default(),
            line: line.clone(),
        }
    }

    /// The clock rate of a media payload type.
    pub fn clock_rate(&self, pt: u8) -> Option<u32> {
        self.clock_rates.get(usize::from(pt)).copied().flatten()
    }

    pub fn speaking(&self) -> bool {
        self.level < SPEAKING_LEVEL
    }

    pub fn is_media_pt(&self, pt: u8) -> bool {
        self.media_pts
            .get(usize::from(pt))
            .copied()
            .unwrap_or(false)
    }
}

/// A stream the server sends to a leg (one per kind), on the SSRC from its answer.
pub struct Sink {
    pub leg: Id<Leg>,
    pub line: MediaLine,
    pub kind: MediaKind,
    pub routes: Vec<Id<Route>>,
    pub current: Option<Segment>,
    pub segments: VecDeque<Segment>,
    pub last_seq: Option<u16>,
    pub last_ts: u32,
    pub last_sent_at: f64,
    pub switched_at: f64,
    pub rtx_seq: u16,
    pub packets: u64,
    pub bytes: u64,
    pub payload_octets: u64,
    pub retransmits: u64,
    pub keyframe_requests: u64,
    pub nacks_received: u64,
    pub sender_reports: u64,
    pub receiver_lost: i32,
    /// Bit/s: the receiver's latest REMB estimate for this stream.
    pub remb: Option<u64>,
    pub drops: Drops,
}

impl Sink {
    pub fn new(leg: Id<Leg>, line: &MediaLine, rtx_seq: u16) -> Self {
        Sink {
            leg,
            kind: line.kind,
            routes: Vec::new(),
            current: None,
            segments: VecDeque::with_capacity(MAX_SEGMENTS),
            last_seq: None,
            last_ts: 0,
            last_sent_at: 0.0,
            switched_at: 0.0,
            rtx_seq,
            packets: 0,
            bytes: 0,
            payload_octets: 0,
            retransmits: 0,
            keyframe_requests: 0,
            nacks_received: 0,
            sender_reports: 0,
            receiver_lost: 0,
            remb: None,
            drops: Drops::default(),
            line: line.clone(),
        }
    }

    /// Makes `segment` the current one (and the newest remembered).
    pub fn open(&mut self, segment: Segment, now: f64) {
        if self.segments.len() == MAX_SEGMENTS {
            self.segments.pop_front();
        }
        self.segments.push_back(segment);
        self.current = Some(segment);
        self.switched_at = now;
    }

    pub fn note_sent(&mut self, seq: u16, timestamp: u32, payload: usize, size: usize, now: f64) {
        self.packets += 1;
        self.bytes += size as u64;
        self.payload_octets += payload as u64;
        let newer = self
            .last_seq
            .is_none_or(|last| seq.wrapping_sub(last) < 0x8000);
        if newer {
            self.last_seq = Some(seq);
            self.last_ts = timestamp;
            self.last_sent_at = now;
        }
    }

    /// The segment an output sequence number was sent in, newest first.
    pub fn segment_covering(&self, out_seq: u16) -> Option<Segment> {
        let last = self.last_seq?;
        let n = self.segments.len();
        for i in (0..n).rev() {
            let seg = self.segments[i];
            let end = if i + 1 == n {
                last
            } else {
                self.segments[i + 1].start_seq.wrapping_sub(1)
            };
            if out_seq.wrapping_sub(seg.start_seq) <= end.wrapping_sub(seg.start_seq) {
                return Some(seg);
            }
        }
        None
    }
}
