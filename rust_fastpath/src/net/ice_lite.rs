//! The ICE-lite side of one transport (RFC 8445 §2.5): we never send checks, we answer
//! the browser's binding requests with our short-term credentials, and the address of a
//! valid request carrying USE-CANDIDATE becomes where we send. Sans-IO.
//!
//! A request that fails authentication gets no answer at all, not RFC 8445's 400/401:
//! its source address may be forged, and an error response (48 bytes) to a bare 20-byte
//! request would make the port a reflector that amplifies. A browser with stale
//! credentials times out instead of failing fast, which ICE handles anyway.

use super::path::Path;
use super::stun::{Message, MessageBuilder, ATTR_USE_CANDIDATE, BINDING_REQUEST, BINDING_SUCCESS};

/// Without a valid check for this long, consent is gone (RFC 7675 §5.1: 30 s). The
/// default of [`IceLite::consent_timeout`].
pub const CONSENT_TIMEOUT: f64 = 30.0;
/// Validated remote addresses kept per transport (a moving phone has a few, not many).
const MAX_ADDRESSES: usize = 8;

/// Why a binding request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a binding request (responses and indications are not for an ICE-lite agent).
    NotARequest,
    /// No USERNAME, no MESSAGE-INTEGRITY or no FINGERPRINT (RFC 8445 §7.2.2).
    MissingAttribute,
    /// USERNAME's remote part is not the peer's ufrag.
    WrongUsername,
    /// MESSAGE-INTEGRITY does not verify with our password.
    BadIntegrity,
}

impl Refusal {
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::NotARequest => "stun_not_request",
            Self::MissingAttribute => "stun_missing_attribute",
            Self::WrongUsername => "stun_wrong_username",
            Self::BadIntegrity => "stun_bad_integrity",
        }
    }
}

/// What a valid check changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nomination {
    /// Nothing: a check without USE-CANDIDATE, or the nominated address again.
    None,
    /// The first nominated path: the transport is up.
    Selected(Path),
    /// A new path nominated after the first (the browser moved networks, or from UDP
    /// to TCP).
    Moved(Path),
}

/// A valid check: the response, what it nominated, and an address it pushed out of
/// the validated set (the caller unmaps it).
pub type Accepted = (Vec<u8>, Nomination, Option<Path>);

#[derive(Debug)]
pub struct IceLite {
    local_ufrag: String,
    local_pwd: String,
    remote_ufrag: Option<String>,
    nominated: Option<Path>,
    addresses: Vec<Path>,
    last_valid_check: Option<f64>,
    /// Seconds without a valid check after which consent is gone.
    pub consent_timeout: f64,
}

/// The USERNAME of a check to us is `ourufrag:theirufrag`: our part, to find the transport.
#[must_use]
pub fn local_part(username: &str) -> &str {
    username.split_once(':').map_or(username, |(ours, _)| ours)
}

impl IceLite {
    #[must_use]
    pub const fn new(local_ufrag: String, local_pwd: String) -> Self {
        Self {
            local_ufrag,
            local_pwd,
            remote_ufrag: None,
            nominated: None,
            addresses: Vec::new(),
            last_valid_check: None,
            consent_timeout: CONSENT_TIMEOUT,
        }
    }

    #[must_use]
    pub fn local_ufrag(&self) -> &str {
        &self.local_ufrag
    }

    /// The peer's ufrag from its SDP; until known, any remote part is accepted (the
    /// password still has to match).
    pub fn set_remote_ufrag(&mut self, ufrag: String) {
        self.remote_ufrag = Some(ufrag);
    }

    #[must_use]
    pub const fn nominated(&self) -> Option<Path> {
        self.nominated
    }

    /// Addresses that sent a valid check: the only ones whose DTLS/SRTP we accept.
    #[must_use]
    pub fn addresses(&self) -> &[Path] {
        &self.addresses
    }

