//! What the unit tests of several modules share: the JSON vector files under
//! `tests/vectors/` (the Python tests read the same ones) and a seeded pseudo-random
//! stream for the tests that throw mangled input at parsers.

use serde_json::Value;

/// A vector file's text (from `include_str!`) as JSON.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("vector file is JSON")
}

/// The bytes a vector spells as a hex string.
pub fn hex(value: &Value) -> Vec<u8> {
    let text = value.as_str().expect("hex string");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// xorshift64 from `seed`: the same words on every run, so a failure reproduces.
pub fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
