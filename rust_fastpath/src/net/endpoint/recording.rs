//! Recording in the media port: a [`Recorder`] as a sink leg of the session's relay, as
//! SFUs do "egress". The leg has fixed m-lines (VP8 on PT 96, Opus on PT 111), is up and
//! forwarding from the start, and has no transport: where the endpoint would protect and
//! send a transmit for it, it hands the plaintext packet (already rewritten for this
//! sink: one SSRC and numbering per kind across source changes) to the recorder, and
//! the sender reports translated for it to the recorder's lip sync. When the recorder
//! wants a key frame (start, loss, every [`crate::record::KEYFRAME_INTERVAL_MS`]) the
//! endpoint feeds the relay a PLI from this leg, at most once per
//! [`KEYFRAME_REQUEST_INTERVAL`]; the relay passes it on to the source with its own
//! limit.
//!
//! A source leg routed to the recorder that is replaced (a reconnect, an ICE restart)
//! or removed makes the recorder start new streams: the relay keeps the sink's
//! numbering continuous, so only the endpoint knows the picture and clock changed.
//!
//! Losses are repaired where they can be: when the recorder's reorder buffer sees a gap,
//! the endpoint feeds the relay a Generic NACK (RFC 4585) from this leg for the missing
//! packets, once per packet (see [`crate::record::reorder`]). The relay answers from its
//! history, or forwards the NACK to the source and passes its retransmission on to the
//! recorder; the recorder's m-lines have no RTX, so either comes as the original packet
//! in the recorder's numbering, and fills the gap if it comes within
//! [`crate::record::depacketize::REORDER_WAIT`]. A loss not repaired in time is a gap
//! the recorder bridges at the next key frame. Python collects the sealed bytes about once a second ([`Endpoint::take_recording`]); a
//! recorder that fails (its key's chunk limit, or bytes left uncollected past
//! [`MAX_UNCOLLECTED`]) is dropped and reported as [`Event::RecordingFailed`].

use super::{ControlError, Endpoint, Event, LegLines, Outgoing, SessionId};
use crate::net::router::{Codec, LegId, MediaKind, MediaLine, Switch};
use crate::record::seal::SealError;
use crate::record::{Recorder, RecorderConfig, RecorderStats};
use crate::relay::rtcp::{parse_rtcp, GenericNack, RtcpPacket};
use crate::relay::rtp::{is_rtcp, parse_rtp};
use crate::relay::KEYFRAME_REQUEST_INTERVAL;

/// The payload types and SSRCs of the recorder's m-lines (the relay maps the source's
/// payload types to these).
pub const RECORDER_VP8_PT: u8 = 96;
pub const RECORDER_OPUS_PT: u8 = 111;
pub const RECORDER_VIDEO_SSRC: u32 = 0x5245_4301;
pub const RECORDER_AUDIO_SSRC: u32 = 0x5245_4302;
/// Sealed bytes a recorder may hold for Python before it gives up (Python collects
/// every second; this is minutes of video).
pub const MAX_UNCOLLECTED: u64 = 64 * 1024 * 1024;
/// Packets between two checks of the uncollected bytes.
const CHECK_EVERY: u32 = 256;

/// The recorder leg's m-lines: it receives nothing and is sent VP8 video and Opus audio.
#[must_use]
pub fn recorder_lines() -> Vec<MediaLine> {
    let line = |kind: MediaKind, mid: &str, codec: Codec, ssrc: u32| MediaLine {
        kind,
        mid: mid.to_owned(),
        codecs: vec![codec],
        extensions: Vec::new(),
        recv_ssrc: None,
        recv_rtx_ssrc: None,
        send_ssrc: ssrc,
        send_rtx_ssrc: None,
        cname: None,
        receives: false,
        sends: true,
    };
    vec![
        line(
            MediaKind::Video,
            "recorder-video",
            Codec {
                payload_type: RECORDER_VP8_PT,
                mime_type: "video/vp8".to_owned(),
                clock_rate: 90_000,
                channels: None,
                format_key: Vec::new(),
                rtx_apt: None,
            },
            RECORDER_VIDEO_SSRC,
        ),
        line(
            MediaKind::Audio,
            "recorder-audio",
            Codec {
                payload_type: RECORDER_OPUS_PT,
                mime_type: "audio/opus".to_owned(),
                clock_rate: 48_000,
                channels: Some(2),
                format_key: Vec::new(),
                rtx_apt: None,
            },
            RECORDER_AUDIO_SSRC,
        ),
    ]
}

/// One recording running in a session, as its relay's sink leg.
pub(super) struct RecorderLeg {
    recorder: Recorder,
    /// Legs routed to the recorder: replacing or removing one starts new streams.
    sources: Vec<LegId>,
    last_keyframe_request: Option<f64>,
    /// Sealed bytes handed to Python so far, and how many more it may leave here.
    collected: u64,
    max_uncollected: u64,
    since_check: u32,
    /// Sequence numbers the recorder saw missing (reused between packets).
    missing: Vec<u16>,
}

