//! The endpoint end to end without sockets: two "browsers" with their own SRTP contexts
//! check in over STUN, exchange DTLS (as events), get keys, and relay media through a
//! router that forwards everything to the other leg.

use std::net::SocketAddr;

use super::*;
use crate::net::ice_lite::CONSENT_TIMEOUT;
use crate::net::router::Codec;
use crate::net::stun::{
    MessageBuilder, ATTR_ICE_CONTROLLING, ATTR_USERNAME, ATTR_USE_CANDIDATE, BINDING_REQUEST,
    BINDING_SUCCESS,
};
use crate::test_support::xorshift;

/// Forwards every packet unchanged to every other leg.
#[derive(Default)]
struct Mirror {
    legs: Vec<LegId>,
}

impl PacketRouter for Mirror {
    fn add_leg(&mut self, leg: LegId, _: &[MediaLine], _: bool) -> Result<(), RelayError> {
        self.legs.push(leg);
        Ok(())
    }
    fn remove_leg(&mut self, leg: LegId) {
        self.legs.retain(|&l| l != leg);
    }
    fn add_route(&mut self, _: LegId, _: LegId, _: MediaKind) -> Result<bool, RelayError> {
        Ok(true)
    }
    fn remove_route(&mut self, _: LegId, _: LegId, _: MediaKind) -> Result<(), RelayError> {
        Ok(())
    }
    fn switch(&mut self, _: LegId, _: Switch, _: f64) -> Result<Vec<Transmit>, RelayError> {
        Ok(Vec::new())
    }
    fn handle_rtp(&mut self, leg: LegId, packet: &[u8], _: f64, out: &mut Vec<Transmit>) {
        out.extend(self.legs.iter().filter(|&&l| l != leg).map(|&l| Transmit {
            leg_id: l,
            data: packet.to_vec(),
        }));
    }
    fn handle_rtcp(&mut self, leg: LegId, packet: &[u8], now: f64, out: &mut Vec<Transmit>) {
        self.handle_rtp(leg, packet, now, out);
    }
    fn handle_timeout(&mut self, _: f64, _: &mut Vec<Transmit>) {}
    fn next_timeout(&self) -> Option<f64> {
        None
    }
    fn stats(&self) -> RelayStats {
        RelayStats::default()
    }
}

pub(super) fn mirror() -> Box<dyn PacketRouter> {
    Box::<Mirror>::default()
}

/// The session and the legs of the tests (Python numbers them once, per leg).
pub(super) const S: SessionId = 7;
pub(super) const A: LegId = 1;
pub(super) const B: LegId = 2;
const LATE: LegId = 3;

pub(super) fn transport(stats: &PortStats, id: TransportId) -> &TransportStats {
    &stats.transports.iter().find(|(t, _)| *t == id).unwrap().1
}

/// Every drop counted, by reason in name order.
pub(super) fn drops(counters: &Counters) -> Vec<(&'static str, u64)> {
    let mut drops: Vec<_> = counters.drops.iter().map(|(&r, &n)| (r, n)).collect();
    drops.sort_unstable();
    drops
}

const PROFILE: &str = "AEAD_AES_128_GCM";

pub(super) struct Browser {
    pub(super) leg: LegId,
    pub(super) address: SocketAddr,
    pub(super) ufrag: String,
    pub(super) pwd: String,
    pub(super) transport: TransportId,
    /// The browser's side: protects what it sends (server's rx key) ...
    pub(super) tx: SrtpContext,
    /// ... and unprotects what the server sends (server's tx key).
    pub(super) rx: SrtpContext,
}

fn key(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

pub(super) fn check(username: &str, pwd: &str, nominate: bool) -> Vec<u8> {
    let mut b = MessageBuilder::new(BINDING_REQUEST, [9; 12]);
    b.attribute(ATTR_USERNAME, username.as_bytes())
        .attribute(ATTR_ICE_CONTROLLING, &[1; 8]);
    if nominate {
        b.attribute(ATTR_USE_CANDIDATE, &[]);
    }
    b.message_integrity(pwd.as_bytes());
    b.fingerprint()
}

pub(super) fn browser(ep: &mut Endpoint, name: &str, leg: LegId, port: u16, seed: u8) -> Browser {
    let ufrag = format!("u{name}");
    let pwd = format!("password-of-{name}-0123456789");
    let transport = ep.add_transport(S, leg, &ufrag, &pwd).unwrap();
    ep.set_remote_ufrag(transport, "remote").unwrap();
    let profile = Profile::from_name(PROFILE).unwrap();
    // server tx = (seed, seed+1); server rx = (seed+2, seed+3)
    let (tk, ts, rk, rs) = (
        key(seed, 16),
        key(seed + 1, 12),
        key(seed + 2, 16),
        key(seed + 3, 12),
    );
    let mut out = Vec::new();
    ep.set_srtp(transport, PROFILE, &tk, &ts, &rk, &rs, 0.0, &mut out)
        .unwrap();
    Browser {
        leg,
        address: SocketAddr::from(([192, 0, 2, seed], port)),
        ufrag,
        pwd,
        transport,
        tx: SrtpContext::new(profile, &rk, &rs).unwrap(),
        rx: SrtpContext::new(profile, &tk, &ts).unwrap(),
    }
}

pub(super) fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 7]);
    p.extend_from_slice(payload);
    p
}

