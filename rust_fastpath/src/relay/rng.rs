//! Where sequence-number and timestamp starts come from. They need unpredictability, not
//! secrecy (SRTP protects them): OS randomness by default, or splitmix64 from a seed so
//! that the Rust relay and the Python reference produce byte-identical output.

/// Sebastiano Vigna's splitmix64; `livelens/media/reference_relay/rng.py` has the same.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[derive(Clone, Debug)]
pub enum Rng {
    Seeded(SplitMix64),
    Os,
}

impl Rng {
    #[must_use]
    pub fn new(seed: Option<u64>) -> Self {
        seed.map_or(Rng::Os, |seed| Rng::Seeded(SplitMix64::new(seed)))
    }

    /// `k` random bits (1..=64): the top bits of one 64-bit draw, like Python's
    /// `getrandbits(k)` on the reference's generator.
    pub fn bits(&mut self, k: u32) -> u64 {
        let draw = match self {
            Rng::Seeded(generator) => generator.next_u64(),
            Rng::Os => os_u64(),
        };
        draw >> (64 - k.clamp(1, 64))
    }
}

fn os_u64() -> u64 {
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    // aws-lc's generator does not fail in practice; std's per-process random SipHash keys
    // are still unpredictable enough for a starting sequence number.
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_published_sequence() {
        // First outputs for seed 1234567 from Vigna's reference C implementation.
        let mut g = SplitMix64::new(1_234_567);
        assert_eq!(g.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(g.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn bits_takes_the_top_bits() {
        let mut a = Rng::new(Some(7));
        let mut b = SplitMix64::new(7);
        assert_eq!(a.bits(15), b.next_u64() >> 49);
        assert_eq!(a.bits(32), b.next_u64() >> 32);
        assert!(Rng::new(None).bits(15) < 1 << 15);
    }
}
