//! STUN messages (RFC 8489) as ICE uses them: parse, check MESSAGE-INTEGRITY
//! (HMAC-SHA1, short-term credentials) and FINGERPRINT, and build binding responses.
//!
//! The parser borrows the datagram and never panics: anything that does not add up is
//! a [`StunError`], which the endpoint counts as a drop.

use std::net::{IpAddr, SocketAddr};

use aws_lc_rs::{constant_time, hmac};

pub const MAGIC_COOKIE: u32 = 0x2112_A442;
pub const HEADER_LEN: usize = 20;

pub const BINDING_REQUEST: u16 = 0x0001;
pub const BINDING_SUCCESS: u16 = 0x0101;
pub const BINDING_ERROR: u16 = 0x0111;

pub const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
pub const ATTR_USERNAME: u16 = 0x0006;
pub const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
pub const ATTR_ERROR_CODE: u16 = 0x0009;
pub const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
pub const ATTR_PRIORITY: u16 = 0x0024;
pub const ATTR_USE_CANDIDATE: u16 = 0x0025;
pub const ATTR_SOFTWARE: u16 = 0x8022;
pub const ATTR_FINGERPRINT: u16 = 0x8028;
pub const ATTR_ICE_CONTROLLED: u16 = 0x8029;
pub const ATTR_ICE_CONTROLLING: u16 = 0x802A;

const FINGERPRINT_XOR: u32 = 0x5354_554E;
const INTEGRITY_LEN: usize = 20;
/// Attributes we keep per message; ICE checks carry about six.
const MAX_ATTRIBUTES: usize = 32;

/// Why a datagram is not a usable STUN message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StunError {
    /// Shorter than a header, top bits set, wrong cookie, or a length that disagrees.
    Malformed,
    /// An attribute runs past the end, or comes after FINGERPRINT.
    BadAttribute,
    /// FINGERPRINT present and wrong.
    BadFingerprint,
}

/// One parsed STUN message, borrowing the datagram.
#[derive(Debug)]
pub struct Message<'a> {
    raw: &'a [u8],
    pub message_type: u16,
    pub transaction_id: [u8; 12],
    attributes: Vec<(u16, &'a [u8])>,
    /// Offset of the MESSAGE-INTEGRITY attribute header, if present.
    integrity_at: Option<usize>,
    /// Offset of the FINGERPRINT attribute header, if present.
    fingerprint_at: Option<usize>,
}

