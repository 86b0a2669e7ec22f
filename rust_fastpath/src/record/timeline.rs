//! One timeline for both tracks, in milliseconds from the recording's first frame.
//!
//! Each track's RTP timestamps (90 kHz video, 48 kHz audio) are unwrapped past 32 bits
//! and mapped through an anchor: the first frame of a track is placed at its arrival
//! time, so the tracks start aligned by arrival (the default). RTCP sender reports,
//! when the caller has them ([`Timeline::sender_report`]), move the audio's anchor so
//! both tracks agree on the sender's NTP clock (lip sync as the sender captured it).
//!
//! A track re-anchors on its arrival time when its stream changes (SSRC change,
//! restart) and when its timestamps stray more than [`MAX_DRIFT_MS`] from the arrival
//! clock (a reconnect that kept the SSRC, a timestamp jump): the file gets a gap, not
//! a jump back in time. A track's times only ever increase.

use crate::relay::MediaKind;

/// How far a track's RTP-derived time may stray from its arrival time.
pub const MAX_DRIFT_MS: i64 = 2000;
/// Sender-report corrections smaller than this are left alone (jitter).
pub const SYNC_TOLERANCE_MS: i64 = 15;

#[derive(Clone, Copy, Debug)]
struct Anchor {
    ts: i64,
    ms: i64,
}

#[derive(Clone, Copy, Debug)]
struct SenderReport {
    ntp: f64,
    ts: u32,
}

struct TrackClock {
    rate: i64,
    last_ts: Option<i64>,
    anchor: Option<Anchor>,
    last_ms: Option<i64>,
    report: Option<SenderReport>,
    synced: bool,
}

impl TrackClock {
    fn new(rate: u32) -> Self {
        Self {
            rate: i64::from(rate.max(1)),
            last_ts: None,
            anchor: None,
            last_ms: None,
            report: None,
            synced: false,
        }
    }

    fn unwrap(&mut self, ts: u32) -> i64 {
        let ext = self
            .last_ts
            .map_or(i64::from(ts), |last| unwrap_ts(last, ts));
        self.last_ts = Some(ext);
        ext
    }

    fn ms_of(&self, anchor: Anchor, ts: i64) -> i64 {
        anchor.ms + (ts - anchor.ts) * 1000 / self.rate
    }

    /// The NTP time (seconds) of the anchor, by the last sender report.
    fn anchor_ntp(&self) -> Option<f64> {
        let (anchor, report) = (self.anchor?, self.report?);
        let report_ts = unwrap_ts(anchor.ts, report.ts);
        Some(report.ntp + (anchor.ts - report_ts) as f64 / self.rate as f64)
    }
}

/// The 64-bit timestamp nearest to `last` with low 32 bits `ts`.
fn unwrap_ts(last: i64, ts: u32) -> i64 {
    last + i64::from(ts.wrapping_sub(last as u32) as i32)
}

/// Both tracks' clocks and the arrival time of the recording's first frame.
pub struct Timeline {
    origin: Option<f64>,
    video: TrackClock,
    audio: TrackClock,
    /// Re-anchorings on arrival time (stream changes and timestamp jumps).
    pub reanchors: u64,
}

impl Timeline {
    #[must_use]
    pub fn new(video_rate: u32, audio_rate: u32) -> Self {
        Self {
            origin: None,
            video: TrackClock::new(video_rate),
            audio: TrackClock::new(audio_rate),
            reanchors: 0,
        }
    }

    fn clock(&mut self, kind: MediaKind) -> &mut TrackClock {
        match kind {
            MediaKind::Video => &mut self.video,
            MediaKind::Audio => &mut self.audio,
        }
    }

    /// The time (ms) of a frame of `kind` with RTP timestamp `ts` that arrived at
    /// `arrival` (seconds, the caller's clock); `discontinuity` for the first frame of a
    /// new stream.
    pub fn place(&mut self, kind: MediaKind, ts: u32, arrival: f64, discontinuity: bool) -> i64 {
        let origin = *self.origin.get_or_insert(arrival);
        let arrival_ms = ((arrival - origin) * 1000.0).round() as i64;
        let clock = self.clock(kind);
        if discontinuity {
            clock.last_ts = None;
            clock.anchor = None;
            clock.report = None;
            clock.synced = false;
        }
        let ext = clock.unwrap(ts);
        let had_anchor = clock.anchor.is_some();
        let keeps_anchor = clock
            .anchor
            .is_some_and(|anchor| (clock.ms_of(anchor, ext) - arrival_ms).abs() <= MAX_DRIFT_MS);
        if !keeps_anchor {
            clock.anchor = Some(Anchor {
                ts: ext,
                ms: arrival_ms,
            });
            clock.synced = false;
            if had_anchor || discontinuity {
                self.reanchors += 1;
            }
            self.sync();
        }
        let clock = self.clock(kind);
        let ms = clock
            .anchor
            .map_or(arrival_ms, |anchor| clock.ms_of(anchor, ext));
        let ms = clock.last_ms.map_or(ms, |last| ms.max(last + 1));
        clock.last_ms = Some(ms);
        ms
    }

