//! What the endpoint needs from a session's relay: the sans-IO API of the Python
//! reference relay (`livelens/media/reference_relay/`), so the Rust `relay::Relay`
//! is plugged in behind this trait ([`super::relay_router::RelayRouter`]). Packets in
//! and out are plaintext; SRTP is the endpoint's job.

/// A participant's transport within one session (the reference relay's `LegId`).
pub type LegId = String;

/// One plaintext RTP or RTCP packet to protect and send on a leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub leg_id: LegId,
    pub data: Vec<u8>,
}

// The m-line vocabulary is the relay's own, so plugging the relay in needs no copying.
pub use crate::relay::{Codec, MediaKind, MediaLine};

/// A session's relay as the endpoint drives it: the calls and meaning of the reference
/// relay (and of `relay::Relay`, whose topology errors become strings here). `now` is
/// seconds on any monotonic epoch.
pub trait PacketRouter: Send {
    fn add_leg(&mut self, leg: &str, media: &[MediaLine], forwarding: bool) -> Result<(), String>;
    fn remove_leg(&mut self, leg: &str);
    fn add_route(&mut self, source: &str, sink: &str, kind: MediaKind) -> Result<(), String>;
    fn remove_route(&mut self, source: &str, sink: &str, kind: MediaKind) -> Result<(), String>;
    fn set_forwarding(
        &mut self,
        leg: &str,
        forwarding: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, String>;
    fn set_connected(
        &mut self,
        leg: &str,
        connected: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, String>;
    fn handle_rtp(&mut self, leg: &str, packet: &[u8], now: f64) -> Vec<Transmit>;
    fn handle_rtcp(&mut self, leg: &str, packet: &[u8], now: f64) -> Vec<Transmit>;
    fn handle_timeout(&mut self, now: f64) -> Vec<Transmit>;
    fn next_timeout(&self) -> Option<f64>;
    /// Diagnostics for `MediaHub.stats`, as JSON.
    fn stats(&self) -> serde_json::Value;
}
