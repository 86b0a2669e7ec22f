//! RTCP compound parsing never panics; the compound's split matches its parse.
#![no_main]

use _fastpath::relay::rtcp::{parse_rtcp, split_compound};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = split_compound(data);
    if let Ok(packets) = parse_rtcp(data) {
        assert_eq!(parts.map(|p| p.len()), Ok(packets.len()));
    }
});