    /// Handle a binding request from `from`. Ok: the response to send and what changed
    /// (the caller maps `from` to this transport). Err: why it was refused; nothing is
    /// sent back (see the module's note on reflection).
    pub fn handle_request(
        &mut self,
        message: &Message<'_>,
        from: Path,
        now: f64,
    ) -> Result<Accepted, Refusal> {
        if message.message_type != BINDING_REQUEST {
            return Err(Refusal::NotARequest);
        }
        let Some(username) = message.username() else {
            return Err(Refusal::MissingAttribute);
        };
        if !message.has_fingerprint() {
            return Err(Refusal::MissingAttribute);
        }
        let (ours, theirs) = username.split_once(':').unwrap_or((username, ""));
        let remote_ok = self.remote_ufrag.as_deref().is_none_or(|r| r == theirs);
        if ours != self.local_ufrag || !remote_ok {
            return Err(Refusal::WrongUsername);
        }
        if !message.integrity_ok(self.local_pwd.as_bytes()) {
            return Err(Refusal::BadIntegrity);
        }
        self.last_valid_check = Some(now);
        let evicted = self.remember(from);
        let nomination = if message.has(ATTR_USE_CANDIDATE) && self.nominated != Some(from) {
            let first = self.nominated.is_none();
            self.nominated = Some(from);
            if first {
                Nomination::Selected(from)
            } else {
                Nomination::Moved(from)
            }
        } else {
            Nomination::None
        };
        let mut response = MessageBuilder::new(BINDING_SUCCESS, message.transaction_id);
        response
            .xor_mapped_address(from.address())
            .message_integrity(self.local_pwd.as_bytes());
        Ok((response.fingerprint(), nomination, evicted))
    }

    /// Keep `from` among the validated addresses; returns one that was pushed out.
    fn remember(&mut self, from: Path) -> Option<Path> {
        if let Some(i) = self.addresses.iter().position(|a| *a == from) {
            let a = self.addresses.remove(i);
            self.addresses.push(a); // most recent last
            return None;
        }
        self.addresses.push(from);
        if self.addresses.len() > MAX_ADDRESSES {
            // Never push out the nominated address.
            let i = self
                .addresses
                .iter()
                .position(|a| Some(*a) != self.nominated)?;
            return Some(self.addresses.remove(i));
        }
        None
    }

    /// Consent expired: nominated once, and no valid check for the consent timeout.
    #[must_use]
    pub fn consent_expired(&self, now: f64) -> bool {
        self.nominated.is_some()
            && self
                .last_valid_check
                .is_some_and(|t| now - t > self.consent_timeout)
    }