pub(super) fn connect(ep: &mut Endpoint, b: &Browser, now: f64) {
    let mut out = Vec::new();
    let username = format!("{}:remote", b.ufrag);
    ep.handle_datagram(b.address, &check(&username, &b.pwd, true), now, &mut out);
    assert_eq!(out.len(), 1);
    let response = Message::parse(&out[0].data).unwrap();
    assert_eq!(response.message_type, BINDING_SUCCESS);
    assert_eq!(response.mapped_address(), Some(b.address));
}

fn setup() -> (Endpoint, Browser, Browser) {
    let mut ep = Endpoint::new(mirror);
    let a = browser(&mut ep, "a", A, 5000, 10);
    let b = browser(&mut ep, "b", B, 6000, 50);
    for x in [&a, &b] {
        connect(&mut ep, x, 1.0);
        ep.add_leg(S, x.leg, x.transport, &[], true).unwrap();
    }
    (ep, a, b)
}

#[test]
fn stun_nominates_dtls_goes_to_python_and_srtp_is_relayed() {
    let (mut ep, mut a, mut b) = setup();
    assert_eq!(
        ep.take_events(),
        vec![
            Event::Selected(a.transport, a.address),
            Event::Selected(b.transport, b.address)
        ]
    );
    let mut out = Vec::new();
    ep.handle_datagram(a.address, &[22, 0xfe, 0xfd, 1, 2, 3], 1.5, &mut out);
    assert!(out.is_empty());
    assert_eq!(
        ep.take_events(),
        vec![Event::Dtls(a.transport, vec![22, 0xfe, 0xfd, 1, 2, 3])]
    );

    let plain = rtp(1, b"frame bytes");
    let mut srtp = plain.clone();
    a.tx.protect_rtp(&mut srtp).unwrap();
    ep.handle_datagram(a.address, &srtp, 2.0, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to, b.address);
    let mut got = out[0].data.clone();
    b.rx.unprotect_rtp(&mut got).unwrap();
    assert_eq!(got, plain);

    // SRTCP too, the other way.
    let rr = vec![0x80, 201, 0, 1, 0, 0, 0, 9];
    let mut srtcp = rr.clone();
    b.tx.protect_rtcp(&mut srtcp).unwrap();
    out.clear();
    ep.handle_datagram(b.address, &srtcp, 2.1, &mut out);
    assert_eq!(out.len(), 1);
    let mut got = out[0].data.clone();
    a.rx.unprotect_rtcp(&mut got).unwrap();
    assert_eq!(got, rr);
    assert!(ep.take_events().is_empty(), "no media reaches Python");
}

#[test]
fn wrong_credentials_unknown_addresses_and_bad_srtp_are_counted_drops() {
    let (mut ep, mut a, _b) = setup();
    let mut out = Vec::new();
    let stranger: SocketAddr = "203.0.113.5:7000".parse().unwrap();
    ep.handle_datagram(
        stranger,
        &check("ua:remote", "not the password", true),
        3.0,
        &mut out,
    );
    ep.handle_datagram(stranger, &check("nobody:remote", "x", true), 3.0, &mut out);
    let mut srtp = rtp(1, b"x");
    a.tx.protect_rtp(&mut srtp).unwrap();
    ep.handle_datagram(stranger, &srtp, 3.0, &mut out); // valid SRTP, unvalidated address
    ep.handle_datagram(stranger, &[22, 1, 2], 3.0, &mut out);
    let mut forged = srtp.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    ep.handle_datagram(a.address, &forged, 3.0, &mut out);
    ep.handle_datagram(a.address, &[0x80], 3.0, &mut out);
    ep.handle_datagram(a.address, &[0x00, 1, 0, 0], 3.0, &mut out);
    assert!(out.is_empty());
    let stats = ep.stats();
    assert_eq!(
        drops(&stats.port),
        [
            ("stun_bad_integrity", 1),
            ("stun_malformed", 1),
            ("stun_unknown_username", 1),
            ("unknown_address", 2),
            ("unknown_protocol", 1),
        ]
    );
    let a_stats = transport(&stats, a.transport);
    assert_eq!(
        drops(&a_stats.counters),
        [("srtp_auth_failed", 1), ("stun_bad_integrity", 1)]
    );
    assert_eq!(a_stats.nominated, Some(a.address));
    assert_eq!((a_stats.session, a_stats.leg), (S, A));
}

