//! The Rust relay ([`crate::relay::Relay`]) behind the endpoint's [`PacketRouter`]
//! trait: the media port's router. Only error and stats conversion happen here; the
//! forwarding behaviour is the relay's, held byte-identical to the Python reference.

use serde_json::{json, Value};

use super::router::{LegId, MediaKind, MediaLine, PacketRouter, Transmit};
use crate::relay::{self, Config, Relay, RelayError};

/// A session's relay, seeded from the OS (sequence and timestamp starts).
pub struct RelayRouter(Relay);

impl RelayRouter {
    /// # Panics
    /// Never with the default configuration, which is valid by construction.
    #[must_use]
    pub fn new() -> Self {
        match Relay::new(Config::default()) {
            Ok(relay) => Self(relay),
            Err(error) => unreachable!("the default relay configuration is valid: {error}"),
        }
    }
}

impl Default for RelayRouter {
    fn default() -> Self {
        Self::new()
    }
}

fn transmits(out: Vec<relay::Transmit>) -> Vec<Transmit> {
    out.into_iter()
        .map(|t| Transmit {
            leg_id: LegId::from(t.leg_id),
            data: t.data,
        })
        .collect()
}

fn reason(error: &RelayError) -> String {
    error.to_string()
}

impl PacketRouter for RelayRouter {
    fn add_leg(&mut self, leg: &str, media: &[MediaLine], forwarding: bool) -> Result<(), String> {
        self.0
            .add_leg(leg, media, forwarding)
            .map_err(|e| reason(&e))
    }

    fn remove_leg(&mut self, leg: &str) {
        self.0.remove_leg(leg);
    }

    fn add_route(&mut self, source: &str, sink: &str, kind: MediaKind) -> Result<(), String> {
        // `false` (a listen-only leg, say) is not an error: the route just doesn't exist.
        self.0
            .add_route(source, sink, kind)
            .map(|_| ())
            .map_err(|e| reason(&e))
    }

    fn remove_route(&mut self, source: &str, sink: &str, kind: MediaKind) -> Result<(), String> {
        self.0
            .remove_route(source, sink, kind)
            .map_err(|e| reason(&e))
    }

    fn set_forwarding(
        &mut self,
        leg: &str,
        forwarding: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, String> {
        self.0
            .set_forwarding(leg, forwarding, now)
            .map(transmits)
            .map_err(|e| reason(&e))
    }

    fn set_connected(
        &mut self,
        leg: &str,
        connected: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, String> {
        self.0
            .set_connected(leg, connected, now)
            .map(transmits)
            .map_err(|e| reason(&e))
    }

    fn handle_rtp(&mut self, leg: &str, packet: &[u8], now: f64) -> Vec<Transmit> {
        transmits(self.0.handle_rtp(leg, packet, now))
    }

    fn handle_rtcp(&mut self, leg: &str, packet: &[u8], now: f64) -> Vec<Transmit> {
        transmits(self.0.handle_rtcp(leg, packet, now))
    }

    fn handle_timeout(&mut self, now: f64) -> Vec<Transmit> {
        transmits(self.0.handle_timeout(now))
    }

    fn next_timeout(&self) -> Option<f64> {
        self.0.next_timeout()
    }

    fn stats(&self) -> Value {
        let mut stats = self.0.stats().to_json();
        stats["router"] = json!("relay");
        stats
    }
}