/// True if the datagram could be STUN (RFC 7983: first byte 0..=3 and the magic cookie).
#[must_use]
pub fn looks_like_stun(data: &[u8]) -> bool {
    data.len() >= HEADER_LEN && data[0] < 4 && data[4..8] == MAGIC_COOKIE.to_be_bytes()
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

impl<'a> Message<'a> {
    /// Parse a whole datagram. FINGERPRINT, when present, is checked here because it is
    /// what tells STUN from other protocols on a shared port.
    pub fn parse(raw: &'a [u8]) -> Result<Self, StunError> {
        if !looks_like_stun(raw) {
            return Err(StunError::Malformed);
        }
        let message_type = be16(raw, 0).ok_or(StunError::Malformed)?;
        let length = usize::from(be16(raw, 2).ok_or(StunError::Malformed)?);
        if length % 4 != 0 || HEADER_LEN + length != raw.len() {
            return Err(StunError::Malformed);
        }
        let mut transaction_id = [0u8; 12];
        transaction_id.copy_from_slice(&raw[8..HEADER_LEN]);
        let mut message = Self {
            raw,
            message_type,
            transaction_id,
            attributes: Vec::new(),
            integrity_at: None,
            fingerprint_at: None,
        };
        let mut at = HEADER_LEN;
        while at < raw.len() {
            if message.fingerprint_at.is_some() || message.attributes.len() >= MAX_ATTRIBUTES {
                return Err(StunError::BadAttribute); // FINGERPRINT must be last
            }
            let kind = be16(raw, at).ok_or(StunError::BadAttribute)?;
            let len = usize::from(be16(raw, at + 2).ok_or(StunError::BadAttribute)?);
            let start = at + 4;
            let value = raw.get(start..start + len).ok_or(StunError::BadAttribute)?;
            let padded = start + len.div_ceil(4) * 4;
            if padded > raw.len() {
                return Err(StunError::BadAttribute);
            }
            match kind {
                ATTR_MESSAGE_INTEGRITY if message.integrity_at.is_none() => {
                    if len != INTEGRITY_LEN {
                        return Err(StunError::BadAttribute);
                    }
                    message.integrity_at = Some(at);
                }
                ATTR_FINGERPRINT => {
                    if len != 4 {
                        return Err(StunError::BadAttribute);
                    }
                    message.fingerprint_at = Some(at);
                }
                _ => {}
            }
            // Attributes after MESSAGE-INTEGRITY are not covered by it: ignore them.
            if message.integrity_at.is_none() || kind == ATTR_MESSAGE_INTEGRITY {
                message.attributes.push((kind, value));
            }
            at = padded;
        }
        if let Some(fp) = message.fingerprint_at {
            let expected = crc32(&raw[..fp]) ^ FINGERPRINT_XOR;
            let got = u32::from_be_bytes([raw[fp + 4], raw[fp + 5], raw[fp + 6], raw[fp + 7]]);
            if expected != got {
                return Err(StunError::BadFingerprint);
            }
        }
        Ok(message)
    }

    /// The first attribute of this type (before MESSAGE-INTEGRITY).
    #[must_use]
    pub fn attribute(&self, kind: u16) -> Option<&'a [u8]> {
        self.attributes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
    }

    #[must_use]
    pub fn has(&self, kind: u16) -> bool {
        self.attribute(kind).is_some()
    }

    #[must_use]
    pub fn username(&self) -> Option<&'a str> {
        std::str::from_utf8(self.attribute(ATTR_USERNAME)?).ok()
    }

    #[must_use]
    pub const fn has_fingerprint(&self) -> bool {
        self.fingerprint_at.is_some()
    }

    #[must_use]
    pub fn priority(&self) -> Option<u32> {
        let v = self.attribute(ATTR_PRIORITY)?;
        Some(u32::from_be_bytes(v.try_into().ok()?))
    }

    /// XOR-MAPPED-ADDRESS (or plain MAPPED-ADDRESS), if present and well formed.
    #[must_use]
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        if let Some(v) = self.attribute(ATTR_XOR_MAPPED_ADDRESS) {
            return decode_address(v, Some(&self.transaction_id));
        }
        decode_address(self.attribute(ATTR_MAPPED_ADDRESS)?, None)
    }

    /// MESSAGE-INTEGRITY (HMAC-SHA1 keyed with `key`) is present and right. The MAC covers
    /// the message up to that attribute, with the header length set as if it ended there.
    #[must_use]
    pub fn integrity_ok(&self, key: &[u8]) -> bool {
        let Some(at) = self.integrity_at else {
            return false;
        };
        let Ok(length) = u16::try_from(at + 4 + INTEGRITY_LEN - HEADER_LEN) else {
            return false;
        };
        let mac = integrity(key, &self.raw[..at], length);
        constant_time::verify_slices_are_equal(&mac, &self.raw[at + 4..at + 4 + INTEGRITY_LEN])
            .is_ok()
    }
}

fn integrity(key: &[u8], before: &[u8], length: u16) -> [u8; INTEGRITY_LEN] {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(&before[..2]);
    ctx.update(&length.to_be_bytes());
    ctx.update(&before[4..]);
    let tag = ctx.sign();
    let mut out = [0u8; INTEGRITY_LEN];
    out.copy_from_slice(tag.as_ref());
    out
}