#[test]
fn forged_srtp_and_wrong_credentials_are_reported_sparingly() {
    let (mut ep, mut a, _b) = setup();
    let mut out = Vec::new();
    let _ = ep.take_events();
    let stranger: SocketAddr = "203.0.113.5:7000".parse().unwrap();
    let mut forged = rtp(1, b"x");
    a.tx.protect_rtp(&mut forged).unwrap();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    for _ in 0..150 {
        ep.handle_datagram(a.address, &forged, 3.0, &mut out);
        ep.handle_datagram(stranger, &check("nobody:remote", "x", true), 3.0, &mut out);
    }
    let mut reported: Vec<(Option<TransportId>, &str, u64, SocketAddr)> = ep
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Anomaly {
                transport,
                reason,
                count,
                from,
            } => Some((transport, reason, count, from)),
            _ => None,
        })
        .collect();
    reported.sort_by_key(|r| (r.1, r.2));
    let forged_at = |count| (Some(a.transport), "srtp_auth_failed", count, a.address);
    let stranger_at = |count| (None, "stun_unknown_username", count, stranger);
    assert_eq!(
        reported,
        [
            forged_at(1),
            forged_at(10),
            forged_at(100),
            stranger_at(1),
            stranger_at(10),
            stranger_at(100)
        ]
    );
}

#[test]
fn a_moved_browser_keeps_its_streams() {
    let (mut ep, mut a, mut b) = setup();
    ep.take_events();
    let moved: SocketAddr = "198.51.100.1:9000".parse().unwrap();
    let mut out = Vec::new();
    ep.handle_datagram(
        moved,
        &check(&format!("{}:remote", a.ufrag), &a.pwd, true),
        5.0,
        &mut out,
    );
    assert_eq!(ep.take_events(), vec![Event::Moved(a.transport, moved)]);
    out.clear();
    let mut srtp = rtp(2, b"after move");
    a.tx.protect_rtp(&mut srtp).unwrap();
    ep.handle_datagram(moved, &srtp, 5.1, &mut out);
    assert_eq!(out.len(), 1);
    b.rx.unprotect_rtp(&mut out[0].data.clone()).unwrap();
    // ... and what b sends now goes to a's new address.
    out.clear();
    let mut back = rtp(1, b"to a");
    b.tx.protect_rtp(&mut back).unwrap();
    ep.handle_datagram(b.address, &back, 5.2, &mut out);
    assert_eq!(out[0].to, moved);
}

#[test]
fn srtp_before_keys_waits_for_them() {
    let mut ep = Endpoint::new(mirror);
    let a = browser(&mut ep, "a", A, 5000, 10);
    let t = ep
        .add_transport(S, LATE, "ulate", "password-late-0123456789")
        .unwrap();
    let mut out = Vec::new();
    ep.handle_datagram(
        "192.0.2.99:1".parse().unwrap(),
        &check("ulate:x", "password-late-0123456789", true),
        0.0,
        &mut out,
    );
    ep.add_leg(S, LATE, t, &[], true).unwrap();
    connect(&mut ep, &a, 0.0);
    ep.add_leg(S, A, a.transport, &[], true).unwrap();
    let profile = Profile::from_name(PROFILE).unwrap();
    let (rk, rs) = (key(1, 16), key(2, 12));
    let mut late_tx = SrtpContext::new(profile, &rk, &rs).unwrap();
    let mut srtp = rtp(1, b"early");
    late_tx.protect_rtp(&mut srtp).unwrap();
    out.clear();
    ep.handle_datagram("192.0.2.99:1".parse().unwrap(), &srtp, 0.1, &mut out);
    assert!(out.is_empty());
    ep.set_srtp(
        t,
        PROFILE,
        &key(3, 16),
        &key(4, 12),
        &rk,
        &rs,
        0.2,
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out.len(),
        1,
        "the waiting packet went through once the keys came"
    );
    assert_eq!(out[0].to, a.address);
}

#[test]
fn consent_expires_without_checks() {
    let (mut ep, a, _b) = setup();
    ep.take_events();
    let deadline = ep.next_timeout().unwrap();
    assert!((deadline - (1.0 + CONSENT_TIMEOUT)).abs() < 1e-9);
    let mut out = Vec::new();
    ep.handle_timeout(deadline + 0.1, &mut out);
    let events = ep.take_events();
    assert!(events.contains(&Event::ConsentExpired(a.transport)));
    ep.handle_timeout(deadline + 5.0, &mut out);
    assert!(ep.take_events().is_empty(), "reported once");
}

