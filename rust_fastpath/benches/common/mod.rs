//! A tiny timing harness shared by the benches: best-of-N batches, printed as one JSON
//! line per measurement so `benchmarks/report.py` can put them in the table.
//! (criterion would add 40 crates for what is a dozen lines here.)

use std::hint::black_box;
use std::time::Instant;

pub const PACKET_BYTES: usize = 1200;
const BATCH: u32 = 2_000;
const BATCHES: u32 = 15;

/// Nanoseconds per call of `op`: the fastest of several batches, which is the figure
/// least disturbed by other processes on a shared machine.
pub fn ns_per_call(mut op: impl FnMut()) -> f64 {
    for _ in 0..BATCH {
        op(); // warm caches and branch predictors
    }
    let mut best = f64::INFINITY;
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..BATCH {
            op();
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(BATCH));
    }
    black_box(best)
}

pub fn report(bench: &str, subject: &str, op: &str, ns: f64) {
    println!(
        r#"{{"bench": "{bench}", "subject": "{subject}", "op": "{op}", "ns_per_packet": {ns:.1}}}"#
    );
}

/// A 1,200-byte RTP packet (12-byte header, SSRC 0x1234_5678) with sequence number `seq`.
pub fn rtp_packet(seq: u16) -> Vec<u8> {
    let mut packet = vec![0x80, 96];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    packet.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    packet.resize(PACKET_BYTES, 0xab);
    packet
}
