//! One track's RTP packets to frames: sequence order ([`Reorder`]), the codec's
//! assembler, and the stream changes (SSRC change, renumbering) that make a gap.
//!
//! Feed it the original stream's packets, retransmissions already unwrapped from RTX.

use super::opus::OpusAssembler;
use super::reorder::{Ordered, Reorder};
use super::vp8::Vp8Assembler;
use crate::relay::rtp::RtpPacket;

/// What a depacketiser keeps of a packet.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaPacket {
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Vec<u8>,
    /// When it arrived, in the caller's clock (seconds).
    pub arrival: f64,
}

/// One encoded frame, as the muxer takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// RTP timestamp (the codec's clock).
    pub timestamp: u32,
    /// When its last packet arrived (seconds, the caller's clock).
    pub arrival: f64,
    pub keyframe: bool,
    /// A video key frame's size.
    pub dimensions: Option<(u16, u16)>,
    pub data: Vec<u8>,
    /// The first frame of a new stream (SSRC change, restart): its timestamps start
    /// over, so the timeline re-anchors on its arrival.
    pub discontinuity: bool,
}

/// The codecs a recording can depacketise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Vp8,
    Opus,
}

impl Codec {
    /// The RTP clock rate.
    #[must_use]
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Vp8 => 90_000,
            Codec::Opus => super::opus::CLOCK_RATE,
        }
    }

    /// At most this many packets held behind a gap (the memory bound; the wait,
    /// [`REORDER_WAIT`], gives a gap up first at up to ~1,700 video packets/s). Video:
    /// the relay's NACK history per source; audio: 50 packets/s at most.
    #[must_use]
    pub fn reorder_window(self) -> usize {
        match self {
            Codec::Vp8 => crate::relay::HISTORY_SIZE,
            Codec::Opus => 64,
        }
    }
}

/// How long (seconds) a gap is waited for once a later packet showed it, for the
/// retransmission the recorder's NACK asks for. A loss the relay's history can answer
/// is filled at once (in the same call); anything else was lost between the sender and
/// the server, so its retransmission takes one round trip to the sender plus its pacing.
/// A live receiver waits only as long as its jitter buffer's target delay (tens of ms
/// to ~150 ms), since waiting makes the picture late; nobody watches a recording live,
/// so it can wait longer at no cost but memory (300 ms of 2.5 Mb/s video is ~90 KiB):
/// 300 ms covers one retransmission over round trips up to ~250 ms (mobile networks),
/// and keeps a session's last packets from waiting in the port much longer.
pub const REORDER_WAIT: f64 = 0.3;

enum Assembler {
    Vp8(Vp8Assembler),
    Opus(OpusAssembler),
}

/// Counters of one track's input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackStats {
    pub packets: u64,
    pub frames: u64,
    pub lost_packets: u64,
    pub late_packets: u64,
    pub dropped_frames: u64,
    pub stream_changes: u64,
}

/// Depacketiser of one track.
pub struct TrackInput {
    assembler: Assembler,
    reorder: Reorder<MediaPacket>,
    ssrc: Option<u32>,
    discontinuity: bool,
    ordered: Vec<Ordered<MediaPacket>>,
    stats: TrackStats,
}

impl TrackInput {
    #[must_use]
    pub fn new(codec: Codec) -> Self {
        Self {
            assembler: match codec {
                Codec::Vp8 => Assembler::Vp8(Vp8Assembler::new()),
                Codec::Opus => Assembler::Opus(OpusAssembler::default()),
            },
            reorder: Reorder::new(codec.reorder_window(), REORDER_WAIT),
            ssrc: None,
            discontinuity: false,
            ordered: Vec::new(),
            stats: TrackStats::default(),
        }
    }

    /// Takes one packet that arrived at `arrival`; appends the frames it completes.
    pub fn push(&mut self, packet: &RtpPacket, arrival: f64, out: &mut Vec<Frame>) {
        self.stats.packets += 1;
        if self.ssrc.is_some_and(|ssrc| ssrc != packet.ssrc) {
            self.finish(out);
            self.reset();
        }
        self.ssrc = Some(packet.ssrc);
        let media = MediaPacket {
            timestamp: packet.timestamp,
            marker: packet.marker,
            payload: packet.payload.clone(),
            arrival,
        };
        let mut ordered = std::mem::take(&mut self.ordered);
        self.reorder
            .push(packet.sequence_number, media, arrival, &mut ordered);
        self.drain(&mut ordered, out);
        self.ordered = ordered;
    }

    /// The stream ended (or the recording): releases what is held, drops what is
    /// incomplete.
    pub fn finish(&mut self, out: &mut Vec<Frame>) {
        let mut ordered = std::mem::take(&mut self.ordered);
        self.reorder.flush(&mut ordered);
        self.drain(&mut ordered, out);
        self.ordered = ordered;
        if let Assembler::Vp8(vp8) = &mut self.assembler {
            vp8.flush();
        }
        self.sync_stats();
    }

    /// The next packet starts a new stream, whatever its SSRC and sequence number:
    /// releases what is held (as [`TrackInput::finish`]) and starts over (a gap).
    pub fn restart(&mut self, out: &mut Vec<Frame>) {
        self.finish(out);
        self.reset();
    }

    /// The sequence numbers seen missing since the last call, each once: what to NACK.
    pub fn take_missing(&mut self, out: &mut Vec<u16>) {
        self.reorder.take_missing(out);
    }

    /// Whether the track waits for a key frame (the caller asks the sender for one).
    #[must_use]
    pub fn needs_keyframe(&self) -> bool {
        match &self.assembler {
            Assembler::Vp8(vp8) => vp8.needs_keyframe(),
            Assembler::Opus(_) => false,
        }
    }

    #[must_use]
    pub fn stats(&self) -> TrackStats {
        self.stats
    }

    fn reset(&mut self) {
        self.reorder.reset();
        if let Assembler::Vp8(vp8) = &mut self.assembler {
            vp8.reset();
        }
        self.discontinuity = true;
        self.stats.stream_changes += 1;
    }

    fn drain(&mut self, ordered: &mut Vec<Ordered<MediaPacket>>, out: &mut Vec<Frame>) {
        for item in ordered.drain(..) {
            let before = out.len();
            match item {
                Ordered::Packet(packet) => match &mut self.assembler {
                    Assembler::Vp8(vp8) => vp8.packet(packet, out),
                    Assembler::Opus(opus) => opus.packet(packet, out),
                },
                Ordered::Lost { count } => {
                    if count == 0 {
                        // The numbering restarted: a new stream on the same SSRC.
                        self.reset();
                    }
                    self.stats.lost_packets += count;
                    match &mut self.assembler {
                        Assembler::Vp8(vp8) => vp8.lost(),
                        Assembler::Opus(opus) => opus.lost(count),
                    }
                }
            }
            if let Some(frame) = out.get_mut(before) {
                frame.discontinuity |= std::mem::take(&mut self.discontinuity);
            }
            self.stats.frames += (out.len() - before) as u64;
        }
        self.sync_stats();
    }

    fn sync_stats(&mut self) {
        self.stats.late_packets = self.reorder.late;
        if let Assembler::Vp8(vp8) = &self.assembler {
            self.stats.dropped_frames = vp8.dropped_frames;
        }
    }
}
