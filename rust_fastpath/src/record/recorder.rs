//! One recording: RTP packets in, sealed WebM chunks out.

use super::depacketize::{Codec, Frame, TrackInput, TrackStats};
use super::seal::{ChunkWriter, SealError, DEFAULT_CHUNK_SIZE};
use super::timeline::Timeline;
use super::webm::{Tracks, WebmMuxer};
use crate::relay::rtp::RtpPacket;
use crate::relay::MediaKind;

/// Ask for a key frame at least this often, so the file has a seek point (a Cue) at
/// this interval: libwebrtc sends key frames only when asked.
pub const KEYFRAME_INTERVAL_MS: i64 = 10_000;

/// What to record and how to seal it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecorderConfig {
    /// VP8 video; the size declared if no key frame comes within the header's wait.
    pub video: Option<(u16, u16)>,
    /// Opus audio with this many channels.
    pub audio: Option<u8>,
    pub chunk_size: u32,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            video: Some((640, 480)),
            audio: Some(2),
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecorderStats {
    pub video: TrackStats,
    pub audio: TrackStats,
    /// Bytes of WebM written (plaintext) and of sealed output.
    pub webm_bytes: u64,
    pub sealed_bytes: u64,
    pub clusters: u64,
    pub reanchors: u64,
    /// Media time recorded (ms): the end of the latest frame.
    pub duration_ms: i64,
}

pub struct Recorder {
    video: Option<TrackInput>,
    audio: Option<TrackInput>,
    timeline: Timeline,
    muxer: WebmMuxer,
    writer: ChunkWriter,
    frames: Vec<Frame>,
    sealed_bytes: u64,
    last_keyframe_ms: Option<i64>,
    now_ms: i64,
}

impl Recorder {
    /// A recording sealed under `key` (32 bytes, derived per recording: see
    /// [`super::seal`]) for `recording_id`.
    ///
    /// # Errors
    /// As [`ChunkWriter::new`].
    pub fn new(config: RecorderConfig, key: &[u8], recording_id: &[u8]) -> Result<Self, SealError> {
        Ok(Self {
            video: config.video.map(|_| TrackInput::new(Codec::Vp8)),
            audio: config.audio.map(|_| TrackInput::new(Codec::Opus)),
            timeline: Timeline::new(Codec::Vp8.clock_rate(), Codec::Opus.clock_rate()),
            muxer: WebmMuxer::new(Tracks {
                video: config.video,
                audio: config.audio,
            }),
            writer: ChunkWriter::new(key, recording_id, config.chunk_size)?,
            frames: Vec::new(),
            sealed_bytes: 0,
            last_keyframe_ms: None,
            now_ms: 0,
        })
    }

    fn input(&mut self, kind: MediaKind) -> Option<&mut TrackInput> {
        match kind {
            MediaKind::Video => self.video.as_mut(),
            MediaKind::Audio => self.audio.as_mut(),
        }
    }

    /// Takes one packet of the `kind` track (the original stream: RTX unwrapped) that
    /// arrived at `arrival` (seconds, the caller's clock).
    ///
    /// # Errors
    /// [`SealError::TooLong`] once the recording outgrows its key.
    pub fn push_rtp(
        &mut self,
        kind: MediaKind,
        packet: &RtpPacket,
        arrival: f64,
    ) -> Result<(), SealError> {
        let mut frames = std::mem::take(&mut self.frames);
        if let Some(input) = self.input(kind) {
            input.push(packet, arrival, &mut frames);
        }
        let result = self.mux(kind, &mut frames);
        self.frames = frames;
        result
    }

    /// An RTCP sender report of the `kind` track (lip sync; see [`Timeline`]).
    pub fn sender_report(&mut self, kind: MediaKind, ntp: f64, rtp_timestamp: u32) {
        self.timeline.sender_report(kind, ntp, rtp_timestamp);
    }

