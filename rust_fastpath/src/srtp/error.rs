//! Why a packet (or a context) was refused.

use std::fmt;

/// Everything SRTP can refuse. Packets are never half-processed: an `Err` means the
/// packet is dropped and counted in [`super::Stats`], and per-stream state is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The profile name is not one of [`super::Profile::ALL`].
    UnknownProfile,
    /// A master or session key or salt has the wrong length for the profile.
    BadKeyLength,
    /// Too short, wrong version, or a header that claims more bytes than there are.
    Malformed,
    /// The authentication tag does not match (HMAC-SHA1 or GCM).
    AuthFailed,
    /// The index was already received, or is older than the replay window; on the sending
    /// side, older than the window (a retransmission inside it is allowed).
    Replayed,
    /// More SSRCs than [`super::MAX_STREAMS`] in one direction.
    TooManyStreams,
    /// The 31-bit SRTCP index ran out for an SSRC: the keys must be replaced.
    IndexExhausted,
    /// The crypto library refused an operation it should not refuse.
    Crypto,
}

impl Error {
    /// The short reason Python sees in `ValueError`.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::UnknownProfile => "unknown SRTP profile",
            Self::BadKeyLength => "wrong key or salt length for the profile",
            Self::Malformed => "malformed packet",
            Self::AuthFailed => "authentication failed",
            Self::Replayed => "replayed packet",
            Self::TooManyStreams => "too many streams",
            Self::IndexExhausted => "SRTCP index exhausted",
            Self::Crypto => "cipher failure",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Error {}
