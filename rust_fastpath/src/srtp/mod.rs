//! SRTP and SRTCP (RFC 3711, RFC 7714) for the three DTLS-SRTP profiles aiortc
//! negotiates: `AES_CM_128_HMAC_SHA1_80`, `AEAD_AES_128_GCM` and `AEAD_AES_256_GCM`.
//!
//! Sans-IO and pure: [`SrtpContext`] transforms byte buffers in place and keeps the
//! per-SSRC state (ROC, replay windows, SRTCP index). Parsing never panics; a packet that
//! is malformed, inauthentic or replayed is an [`Error`] and a counted drop.
//!
//! | module        | what                                                        |
//! |---------------|-------------------------------------------------------------|
//! | `profile`     | the three profiles and their key, salt and tag lengths      |
//! | `kdf`         | AES-CM PRF key derivation, session keys                     |
//! | `crypto`      | AES-CTR, HMAC-SHA1, AES-GCM over aws-lc-rs                  |
//! | `transform`   | per-packet IVs, AAD, tag placement (no state)               |
//! | `replay`      | index estimation across wrap, 128-packet replay window      |
//! | `rtp_header`  | RTP header length, SSRC, sequence number                    |
//! | `rtcp_header` | SRTCP's clear 8 bytes and the sender SSRC                   |
//! | `context`     | per-SSRC state for both directions, counters                |

mod context;
mod crypto;
mod error;
pub mod kdf;
mod profile;
pub mod replay;
pub mod rtcp_header;
pub mod rtp_header;
mod transform;

pub use context::{SrtpContext, Stats, MAX_STREAMS};
pub use error::Error;
pub use kdf::SessionKeys;
pub use profile::Profile;

#[cfg(test)]
pub(crate) mod test_vectors {
    //! The published vectors under `tests/vectors/srtp/`, shared with the Python tests.

    use serde_json::Value;

    use super::{Profile, SessionKeys};
    pub use crate::test_support::hex;

    pub fn vectors(name: &str) -> Value {
        crate::test_support::json(match name {
            "rfc3711" => include_str!("../../../tests/vectors/srtp/rfc3711.json"),
            "rfc6188" => include_str!("../../../tests/vectors/srtp/rfc6188.json"),
            "rfc7714" => include_str!("../../../tests/vectors/srtp/rfc7714.json"),
            _ => panic!("no vector file {name}"),
        })
    }

    /// Session keys from a master key and salt of the profile's lengths, every byte of
    /// them `key` and `salt`.
    pub fn session_keys(profile: Profile, key: u8, salt: u8) -> SessionKeys {
        let (key, salt) = (vec![key; profile.key_len()], vec![salt; profile.salt_len()]);
        SessionKeys::derive(profile, &key, &salt).expect("the profile's lengths")
    }
}

#[cfg(test)]
mod tests;
