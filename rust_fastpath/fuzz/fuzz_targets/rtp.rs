//! RTP parsing never panics, and whatever parses serializes and parses back the same.
#![no_main]

use _fastpath::relay::rtp::parse_rtp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = parse_rtp(data) {
        let bytes = packet.to_bytes().expect("a parsed packet serializes");
        assert_eq!(parse_rtp(&bytes), Ok(packet));
    }
});
