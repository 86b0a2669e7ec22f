//! The per-packet cryptographic transforms, without any stream state: IV formation,
//! what is encrypted, what is authenticated and where the tag goes.
//!
//! - AES-CM + HMAC-SHA1-80: RFC 3711 sections 3.1, 3.4, 4.1.1 and 4.2.1.
//! - AEAD AES-GCM: RFC 7714 sections 8 (SRTP) and 9 (SRTCP).
//!
//! Callers hand in a packet whose header has been parsed and whose index has been
//! chosen; a `&mut Vec<u8>` is transformed in place (the tag appended or removed).

use super::crypto::{constant_time_eq, AesCtr, AesGcm, HmacSha1};
use super::rtcp_header::CLEAR_LEN;
use super::rtp_header::RtpHeader;
use super::{Error, Profile};

/// The E flag of the word that follows SRTCP packets.
pub const E_FLAG: u32 = 0x8000_0000;

/// Every transform refuses with the module's [`Error`].
type Result<T> = std::result::Result<T, Error>;

const CM_TAG: usize = 10;
const GCM_TAG: usize = 16;
const WORD: usize = 4;

/// One direction's cipher for either RTP or RTCP.
pub enum Transform {
    Cm {
        cipher: Box<AesCtr>,
        salt: [u8; 14],
        auth: Box<HmacSha1>,
    },
    Gcm {
        cipher: AesGcm,
        salt: [u8; 12],
    },
}

/// The AES-CM counter block: `salt * 2^16 XOR ssrc * 2^64 XOR index * 2^16`.
fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (dst, src) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *dst ^= src;
    }
    for (dst, src) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *dst ^= src;
    }
    iv
}

/// The GCM nonce: `00 00 || SSRC || middle (4 bytes) || low (2 bytes)` XOR salt. For SRTP
/// the last six bytes are ROC || SEQ, for SRTCP `00 00 || 0 + index (31 bits)`.
fn gcm_iv(salt: &[u8; 12], ssrc: u32, last6: [u8; 6]) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..].copy_from_slice(&last6);
    for (dst, src) in iv.iter_mut().zip(salt) {
        *dst ^= src;
    }
    iv
}

fn rtp_gcm_iv(salt: &[u8; 12], ssrc: u32, index: u64) -> [u8; 12] {
    let b = index.to_be_bytes();
    gcm_iv(salt, ssrc, [b[2], b[3], b[4], b[5], b[6], b[7]])
}

fn rtcp_gcm_iv(salt: &[u8; 12], ssrc: u32, index: u32) -> [u8; 12] {
    let b = (index & !E_FLAG).to_be_bytes();
    gcm_iv(salt, ssrc, [0, 0, b[0], b[1], b[2], b[3]])
}

fn roc_bytes(index: u64) -> [u8; 4] {
    ((index >> 16) as u32).to_be_bytes()
}

impl Transform {
    /// The transform for `profile` under one set of session keys.
    ///
    /// # Errors
    /// [`Error::BadKeyLength`] if a key or salt does not fit the profile.
    pub fn new(profile: Profile, key: &[u8], salt: &[u8], auth_key: &[u8]) -> Result<Self> {
        if key.len() != profile.key_len()
            || salt.len() != profile.salt_len()
            || auth_key.len() != profile.auth_key_len()
        {
            return Err(Error::BadKeyLength);
        }
        Ok(match profile {
            Profile::AesCm128HmacSha1_80 => Self::Cm {
                cipher: Box::new(AesCtr::new(key)?),
                salt: salt.try_into().map_err(|_| Error::BadKeyLength)?,
                auth: Box::new(HmacSha1::new(auth_key)),
            },
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => Self::Gcm {
                cipher: AesGcm::new(key)?,
                salt: salt.try_into().map_err(|_| Error::BadKeyLength)?,
            },
        })
    }

    /// Bytes of authentication tag this transform puts on the wire.
    pub const fn tag_len(&self) -> usize {
        match self {
            Self::Cm { .. } => CM_TAG,
            Self::Gcm { .. } => GCM_TAG,
        }
    }

