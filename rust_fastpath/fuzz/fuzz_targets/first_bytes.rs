//! The shared web port's first-bytes demultiplexer never panics, decides within
//! `DECIDING_BYTES`, and never changes its mind as more bytes arrive (the connection is
//! sorted on whatever prefix the kernel had when it was peeked).
#![no_main]

use _fastpath::net::first_bytes::{classify, Kind, DECIDING_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decided = None;
    for n in 0..=data.len() {
        let kind = classify(&data[..n]);
        match decided {
            None if kind != Kind::NeedMore => decided = Some(kind),
            None => assert!(n < DECIDING_BYTES, "undecided after {n} bytes"),
            Some(first) => assert_eq!(kind, first, "changed its mind at {n} bytes"),
        }
    }
});
