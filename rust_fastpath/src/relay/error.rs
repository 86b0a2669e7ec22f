//! Why a packet could not be parsed or built, and why a topology call was refused.

use std::fmt;

use super::session::LegId;

/// An error that is its reason, a fixed string, and displays as it.
macro_rules! reason_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub &'static str);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }

        impl std::error::Error for $name {}
    };
}

reason_error!(
    /// The bytes are not a valid RTP or RTCP packet; the reason is for logs and tests.
    Malformed
);

reason_error!(
    /// A packet value that cannot be put on the wire (a payload type above 127, an
    /// extension that fits neither RFC 8285 form, ...).
    Unserializable
);

/// A refused topology call. Python sees `UnknownLeg` (a `KeyError`) for
/// [`RelayError::UnknownLeg`] and `RelayError` (a `ValueError`) for the rest, as the
/// reference relay raises `KeyError` and `ValueError` (`src/py/error.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayError {
    UnknownLeg(LegId),
    LegExists(LegId),
    SelfRoute,
    /// The relay's own settings (history size).
    InvalidConfig(String),
    /// An m-line that could never be put on the wire, or two m-lines of one kind.
    InvalidMedia(String),
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelayError::UnknownLeg(leg) => write!(f, "unknown leg {leg}"),
            RelayError::LegExists(leg) => write!(f, "leg {leg} already exists"),
            RelayError::SelfRoute => f.write_str("a leg cannot subscribe to itself"),
            RelayError::InvalidConfig(why) | RelayError::InvalidMedia(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for RelayError {}