    /// Encrypts the payload after the header and appends the tag.
    pub fn protect_rtp(&self, packet: &mut Vec<u8>, header: RtpHeader, index: u64) -> Result<()> {
        let RtpHeader {
            len: header_len,
            ssrc,
            ..
        } = header;
        match self {
            Self::Cm { cipher, salt, auth } => {
                let payload = packet.get_mut(header_len..).ok_or(Error::Malformed)?;
                cipher.apply(cm_iv(salt, ssrc, index), payload)?;
                let tag = auth.sign(&[packet.as_slice(), &roc_bytes(index)]);
                packet.extend_from_slice(&tag[..CM_TAG]);
            }
            Self::Gcm { cipher, salt } => {
                if header_len > packet.len() {
                    return Err(Error::Malformed);
                }
                let (header, payload) = packet.split_at_mut(header_len);
                let tag = cipher.seal(rtp_gcm_iv(salt, ssrc, index), header, payload)?;
                packet.extend_from_slice(&tag);
            }
        }
        Ok(())
    }

    /// Verifies the tag at the end of `packet`, decrypts the payload and drops the tag.
    /// On error `packet` may hold garbage but its length is unchanged.
    pub fn unprotect_rtp(&self, packet: &mut Vec<u8>, header: RtpHeader, index: u64) -> Result<()> {
        let RtpHeader {
            len: header_len,
            ssrc,
            ..
        } = header;
        let body_len = packet
            .len()
            .checked_sub(self.tag_len())
            .filter(|&body| body >= header_len)
            .ok_or(Error::Malformed)?;
        match self {
            Self::Cm { cipher, salt, auth } => {
                let (body, tag) = packet.split_at_mut(body_len);
                let expected = auth.sign(&[&*body, &roc_bytes(index)]);
                if !constant_time_eq(&expected[..CM_TAG], tag) {
                    return Err(Error::AuthFailed);
                }
                let payload = body.get_mut(header_len..).ok_or(Error::Malformed)?;
                cipher.apply(cm_iv(salt, ssrc, index), payload)?;
            }
            Self::Gcm { cipher, salt } => {
                let (header, sealed) = packet.split_at_mut(header_len);
                cipher.open(rtp_gcm_iv(salt, ssrc, index), header, sealed)?;
            }
        }
        packet.truncate(body_len);
        Ok(())
    }

    /// Encrypts everything after the first 8 bytes, appends the E-flagged index word and
    /// the tag in the profile's order (RFC 3711: word then tag; RFC 7714: tag then word).
    pub fn protect_rtcp(&self, packet: &mut Vec<u8>, ssrc: u32, index: u32) -> Result<()> {
        let word = (index | E_FLAG).to_be_bytes();
        if packet.len() < CLEAR_LEN {
            return Err(Error::Malformed);
        }
        match self {
            Self::Cm { cipher, salt, auth } => {
                let (_, encrypted) = packet.split_at_mut(CLEAR_LEN);
                cipher.apply(cm_iv(salt, ssrc, u64::from(index)), encrypted)?;
                packet.extend_from_slice(&word);
                let tag = auth.sign(&[packet.as_slice()]);
                packet.extend_from_slice(&tag[..CM_TAG]);
            }
            Self::Gcm { cipher, salt } => {
                let (clear, encrypted) = packet.split_at_mut(CLEAR_LEN);
                let aad = rtcp_aad(clear, word)?;
                let tag = cipher.seal(rtcp_gcm_iv(salt, ssrc, index), &aad, encrypted)?;
                packet.extend_from_slice(&tag);
                packet.extend_from_slice(&word);
            }
        }
        Ok(())
    }

    /// The E-flag/index word of an SRTCP packet, if the packet is long enough to hold the
    /// clear header, the word and the tag.
    pub fn rtcp_word(&self, packet: &[u8]) -> Result<u32> {
        let len = packet.len();
        if len < CLEAR_LEN + WORD + self.tag_len() {
            return Err(Error::Malformed);
        }
        let at = match self {
            Self::Cm { .. } => len - CM_TAG - WORD,
            Self::Gcm { .. } => len - WORD,
        };
        match packet.get(at..at + WORD) {
            Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
            _ => Err(Error::Malformed),
        }
    }