fn decode_address(value: &[u8], xor_with: Option<&[u8; 12]>) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let mut port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    let cookie = MAGIC_COOKIE.to_be_bytes();
    if xor_with.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match (family, value.len()) {
        (1, 8) => {
            let mut octets: [u8; 4] = value[4..8].try_into().ok()?;
            if xor_with.is_some() {
                for (o, c) in octets.iter_mut().zip(cookie) {
                    *o ^= c;
                }
            }
            IpAddr::from(octets)
        }
        (2, 20) => {
            let mut octets: [u8; 16] = value[4..20].try_into().ok()?;
            if let Some(tid) = xor_with {
                let pad = cookie.iter().chain(tid.iter());
                for (o, c) in octets.iter_mut().zip(pad) {
                    *o ^= c;
                }
            }
            IpAddr::from(octets)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Builds a message attribute by attribute; MESSAGE-INTEGRITY and FINGERPRINT last.
pub struct MessageBuilder {
    buf: Vec<u8>,
    transaction_id: [u8; 12],
}

impl MessageBuilder {
    #[must_use]
    pub fn new(message_type: u16, transaction_id: [u8; 12]) -> Self {
        let mut buf = Vec::with_capacity(96);
        buf.extend_from_slice(&message_type.to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&transaction_id);
        Self {
            buf,
            transaction_id,
        }
    }

    fn set_length(&mut self) {
        // Our messages are far below 64 KiB; saturate rather than panic regardless.
        let length = u16::try_from(self.buf.len() - HEADER_LEN).unwrap_or(u16::MAX);
        self.buf[2..4].copy_from_slice(&length.to_be_bytes());
    }

    /// Append one attribute (padded to 4 bytes with zeros). Values over 64 KiB are cut.
    pub fn attribute(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&kind.to_be_bytes());
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(&value[..usize::from(len)]);
        let pad = (4 - usize::from(len) % 4) % 4;
        self.buf.extend_from_slice(&[0u8; 3][..pad]);
        self.set_length();
        self
    }

    pub fn xor_mapped_address(&mut self, address: SocketAddr) -> &mut Self {
        let cookie = MAGIC_COOKIE.to_be_bytes();
        let port = address.port() ^ (MAGIC_COOKIE >> 16) as u16;
        let mut value = Vec::with_capacity(20);
        value.push(0);
        match address.ip() {
            IpAddr::V4(ip) => {
                value.push(1);
                value.extend_from_slice(&port.to_be_bytes());
                value.extend(ip.octets().iter().zip(cookie).map(|(o, c)| o ^ c));
            }
            IpAddr::V6(ip) => {
                value.push(2);
                value.extend_from_slice(&port.to_be_bytes());
                let pad = cookie.iter().chain(self.transaction_id.iter());
                value.extend(ip.octets().iter().zip(pad).map(|(o, c)| o ^ c));
            }
        }
        self.attribute(ATTR_XOR_MAPPED_ADDRESS, &value)
    }

    pub fn error_code(&mut self, code: u16, reason: &str) -> &mut Self {
        let mut value = vec![
            0,
            0,
            u8::try_from(code / 100).unwrap_or(5),
            (code % 100) as u8,
        ];
        value.extend_from_slice(reason.as_bytes());
        self.attribute(ATTR_ERROR_CODE, &value)
    }

    pub fn message_integrity(&mut self, key: &[u8]) -> &mut Self {
        let at = self.buf.len();
        let length = u16::try_from(at + 4 + INTEGRITY_LEN - HEADER_LEN).unwrap_or(u16::MAX);
        let mac = integrity(key, &self.buf, length);
        self.attribute(ATTR_MESSAGE_INTEGRITY, &mac)
    }

    #[must_use]
    pub fn fingerprint(mut self) -> Vec<u8> {
        self.attribute(ATTR_FINGERPRINT, &[0; 4]);
        let at = self.buf.len() - 8;
        let value = crc32(&self.buf[..at]) ^ FINGERPRINT_XOR;
        self.buf[at + 4..].copy_from_slice(&value.to_be_bytes());
        self.buf
    }

    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// CRC-32 (ISO-HDLC, as zlib), the base of FINGERPRINT.
#[must_use]
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc = CRC_TABLE[usize::from((crc as u8) ^ byte)] ^ (crc >> 8);
    }
    !crc
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{hex, json, xorshift};
    use serde_json::Value;

    fn vectors() -> Value {
        json(include_str!("../../../tests/vectors/stun/rfc5769.json"))
    }

    fn password() -> Vec<u8> {
        vectors()["password"].as_str().unwrap().as_bytes().to_vec()
    }

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn rfc5769_sample_request() {
        let v = vectors();
        let raw = hex(&v["sample_request"]["hex"]);
        let m = Message::parse(&raw).expect("parses");
        assert_eq!(m.message_type, BINDING_REQUEST);
        assert_eq!(m.transaction_id.to_vec(), hex(&v["transaction_id"]));
        assert_eq!(m.username(), v["sample_request"]["username"].as_str());
        assert_eq!(
            m.priority().map(u64::from),
            v["sample_request"]["priority"].as_u64()
        );
        assert_eq!(
            m.attribute(ATTR_ICE_CONTROLLED).map(<[u8]>::to_vec),
            Some(hex(&v["sample_request"]["ice_controlled"]))
        );
        assert_eq!(m.attribute(ATTR_SOFTWARE), Some(&b"STUN test client"[..]));
        assert!(m.has_fingerprint());
        assert!(m.integrity_ok(&password()));
        assert!(!m.integrity_ok(b"VOkJxbRl1RmTxUk/WvJxBu"));
        assert!(!m.has(ATTR_USE_CANDIDATE));
    }

    #[test]
    fn rfc5769_responses_decode_and_are_reproduced_by_the_builder() {
        let v = vectors();
        for name in ["sample_ipv4_response", "sample_ipv6_response"] {
            let raw = hex(&v[name]["hex"]);
            let m = Message::parse(&raw).expect("parses");
            assert_eq!(m.message_type, BINDING_SUCCESS);
            let address: SocketAddr = v[name]["mapped_address"].as_str().unwrap().parse().unwrap();
            assert_eq!(m.mapped_address(), Some(address));
            assert!(m.integrity_ok(&password()));

            // The builder writes the same header, SOFTWARE and XOR-MAPPED-ADDRESS bytes;
            // only SOFTWARE's padding differs (the RFC pads with a space, we with zero),
            // and with it the MESSAGE-INTEGRITY and FINGERPRINT values.
            let mut b = MessageBuilder::new(BINDING_SUCCESS, m.transaction_id);
            b.attribute(ATTR_SOFTWARE, b"test vector")
                .xor_mapped_address(address)
                .message_integrity(&password());
            let built = b.fingerprint();
            assert_eq!(built.len(), raw.len());
            let address_end = raw.len() - 32;
            assert_eq!(built[..35], raw[..35]);
            assert_eq!(built[36..address_end], raw[36..address_end]);
            let again = Message::parse(&built).expect("parses");
            assert!(again.integrity_ok(&password()));
            assert_eq!(again.mapped_address(), Some(address));
        }
    }

    #[test]
    fn builder_output_verifies() {
        let tid = [7u8; 12];
        for address in ["192.0.2.1:32853", "[2001:db8::1]:9"] {
            let address: SocketAddr = address.parse().unwrap();
            let mut b = MessageBuilder::new(BINDING_SUCCESS, tid);
            b.xor_mapped_address(address).message_integrity(b"pwd");
            let raw = b.fingerprint();
            let m = Message::parse(&raw).expect("parses");
            assert_eq!(m.mapped_address(), Some(address));
            assert!(m.integrity_ok(b"pwd"));
            assert!(!m.integrity_ok(b"other"));
            assert!(m.has_fingerprint());
        }
    }

    #[test]
    fn corrupt_messages_are_errors() {
        let v = vectors();
        let raw = hex(&v["sample_request"]["hex"]);
        let mut bad_fp = raw.clone();
        bad_fp[30] ^= 1;
        assert_eq!(
            Message::parse(&bad_fp).unwrap_err(),
            StunError::BadFingerprint
        );
        let mut bad_len = raw.clone();
        bad_len[3] = 0x54;
        assert!(Message::parse(&bad_len).is_err());
        for cut in 0..raw.len() {
            assert!(Message::parse(&raw[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_attr = raw.clone();
        bad_attr[22] = 0xff; // SOFTWARE claims 0xff10 bytes
        assert!(Message::parse(&bad_attr).is_err());
    }

    #[test]
    fn random_input_never_panics() {
        let v = vectors();
        let seed = hex(&v["sample_request"]["hex"]);
        let mut next = xorshift(0x1234_5678_9abc_def0);
        for _ in 0..20_000 {
            let mut data = seed.clone();
            let flips = next() % 6;
            for _ in 0..=flips {
                let i = (next() as usize) % data.len();
                data[i] = next() as u8;
            }
            let cut = (next() as usize) % (data.len() + 1);
            if let Ok(m) = Message::parse(&data[..cut]) {
                let _ = m.integrity_ok(b"x");
                let _ = m.mapped_address();
                let _ = m.username();
            }
            let junk: Vec<u8> = (0..(next() % 64)).map(|_| next() as u8).collect();
            let _ = Message::parse(&junk);
        }
    }
}
