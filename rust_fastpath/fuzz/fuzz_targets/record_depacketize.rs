//! The recorder never panics on any packets: VP8 and Opus depacketising (reordering,
//! loss, SSRC changes, broken descriptors), the timeline, the WebM muxer and sealing;
//! and whatever it was fed, the file it finishes opens and holds all the WebM written.
//! Input: records of flags(1) seq-step(1) ts-step(1) len(1) payload(len).
#![no_main]

use _fastpath::record::seal::open_file;
use _fastpath::record::{Recorder, RecorderConfig};
use _fastpath::relay::rtp::RtpPacket;
use _fastpath::relay::MediaKind;
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [3; 32];

fuzz_target!(|data: &[u8]| {
    let config = RecorderConfig {
        chunk_size: 512,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::new(config, &KEY, b"fuzz").expect("recorder");
    let mut file = Vec::new();
    let (mut seq, mut ts, mut now) = ([0u16; 2], [0u32; 2], 0.0f64);
    let mut rest = data;
    while let [flags, seq_step, ts_step, len, tail @ ..] = rest {
        let (payload, next) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = next;
        let audio = flags & 0x01 != 0;
        let kind = if audio { MediaKind::Audio } else { MediaKind::Video };
        let slot = usize::from(audio);
        // Mostly forward, sometimes back (reordering) or far (a restart).
        seq[slot] = seq[slot].wrapping_add(u16::from(*seq_step).wrapping_sub(8));
        ts[slot] = ts[slot].wrapping_add(u32::from(*ts_step) * 300);
        now += f64::from(*ts_step) / 100.0;
        let packet = RtpPacket {
            payload_type: 96,
            sequence_number: seq[slot],
            timestamp: ts[slot],
            ssrc: u32::from(flags >> 5),
            marker: flags & 0x02 != 0,
            payload: payload.to_vec(),
            ..RtpPacket::default()
        };
        recorder.push_rtp(kind, &packet, now).expect("push");
        if flags & 0x04 != 0 {
            recorder.sender_report(kind, f64::from(*ts_step), ts[slot]);
        }
        let _ = recorder.wants_keyframe();
        file.extend(recorder.take_sealed());
    }
    let (tail, stats) = recorder.finish().expect("finish");
    file.extend(tail);
    let opened = open_file(&KEY, b"fuzz", &file).expect("the file opens");
    assert_eq!(opened.len(), stats.webm_bytes);
    assert!(opened.read_from(&file, &(0..opened.len())).is_ok());
});
