//! The recorder's cost per packet, for setting against the relay's forwarding cost
//! (`relay_core`): depacketising alone, sealing alone, and the whole pipeline
//! (depacketise + timeline + WebM mux + AES-256-GCM seal) on a 30 fps VP8 stream of
//! 1,200-byte packets, four to a frame. Also prints the sealed file's size against the
//! media's own bytes.

#[allow(dead_code)] // this bench builds its own packets
mod common;

use std::hint::black_box;

use _fastpath::record::depacketize::{Codec, TrackInput};
use _fastpath::record::seal::{ChunkWriter, DEFAULT_CHUNK_SIZE};
use _fastpath::record::{Recorder, RecorderConfig};
use _fastpath::relay::rtp::RtpPacket;
use _fastpath::relay::MediaKind;
use common::{ns_per_call, report, PACKET_BYTES};

const PACKETS_PER_FRAME: u32 = 4;
const PAYLOAD: usize = PACKET_BYTES - 12;

/// The next packet of an endless VP8 stream (a key frame every 100 frames).
struct Camera {
    n: u32,
}

impl Camera {
    fn next(&mut self) -> RtpPacket {
        let (frame, part) = (self.n / PACKETS_PER_FRAME, self.n % PACKETS_PER_FRAME);
        self.n += 1;
        let mut payload = vec![if part == 0 { 0x90 } else { 0x80 }, 0x80];
        payload.extend_from_slice(&(0x8000 | (frame & 0x7FFF) as u16).to_be_bytes());
        if part == 0 {
            if frame % 100 == 0 {
                payload.extend_from_slice(&[
                    0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01,
                ]);
            } else {
                payload.extend_from_slice(&[0x31, 0x00, 0x00]);
            }
        }
        payload.resize(PAYLOAD, 0xAB);
        RtpPacket {
            payload_type: 96,
            sequence_number: self.n as u16,
            timestamp: frame.wrapping_mul(3000),
            ssrc: 0x1234_5678,
            marker: part == PACKETS_PER_FRAME - 1,
            payload,
            ..RtpPacket::default()
        }
    }

    fn arrival(&self) -> f64 {
        f64::from(self.n / PACKETS_PER_FRAME) / 30.0
    }
}

fn main() {
    let key = [7u8; 32];

    let mut camera = Camera { n: 0 };
    let mut input = TrackInput::new(Codec::Vp8);
    let mut frames = Vec::new();
    let ns = ns_per_call(|| {
        let packet = camera.next();
        input.push(&packet, camera.arrival(), &mut frames);
        frames.clear();
    });
    report("record", "vp8", "depacketise", ns);

    let mut writer = ChunkWriter::new(&key, b"bench", DEFAULT_CHUNK_SIZE).expect("writer");
    let bytes = vec![0x5Au8; PACKET_BYTES];
    let ns = ns_per_call(|| {
        writer.push(&bytes).expect("push");
        black_box(writer.take_sealed());
    });
    report("record", "seal", "aes-256-gcm 64 KiB chunks", ns);

    let config = RecorderConfig {
        audio: None,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::new(config, &key, b"bench").expect("recorder");
    let mut camera = Camera { n: 0 };
    let ns = ns_per_call(|| {
        let packet = camera.next();
        recorder
            .push_rtp(MediaKind::Video, &packet, camera.arrival())
            .expect("push");
        black_box(recorder.take_sealed());
    });
    report("record", "recorder", "depacketise+mux+seal", ns);

    let stats = recorder.stats();
    let media = camera.n as f64 * PAYLOAD as f64;
    println!(
        "# record: {} packets, sealed {} bytes for {:.0} bytes of RTP payload ({:.3}x)",
        camera.n,
        stats.sealed_bytes,
        media,
        stats.sealed_bytes as f64 / media
    );
}
