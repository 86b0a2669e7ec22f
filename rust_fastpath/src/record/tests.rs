//! The recorder end to end: RTP in, sealed file out, opened and parsed back as WebM by a
//! reader that is not ours (`webm-iterable`), and checked by `ffprobe` on real VP8 and
//! Opus made by `ffmpeg` (Debian's ffmpeg; the test setup installs it).

use std::convert::TryFrom;
use std::process::Command;

use webm_iterable::matroska_spec::{Master, MatroskaSpec, SimpleBlock};
use webm_iterable::WebmIterator;

use super::seal::{open_file, SealError};
use super::vp8::tests::{keyframe_bitstream, packetize};
use super::webm::{Tracks, WebmMuxer};
use super::{Recorder, RecorderConfig};
use crate::relay::rtp::RtpPacket;
use crate::relay::MediaKind;

const KEY: [u8; 32] = [9; 32];
const RID: &[u8] = b"0f3c-recording";

/// One frame to send: its track, time (ms), key frame flag and bitstream.
#[derive(Clone, Debug)]
struct MediaFrame {
    kind: MediaKind,
    ms: i64,
    keyframe: bool,
    data: Vec<u8>,
}

/// Sends frames as RTP: each video frame in packets of at most 1,000 bytes with a
/// PictureID, each audio frame in one packet; `alter` may drop (false) or change
/// packets before they go (SSRC, timestamps).
struct Sender {
    seq: [u16; 2],
    picture_id: u16,
}

impl Sender {
    fn new() -> Self {
        Self {
            seq: [1000, 50_000],
            picture_id: 0,
        }
    }

    fn packets(&mut self, frame: &MediaFrame) -> Vec<RtpPacket> {
        let (slot, ssrc, ts, pt) = match frame.kind {
            MediaKind::Video => (0, 0x1111, (frame.ms * 90) as u32, 96),
            MediaKind::Audio => (1, 0x2222, (frame.ms * 48) as u32, 111),
        };
        let payloads = if frame.kind == MediaKind::Video {
            self.picture_id = (self.picture_id + 1) & 0x7FFF;
            packetize(
                &frame.data,
                self.picture_id,
                frame.data.len().div_ceil(1000),
            )
        } else {
            vec![frame.data.clone()]
        };
        let last = payloads.len() - 1;
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                self.seq[slot] = self.seq[slot].wrapping_add(1);
                RtpPacket {
                    payload_type: pt,
                    sequence_number: self.seq[slot],
                    timestamp: ts.wrapping_add(0xFFFF_0000), // wraps within the first seconds
                    ssrc,
                    marker: i == last,
                    payload,
                    ..RtpPacket::default()
                }
            })
            .collect()
    }
}

