//! A live WebM (Matroska) muxer: frames in, file bytes out, written once and never
//! revisited; the values known only at the end come back as [`Patch`]es for the sealed
//! file's trailer.
//!
//! The file: EBML header; a Segment of unknown size holding a SeekHead, Info (1 ms
//! timestamps, the duration's room kept as a Void), Tracks (`V_VP8` with its size,
//! `A_OPUS` with its `OpusHead`), then Clusters of SimpleBlocks, a new Cluster at each
//! video key frame (a resolution change starts one, as players expect for VP8) and at
//! least every [`CLUSTER_MS`]; Cues at the end. The patches fill in the Duration and the
//! SeekHead's pointer to the Cues; without them the bytes are still a valid live WebM.
//! The Segment and Clusters keep their unknown size: ffmpeg refuses an unknown-size
//! Cluster inside a Segment of known size, and known Cluster sizes would mean holding
//! each Cluster (seconds of video) in memory.
//!
//! Frames of both tracks are interleaved by time: a frame waits until the other track
//! has reached its time, or for at most [`INTERLEAVE_MS`]. The header waits for the first
//! video key frame (its size goes in the track) for at most [`HEADER_WAIT_MS`].

use std::collections::VecDeque;

use super::ebml;
use super::opus::{opus_head, CLOCK_RATE};
use super::seal::Patch;
use crate::relay::MediaKind;

pub const CLUSTER_MS: i64 = 5000;
pub const INTERLEAVE_MS: i64 = 500;
pub const HEADER_WAIT_MS: i64 = 5000;
/// The Opus seek pre-roll WebM recommends (80 ms, in ns).
const OPUS_SEEK_PRE_ROLL_NS: u64 = 80_000_000;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
const CUES: u32 = 0x1C53_BB6B;
const DURATION: u32 = 0x4489;
const SIMPLE_BLOCK: u32 = 0xA3;

/// A Seek entry with an 8-byte position: id(2) size(1) SeekID(3+4) SeekPosition(3+8).
const SEEK_LEN: usize = 21;
/// A Duration element: id(2) size(1) float(8).
const DURATION_LEN: usize = 11;

/// The tracks of a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracks {
    /// A VP8 video track; the size to declare if no key frame comes in time.
    pub video: Option<(u16, u16)>,
    /// An Opus audio track with this many channels (1 or 2).
    pub audio: Option<u8>,
}

struct Block {
    kind: MediaKind,
    ms: i64,
    keyframe: bool,
    dimensions: Option<(u16, u16)>,
    data: Vec<u8>,
}

struct CuePoint {
    ms: i64,
    track: u64,
    cluster: u64,
}

/// Where the patchable bytes of the header are (file offsets).
struct Placeholders {
    segment_data: u64,
    cues_seek: u64,
    duration: u64,
}

pub struct WebmMuxer {
    tracks: Tracks,
    out: Vec<u8>,
    /// File offset of `out[0]`.
    taken: u64,
    header: Option<Placeholders>,
    waiting: VecDeque<Block>,
    newest: [Option<i64>; 2],
    cluster_start: Option<i64>,
    cues: Vec<CuePoint>,
    /// End of the last frame of each track, estimated from its previous interval.
    end_ms: [i64; 2],
    /// Blocks written, per track.
    pub blocks: [u64; 2],
    pub clusters: u64,
}

fn slot(kind: MediaKind) -> usize {
    match kind {
        MediaKind::Video => 0,
        MediaKind::Audio => 1,
    }
}

impl WebmMuxer {
    #[must_use]
    pub fn new(tracks: Tracks) -> Self {
        Self {
            tracks,
            out: Vec::new(),
            taken: 0,
            header: None,
            waiting: VecDeque::new(),
            newest: [None; 2],
            cluster_start: None,
            cues: Vec::new(),
            end_ms: [0; 2],
            blocks: [0; 2],
            clusters: 0,
        }
    }

    fn track_number(&self, kind: MediaKind) -> Option<u64> {
        match kind {
            MediaKind::Video => self.tracks.video.map(|_| 1),
            MediaKind::Audio => {
                self.tracks
                    .audio
                    .map(|_| if self.tracks.video.is_some() { 2 } else { 1 })
            }
        }
    }

    fn position(&self) -> u64 {
        self.taken + self.out.len() as u64
    }

    /// Takes one frame of `kind` at `ms` on the recording's timeline (each track's
    /// times increasing). Frames of a track the muxer was not made with are ignored.
    pub fn push(
        &mut self,
        kind: MediaKind,
        ms: i64,
        keyframe: bool,
        dimensions: Option<(u16, u16)>,
        data: Vec<u8>,
    ) {
        if self.track_number(kind).is_none() {
            return;
        }
        let previous = self.newest[slot(kind)].replace(ms);
        let interval = previous.map_or(20, |previous| (ms - previous).clamp(1, 1000));
        self.end_ms[slot(kind)] = ms + interval;
        let at = self
            .waiting
            .iter()
            // A video key frame goes before the blocks of its time: it opens their cluster.
            .rposition(|b| b.ms < ms || (b.ms == ms && !(kind == MediaKind::Video && keyframe)))
            .map_or(0, |i| i + 1);
        self.waiting.insert(
            at,
            Block {
                kind,
                ms,
                keyframe,
                dimensions,
                data,
            },
        );
        if self.header.is_none() {
            self.maybe_write_header();
        }
        if self.header.is_some() {
            self.release(false);
        }
    }