/// What a transmit to a recorder leg led to.
pub(super) enum Recorded {
    /// Taken; what to feed the relay from this leg: a NACK (RTCP) for packets seen
    /// missing, and whether to ask the source for a key frame.
    Taken {
        nack: Option<Vec<u8>>,
        keyframe: bool,
    },
    /// The recording cannot go on; the reason.
    Failed(String),
}

impl RecorderLeg {
    /// One plaintext packet the relay sent this leg.
    pub(super) fn take(&mut self, data: &[u8], now: f64) -> Recorded {
        let nack = match self.record(data, now) {
            Ok(nack) => nack,
            Err(error) => return Recorded::Failed(error.to_string()),
        };
        self.since_check += 1;
        if self.since_check >= CHECK_EVERY {
            self.since_check = 0;
            let held = self.recorder.stats().sealed_bytes - self.collected;
            if held > self.max_uncollected {
                return Recorded::Failed("the recording was not collected".to_owned());
            }
        }
        let due = self
            .last_keyframe_request
            .is_none_or(|at| now - at >= KEYFRAME_REQUEST_INTERVAL || now < at);
        let keyframe = due && self.recorder.wants_keyframe();
        if keyframe {
            self.last_keyframe_request = Some(now);
        }
        Recorded::Taken { nack, keyframe }
    }

    /// Records one packet; a NACK for what it showed missing.
    fn record(&mut self, data: &[u8], now: f64) -> Result<Option<Vec<u8>>, SealError> {
        if !is_rtcp(data) {
            let Ok(packet) = parse_rtp(data) else {
                return Ok(None); // the relay wrote it: cannot happen
            };
            let Some(kind) = kind_of(packet.ssrc) else {
                return Ok(None);
            };
            self.recorder.push_rtp(kind, &packet, now)?;
            self.recorder.take_missing(kind, &mut self.missing);
            if self.missing.is_empty() {
                return Ok(None);
            }
            let mut nack = Vec::new();
            let written = GenericNack {
                sender_ssrc: 0, // the port's own feedback, as its key frame requests
                media_ssrc: packet.ssrc,
                lost: std::mem::take(&mut self.missing),
            }
            .write_to(&mut nack);
            return Ok(written.ok().map(|()| nack));
        }
        for packet in parse_rtcp(data).unwrap_or_default() {
            if let RtcpPacket::SenderReport(report) = packet {
                if let Some(kind) = kind_of(report.ssrc) {
                    let ntp = report.ntp_timestamp;
                    let seconds = (ntp >> 32) as f64 + (ntp & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
                    self.recorder
                        .sender_report(kind, seconds, report.rtp_timestamp);
                }
            }
        }
        Ok(None)
    }
}

fn kind_of(ssrc: u32) -> Option<MediaKind> {
    match ssrc {
        RECORDER_VIDEO_SSRC => Some(MediaKind::Video),
        RECORDER_AUDIO_SSRC => Some(MediaKind::Audio),
        _ => None,
    }
}

impl Endpoint {
    /// Starts recording `session` as its relay's sink leg `leg` (a number no participant
    /// of the session uses), sealed under `key` (32 bytes) for `recording_id`. Route
    /// sources to it with [`Endpoint::add_route`].
    ///
    /// # Errors
    /// A leg in use; a key or id the sealing refuses; the router's refusal.
    pub fn start_recording(
        &mut self,
        session: SessionId,
        leg: LegId,
        key: &[u8],
        recording_id: &[u8],
        now: f64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), ControlError> {
        let recorder = Recorder::new(RecorderConfig::default(), key, recording_id)
            .map_err(ControlError::Recording)?;
        let s = self.session(session);
        if s.legs.contains_key(&leg) || s.lines.contains_key(&leg) {
            return Err(ControlError::LegInUse(leg));
        }
        let lines = recorder_lines();
        s.router.add_leg(leg, &lines, true)?;
        s.lines.insert(leg, LegLines::new(&lines));
        s.recorders.insert(
            leg,
            RecorderLeg {
                recorder,
                sources: Vec::new(),
                last_keyframe_request: None,
                collected: 0,
                max_uncollected: MAX_UNCOLLECTED,
                since_check: 0,
                missing: Vec::new(),
            },
        );
        let transmits = s.router.switch(leg, Switch::Connected(true), now)?;
        self.transmits.extend(transmits);
        self.send_transmits(session, now, out);
        Ok(())
    }

    /// Sealed bytes the recording may hold for [`Endpoint::take_recording`] before it
    /// fails ([`MAX_UNCOLLECTED`] by default).
    ///
    /// # Errors
    /// As [`Endpoint::take_recording`].
    pub fn set_recording_limit(
        &mut self,
        session: SessionId,
        leg: LegId,
        max_uncollected: u64,
    ) -> Result<(), ControlError> {
        self.recorder_leg(session, leg)?.max_uncollected = max_uncollected;
        Ok(())
    }

