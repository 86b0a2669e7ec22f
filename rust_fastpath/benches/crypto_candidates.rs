//! Why aws-lc-rs: the SRTP primitives on a 1,200-byte packet with each candidate crate.
//!
//! `cargo bench --bench crypto_candidates --features bench-candidates`
//!
//! SRTP needs AES-CTR + HMAC-SHA1 (AES_CM_128_HMAC_SHA1_80) and AES-GCM (RFC 7714).
//! `ring` has no public AES-CTR, so it can only serve the GCM profiles.

mod common;

use std::hint::black_box;

use common::{ns_per_call, report, rtp_packet};

const KEY: [u8; 16] = [7; 16];
const AUTH_KEY: [u8; 20] = [5; 20];
const IV: [u8; 16] = [3; 16];
const NONCE: [u8; 12] = [1; 12];

/// Nanoseconds to protect one copy of the packet given.
type Measure = fn(&[u8]) -> f64;

fn main() {
    let packet = rtp_packet(1);
    let candidates: [(&str, &str, Measure); 7] = [
        ("aws-lc-rs", "aes_cm_hmac_sha1", aws_lc::cm),
        ("aws-lc-rs", "aes_128_gcm", aws_lc::gcm),
        ("openssl", "aes_cm_hmac_sha1", openssl_crate::cm),
        ("openssl", "aes_128_gcm", openssl_crate::gcm),
        ("rustcrypto", "aes_cm_hmac_sha1", rustcrypto::cm),
        ("rustcrypto", "aes_128_gcm", rustcrypto::gcm),
        ("ring", "aes_128_gcm", ring_crate::gcm),
    ];
    for (subject, op, measure) in candidates {
        report("crypto_candidate", subject, op, measure(&packet));
    }
}

/// GCM through ring's AEAD API, which aws-lc-rs keeps: the same code measures both.
macro_rules! ring_api_gcm {
    () => {
        pub fn gcm(template: &[u8]) -> f64 {
            let key = aead::UnboundKey::new(&aead::AES_128_GCM, &KEY).expect("key");
            let key = aead::LessSafeKey::new(key);
            ns_per_call(|| {
                let mut packet = template.to_vec();
                let (header, payload) = packet.split_at_mut(12);
                let nonce = aead::Nonce::assume_unique_for_key(NONCE);
                let tag = key.seal_in_place_separate_tag(nonce, aead::Aad::from(&*header), payload);
                let _ = black_box(tag);
            })
        }
    };
}

mod aws_lc {
    use super::*;
    use aws_lc_rs::{aead, cipher, hmac};

    pub fn cm(template: &[u8]) -> f64 {
        let unbound = cipher::UnboundCipherKey::new(&cipher::AES_128, &KEY).expect("key");
        let ctr = cipher::EncryptingKey::ctr(unbound).expect("ctr");
        let mac = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &AUTH_KEY);
        ns_per_call(|| {
            let mut packet = template.to_vec();
            ctr.less_safe_encrypt(
                &mut packet[12..],
                cipher::EncryptionContext::Iv128(IV.into()),
            )
            .expect("ctr");
            black_box(hmac::sign(&mac, &packet));
        })
    }

    ring_api_gcm!();
}

mod openssl_crate {
    use super::*;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;
    use openssl::symm::{encrypt_aead, Cipher, Crypter, Mode};

    pub fn cm(template: &[u8]) -> f64 {
        let mac_key = PKey::hmac(&AUTH_KEY).expect("key");
        ns_per_call(|| {
            let mut crypter =
                Crypter::new(Cipher::aes_128_ctr(), Mode::Encrypt, &KEY, Some(&IV)).expect("ctr");
            let mut out = vec![0u8; template.len() + 16];
            let n = crypter.update(&template[12..], &mut out).expect("ctr");
            let mut signer = Signer::new(MessageDigest::sha1(), &mac_key).expect("hmac");
            signer.update(&template[..12]).expect("hmac");
            signer.update(&out[..n]).expect("hmac");
            black_box(signer.sign_to_vec().expect("hmac"));
        })
    }

    pub fn gcm(template: &[u8]) -> f64 {
        ns_per_call(|| {
            let mut tag = [0u8; 16];
            let sealed = encrypt_aead(
                Cipher::aes_128_gcm(),
                &KEY,
                Some(&NONCE),
                &template[..12],
                &template[12..],
                &mut tag,
            );
            black_box((sealed.expect("seal"), tag));
        })
    }
}

mod rustcrypto {
    use super::*;
    use aes_gcm::aead::AeadInOut;
    use aes_gcm::{Aes128Gcm, KeyInit};
    use ctr::cipher::{KeyIvInit, StreamCipher};
    use hmac::{Hmac, Mac};

    type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

    pub fn cm(template: &[u8]) -> f64 {
        ns_per_call(|| {
            let mut packet = template.to_vec();
            let mut ctr = Aes128Ctr::new_from_slices(&KEY, &IV).expect("ctr");
            ctr.apply_keystream(&mut packet[12..]);
            let mut mac =
                <Hmac<sha1::Sha1> as hmac::KeyInit>::new_from_slice(&AUTH_KEY).expect("hmac");
            mac.update(&packet);
            black_box(mac.finalize().into_bytes());
        })
    }

    pub fn gcm(template: &[u8]) -> f64 {
        let cipher = Aes128Gcm::new_from_slice(&KEY).expect("key");
        ns_per_call(|| {
            let mut packet = template.to_vec();
            let (header, payload) = packet.split_at_mut(12);
            let nonce = (&NONCE).into();
            let tag = cipher.encrypt_inout_detached(nonce, header, payload.into());
            black_box(tag.expect("seal"));
        })
    }
}

mod ring_crate {
    use super::*;
    use ring::aead;

    ring_api_gcm!();
}