    /// The media time written or waiting so far (ms): the end of the latest frame.
    #[must_use]
    pub fn duration_ms(&self) -> i64 {
        self.end_ms.iter().copied().max().unwrap_or(0).max(0)
    }

    /// The file bytes produced since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.taken += self.out.len() as u64;
        std::mem::take(&mut self.out)
    }

    /// Writes what waits and the Cues; returns the last bytes and the patches that
    /// complete the header (the Duration, the Cues' SeekHead entry). Call it once.
    pub fn finish(&mut self) -> (Vec<u8>, Vec<Patch>) {
        if self.header.is_none() {
            let size = self.first_keyframe_size().or(self.tracks.video);
            self.write_header(size);
        }
        self.release(true);
        let Some(header) = self.header.take() else {
            return (self.take_output(), Vec::new());
        };
        let cues_at = self.position() - header.segment_data;
        ebml::master(&mut self.out, CUES, |out| {
            for cue in &self.cues {
                ebml::master(out, 0xBB, |point| {
                    ebml::uint(point, 0xB3, cue.ms.max(0) as u64);
                    ebml::master(point, 0xB7, |positions| {
                        ebml::uint(positions, 0xF7, cue.track);
                        ebml::uint(positions, 0xF1, cue.cluster);
                    });
                });
            }
        });
        let duration = self.duration_ms();
        let mut seek = Vec::new();
        seek_entry(&mut seek, CUES, cues_at);
        let mut duration_element = Vec::new();
        ebml::float(&mut duration_element, DURATION, duration as f64);
        let patches = vec![
            Patch {
                offset: header.cues_seek,
                bytes: seek,
            },
            Patch {
                offset: header.duration,
                bytes: duration_element,
            },
        ];
        (self.take_output(), patches)
    }

    fn first_keyframe_size(&self) -> Option<(u16, u16)> {
        self.waiting.iter().find_map(|b| {
            if b.kind == MediaKind::Video {
                b.dimensions
            } else {
                None
            }
        })
    }

    fn maybe_write_header(&mut self) {
        if self.tracks.video.is_none() {
            self.write_header(None);
            return;
        }
        if let Some(size) = self.first_keyframe_size() {
            self.write_header(Some(size));
            return;
        }
        let span = match (self.waiting.front(), self.waiting.back()) {
            (Some(first), Some(last)) => last.ms - first.ms,
            _ => 0,
        };
        if span > HEADER_WAIT_MS {
            self.write_header(self.tracks.video);
        }
    }

    fn write_header(&mut self, video_size: Option<(u16, u16)>) {
        let video = self
            .tracks
            .video
            .map(|fallback| video_size.unwrap_or(fallback))
            .zip(self.track_number(MediaKind::Video));
        let audio = self.tracks.audio.zip(self.track_number(MediaKind::Audio));
        let taken = self.taken;
        let out = &mut self.out;
        ebml::master(out, EBML, |h| {
            ebml::uint(h, 0x4286, 1); // EBMLVersion
            ebml::uint(h, 0x42F7, 1); // EBMLReadVersion
            ebml::uint(h, 0x42F2, 4); // EBMLMaxIDLength
            ebml::uint(h, 0x42F3, 8); // EBMLMaxSizeLength
            ebml::string(h, 0x4282, "webm"); // DocType
            ebml::uint(h, 0x4287, 4); // DocTypeVersion
            ebml::uint(h, 0x4285, 2); // DocTypeReadVersion
        });
        ebml::id(out, SEGMENT);
        out.extend_from_slice(&ebml::UNKNOWN_SIZE);
        let segment_data = taken + out.len() as u64;

        let mut info = Vec::new();
        ebml::master(&mut info, INFO, |i| {
            ebml::uint(i, 0x2A_D7B1, 1_000_000); // TimestampScale: 1 ms
            ebml::string(i, 0x4D80, "livelens"); // MuxingApp
            ebml::string(i, 0x5741, "livelens"); // WritingApp
            ebml::void(i, DURATION_LEN);
        });
        let duration_in_info = info.len() - DURATION_LEN;
        let mut tracks = Vec::new();
        ebml::master(&mut tracks, TRACKS, |t| {
            if let Some((size, number)) = video {
                ebml::master(t, 0xAE, |e| {
                    ebml::uint(e, 0xD7, number); // TrackNumber
                    ebml::uint(e, 0x73C5, number); // TrackUID
                    ebml::uint(e, 0x83, 1); // TrackType: video
                    ebml::uint(e, 0x9C, 0); // FlagLacing
                    ebml::string(e, 0x86, "V_VP8");
                    ebml::master(e, 0xE0, |v| {
                        ebml::uint(v, 0xB0, u64::from(size.0)); // PixelWidth
                        ebml::uint(v, 0xBA, u64::from(size.1)); // PixelHeight
                    });
                });
            }
            if let Some((channels, number)) = audio {
                ebml::master(t, 0xAE, |e| {
                    ebml::uint(e, 0xD7, number);
                    ebml::uint(e, 0x73C5, number);
                    ebml::uint(e, 0x83, 2); // TrackType: audio
                    ebml::uint(e, 0x9C, 0);
                    ebml::string(e, 0x86, "A_OPUS");
                    ebml::bytes(e, 0x63A2, &opus_head(channels, 0)); // CodecPrivate
                    ebml::uint(e, 0x56BB, OPUS_SEEK_PRE_ROLL_NS); // SeekPreRoll
                    ebml::master(e, 0xE1, |a| {
                        ebml::float(a, 0xB5, f64::from(CLOCK_RATE)); // SamplingFrequency
                        ebml::uint(a, 0x9F, u64::from(channels.clamp(1, 2))); // Channels
                    });
                });
            }
        });

        // SeekHead: Info, Tracks, and room for the Cues (a Void until patched).
        let seek_head_len = {
            let mut probe = Vec::new();
            write_seek_head(&mut probe, 0, 0);
            probe.len() as u64
        };
        let info_at = seek_head_len;
        let tracks_at = info_at + info.len() as u64;
        write_seek_head(out, info_at, tracks_at);
        let cues_seek = taken + out.len() as u64 - SEEK_LEN as u64;
        let duration = taken + out.len() as u64 + duration_in_info as u64;
        out.extend_from_slice(&info);
        out.extend_from_slice(&tracks);
        self.header = Some(Placeholders {
            segment_data,
            cues_seek,
            duration,
        });
    }

    /// Writes the waiting frames whose turn it is (all of them when `all`).
    fn release(&mut self, all: bool) {
        let newest = self.newest.iter().flatten().copied().max().unwrap_or(0);
        while let Some(block) = self.waiting.front() {
            let others_caught_up = [MediaKind::Video, MediaKind::Audio].iter().all(|&kind| {
                kind == block.kind
                    || self.track_number(kind).is_none()
                    || self.newest[slot(kind)].is_some_and(|ms| ms >= block.ms)
            });
            if !(all || others_caught_up || newest - block.ms > INTERLEAVE_MS) {
                break;
            }
            if let Some(block) = self.waiting.pop_front() {
                self.write_block(block);
            }
        }
    }

    fn write_block(&mut self, block: Block) {
        let Some(segment_data) = self.header.as_ref().map(|h| h.segment_data) else {
            return;
        };
        let Some(track) = self.track_number(block.kind) else {
            return;
        };
        let video_key = block.kind == MediaKind::Video && block.keyframe;
        let new_cluster = match self.cluster_start {
            None => true,
            Some(start) => {
                video_key
                    || block.ms - start >= CLUSTER_MS
                    || block.ms - start > i64::from(i16::MAX)
            }
        };
        if new_cluster {
            let start = block.ms.max(self.cluster_start.unwrap_or(0)).max(0);
            let position = self.position() - segment_data;
            if video_key || self.tracks.video.is_none() {
                self.cues.push(CuePoint {
                    ms: start,
                    track,
                    cluster: position,
                });
            }
            ebml::id(&mut self.out, CLUSTER);
            self.out.extend_from_slice(&ebml::UNKNOWN_SIZE);
            ebml::uint(&mut self.out, 0xE7, start as u64); // Timestamp
            self.cluster_start = Some(start);
            self.clusters += 1;
        }
        let start = self.cluster_start.unwrap_or(0);
        // A frame later than its track allowed for lands at the cluster's start.
        let relative = (block.ms - start).clamp(0, i64::from(i16::MAX)) as i16;
        ebml::id(&mut self.out, SIMPLE_BLOCK);
        ebml::size(&mut self.out, 4 + block.data.len() as u64);
        self.out.push(0x80 | track as u8); // track number as a 1-byte vint
        self.out.extend_from_slice(&relative.to_be_bytes());
        self.out.push(if block.keyframe { 0x80 } else { 0 });
        self.out.extend_from_slice(&block.data);
        self.blocks[slot(block.kind)] += 1;
    }
}

fn seek_entry(out: &mut Vec<u8>, element: u32, position: u64) {
    ebml::master(out, SEEK, |s| {
        ebml::bytes(s, SEEK_ID, &element.to_be_bytes());
        ebml::uint_8(s, SEEK_POSITION, position);
    });
}

fn write_seek_head(out: &mut Vec<u8>, info_at: u64, tracks_at: u64) {
    ebml::master(out, SEEK_HEAD, |h| {
        seek_entry(h, INFO, info_at);
        seek_entry(h, TRACKS, tracks_at);
        ebml::void(h, SEEK_LEN);
    });
}
