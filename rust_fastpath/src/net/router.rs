//! What the endpoint needs from a session's relay: the sans-IO API of the relay
//! (`relay::Relay` implements it, [`super::relay_router`]), behind a trait so the
//! endpoint's own tests can drive a simpler one. Packets in and out are plaintext; SRTP
//! is the endpoint's job. Legs are the caller's numbers, so nothing per packet carries
//! or hashes a string.

pub use crate::relay::{LegId, RelayError, RelayStats, Switch, Transmit};

// The m-line vocabulary is the relay's own, so plugging the relay in needs no copying.
pub use crate::relay::{Codec, MediaKind, MediaLine};

/// A session's relay as the endpoint drives it: the calls and meaning of `relay::Relay`.
/// Calls that produce packets append them to `out` (the endpoint reuses one buffer for
/// every packet). `now` is seconds on any monotonic epoch.
pub trait PacketRouter: Send {
    /// # Errors
    /// The relay's refusal: an existing leg, m-lines it cannot serve.
    fn add_leg(
        &mut self,
        leg: LegId,
        media: &[MediaLine],
        forwarding: bool,
    ) -> Result<(), RelayError>;
    fn remove_leg(&mut self, leg: LegId);
    /// `Ok(false)`: one side has no stream of this kind (a listen-only leg, say).
    ///
    /// # Errors
    /// An unknown leg, a route from a leg to itself.
    fn add_route(
        &mut self,
        source: LegId,
        sink: LegId,
        kind: MediaKind,
    ) -> Result<bool, RelayError>;
    /// # Errors
    /// An unknown source leg.
    fn remove_route(
        &mut self,
        source: LegId,
        sink: LegId,
        kind: MediaKind,
    ) -> Result<(), RelayError>;
    /// Turns one of a leg's switches on or off; returns the packets that sets off (a rare
    /// control call, so a `Vec` of its own rather than the packet path's `out`).
    ///
    /// # Errors
    /// An unknown leg.
    fn switch(&mut self, leg: LegId, switch: Switch, now: f64)
        -> Result<Vec<Transmit>, RelayError>;
    fn handle_rtp(&mut self, leg: LegId, packet: &[u8], now: f64, out: &mut Vec<Transmit>);
    fn handle_rtcp(&mut self, leg: LegId, packet: &[u8], now: f64, out: &mut Vec<Transmit>);
    fn handle_timeout(&mut self, now: f64, out: &mut Vec<Transmit>);
    fn next_timeout(&self) -> Option<f64>;
    /// Counters, for `MediaSocket.session_stats`.
    fn stats(&self) -> RelayStats;
}