    /// An RTCP sender report of the track: its NTP time (seconds) and the RTP timestamp
    /// of that instant.
    pub fn sender_report(&mut self, kind: MediaKind, ntp: f64, ts: u32) {
        if !ntp.is_finite() {
            return;
        }
        self.clock(kind).report = Some(SenderReport { ntp, ts });
        self.clock(kind).synced = false;
        self.sync();
    }

    /// Moves the audio anchor so that audio and video agree on the sender's NTP clock.
    fn sync(&mut self) {
        if self.audio.synced {
            return;
        }
        let (Some(video_ntp), Some(audio_ntp), Some(video), Some(audio)) = (
            self.video.anchor_ntp(),
            self.audio.anchor_ntp(),
            self.video.anchor,
            self.audio.anchor,
        ) else {
            return;
        };
        let wanted = video.ms + ((audio_ntp - video_ntp) * 1000.0).round() as i64;
        if (wanted - audio.ms).abs() > SYNC_TOLERANCE_MS && (wanted - audio.ms).abs() < MAX_DRIFT_MS
        {
            self.audio.anchor = Some(Anchor {
                ts: audio.ts,
                ms: wanted,
            });
        }
        self.audio.synced = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: MediaKind = MediaKind::Video;
    const A: MediaKind = MediaKind::Audio;

    #[test]
    fn tracks_start_at_their_arrival_and_follow_their_clocks() {
        let mut timeline = Timeline::new(90_000, 48_000);
        assert_eq!(timeline.place(V, 1_000_000, 10.0, false), 0);
        assert_eq!(timeline.place(A, 5, 10.25, false), 250);
        assert_eq!(timeline.place(V, 1_000_000 + 90_000, 11.0, false), 1000);
        assert_eq!(timeline.place(A, 5 + 960, 10.3, false), 270);
    }

    #[test]
    fn timestamps_unwrap_past_32_bits() {
        let mut timeline = Timeline::new(90_000, 48_000);
        let start = u32::MAX - 1500;
        assert_eq!(timeline.place(V, start, 0.0, false), 0);
        assert_eq!(
            timeline.place(V, start.wrapping_add(3000), 0.033, false),
            33
        );
        assert_eq!(
            timeline.place(V, start.wrapping_add(6000), 0.066, false),
            66
        );
    }

    #[test]
    fn a_new_stream_or_a_jump_reanchors_on_arrival_and_time_never_goes_back() {
        let mut timeline = Timeline::new(90_000, 48_000);
        timeline.place(V, 0, 0.0, false);
        timeline.place(V, 90_000, 1.0, false);
        // Reconnect: new SSRC, random timestamps, five seconds later.
        assert_eq!(timeline.place(V, 777, 6.0, true), 6000);
        assert_eq!(timeline.place(V, 777 + 9000, 6.1, false), 6100);
        // The same stream's timestamps leap by an hour: a gap on arrival time.
        assert_eq!(
            timeline.place(V, 777 + 9000 + 324_000_000, 7.0, false),
            7000
        );
        // A stream that comes back with an earlier arrival clock cannot go back.
        assert_eq!(timeline.place(V, 5, 6.5, true), 7001);
        assert_eq!(timeline.reanchors, 3);
    }

    #[test]
    fn sender_reports_align_audio_with_video() {
        let mut timeline = Timeline::new(90_000, 48_000);
        // Audio arrives 100 ms after video but was captured at the same instant.
        assert_eq!(timeline.place(V, 9000, 0.0, false), 0);
        timeline.sender_report(V, 1000.0, 9000);
        timeline.sender_report(A, 1000.0, 4800);
        assert_eq!(timeline.place(A, 4800, 0.1, false), 0);
        assert_eq!(timeline.place(A, 4800 + 960, 0.12, false), 20);
        assert_eq!(timeline.place(V, 9000 + 3000, 0.033, false), 33);
        // Garbage is ignored.
        timeline.sender_report(V, f64::NAN, 0);
    }

    #[test]
    fn a_late_sender_report_moves_audio_without_going_back() {
        let mut timeline = Timeline::new(90_000, 48_000);
        assert_eq!(timeline.place(V, 9000, 0.0, false), 0);
        assert_eq!(timeline.place(A, 4800, 0.1, false), 100);
        timeline.sender_report(V, 1000.0, 9000);
        timeline.sender_report(A, 1000.0, 4800);
        assert_eq!(timeline.place(A, 4800 + 960, 0.12, false), 101);
        assert_eq!(timeline.place(A, 4800 + 48_000, 1.1, false), 1000);
    }
}
