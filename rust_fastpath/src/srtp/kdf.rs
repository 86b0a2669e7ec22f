//! The SRTP key derivation function: AES-CM used as a PRF (RFC 3711 section 4.3.3,
//! AES-256 per RFC 6188 section 3, 96-bit GCM master salts per RFC 7714 section 11).
//!
//! The key derivation rate is zero (DTLS-SRTP never rekeys by index), so the index term
//! `r` is always zero and every session key is derived once per context.

use super::crypto::AesCtr;
use super::{Error, Profile};

/// The six labels of RFC 3711 section 4.3.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Label {
    RtpEncryption = 0x00,
    RtpAuthentication = 0x01,
    RtpSalt = 0x02,
    RtcpEncryption = 0x03,
    RtcpAuthentication = 0x04,
    RtcpSalt = 0x05,
}

/// Fills `out` with the AES-CM keystream that starts at counter block `iv`: the "AES-CM"
/// of RFC 3711 section 4.1.1 applied to zeros. `key` is 16 or 32 bytes.
///
/// # Errors
/// [`Error::BadKeyLength`] for any other key length.
pub fn aes_cm_keystream(key: &[u8], iv: [u8; 16], out: &mut [u8]) -> Result<(), Error> {
    out.fill(0);
    AesCtr::new(key)?.apply(iv, out)
}

/// Derives `out.len()` bytes for `label` from a master key (16 or 32 bytes) and a master
/// salt of at most 14 bytes. A 12-byte GCM salt is padded with two zero bytes on the
/// right, as libsrtp does, so it lines up with the 112-bit `x` of RFC 3711.
///
/// # Errors
/// [`Error::BadKeyLength`] for a key that is not 16 or 32 bytes or a salt over 14 bytes.
pub fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    out: &mut [u8],
) -> Result<(), Error> {
    let mut iv = [0u8; 16];
    iv.get_mut(..master_salt.len())
        .filter(|_| master_salt.len() <= 14)
        .ok_or(Error::BadKeyLength)?
        .copy_from_slice(master_salt);
    // key_id = label || r (r = 0): the label sits 7 bytes from the end of the 14-byte x.
    iv[7] ^= label as u8;
    aes_cm_keystream(master_key, iv, out)
}

/// The session keys of one context: what the KDF produces, or what RFC 7714's
/// vectors (and SDES) hand over directly.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    pub rtp_key: Vec<u8>,
    pub rtp_salt: Vec<u8>,
    pub rtp_auth_key: Vec<u8>,
    pub rtcp_key: Vec<u8>,
    pub rtcp_salt: Vec<u8>,
    pub rtcp_auth_key: Vec<u8>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys { .. }")
    }
}

impl SessionKeys {
    /// Derives all six session keys for `profile`.
    ///
    /// # Errors
    /// [`Error::BadKeyLength`] if the master key or salt does not have the profile's length.
    pub fn derive(profile: Profile, master_key: &[u8], master_salt: &[u8]) -> Result<Self, Error> {
        if master_key.len() != profile.key_len() || master_salt.len() != profile.salt_len() {
            return Err(Error::BadKeyLength);
        }
        let one = |label: Label, len: usize| -> Result<Vec<u8>, Error> {
            let mut out = vec![0u8; len];
            derive(master_key, master_salt, label, &mut out)?;
            Ok(out)
        };
        Ok(Self {
            rtp_key: one(Label::RtpEncryption, profile.key_len())?,
            rtp_salt: one(Label::RtpSalt, profile.salt_len())?,
            rtp_auth_key: one(Label::RtpAuthentication, profile.auth_key_len())?,
            rtcp_key: one(Label::RtcpEncryption, profile.key_len())?,
            rtcp_salt: one(Label::RtcpSalt, profile.salt_len())?,
            rtcp_auth_key: one(Label::RtcpAuthentication, profile.auth_key_len())?,
        })
    }

