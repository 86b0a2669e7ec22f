//! Context-level tests: the RFC 7714 packet vectors, round trips for every profile, ROC
//! across sequence wrap, replay, tampering, truncation and the counters.

use super::test_vectors::{hex, session_keys, vectors};
use super::{Error, Profile, SessionKeys, SrtpContext, Stats, MAX_STREAMS};

fn context(profile: Profile, seed: u8) -> SrtpContext {
    let key: Vec<u8> = (0..profile.key_len())
        .map(|i| seed.wrapping_add(i as u8))
        .collect();
    let salt: Vec<u8> = (0..profile.salt_len())
        .map(|i| seed ^ (i as u8 * 7))
        .collect();
    SrtpContext::new(profile, &key, &salt).expect("context")
}

fn rtp(seq: u16, ssrc: u32, payload_len: usize) -> Vec<u8> {
    let mut packet = vec![0x80, 0x60];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&u32::from(seq).wrapping_mul(960).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend((0..payload_len).map(|i| (i as u8) ^ (seq as u8)));
    packet
}

fn rtcp_rr(ssrc: u32, filler: u8) -> Vec<u8> {
    let mut packet = vec![0x81, 201, 0, 7];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(&[filler; 24]);
    packet
}

fn protect(ctx: &mut SrtpContext, packet: &[u8]) -> Vec<u8> {
    let mut buf = packet.to_vec();
    ctx.protect_rtp(&mut buf).expect("protect");
    buf
}

fn unprotect(ctx: &mut SrtpContext, packet: &[u8]) -> Result<Vec<u8>, Error> {
    let mut buf = packet.to_vec();
    ctx.unprotect_rtp(&mut buf).map(|()| buf)
}

fn unprotect_rtcp(ctx: &mut SrtpContext, packet: &[u8]) -> Result<Vec<u8>, Error> {
    let mut buf = packet.to_vec();
    ctx.unprotect_rtcp(&mut buf).map(|()| buf)
}

/// Every copy of `packet` with one bit flipped, in bit order.
fn bit_flips(packet: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..packet.len() * 8).map(|bit| {
        let mut flipped = packet.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        flipped
    })
}

/// An RFC 7714 packet vector: GCM session keys (the RFC publishes no master keys) and
/// the packet in the clear and protected.
struct Rfc7714Case {
    json: serde_json::Value,
    profile: Profile,
    keys: SessionKeys,
    plain: Vec<u8>,
    protected: Vec<u8>,
}

impl Rfc7714Case {
    /// A fresh context under the vector's keys.
    fn context(&self) -> SrtpContext {
        SrtpContext::from_session_keys(self.profile, &self.keys).expect("keys")
    }
}

/// The `srtp` or `srtcp` vectors of RFC 7714.
fn rfc7714_cases(section: &str) -> Vec<Rfc7714Case> {
    let cases = vectors("rfc7714")[section]
        .as_array()
        .expect(section)
        .clone();
    cases
        .into_iter()
        .map(|json| {
            let (key, salt) = (hex(&json["session_key"]), hex(&json["session_salt"]));
            let profile = json["profile"].as_str().expect("profile");
            Rfc7714Case {
                profile: Profile::from_name(profile).expect("known profile"),
                keys: SessionKeys {
                    rtp_key: key.clone(),
                    rtp_salt: salt.clone(),
                    rtp_auth_key: Vec::new(),
                    rtcp_key: key,
                    rtcp_salt: salt,
                    rtcp_auth_key: Vec::new(),
                },
                plain: hex(&json["plain"]),
                protected: hex(&json["protected"]),
                json,
            }
        })
        .collect()
}

/// RFC 7714 16.1.1/16.1.2 and 16.2.1/16.2.2: the first packet of a stream (ROC 0,
/// seq 0xf17b) protects to the RFC's bytes and they unprotect back.
#[test]
fn rfc7714_srtp_vectors() {
    for case in rfc7714_cases("srtp") {
        let sections = &case.json["sections"];
        let sent = protect(&mut case.context(), &case.plain);
        assert_eq!(sent, case.protected, "{sections}");
        let received = unprotect(&mut case.context(), &case.protected);
        assert_eq!(received.as_ref(), Ok(&case.plain), "{sections}");
    }
}