    /// Verifies and (if the E flag is set) decrypts an SRTCP packet whose word is `word`
    /// (from [`Self::rtcp_word`]), leaving the RTCP packet.
    pub fn unprotect_rtcp(&self, packet: &mut Vec<u8>, ssrc: u32, word: u32) -> Result<()> {
        let len = packet.len();
        let rtcp_len = len
            .checked_sub(self.tag_len() + WORD)
            .filter(|&l| l >= CLEAR_LEN)
            .ok_or(Error::Malformed)?;
        let encrypted = word & E_FLAG != 0;
        let index = word & !E_FLAG;
        match self {
            Self::Cm { cipher, salt, auth } => {
                let (authenticated, tag) = packet.split_at_mut(len - CM_TAG);
                let expected = auth.sign(&[&*authenticated]);
                if !constant_time_eq(&expected[..CM_TAG], tag) {
                    return Err(Error::AuthFailed);
                }
                if encrypted {
                    let body = authenticated
                        .get_mut(CLEAR_LEN..rtcp_len)
                        .ok_or(Error::Malformed)?;
                    cipher.apply(cm_iv(salt, ssrc, u64::from(index)), body)?;
                }
            }
            Self::Gcm { cipher, salt } => {
                let iv = rtcp_gcm_iv(salt, ssrc, index);
                let word = word.to_be_bytes();
                if encrypted {
                    let (clear, rest) = packet.split_at_mut(CLEAR_LEN);
                    let aad = rtcp_aad(clear, word)?;
                    let sealed = rest
                        .get_mut(..len - CLEAR_LEN - WORD)
                        .ok_or(Error::Malformed)?;
                    cipher.open(iv, &aad, sealed)?;
                } else {
                    // RFC 7714 section 9.3: tagged only, the whole RTCP packet is AAD.
                    let (rtcp, rest) = packet.split_at_mut(rtcp_len);
                    let mut aad = Vec::with_capacity(rtcp_len + WORD);
                    aad.extend_from_slice(rtcp);
                    aad.extend_from_slice(&word);
                    let tag = rest.get_mut(..GCM_TAG).ok_or(Error::Malformed)?;
                    cipher.open(iv, &aad, tag)?;
                }
            }
        }
        packet.truncate(rtcp_len);
        Ok(())
    }
}

/// RFC 7714 section 9.2's AAD for an encrypted SRTCP packet: the clear 8 bytes, then the word.
fn rtcp_aad(clear: &[u8], word: [u8; 4]) -> Result<[u8; 12]> {
    let mut aad = [0u8; 12];
    aad.get_mut(..CLEAR_LEN)
        .zip(clear.get(..CLEAR_LEN))
        .map(|(dst, src)| dst.copy_from_slice(src))
        .ok_or(Error::Malformed)?;
    aad[CLEAR_LEN..].copy_from_slice(&word);
    Ok(aad)
}

#[cfg(test)]
mod tests {
    use super::{cm_iv, rtcp_gcm_iv, rtp_gcm_iv};
    use crate::srtp::test_vectors::{hex, vectors};

    #[test]
    fn cm_iv_of_rfc3711_b2_is_the_salt_shifted() {
        let v = &vectors("rfc3711")["aes_cm_keystream"];
        let salt: [u8; 14] = hex(&v["session_salt"]).try_into().expect("14");
        assert_eq!(cm_iv(&salt, 0, 0).to_vec(), hex(&v["counter_start"]));
        // SSRC and index land in their own bytes.
        let iv = cm_iv(&[0u8; 14], 0x0102_0304, 0x0000_0506_0708_090a);
        assert_eq!(iv, [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0]);
    }

    #[test]
    fn gcm_ivs_of_rfc7714_sections_16_and_17() {
        let v = vectors("rfc7714");
        for case in v["srtp"].as_array().expect("srtp") {
            let salt: [u8; 12] = hex(&case["session_salt"]).try_into().expect("12");
            let plain = hex(&case["plain"]);
            let ssrc = u32::from_be_bytes([plain[8], plain[9], plain[10], plain[11]]);
            let seq = u64::from(u16::from_be_bytes([plain[2], plain[3]]));
            assert_eq!(rtp_gcm_iv(&salt, ssrc, seq).to_vec(), hex(&case["iv"]));
        }
        for case in v["srtcp"].as_array().expect("srtcp") {
            let salt: [u8; 12] = hex(&case["session_salt"]).try_into().expect("12");
            let index = u32::try_from(case["srtcp_index"].as_u64().expect("index")).expect("u32");
            assert_eq!(
                rtcp_gcm_iv(&salt, 0x4d61_7273, index).to_vec(),
                hex(&case["iv"])
            );
            // The E flag never reaches the IV.
            assert_eq!(
                rtcp_gcm_iv(&salt, 0x4d61_7273, index | super::E_FLAG).to_vec(),
                hex(&case["iv"])
            );
        }
    }
}