    /// Whether every key has the length `profile` needs.
    #[must_use]
    pub fn fit(&self, profile: Profile) -> bool {
        [&self.rtp_key, &self.rtcp_key]
            .iter()
            .all(|k| k.len() == profile.key_len())
            && [&self.rtp_salt, &self.rtcp_salt]
                .iter()
                .all(|s| s.len() == profile.salt_len())
            && [&self.rtp_auth_key, &self.rtcp_auth_key]
                .iter()
                .all(|a| a.len() == profile.auth_key_len())
    }
}

#[cfg(test)]
mod tests {
    use super::{aes_cm_keystream, derive, Label, SessionKeys};
    use crate::srtp::test_vectors::{hex, session_keys, vectors};
    use crate::srtp::{Error, Profile};

    fn label(n: u64) -> Label {
        match n {
            0 => Label::RtpEncryption,
            1 => Label::RtpAuthentication,
            2 => Label::RtpSalt,
            3 => Label::RtcpEncryption,
            4 => Label::RtcpAuthentication,
            _ => Label::RtcpSalt,
        }
    }

    /// RFC 3711 B.2: the keystream blocks at counters 0, 1, 2 and 0xfeff..0xff01.
    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let v = &vectors("rfc3711")["aes_cm_keystream"];
        let key = hex(&v["session_key"]);
        let start: [u8; 16] = hex(&v["counter_start"]).try_into().expect("16 bytes");
        let mut stream = vec![0u8; 16 * 0x1_0000];
        aes_cm_keystream(&key, start, &mut stream).expect("keystream");
        let blocks = v["blocks"].as_array().expect("blocks");
        assert_eq!(blocks.len(), 6);
        for block in blocks {
            let counter = hex(&block["counter"]);
            let n = usize::from(u16::from_be_bytes([counter[14], counter[15]]));
            assert_eq!(
                &stream[16 * n..16 * n + 16],
                hex(&block["keystream"]).as_slice(),
                "block {n:#x}"
            );
        }
    }

    /// RFC 3711 B.3 (AES-128) and RFC 6188 7.2 (AES-256): every derived key, at the
    /// RFC's full length (the 94-byte auth key runs the counter over several blocks).
    #[test]
    fn rfc3711_b3_and_rfc6188_key_derivation() {
        for name in ["rfc3711", "rfc6188"] {
            let v = &vectors(name)["key_derivation"];
            let (key, salt) = (hex(&v["master_key"]), hex(&v["master_salt"]));
            for derived in v["derived"].as_array().expect("derived") {
                let expected = hex(&derived["value"]);
                let mut out = vec![0u8; expected.len()];
                derive(
                    &key,
                    &salt,
                    label(derived["label"].as_u64().expect("label")),
                    &mut out,
                )
                .expect("kdf");
                assert_eq!(out, expected, "{name} label {}", derived["label"]);
            }
        }
    }

    #[test]
    fn session_keys_have_profile_lengths_and_differ_per_label() {
        for profile in Profile::ALL {
            let keys = session_keys(profile, 1, 2);
            assert!(keys.fit(profile));
            assert_ne!(keys.rtp_key, keys.rtcp_key);
            assert_ne!(keys.rtp_salt, keys.rtcp_salt);
            assert_eq!(
                format!("{keys:?}"),
                "SessionKeys { .. }",
                "keys never reach logs"
            );
        }
    }

    #[test]
    fn wrong_master_lengths_are_refused() {
        for profile in Profile::ALL {
            let (k, s) = (profile.key_len(), profile.salt_len());
            for (key_len, salt_len) in [(k - 1, s), (k + 1, s), (k, s - 1), (k, s + 1), (0, 0)] {
                assert_eq!(
                    SessionKeys::derive(profile, &vec![0u8; key_len], &vec![0u8; salt_len]).err(),
                    Some(Error::BadKeyLength)
                );
            }
        }
        let mut out = [0u8; 4];
        assert_eq!(
            derive(&[0u8; 16], &[0u8; 15], Label::RtpSalt, &mut out),
            Err(Error::BadKeyLength)
        );
        assert_eq!(
            derive(&[0u8; 24], &[0u8; 14], Label::RtpSalt, &mut out),
            Err(Error::BadKeyLength)
        );
    }
}