/// Records `frames` (each sent at its own time) through `alter`; returns the WebM bytes
/// and the recorder's counters.
fn record(
    frames: &[MediaFrame],
    mut alter: impl FnMut(&MediaFrame, &mut RtpPacket) -> bool,
) -> (Vec<u8>, super::RecorderStats) {
    let config = RecorderConfig {
        chunk_size: 4096,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::new(config, &KEY, RID).expect("recorder");
    let mut sender = Sender::new();
    let mut file = Vec::new();
    for frame in frames {
        for mut packet in sender.packets(frame) {
            if alter(frame, &mut packet) {
                let arrival = 100.0 + frame.ms as f64 / 1000.0;
                recorder
                    .push_rtp(frame.kind, &packet, arrival)
                    .expect("push");
            }
        }
        file.extend(recorder.take_sealed());
    }
    let (tail, stats) = recorder.finish().expect("finish");
    file.extend(tail);
    assert_eq!(file.len() as u64, stats.sealed_bytes);
    let opened = open_file(&KEY, RID, &file).expect("a complete, authentic file");
    let webm = opened.read_from(&file, &(0..opened.len())).expect("read");
    // What the sealing promises, on a real recording.
    let mut cut = file.clone();
    cut.truncate(file.len() - 100);
    assert_eq!(open_file(&KEY, RID, &cut).err(), Some(SealError::Truncated));
    (webm, stats)
}

/// What a WebM file holds, by an independent parser.
#[derive(Debug, Default)]
struct Parsed {
    doc_type: String,
    duration_ms: f64,
    codecs: Vec<String>,
    size: Option<(u64, u64)>,
    opus_head: bool,
    /// (track, absolute ms, keyframe) per block.
    blocks: Vec<(u64, i64, bool)>,
    clusters: usize,
    cue_points: usize,
}

fn parse(webm: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut cluster_ms = 0i64;
    let (mut width, mut height) = (None, None);
    for tag in WebmIterator::new(webm, &[]) {
        match tag.expect("a well-formed WebM") {
            MatroskaSpec::DocType(doc_type) => parsed.doc_type = doc_type,
            MatroskaSpec::Duration(ms) => parsed.duration_ms = ms,
            MatroskaSpec::CodecID(codec) => parsed.codecs.push(codec),
            MatroskaSpec::PixelWidth(w) => width = Some(w),
            MatroskaSpec::PixelHeight(h) => height = Some(h),
            MatroskaSpec::CodecPrivate(data) => parsed.opus_head = data.starts_with(b"OpusHead"),
            MatroskaSpec::Cluster(Master::Start) => parsed.clusters += 1,
            MatroskaSpec::Timestamp(ms) => cluster_ms = ms as i64,
            MatroskaSpec::CuePoint(Master::Start) => parsed.cue_points += 1,
            tag @ MatroskaSpec::SimpleBlock(_) => {
                let block = SimpleBlock::try_from(&tag).expect("a SimpleBlock");
                parsed.blocks.push((
                    block.track,
                    cluster_ms + i64::from(block.timestamp),
                    block.keyframe,
                ));
            }
            _ => {}
        }
    }
    parsed.size = width.zip(height);
    parsed
}

/// A synthetic session: 30 fps VP8 with a key frame every second, 20 ms Opus frames.
fn synthetic(seconds: i64) -> Vec<MediaFrame> {
    let mut frames = Vec::new();
    for ms in (0..seconds * 1000).step_by(20) {
        frames.push(MediaFrame {
            kind: MediaKind::Audio,
            ms,
            keyframe: true,
            data: vec![0xFC, (ms / 20) as u8, 0x01],
        });
    }
    for i in 0..seconds * 30 {
        let ms = i * 1000 / 30;
        let keyframe = i % 30 == 0;
        let data = if keyframe {
            keyframe_bitstream(320, 240, 2500)
        } else {
            let mut data = vec![0x31, 0x00, 0x00];
            data.resize(1500, i as u8);
            data
        };
        frames.push(MediaFrame {
            kind: MediaKind::Video,
            ms,
            keyframe,
            data,
        });
    }
    frames.sort_by_key(|f| f.ms);
    frames
}

fn per_track(parsed: &Parsed, track: u64) -> Vec<(i64, bool)> {
    parsed
        .blocks
        .iter()
        .filter(|b| b.0 == track)
        .map(|b| (b.1, b.2))
        .collect()
}

#[test]
fn a_recording_parses_back_as_webm_with_both_tracks_on_one_timeline() {
    let frames = synthetic(3);
    let (webm, stats) = record(&frames, |_, _| true);
    let parsed = parse(&webm);
    assert_eq!(parsed.doc_type, "webm");
    assert_eq!(parsed.codecs, ["V_VP8", "A_OPUS"]);
    assert_eq!(parsed.size, Some((320, 240)));
    assert!(parsed.opus_head);
    let video = per_track(&parsed, 1);
    let audio = per_track(&parsed, 2);
    assert_eq!((video.len(), audio.len()), (90, 150));
    assert_eq!(video.iter().filter(|b| b.1).count(), 3);
    assert!(video.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(audio.windows(2).all(|w| w[0].0 < w[1].0));
    // Both tracks start at 0 and run 3 s (arrival-aligned; timestamps wrapped on the way).
    assert_eq!((video[0].0, audio[0].0), (0, 0));
    assert_eq!(video[89].0, 2966);
    assert_eq!(audio[149].0, 2980);
    assert!(
        (parsed.duration_ms - 3000.0).abs() <= 5.0,
        "{}",
        parsed.duration_ms
    );
    assert_eq!((parsed.clusters, parsed.cue_points), (3, 3));
    assert_eq!(stats.video.dropped_frames, 0);
}

#[test]
fn loss_reordering_padding_and_a_new_stream_make_gaps_not_a_broken_file() {
    let frames = synthetic(4);
    let mut sent = 0;
    let mut held: Option<RtpPacket> = None;
    let (webm, stats) = record(&frames, |frame, packet| {
        sent += 1;
        if frame.kind == MediaKind::Video {
            if (400..500).contains(&frame.ms) && !packet.marker {
                return false; // a video packet lost: frames wait for the key frame at 1 s
            }
            if frame.ms >= 2000 {
                packet.ssrc = 0x3333; // the camera switched at 2 s: a new stream
                packet.timestamp = packet.timestamp.wrapping_add(0x1234_5678);
            }
        }
        if frame.kind == MediaKind::Audio && (3000..3200).contains(&frame.ms) {
            return false; // a network drop on the audio: a 200 ms gap
        }
        if frame.kind == MediaKind::Audio && frame.ms == 600 {
            held = Some(packet.clone()); // arrives after the next one instead
            return false;
        }
        if let (MediaKind::Audio, Some(late)) = (frame.kind, held.take()) {
            *packet = late; // the swap: the next packet goes out in the late one's place
        }
        if frame.kind == MediaKind::Audio && sent % 50 == 0 {
            packet.payload.clear(); // padding only: no frame, no gap in the numbering
            packet.padding = vec![0, 0, 0, 4];
        }
        true
    });
    let parsed = parse(&webm);
    let video = per_track(&parsed, 1);
    let audio = per_track(&parsed, 2);
    assert!(video.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(audio.windows(2).all(|w| w[0].0 < w[1].0));
    // Video: nothing between the loss (~400 ms) and the key frame at 1 s.
    assert!(!video.iter().any(|b| (400..1000).contains(&b.0)));
    assert!(video.iter().any(|b| b.0 == 1000 && b.1));
    // The new stream continues on the same timeline at its arrival time.
    assert!(video.iter().any(|b| b.0 == 2000 && b.1));
    assert!(
        video.last().is_some_and(|b| b.0 > 3900),
        "{:?}",
        &video[video.len() - 5..]
    );
    // Audio: the gap is a gap.
    assert!(!audio.iter().any(|b| (3000..3200).contains(&b.0)));
    assert!(audio.iter().any(|b| b.0 == 3200));
    assert_eq!(stats.video.stream_changes, 1);
    assert!(stats.video.dropped_frames >= 10);
}

/// Real VP8 and Opus from `ffmpeg`, as frames.
fn ffmpeg_frames(seconds: u32) -> Vec<MediaFrame> {
    let dir = std::env::temp_dir().join(format!("livelens-record-src-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let source = dir.join("source.webm");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=320x240:rate=30:duration={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=48000:duration={seconds}"
        ))
        .args([
            "-c:v",
            "libvpx",
            "-g",
            "30",
            "-b:v",
            "300k",
            "-deadline",
            "realtime",
        ])
        .args(["-c:a", "libopus", "-frame_duration", "20", "-f", "webm"])
        .arg(&source)
        .status()
        .expect("ffmpeg runs (install Debian's ffmpeg: scripts/setup.sh does)");
    assert!(status.success(), "ffmpeg could not make the test media");
    let bytes = std::fs::read(&source).expect("source");
    let _ = std::fs::remove_dir_all(&dir);
    let mut frames = Vec::new();
    let mut cluster_ms = 0i64;
    for tag in WebmIterator::new(bytes.as_slice(), &[]) {
        match tag.expect("ffmpeg's WebM") {
            MatroskaSpec::Timestamp(ms) => cluster_ms = ms as i64,
            tag @ MatroskaSpec::SimpleBlock(_) => {
                let block = SimpleBlock::try_from(&tag).expect("block");
                frames.push(MediaFrame {
                    kind: if block.track == 1 {
                        MediaKind::Video
                    } else {
                        MediaKind::Audio
                    },
                    ms: cluster_ms + i64::from(block.timestamp),
                    keyframe: block.keyframe,
                    data: block.raw_frame_data().to_vec(),
                });
            }
            _ => {}
        }
    }
    frames.sort_by_key(|f| f.ms);
    frames
}

fn ffprobe(webm: &[u8]) -> (serde_json::Value, String) {
    let path = std::env::temp_dir().join(format!("livelens-record-{}.webm", std::process::id()));
    std::fs::write(&path, webm).expect("write");
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-of", "json"])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_frames,width,height:format=duration",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success());
    (
        serde_json::from_slice(&output.stdout).expect("ffprobe's JSON"),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn ffprobe_reads_both_tracks_the_duration_and_every_frame_through_a_network_drop() {
    let frames = ffmpeg_frames(4);
    let key_times: Vec<i64> = frames
        .iter()
        .filter(|f| f.kind == MediaKind::Video && f.keyframe)
        .map(|f| f.ms)
        .collect();
    assert!(key_times.len() >= 4, "{key_times:?}");
    // A network drop of both tracks from 1.5 s to 1.7 s; video resumes at its next key frame.
    let (webm, stats) = record(&frames, |frame, _| !(1500..1700).contains(&frame.ms));
    let (probe, errors) = ffprobe(&webm);
    assert_eq!(errors, "", "ffprobe decodes the file without an error");
    let streams = probe["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 2);
    assert_eq!(streams[0]["codec_name"], "vp8");
    assert_eq!(
        (streams[0]["width"].as_u64(), streams[0]["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert_eq!(streams[1]["codec_name"], "opus");
    let count = |i: usize| {
        streams[i]["nb_read_frames"]
            .as_str()
            .and_then(|n| n.parse::<u64>().ok())
    };
    assert_eq!(count(0), Some(stats.video.frames));
    assert_eq!(count(1), Some(stats.audio.frames));
    let sent_video = frames.iter().filter(|f| f.kind == MediaKind::Video).count() as u64;
    let lost_to_the_drop = frames
        .iter()
        .filter(|f| f.kind == MediaKind::Video && (1500..key_times[2]).contains(&f.ms))
        .count() as u64;
    assert_eq!(count(0), Some(sent_video - lost_to_the_drop));
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("a duration");
    assert!((duration - 4.0).abs() < 0.2, "duration {duration}");
}

/// The muxer alone: its bytes with its patches applied.
fn mux(tracks: Tracks, frames: &[MediaFrame]) -> Parsed {
    let mut muxer = WebmMuxer::new(tracks);
    let mut webm = Vec::new();
    for frame in frames {
        let size = frame.keyframe.then(|| frame_size(&frame.data)).flatten();
        muxer.push(
            frame.kind,
            frame.ms,
            frame.keyframe,
            size,
            frame.data.clone(),
        );
        webm.extend(muxer.take_output());
    }
    let (tail, patches) = muxer.finish();
    webm.extend(tail);
    for patch in patches {
        let at = patch.offset as usize;
        webm[at..at + patch.bytes.len()].copy_from_slice(&patch.bytes);
    }
    parse(&webm)
}

fn frame_size(data: &[u8]) -> Option<(u16, u16)> {
    match super::vp8::frame_kind(data) {
        super::vp8::FrameKind::Key { width, height } => Some((width, height)),
        _ => None,
    }
}

#[test]
fn audio_alone_gets_a_cluster_and_a_cue_every_five_seconds() {
    let frames: Vec<MediaFrame> = synthetic(12)
        .into_iter()
        .filter(|f| f.kind == MediaKind::Audio)
        .collect();
    let parsed = mux(
        Tracks {
            video: None,
            audio: Some(1),
        },
        &frames,
    );
    assert_eq!(parsed.codecs, ["A_OPUS"]);
    assert_eq!((parsed.clusters, parsed.cue_points), (3, 3));
    assert_eq!(parsed.blocks.len(), 600);
    assert!(parsed.blocks.iter().all(|b| b.0 == 1));
    assert_eq!(parsed.duration_ms, 12_000.0);
}

#[test]
fn a_late_first_keyframe_and_a_resolution_change_keep_the_file_whole() {
    // Six seconds of audio before the camera's first key frame: the header does not
    // wait for it past HEADER_WAIT_MS and declares the configured size.
    let mut frames: Vec<MediaFrame> = synthetic(8)
        .into_iter()
        .filter(|f| f.kind == MediaKind::Audio || f.ms >= 6000)
        .collect();
    for frame in &mut frames {
        if frame.kind == MediaKind::Video && frame.ms == 7000 {
            frame.data = keyframe_bitstream(640, 360, 2500);
        }
    }
    let parsed = mux(
        Tracks {
            video: Some((640, 480)),
            audio: Some(2),
        },
        &frames,
    );
    assert_eq!(parsed.size, Some((640, 480)));
    let video = per_track(&parsed, 1);
    assert_eq!(video.first(), Some(&(6000, true)));
    assert_eq!(video.iter().filter(|b| b.1).count(), 2);
    // Audio clusters at 0 and 5 s, then one at each key frame.
    assert_eq!((parsed.clusters, parsed.cue_points), (4, 2));
    assert_eq!(per_track(&parsed, 2).len(), 400);
}
