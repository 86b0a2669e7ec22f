//! The packet relay, sans-IO: per-receiver rewriting, fan-out, NACK history, keyframe
//! requests, SR translation, source selection, the consent gate, our own receiver
//! reports and REMB towards publishers, and counters.
//!
//! The pure core a socket adapter calls directly (no Python in here):
//!
//! ```
//! use _fastpath::relay::{Config, MediaKind, Relay};
//! let mut relay = Relay::new(Config::default()).unwrap();
//! let customer = 1; // legs are the caller's numbers
//! relay.add_leg(customer, &[], true).unwrap();
//! let sent = relay.handle_rtp(customer, &[0x80, 0x60], 1.0);
//! assert!(sent.is_empty()); // malformed: a counted drop, never a panic
//! # let _ = MediaKind::Audio;
//! ```
//!
//! | module     | what                                                               |
//! |------------|--------------------------------------------------------------------|
//! | `media`    | negotiated m-lines and codecs (the input of `add_leg`)             |
//! | `rtp`      | RTP parse/serialize, RFC 8285 extensions                           |
//! | `rtcp`     | RTCP compound parse/serialize: SR, RR, SDES, NACK, PLI, FIR, REMB  |
//! | `rewrite`  | a route's PT/extension/RTX maps and the packets they produce      |
//! | `history`  | the last N packets of a source, for NACK answers                   |
//! | `streams`  | per-leg and per-stream state: sources, sinks, routes, segments     |
//! | `session`  | [`Relay`]: API and topology; a submodule per concern (see there)   |
//! | `stats`    | counters and drop reasons                                          |
//! | `rng`      | sequence-number starts: OS randomness, or splitmix64 from a seed   |
//! | `arena`    | generational storage for the state that points at itself          |

mod arena;
mod error;
pub mod history;
pub mod media;
pub mod rewrite;
mod rng;
pub mod rtcp;
pub mod rtp;
mod session;
mod stats;
mod streams;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

pub use error::{Malformed, RelayError, Unserializable};
pub use media::{Codec, MediaKind, MediaLine, ABS_SEND_TIME_URI, AUDIO_LEVEL_URI, MID_URI};
pub use rng::SplitMix64;
pub use session::{
    Config, LegId, Protocol, Relay, Switch, Transmit, HISTORY_SIZE, KEYFRAME_REQUEST_INTERVAL,
    REMB_INTERVAL, REPORT_INTERVAL, SOURCE_IDLE_SWITCH, SPEAKER_HOLD,
};
pub use stats::{DropReason, Drops, LegStats, RelayStats, SinkStats, SourceStats, Total, Totals};
pub use streams::{MAX_PENDING_RTX, MAX_SEGMENTS, SPEAKING_LEVEL};