    /// When [`Self::consent_expired`] would turn true, if it can.
    #[must_use]
    pub fn consent_deadline(&self) -> Option<f64> {
        self.nominated?;
        self.last_valid_check.map(|t| t + self.consent_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    use crate::net::stun::{ATTR_ICE_CONTROLLING, ATTR_PRIORITY, ATTR_USERNAME};

    const PASSWORD: &str = "our-password-0123456789";
    /// USERNAME of the browser's checks: our ufrag, then theirs.
    const USERNAME: &str = "ours:theirs";

    pub fn check(username: &str, pwd: &str, nominate: bool, tid: u8) -> Vec<u8> {
        let mut b = MessageBuilder::new(BINDING_REQUEST, [tid; 12]);
        b.attribute(ATTR_USERNAME, username.as_bytes())
            .attribute(ATTR_PRIORITY, &0x6e00_01ffu32.to_be_bytes())
            .attribute(ATTR_ICE_CONTROLLING, &[1; 8]);
        if nominate {
            b.attribute(ATTR_USE_CANDIDATE, &[]);
        }
        b.message_integrity(pwd.as_bytes());
        b.fingerprint()
    }

    fn agent() -> IceLite {
        let mut a = IceLite::new("ours".into(), PASSWORD.into());
        a.set_remote_ufrag("theirs".into());
        a
    }

    /// Where the browser's checks come from.
    fn browser() -> Path {
        udp("192.0.2.7:5000")
    }

    fn udp(address: &str) -> Path {
        Path::Udp(address.parse().unwrap())
    }

    /// The agent's answer to the datagram `raw`.
    fn answer(a: &mut IceLite, raw: &[u8], from: Path, now: f64) -> Result<Accepted, Refusal> {
        a.handle_request(&Message::parse(raw).unwrap(), from, now)
    }

    #[test]
    fn valid_check_is_answered_and_use_candidate_nominates() {
        let mut a = agent();
        let from = browser();
        let raw = check(USERNAME, PASSWORD, false, 1);
        let (response, nomination, _) = answer(&mut a, &raw, from, 1.0).unwrap();
        assert_eq!(nomination, Nomination::None);
        let r = Message::parse(&response).unwrap();
        assert_eq!(r.message_type, BINDING_SUCCESS);
        assert_eq!(r.transaction_id, [1; 12]);
        assert_eq!(r.mapped_address(), Some(from.address()));
        assert!(r.integrity_ok(PASSWORD.as_bytes()));
        assert!(r.has_fingerprint());
        assert_eq!(a.addresses(), &[from]);
        assert_eq!(a.nominated(), None);

        let raw = check(USERNAME, PASSWORD, true, 2);
        let nominate = |a: &mut IceLite, from, now| answer(a, &raw, from, now).unwrap().1;
        assert_eq!(nominate(&mut a, from, 2.0), Nomination::Selected(from));
        assert_eq!(nominate(&mut a, from, 2.0), Nomination::None);
        let moved = udp("198.51.100.9:6000");
        assert_eq!(nominate(&mut a, moved, 3.0), Nomination::Moved(moved));
        assert_eq!(a.nominated(), Some(moved));
        assert!(!a.consent_expired(33.0));
        assert!(a.consent_expired(33.5));
        assert_eq!(a.consent_deadline(), Some(33.0));
    }

    #[test]
    fn wrong_credentials_are_refused_without_a_response() {
        let mut a = agent();
        for (username, pwd, refusal) in [
            (USERNAME, "wrong-password", Refusal::BadIntegrity),
            ("ours:someone", PASSWORD, Refusal::WrongUsername),
            ("other:theirs", PASSWORD, Refusal::WrongUsername),
        ] {
            let raw = check(username, pwd, true, 3);
            assert_eq!(answer(&mut a, &raw, browser(), 1.0).unwrap_err(), refusal);
        }
        assert_eq!(a.nominated(), None);
        assert!(a.addresses().is_empty());
    }

    #[test]
    fn requests_without_credentials_are_refused() {
        let mut a = agent();
        // The 20-byte bare Binding request of a reflection probe.
        let bare = MessageBuilder::new(BINDING_REQUEST, [6; 12]).finish();
        assert_eq!(bare.len(), 20);
        // USERNAME but no FINGERPRINT.
        let mut b = MessageBuilder::new(BINDING_REQUEST, [7; 12]);
        b.attribute(ATTR_USERNAME, USERNAME.as_bytes());
        let unfingerprinted = b.finish();
        for raw in [bare, unfingerprinted] {
            let refusal = answer(&mut a, &raw, browser(), 1.0).unwrap_err();
            assert_eq!(refusal, Refusal::MissingAttribute);
        }
        assert!(a.addresses().is_empty());
    }

    #[test]
    fn addresses_are_bounded_and_keep_the_nominated_one() {
        let mut a = agent();
        let first = udp("192.0.2.1:1");
        answer(&mut a, &check(USERNAME, PASSWORD, true, 4), first, 0.0).unwrap();
        let raw = check(USERNAME, PASSWORD, false, 5);
        for port in 2..40 {
            let from = Path::Udp(SocketAddr::from(([192, 0, 2, 1], port)));
            answer(&mut a, &raw, from, 0.0).unwrap();
        }
        assert_eq!(a.addresses().len(), MAX_ADDRESSES);
        assert!(a.addresses().contains(&first));
    }

    #[test]
    fn local_part_of_username() {
        assert_eq!(local_part("abc:def"), "abc");
        assert_eq!(local_part("abc"), "abc");
        assert_eq!(local_part(":x"), "");
    }
}