/// RFC 7714 17.1 to 17.4: encrypted packets protect to the RFC's bytes once the SSRC has
/// reached SRTCP index 0x5d4; all four (two tagged only, E = 0) unprotect.
#[test]
fn rfc7714_srtcp_vectors() {
    for case in rfc7714_cases("srtcp") {
        let section = &case.json["section"];
        let index = case.json["srtcp_index"].as_u64().expect("index");
        if case.json["encrypted"].as_bool().expect("flag") {
            let mut sender = case.context();
            for _ in 1..index {
                sender
                    .protect_rtcp(&mut case.plain.clone())
                    .expect("filler");
            }
            let mut buf = case.plain.clone();
            sender.protect_rtcp(&mut buf).expect("protect");
            assert_eq!(buf, case.protected, "{section}");
        }
        let mut receiver = case.context();
        let first = unprotect_rtcp(&mut receiver, &case.protected);
        assert_eq!(first.as_ref(), Ok(&case.plain), "{section}");
        let again = unprotect_rtcp(&mut receiver, &case.protected);
        assert_eq!(again, Err(Error::Replayed), "{section}");
    }
}

#[test]
fn round_trip_every_profile_and_payload_size() {
    for profile in Profile::ALL {
        let mut tx = context(profile, 1);
        let mut rx = context(profile, 1);
        for (n, len) in [0usize, 1, 15, 16, 17, 160, 1200].into_iter().enumerate() {
            let plain = rtp(100 + n as u16, 0x1234, len);
            let protected = protect(&mut tx, &plain);
            assert_eq!(protected.len(), plain.len() + profile.rtp_overhead());
            assert_eq!(
                &protected[..12],
                &plain[..12],
                "the header stays in the clear"
            );
            if len >= 4 {
                assert_ne!(
                    &protected[12..12 + len],
                    &plain[12..],
                    "the payload is encrypted"
                );
            }
            assert_eq!(unprotect(&mut rx, &protected), Ok(plain));
        }
        for filler in 0..5 {
            let plain = rtcp_rr(0x1234, filler);
            let mut buf = plain.clone();
            tx.protect_rtcp(&mut buf).expect("protect rtcp");
            assert_eq!(buf.len(), plain.len() + profile.rtcp_overhead());
            assert_eq!(unprotect_rtcp(&mut rx, &buf), Ok(plain));
        }
        let stats = *rx.stats();
        assert_eq!((stats.rtp_unprotected, stats.rtcp_unprotected), (7, 5));
        assert_eq!(
            (tx.stats().rtp_protected, tx.stats().rtcp_protected),
            (7, 5)
        );
    }
}

#[test]
fn different_keys_do_not_authenticate() {
    for profile in Profile::ALL {
        let protected = protect(&mut context(profile, 1), &rtp(1, 1, 50));
        let mut other = context(profile, 2);
        assert_eq!(unprotect(&mut other, &protected), Err(Error::AuthFailed));
        assert_eq!(other.stats().auth_failed, 1);
        assert_eq!(other.rx_roc(1), None, "no state from an inauthentic packet");
    }
}

#[test]
fn roc_increments_across_sequence_wrap_and_late_packets_keep_the_old_roc() {
    for profile in Profile::ALL {
        let (mut tx, mut rx) = (context(profile, 3), context(profile, 3));
        let ssrc = 0xcafe_babe;
        let seqs: Vec<u16> = (65530..=65535).chain(0..6).collect();
        let protected: Vec<Vec<u8>> = seqs
            .iter()
            .map(|&s| protect(&mut tx, &rtp(s, ssrc, 40)))
            .collect();
        assert_eq!(tx.tx_roc(ssrc), Some(1));
        // Deliver in a shuffled order within the window: all arrive once.
        for i in [0usize, 1, 3, 2, 6, 4, 5, 8, 7, 11, 9, 10] {
            assert_eq!(
                unprotect(&mut rx, &protected[i]),
                Ok(rtp(seqs[i], ssrc, 40)),
                "{profile:?} seq {}",
                seqs[i]
            );
        }
        assert_eq!(rx.rx_roc(ssrc), Some(1));
        for packet in &protected {
            assert_eq!(unprotect(&mut rx, packet), Err(Error::Replayed));
        }
        // (Seq 65534 and 65535 arrived after seq 0 above: late packets keep ROC 0.)
        // A receiver that joins after the wrap assumes ROC 0 and cannot authenticate.
        let mut late_joiner = context(profile, 3);
        assert_eq!(
            unprotect(&mut late_joiner, &protected[6]),
            Err(Error::AuthFailed)
        );
    }
}

