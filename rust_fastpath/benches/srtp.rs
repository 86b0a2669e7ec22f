//! SRTP per packet in Rust, without Python in the way, next to the cost of the bare
//! crypto it needs (aws-lc-rs primitives on the same bytes): the difference is what our
//! SRTP layer adds. `scripts/bench.sh` runs it; `cargo bench --bench srtp` alone works too.

mod common;

use std::hint::black_box;

use _fastpath::srtp::{Profile, SrtpContext};
use aws_lc_rs::{aead, cipher, hmac};
use common::{ns_per_call, report, rtp_packet, PACKET_BYTES};

const PROFILES: [&str; 3] = [
    "AES_CM_128_HMAC_SHA1_80",
    "AEAD_AES_128_GCM",
    "AEAD_AES_256_GCM",
];

fn main() {
    for name in PROFILES {
        let profile = Profile::from_name(name).expect("known profile");
        let key = vec![7u8; if name == "AEAD_AES_256_GCM" { 32 } else { 16 }];
        let salt = vec![
            9u8;
            if name == "AES_CM_128_HMAC_SHA1_80" {
                14
            } else {
                12
            }
        ];
        let mut tx = SrtpContext::new(profile, &key, &salt).expect("keys");
        let mut rx = SrtpContext::new(profile, &key, &salt).expect("keys");

        // Protect: a fresh sequence number each time, as a sender does.
        let mut seq = 0u16;
        let template = rtp_packet(0);
        let protect = ns_per_call(|| {
            seq = seq.wrapping_add(1);
            let mut packet = template.clone();
            packet[2..4].copy_from_slice(&seq.to_be_bytes());
            tx.protect_rtp(&mut packet).expect("protect");
            black_box(packet);
        });
        report("rust_native", name, "protect", protect);

        // Unprotect: every packet once, in order (the replay window refuses repeats).
        let mut sender = SrtpContext::new(profile, &key, &salt).expect("keys");
        let protected: Vec<Vec<u8>> = (0..=u16::MAX)
            .map(|s| {
                let mut packet = rtp_packet(s);
                sender.protect_rtp(&mut packet).expect("protect");
                packet
            })
            .collect();
        let mut next = 0usize;
        let unprotect = ns_per_call(|| {
            let mut packet = protected[next % protected.len()].clone();
            next += 1;
            // Past the first 65,536 the stream wraps; the receiver follows the ROC.
            if rx.unprotect_rtp(&mut packet).is_ok() {
                black_box(packet);
            }
        });
        report("rust_native", name, "unprotect", unprotect);

        let template = rtp_packet(1);
        report(
            "crypto_only",
            name,
            "protect",
            crypto_only(name, &key, || template.clone()),
        );
        // The floor for unprotect reads the same cold packets the receiver did.
        let mut next = 0usize;
        let cold = || {
            next += 1;
            protected[next % protected.len()].clone()
        };
        report(
            "crypto_only",
            name,
            "unprotect",
            crypto_only(name, &key, cold),
        );
    }
}

/// The primitives alone on one packet from `packet()`: AES-CTR over the payload plus
/// HMAC-SHA1 over the packet (AES-CM), or one AES-GCM seal with the header as AAD (opening
/// costs the same: one pass of AES-CTR and GHASH).
fn crypto_only(profile: &str, key: &[u8], mut packet: impl FnMut() -> Vec<u8>) -> f64 {
    if profile == "AES_CM_128_HMAC_SHA1_80" {
        let unbound = cipher::UnboundCipherKey::new(&cipher::AES_128, key).expect("key");
        let ctr = cipher::EncryptingKey::ctr(unbound).expect("ctr");
        let mac = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &[5u8; 20]);
        ns_per_call(|| {
            let mut packet = packet();
            ctr.less_safe_encrypt(
                &mut packet[12..],
                cipher::EncryptionContext::Iv128([3u8; 16].into()),
            )
            .expect("ctr");
            let mut context = hmac::Context::with_key(&mac);
            context.update(&packet);
            context.update(&[0, 0, 0, 0]);
            black_box(context.sign());
            black_box(packet);
        })
    } else {
        let algorithm = if key.len() == 32 {
            &aead::AES_256_GCM
        } else {
            &aead::AES_128_GCM
        };
        let sealing = aead::LessSafeKey::new(aead::UnboundKey::new(algorithm, key).expect("key"));
        ns_per_call(|| {
            let mut packet = packet();
            packet.truncate(PACKET_BYTES);
            let (header, payload) = packet.split_at_mut(12);
            let nonce = aead::Nonce::assume_unique_for_key([1u8; 12]);
            let tag = sealing
                .seal_in_place_separate_tag(nonce, aead::Aad::from(&*header), payload)
                .expect("seal");
            let _ = black_box(tag);
        })
    }
}