#[test]
fn removed_and_replaced_transports() {
    let (mut ep, mut a, _b) = setup();
    // a reconnects: a new transport takes over leg A; the old one's media is stale.
    let a2 = browser(&mut ep, "a2", A, 5001, 90);
    ep.add_leg(S, A, a2.transport, &[], true).unwrap();
    let mut out = Vec::new();
    let mut srtp = rtp(3, b"old");
    a.tx.protect_rtp(&mut srtp).unwrap();
    ep.handle_datagram(a.address, &srtp, 6.0, &mut out);
    assert!(out.is_empty());
    assert_eq!(
        transport(&ep.stats(), a.transport).counters.drops["stale_transport"],
        1
    );
    ep.remove_transport(a.transport);
    ep.handle_datagram(a.address, &srtp, 6.1, &mut out);
    assert_eq!(ep.stats().port.drops["unknown_address"], 1);
    assert_eq!(
        ep.send(a.transport, vec![22], 6.2, &mut out),
        Err(ControlError::UnknownTransport(a.transport))
    );
    let session = ep.session_stats(S);
    let legs: Vec<_> = session
        .legs
        .iter()
        .map(|(leg, t)| (*leg, t.counters.rx_packets.clone()))
        .collect();
    assert_eq!(legs.len(), 2);
    assert!(
        session
            .legs
            .iter()
            .any(|(leg, t)| *leg == A && t.nominated.is_none()),
        "A is a2's now"
    );
    assert!(ep.session_stats(99).router.is_none());
    assert_eq!(
        ep.add_route(99, A, B, MediaKind::Audio),
        Err(ControlError::UnknownSession(99))
    );
    let _ = Codec {
        payload_type: 0,
        mime_type: String::new(),
        clock_rate: 0,
        channels: None,
        format_key: vec![],
        rtx_apt: None,
    };
}

#[test]
fn random_datagrams_never_panic() {
    let (mut ep, mut a, _b) = setup();
    let mut seeds = vec![
        check(&format!("{}:remote", a.ufrag), &a.pwd, true),
        vec![22, 0xfe, 0xfd, 0, 0],
        vec![0x81, 200, 0, 6, 0, 0, 0, 1],
    ];
    let mut srtp = rtp(9, b"some payload");
    a.tx.protect_rtp(&mut srtp).unwrap();
    seeds.push(srtp);
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    let mut out = Vec::new();
    for i in 0..20_000u32 {
        let mut d = seeds[(next() as usize) % seeds.len()].clone();
        for _ in 0..(next() % 4) {
            let j = (next() as usize) % d.len();
            d[j] = next() as u8;
        }
        let cut = (next() as usize) % (d.len() + 1);
        let from = if next().is_multiple_of(2) {
            a.address
        } else {
            SocketAddr::from(([10, 0, 0, (next() % 4) as u8], 1))
        };
        ep.handle_datagram(from, &d[..cut], f64::from(i) * 0.001, &mut out);
        out.clear();
    }
    ep.take_events();
}

#[test]
fn unauthenticated_stun_is_never_answered_only_counted() {
    // A reflector answers a forged source: nothing that fails authentication may
    // produce a datagram, however small the request.
    let (mut ep, a, _b) = setup();
    let _ = ep.take_events();
    let victim: SocketAddr = "198.51.100.77:53".parse().unwrap();
    let bare = MessageBuilder::new(BINDING_REQUEST, [1; 12]).finish(); // 20 bytes
    let mut no_fingerprint = MessageBuilder::new(BINDING_REQUEST, [2; 12]);
    no_fingerprint.attribute(ATTR_USERNAME, b"ua:remote");
    let requests = [
        (bare, "stun_unknown_username"),
        (no_fingerprint.finish(), "stun_missing_attribute"),
        (check("nobody:remote", "x", false), "stun_unknown_username"),
        (
            check("ua:someone-else", &a.pwd, false),
            "stun_wrong_username",
        ),
        (
            check("ua:remote", "not the password", false),
            "stun_bad_integrity",
        ),
    ];
    let mut out = Vec::new();
    for (request, reason) in &requests {
        let before = ep.stats().port.drops.get(reason).copied().unwrap_or(0);
        ep.handle_datagram(victim, request, 2.0, &mut out);
        assert_eq!(ep.stats().port.drops[reason], before + 1, "{reason}");
    }
    assert!(out.is_empty(), "answered {} request(s)", out.len());
    assert_eq!(ep.stats().port.tx_packets, 0);
    // Nor does any of them make the victim an address media would go to.
    let mut srtp = rtp(1, b"x");
    SrtpContext::new(
        Profile::from_name(PROFILE).unwrap(),
        &key(12, 16),
        &key(13, 12),
    )
    .unwrap()
    .protect_rtp(&mut srtp)
    .unwrap();
    ep.handle_datagram(victim, &srtp, 2.0, &mut out);
    assert!(out.is_empty());
    // The real browser is still answered.
    connect(&mut ep, &a, 2.5);
}