    fn recorder_leg(
        &mut self,
        session: SessionId,
        leg: LegId,
    ) -> Result<&mut RecorderLeg, ControlError> {
        self.sessions
            .get_mut(&session)
            .and_then(|s| s.recorders.get_mut(&leg))
            .ok_or(ControlError::NotRecording(session))
    }

    /// The sealed bytes the recording produced since the last call (append them to the
    /// stored file).
    ///
    /// # Errors
    /// No recording on that leg (never started, stopped, or failed: see
    /// [`Event::RecordingFailed`]).
    pub fn take_recording(
        &mut self,
        session: SessionId,
        leg: LegId,
    ) -> Result<Vec<u8>, ControlError> {
        let recorder = self.recorder_leg(session, leg)?;
        let sealed = recorder.recorder.take_sealed();
        recorder.collected += sealed.len() as u64;
        Ok(sealed)
    }

    /// The recording's counters so far.
    ///
    /// # Errors
    /// As [`Endpoint::take_recording`].
    pub fn recording_stats(
        &mut self,
        session: SessionId,
        leg: LegId,
    ) -> Result<RecorderStats, ControlError> {
        Ok(self.recorder_leg(session, leg)?.recorder.stats())
    }

    /// Ends the recording and removes its leg: the sealed bytes not taken yet (the file
    /// is complete with them) and the final counters.
    ///
    /// # Errors
    /// As [`Endpoint::take_recording`]; the recorder's failure to finish.
    pub fn stop_recording(
        &mut self,
        session: SessionId,
        leg: LegId,
    ) -> Result<(Vec<u8>, RecorderStats), ControlError> {
        let s = self
            .sessions
            .get_mut(&session)
            .ok_or(ControlError::NotRecording(session))?;
        let recorder = s
            .recorders
            .remove(&leg)
            .ok_or(ControlError::NotRecording(session))?;
        s.lines.remove(&leg);
        s.router.remove_leg(leg);
        recorder.recorder.finish().map_err(ControlError::Recording)
    }

    /// After a transmit went to a recorder: queue its NACK and key frame request (fed to
    /// the relay by [`Endpoint::send_recorder_feedback`] and `request_keyframes` once
    /// the current packet is done), or end a recording that failed.
    pub(super) fn recorded(&mut self, session: SessionId, leg: LegId, recorded: Recorded) {
        match recorded {
            Recorded::Taken { nack, keyframe } => {
                if let Some(nack) = nack {
                    self.recorder_feedback.push((session, leg, nack));
                }
                if keyframe {
                    self.keyframes.push((session, leg));
                }
            }
            Recorded::Failed(reason) => self.recording_failed(session, leg, reason),
        }
    }

    /// Feeds the relays the NACKs their recorders queued, as if the legs had sent them;
    /// what the relays answer (from the history, at once) goes to the recorders. What
    /// those answers queue waits for the next packet's turn.
    pub(super) fn send_recorder_feedback(&mut self, now: f64, out: &mut Vec<Outgoing>) {
        if self.recorder_feedback.is_empty() {
            return;
        }
        for (session, leg, rtcp) in std::mem::take(&mut self.recorder_feedback) {
            let Some(s) = self.sessions.get_mut(&session) else {
                continue;
            };
            s.router.handle_rtcp(leg, &rtcp, now, &mut self.transmits);
            self.send_transmits(session, now, out);
        }
    }

    fn recording_failed(&mut self, session: SessionId, leg: LegId, reason: String) {
        if let Some(s) = self.sessions.get_mut(&session) {
            if s.recorders.remove(&leg).is_some() {
                s.lines.remove(&leg);
                s.router.remove_leg(leg);
                self.push_event(Event::RecordingFailed {
                    session,
                    leg,
                    reason,
                });
            }
        }
    }

    /// `source` now sends `sink` media: if `sink` records, remember it.
    pub(super) fn note_recording_route(&mut self, session: SessionId, source: LegId, sink: LegId) {
        if let Some(recorder) = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.recorders.get_mut(&sink))
        {
            if !recorder.sources.contains(&source) {
                recorder.sources.push(source);
            }
        }
    }

    /// `leg` is replaced or removed: the recorders it fed start new streams.
    pub(super) fn recording_source_changed(&mut self, session: SessionId, leg: LegId) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let mut failed = Vec::new();
        for (&id, recorder) in &mut s.recorders {
            if let Some(i) = recorder.sources.iter().position(|&l| l == leg) {
                recorder.sources.swap_remove(i);
                if let Err(error) = recorder.recorder.new_streams() {
                    failed.push((id, error.to_string()));
                }
            }
        }
        for (id, reason) in failed {
            self.recording_failed(session, id, reason);
        }
    }
}

#[cfg(test)]
mod tests;