#[test]
fn the_second_wrap_and_a_long_run() {
    let profile = Profile::AeadAes128Gcm;
    let (mut tx, mut rx) = (context(profile, 4), context(profile, 4));
    let mut seq: u16 = 40_000;
    for _ in 0..140_000 {
        let protected = protect(&mut tx, &rtp(seq, 9, 8));
        assert_eq!(unprotect(&mut rx, &protected), Ok(rtp(seq, 9, 8)));
        seq = seq.wrapping_add(1);
    }
    assert_eq!(rx.rx_roc(9), Some(2));
    assert_eq!(tx.tx_roc(9), Some(2));
}

#[test]
fn window_edges_on_receive() {
    let profile = Profile::AesCm128HmacSha1_80;
    let (mut tx, mut rx) = (context(profile, 5), context(profile, 5));
    let packets: Vec<Vec<u8>> = (1000..1200)
        .map(|s| protect(&mut tx, &rtp(s, 7, 10)))
        .collect();
    unprotect(&mut rx, &packets[199]).expect("newest"); // seq 1199
    unprotect(&mut rx, &packets[199 - 127]).expect("127 behind is inside the window");
    assert_eq!(
        unprotect(&mut rx, &packets[199 - 128]),
        Err(Error::Replayed),
        "128 behind is too old"
    );
    assert_eq!(rx.stats().replayed, 1);
}

#[test]
fn protect_allows_retransmission_in_the_window_but_not_older() {
    for profile in Profile::ALL {
        let mut tx = context(profile, 6);
        let first = protect(&mut tx, &rtp(500, 1, 20));
        assert_eq!(
            protect(&mut tx, &rtp(500, 1, 20)),
            first,
            "same seq, same bytes"
        );
        for s in 501..=700 {
            protect(&mut tx, &rtp(s, 1, 20));
        }
        let mut old = rtp(500, 1, 20);
        assert_eq!(tx.protect_rtp(&mut old), Err(Error::Replayed));
        assert_eq!(old, rtp(500, 1, 20), "refused packets are untouched");
    }
}

#[test]
fn every_single_bit_flip_is_refused_and_leaves_no_trace() {
    for profile in Profile::ALL {
        let mut tx = context(profile, 7);
        let mut plain = vec![0x90, 0x60, 0, 9, 0, 0, 0, 1, 0, 0, 0, 42];
        plain.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]);
        plain.extend_from_slice(b"payload bytes");
        let protected = protect(&mut tx, &plain);
        let mut rtcp = rtcp_rr(42, 3);
        tx.protect_rtcp(&mut rtcp).expect("rtcp");
        let mut rx = context(profile, 7);
        for (bit, bad) in bit_flips(&protected).enumerate() {
            assert!(
                unprotect(&mut rx, &bad).is_err(),
                "{profile:?} rtp bit {bit}"
            );
        }
        for (bit, bad) in bit_flips(&rtcp).enumerate() {
            assert!(
                unprotect_rtcp(&mut rx, &bad).is_err(),
                "{profile:?} rtcp bit {bit}"
            );
        }
        assert_eq!(
            unprotect(&mut rx, &protected),
            Ok(plain),
            "state untouched by failures"
        );
        assert_eq!(unprotect_rtcp(&mut rx, &rtcp), Ok(rtcp_rr(42, 3)));
        let stats = rx.stats();
        assert_eq!(
            stats.malformed + stats.auth_failed + stats.replayed,
            ((protected.len() + rtcp.len()) * 8) as u64
        );
    }
}