    /// Whether to ask the sender for a key frame now: the video waits for one (start,
    /// loss, new stream), or the last is older than [`KEYFRAME_INTERVAL_MS`]. The caller
    /// rate-limits its requests as it does for its receivers.
    #[must_use]
    pub fn wants_keyframe(&self) -> bool {
        self.video.as_ref().is_some_and(|video| {
            video.needs_keyframe()
                || self
                    .last_keyframe_ms
                    .is_some_and(|at| self.now_ms - at >= KEYFRAME_INTERVAL_MS)
        })
    }

    /// The `kind` track's sequence numbers seen missing since the last call, each once,
    /// oldest first: what to ask the sender to retransmit (a NACK). A retransmission
    /// fills the gap if it comes within [`super::depacketize::REORDER_WAIT`].
    pub fn take_missing(&mut self, kind: MediaKind, out: &mut Vec<u16>) {
        if let Some(input) = self.input(kind) {
            input.take_missing(out);
        }
    }

    /// Both tracks' next packets start new streams (the caller knows their source
    /// changed, though the relay keeps one SSRC and numbering for it): what is held is
    /// released, an incomplete frame dropped, and the video waits for a key frame.
    ///
    /// # Errors
    /// [`SealError::TooLong`].
    pub fn new_streams(&mut self) -> Result<(), SealError> {
        for kind in [MediaKind::Video, MediaKind::Audio] {
            let mut frames = std::mem::take(&mut self.frames);
            if let Some(input) = self.input(kind) {
                input.restart(&mut frames);
            }
            self.mux(kind, &mut frames)?;
        }
        Ok(())
    }

    /// The sealed bytes produced since the last call, to append to the stored file.
    pub fn take_sealed(&mut self) -> Vec<u8> {
        let sealed = self.writer.take_sealed();
        self.sealed_bytes += sealed.len() as u64;
        sealed
    }

    #[must_use]
    pub fn stats(&self) -> RecorderStats {
        RecorderStats {
            video: self
                .video
                .as_ref()
                .map(TrackInput::stats)
                .unwrap_or_default(),
            audio: self
                .audio
                .as_ref()
                .map(TrackInput::stats)
                .unwrap_or_default(),
            webm_bytes: self.writer.data_len(),
            sealed_bytes: self.sealed_bytes + self.writer.pending_sealed() as u64,
            clusters: self.muxer.clusters,
            reanchors: self.timeline.reanchors,
            duration_ms: self.muxer.duration_ms(),
        }
    }

    /// Ends the recording: what the tracks hold, the Cues, the final chunk. Returns the
    /// sealed bytes not taken yet (the stored file is complete with them) and the
    /// final counters.
    ///
    /// # Errors
    /// [`SealError::TooLong`] (or a muxer patch outside the data: a bug).
    pub fn finish(mut self) -> Result<(Vec<u8>, RecorderStats), SealError> {
        for kind in [MediaKind::Video, MediaKind::Audio] {
            let mut frames = std::mem::take(&mut self.frames);
            if let Some(input) = self.input(kind) {
                input.finish(&mut frames);
            }
            self.mux(kind, &mut frames)?;
        }
        let (tail, patches) = self.muxer.finish();
        self.writer.push(&tail)?;
        let mut sealed = self.take_sealed();
        let mut stats = self.stats();
        let last = self.writer.finish(&patches)?;
        stats.sealed_bytes += last.len() as u64;
        sealed.extend(last);
        Ok((sealed, stats))
    }

    fn mux(&mut self, kind: MediaKind, frames: &mut Vec<Frame>) -> Result<(), SealError> {
        for frame in frames.drain(..) {
            let ms = self
                .timeline
                .place(kind, frame.timestamp, frame.arrival, frame.discontinuity);
            self.now_ms = self.now_ms.max(ms);
            if kind == MediaKind::Video && frame.keyframe {
                self.last_keyframe_ms = Some(ms);
            }
            self.muxer
                .push(kind, ms, frame.keyframe, frame.dimensions, frame.data);
        }
        let bytes = self.muxer.take_output();
        self.writer.push(&bytes)
    }
}
