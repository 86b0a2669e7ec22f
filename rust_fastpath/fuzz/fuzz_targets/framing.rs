//! RFC 4571 framing never panics, stays bounded, and decodes the same frames however
//! the stream is cut into chunks (the first byte of the input chooses the cuts and the
//! limit; the rest is the stream).
#![no_main]

use _fastpath::net::framing::{Decoder, MAX_FRAME};
use libfuzzer_sys::fuzz_target;

fn media_byte(b: u8) -> bool {
    matches!(b, 0..=3 | 20..=63 | 128..=191)
}

fn decode(stream: &[u8], step: usize, max: usize) -> (Vec<Vec<u8>>, Option<&'static str>) {
    let mut decoder = Decoder::new(max, media_byte);
    let mut frames = Vec::new();
    for chunk in stream.chunks(step.max(1)) {
        let fed = decoder.feed(chunk, |f| {
            assert!(f.len() <= max.min(MAX_FRAME));
            frames.push(f.to_vec());
        });
        assert!(decoder.buffered() <= 2 + MAX_FRAME);
        if let Err(error) = fed {
            return (frames, Some(error.reason()));
        }
    }
    (frames, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let max = if selector & 0x80 == 0 {
        MAX_FRAME
    } else {
        1500
    };
    let whole = decode(stream, stream.len(), max);
    let cut = decode(stream, usize::from(selector & 0x7f), max);
    assert_eq!(whole, cut);
});