#[test]
fn every_truncation_is_refused() {
    for profile in Profile::ALL {
        let mut tx = context(profile, 8);
        let protected = protect(&mut tx, &rtp(1, 1, 30));
        let mut rtcp = rtcp_rr(1, 1);
        tx.protect_rtcp(&mut rtcp).expect("rtcp");
        let mut rx = context(profile, 8);
        for len in 0..protected.len() {
            assert!(unprotect(&mut rx, &protected[..len]).is_err(), "rtp {len}");
        }
        for len in 0..rtcp.len() {
            assert!(unprotect_rtcp(&mut rx, &rtcp[..len]).is_err(), "rtcp {len}");
        }
        for len in 0..12 {
            assert_eq!(
                tx.protect_rtp(&mut rtp(1, 1, 0)[..len].to_vec()),
                Err(Error::Malformed)
            );
        }
        for len in 0..8 {
            assert_eq!(
                tx.protect_rtcp(&mut rtcp_rr(1, 1)[..len].to_vec()),
                Err(Error::Malformed)
            );
        }
    }
}

#[test]
fn rtcp_indices_count_from_one_per_ssrc() {
    for profile in Profile::ALL {
        let mut tx = context(profile, 9);
        for (ssrc, expected) in [(1u32, 1u32), (1, 2), (2, 1), (1, 3), (2, 2)] {
            let mut packet = rtcp_rr(ssrc, 0);
            tx.protect_rtcp(&mut packet).expect("protect");
            let word = match profile {
                Profile::AesCm128HmacSha1_80 => &packet[packet.len() - 14..packet.len() - 10],
                _ => &packet[packet.len() - 4..],
            };
            assert_eq!(
                word,
                (expected | 0x8000_0000).to_be_bytes(),
                "{profile:?} ssrc {ssrc}"
            );
        }
    }
}

#[test]
fn stream_limit_bounds_state() {
    let profile = Profile::AeadAes128Gcm;
    let (mut tx, mut rx) = (context(profile, 10), context(profile, 10));
    let max = u32::try_from(MAX_STREAMS).expect("small");
    for ssrc in 0..max {
        let protected = protect(&mut tx, &rtp(1, ssrc, 4));
        unprotect(&mut rx, &protected).expect("within the limit");
    }
    assert_eq!(
        tx.protect_rtp(&mut rtp(1, max, 4)),
        Err(Error::TooManyStreams)
    );
    let mut other = context(profile, 10);
    let extra = protect(&mut other, &rtp(1, max, 4));
    assert_eq!(unprotect(&mut rx, &extra), Err(Error::TooManyStreams));
    assert_eq!(rx.stats().rejected, 1);
    // Known streams keep working.
    let protected = protect(&mut tx, &rtp(2, 0, 4));
    assert_eq!(unprotect(&mut rx, &protected), Ok(rtp(2, 0, 4)));
}

#[test]
fn stats_count_each_outcome_once() {
    let profile = Profile::AesCm128HmacSha1_80;
    let (mut tx, mut rx) = (context(profile, 11), context(profile, 11));
    let good = protect(&mut tx, &rtp(1, 1, 10));
    let mut bad = good.clone();
    bad[20] ^= 1;
    let _ = unprotect(&mut rx, &bad);
    let _ = unprotect(&mut rx, &good);
    let _ = unprotect(&mut rx, &good);
    let _ = unprotect(&mut rx, &[0u8; 3]);
    assert_eq!(
        *rx.stats(),
        Stats {
            rtp_unprotected: 1,
            auth_failed: 1,
            replayed: 1,
            malformed: 1,
            ..Stats::default()
        }
    );
    let names: Vec<&str> = rx.stats().fields().iter().map(|(n, _)| *n).collect();
    assert_eq!(names.len(), 8);
}

#[test]
fn session_keys_of_the_wrong_length_are_refused() {
    for profile in Profile::ALL {
        let good = session_keys(profile, 0, 0);
        let mut bad = good.clone();
        bad.rtcp_salt.push(0);
        assert_eq!(
            SrtpContext::from_session_keys(profile, &bad).err(),
            Some(Error::BadKeyLength)
        );
        let mut bad = good.clone();
        bad.rtp_auth_key = vec![0u8; 3];
        assert_eq!(
            SrtpContext::from_session_keys(profile, &bad).err(),
            Some(Error::BadKeyLength)
        );
        assert!(SrtpContext::from_session_keys(profile, &good).is_ok());
    }
}
