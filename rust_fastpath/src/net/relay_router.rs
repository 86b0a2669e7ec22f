//! The Rust relay ([`crate::relay::Relay`]) as the endpoint's [`PacketRouter`]: the
//! media port's router. Nothing is converted here; the forwarding behaviour is the
//! relay's, held byte-identical to the Python reference.

use super::router::{
    LegId, MediaKind, MediaLine, PacketRouter, RelayError, RelayStats, Switch, Transmit,
};
use crate::relay::{Config, Protocol, Relay};

/// A session's relay, seeded from the OS (sequence and timestamp starts).
///
/// # Panics
/// Never: the default configuration is valid by construction.
#[must_use]
pub fn new_relay() -> Relay {
    match Relay::new(Config::default()) {
        Ok(relay) => relay,
        Err(error) => unreachable!("the default relay configuration is valid: {error}"),
    }
}

impl PacketRouter for Relay {
    fn add_leg(
        &mut self,
        leg: LegId,
        media: &[MediaLine],
        forwarding: bool,
    ) -> Result<(), RelayError> {
        Relay::add_leg(self, leg, media, forwarding)
    }

    fn remove_leg(&mut self, leg: LegId) {
        Relay::remove_leg(self, leg);
    }

    fn add_route(
        &mut self,
        source: LegId,
        sink: LegId,
        kind: MediaKind,
    ) -> Result<bool, RelayError> {
        Relay::add_route(self, source, sink, kind)
    }

    fn remove_route(
        &mut self,
        source: LegId,
        sink: LegId,
        kind: MediaKind,
    ) -> Result<(), RelayError> {
        Relay::remove_route(self, source, sink, kind)
    }

    fn switch(
        &mut self,
        leg: LegId,
        switch: Switch,
        now: f64,
    ) -> Result<Vec<Transmit>, RelayError> {
        Relay::switch(self, leg, switch, now)
    }

    fn handle_rtp(&mut self, leg: LegId, packet: &[u8], now: f64, out: &mut Vec<Transmit>) {
        self.receive(Protocol::Rtp, leg, packet, now, out);
    }

    fn handle_rtcp(&mut self, leg: LegId, packet: &[u8], now: f64, out: &mut Vec<Transmit>) {
        self.receive(Protocol::Rtcp, leg, packet, now, out);
    }

    fn handle_timeout(&mut self, now: f64, out: &mut Vec<Transmit>) {
        out.extend(Relay::handle_timeout(self, now));
    }

    fn next_timeout(&self) -> Option<f64> {
        Relay::next_timeout(self)
    }

    fn stats(&self) -> RelayStats {
        Relay::stats(self)
    }
}
