//! Byte-level RTP on plaintext packets (RFC 3550 fixed header, CSRCs, RFC 8285 one-byte
//! and two-byte header extensions, padding): the twin of `livelens/media/rtp.py`.
//!
//! Parsing has one failure mode, [`Malformed`]; it never panics (every read is
//! bounds-checked, and the fuzz target `rtp` checks it).

use super::error::{Malformed, Unserializable};

pub const RTP_VERSION: u8 = 2;
pub const HEADER_LEN: usize = 12;
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The low 4 bits ("appbits") may be anything.
pub const TWO_BYTE_PROFILE: u16 = 0x1000;
const TWO_BYTE_PROFILE_MASK: u16 = 0xFFF0;

/// RFC 5761 §4 demultiplexing: RTCP packet types 192-223 sit where RTP has M+PT 64-95.
#[must_use]
pub fn is_rtcp(data: &[u8]) -> bool {
    matches!(data.get(1), Some(192..=223))
}

/// One RFC 8285 element: the local id (1-255) and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderExtension {
    pub id: u8,
    pub value: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtpPacket {
    pub payload_type: u8,
    pub sequence_number: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub marker: bool,
    pub csrc: Vec<u32>,
    pub extensions: Vec<HeaderExtension>,
    pub payload: Vec<u8>,
    /// Trailing padding exactly as received, count byte included; empty = none. Kept
    /// verbatim so the relay forwards padding (bandwidth probes) unchanged.
    pub padding: Vec<u8>,
}

impl RtpPacket {
    /// The value of the first extension with this id.
    #[must_use]
    pub fn extension(&self, id: u8) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.value.as_slice())
    }

    /// Appends the wire form to `out` (nothing is appended on error).
    ///
    /// # Errors
    /// As for [`PacketRef::write_to`].
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Unserializable> {
        let extensions: Vec<(u8, &[u8])> = self
            .extensions
            .iter()
            .map(|e| (e.id, e.value.as_slice()))
            .collect();
        PacketRef {
            payload_type: self.payload_type,
            sequence_number: self.sequence_number,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            marker: self.marker,
            csrc: &self.csrc,
            extensions: &extensions,
            payload_prefix: &[],
            payload: &self.payload,
            padding: &self.padding,
        }
        .write_to(out)
    }

    /// The wire form.
    ///
    /// # Errors
    /// As for [`PacketRef::write_to`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, Unserializable> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// An RTP packet to write, borrowing everything of variable length, so a relay can
/// rewrite a header without copying the payload first.
#[derive(Clone, Copy, Debug)]
pub struct PacketRef<'a> {
    pub payload_type: u8,
    pub sequence_number: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub marker: bool,
    pub csrc: &'a [u32],
    /// (id, value) in packet order.
    pub extensions: &'a [(u8, &'a [u8])],
    /// Written just before the payload (an RTX packet's original sequence number).
    pub payload_prefix: &'a [u8],
    pub payload: &'a [u8],
    pub padding: &'a [u8],
}

impl PacketRef<'_> {
    /// Appends the wire form to `out` (nothing is appended on error).
    ///
    /// # Errors
    /// A payload type above 127, more than 15 CSRCs, padding that does not end with its
    /// own length, or an extension that fits neither RFC 8285 form.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Unserializable> {
        if self.payload_type > 127 {
            return Err(Unserializable("payload type out of range"));
        }
        if self.csrc.len() > 15 {
            return Err(Unserializable("at most 15 CSRCs"));
        }
        if self.padding.len() > 255
            || (!self.padding.is_empty()
                && self.padding.last() != Some(&(self.padding.len() as u8)))
        {
            return Err(Unserializable("padding must end with its own length"));
        }
        let form = extension_form(self.extensions)?;
        let b0 = (RTP_VERSION << 6)
            | if self.padding.is_empty() { 0 } else { 0x20 }
            | if form.is_some() { 0x10 } else { 0 }
            | self.csrc.len() as u8;
        out.reserve(
            HEADER_LEN
                + 4 * self.csrc.len()
                + 64
                + self.payload_prefix.len()
                + self.payload.len()
                + self.padding.len(),
        );
        out.push(b0);
        out.push(if self.marker { 0x80 } else { 0 } | self.payload_type);
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for csrc in self.csrc {
            out.extend_from_slice(&csrc.to_be_bytes());
        }
        if let Some(profile) = form {
            write_extensions(self.extensions, profile, out);
        }
        out.extend_from_slice(self.payload_prefix);
        out.extend_from_slice(self.payload);
        out.extend_from_slice(self.padding);
        Ok(())
    }
}

/// Which RFC 8285 profile the extensions need (`None`: no extension block at all).
fn extension_form(extensions: &[(u8, &[u8])]) -> Result<Option<u16>, Unserializable> {
    if extensions.is_empty() {
        return Ok(None);
    }
    if extensions
        .iter()
        .all(|(id, value)| (1..=14).contains(id) && (1..=16).contains(&value.len()))
    {
        return Ok(Some(ONE_BYTE_PROFILE));
    }
    if extensions
        .iter()
        .any(|(id, value)| *id == 0 || value.len() > 255)
    {
        return Err(Unserializable(
            "header extension does not fit the two-byte form",
        ));
    }
    Ok(Some(TWO_BYTE_PROFILE))
}

fn write_extensions(extensions: &[(u8, &[u8])], profile: u16, out: &mut Vec<u8>) {
    let head = out.len();
    out.extend_from_slice(&profile.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // length in words, filled in below
    let body = out.len();
    for &(id, value) in extensions {
        if profile == ONE_BYTE_PROFILE {
            out.push((id << 4) | (value.len() as u8 - 1));
        } else {
            out.push(id);
            out.push(value.len() as u8);
        }
        out.extend_from_slice(value);
    }
    while !(out.len() - body).is_multiple_of(4) {
        out.push(0);
    }
    // Each element is at most 257 bytes, so this clamps only for absurd element counts.
    let words = u16::try_from((out.len() - body) / 4).unwrap_or(u16::MAX);
    out[head + 2..head + 4].copy_from_slice(&words.to_be_bytes());
}

fn be16(data: &[u8], pos: usize) -> Option<u16> {
    let bytes = data.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

fn be32(data: &[u8], pos: usize) -> Option<u32> {
    let bytes = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Parses one plaintext RTP packet.
///
/// # Errors
/// [`Malformed`] if it is shorter than the fixed header, not version 2, or its CSRC
/// list, header extension or padding count runs past the end.
pub fn parse_rtp(data: &[u8]) -> Result<RtpPacket, Malformed> {
    let size = data.len();
    if size < HEADER_LEN {
        return Err(Malformed("RTP packet shorter than its fixed header"));
    }
    let b0 = data[0];
    let b1 = data[1];
    if b0 >> 6 != RTP_VERSION {
        return Err(Malformed("RTP version is not 2"));
    }
    let short = Malformed("RTP packet shorter than its fixed header");
    let sequence_number = be16(data, 2).ok_or(short)?;
    let timestamp = be32(data, 4).ok_or(short)?;
    let ssrc = be32(data, 8).ok_or(short)?;
    let mut pos = HEADER_LEN;
    let cc = usize::from(b0 & 0x0F);
    if pos + 4 * cc > size {
        return Err(Malformed("CSRC list runs past the packet"));
    }
    let csrc = (0..cc)
        .map(|i| be32(data, pos + 4 * i).ok_or(Malformed("CSRC list runs past the packet")))
        .collect::<Result<Vec<u32>, Malformed>>()?;
    pos += 4 * cc;

    let mut extensions = Vec::new();
    if b0 & 0x10 != 0 {
        let past = Malformed("header extension runs past the packet");
        let profile = be16(data, pos).ok_or(past)?;
        let words = be16(data, pos + 2).ok_or(past)?;
        pos += 4;
        let end = pos + 4 * usize::from(words);
        let block = data.get(pos..end).ok_or(past)?;
        extensions = parse_extensions(profile, block)?;
        pos = end;
    }

    let mut payload_end = size;
    let mut padding: &[u8] = &[];
    if b0 & 0x20 != 0 {
        let count = usize::from(data[size - 1]);
        if count == 0 || pos + count > size {
            return Err(Malformed("bad RTP padding count"));
        }
        payload_end = size - count;
        padding = &data[payload_end..];
    }
    let payload = data
        .get(pos..payload_end)
        .ok_or(Malformed("bad RTP padding count"))?;
    Ok(RtpPacket {
        payload_type: b1 & 0x7F,
        sequence_number,
        timestamp,
        ssrc,
        marker: b1 & 0x80 != 0,
        csrc,
        extensions,
        payload: payload.to_vec(),
        padding: padding.to_vec(),
    })
}

fn parse_extensions(profile: u16, block: &[u8]) -> Result<Vec<HeaderExtension>, Malformed> {
    let mut out = Vec::new();
    let mut pos = 0;
    let size = block.len();
    if profile == ONE_BYTE_PROFILE {
        while pos < size {
            let head = block[pos];
            let (id, len) = (head >> 4, usize::from(head & 0x0F) + 1);
            if id == 0 {
                // Padding byte; its length bits are ignored, as libwebrtc does.
                pos += 1;
                continue;
            }
            if id == 15 {
                break; // RFC 8285 §4.2: reserved, stop processing
            }
            pos += 1;
            let value = block
                .get(pos..pos + len)
                .ok_or(Malformed("one-byte header extension runs past its block"))?;
            out.push(HeaderExtension {
                id,
                value: value.to_vec(),
            });
            pos += len;
        }
    } else if profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE {
        let past = Malformed("two-byte header extension runs past its block");
        while pos < size {
            let id = block[pos];
            if id == 0 {
                pos += 1; // padding byte
                continue;
            }
            let len = usize::from(*block.get(pos + 1).ok_or(past)?);
            pos += 2;
            let value = block.get(pos..pos + len).ok_or(past)?;
            out.push(HeaderExtension {
                id,
                value: value.to_vec(),
            });
            pos += len;
        }
    }
    // Any other profile is not RFC 8285: its ids mean nothing to us, so keep none.
    Ok(out)
}

/// RFC 6464 level in -dBov (0 loudest, 127 silence); `None` for an empty value.
#[must_use]
pub fn audio_level(value: &[u8]) -> Option<u8> {
    value.first().map(|b| b & 0x7F)
}

/// abs-send-time value: 24-bit seconds in 6.18 fixed point, wrapping every 64 s.
#[must_use]
pub fn abs_send_time(now: f64) -> [u8; 3] {
    let fixed = wrap_integral(now * f64::from(1u32 << 18)) & 0xFF_FFFF;
    let bytes = fixed.to_be_bytes();
    [bytes[5], bytes[6], bytes[7]]
}

/// `trunc(x) mod 2^64`, exactly as Python's `int(x) & mask` computes it for any finite
/// float (Python raises for NaN and infinities; this returns 0).
#[must_use]
pub fn wrap_integral(x: f64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if !x.is_finite() {
        return 0;
    }
    let t = x.trunc();
    if t.abs() < TWO_POW_63 {
        return t as i64 as u64;
    }
    // |t| >= 2^63: an integer mantissa times a power of two of at least 2^11.
    let bits = t.abs().to_bits();
    let exponent = ((bits >> 52) & 0x7FF) as u32;
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    let magnitude = mantissa.checked_shl(exponent - 1075).unwrap_or(0);
    if t < 0.0 {
        magnitude.wrapping_neg()
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packet_with(extensions: Vec<HeaderExtension>) -> RtpPacket {
        RtpPacket {
            payload_type: 96,
            sequence_number: 1,
            timestamp: 1,
            ssrc: 1,
            extensions,
            ..RtpPacket::default()
        }
    }

    #[test]
    fn serializer_picks_the_extension_form() {
        let ext = |id, len| HeaderExtension {
            id,
            value: vec![b'a'; len],
        };
        let one = packet_with(vec![ext(14, 16)]).to_bytes().unwrap();
        assert_eq!(one[12..14], [0xBE, 0xDE]);
        for two_byte in [ext(15, 1), ext(1, 17), ext(1, 0)] {
            let two = packet_with(vec![two_byte]).to_bytes().unwrap();
            assert_eq!(two[12..14], [0x10, 0x00]);
        }
        assert_eq!(packet_with(vec![]).to_bytes().unwrap()[0] & 0x10, 0);
        assert!(packet_with(vec![ext(0, 1)]).to_bytes().is_err());
        assert!(packet_with(vec![ext(1, 256)]).to_bytes().is_err());
    }

    #[test]
    fn serializer_refuses_impossible_packets() {
        let mut packet = packet_with(vec![]);
        packet.payload_type = 128;
        assert!(packet.to_bytes().is_err());
        let mut packet = packet_with(vec![]);
        packet.padding = vec![1, 1];
        assert!(packet.to_bytes().is_err());
        let mut packet = packet_with(vec![]);
        packet.csrc = vec![0; 16];
        assert!(packet.to_bytes().is_err());
    }

    #[test]
    fn wrap_integral_is_python_int_and_mask() {
        assert_eq!(wrap_integral(-1.5), u64::MAX); // int(-1.5) == -1
        assert_eq!(wrap_integral(2.0f64.powi(64) + 2.0f64.powi(12)), 1 << 12);
        assert_eq!(wrap_integral(-(2.0f64.powi(70))), 0);
        assert_eq!(wrap_integral(f64::NAN), 0);
        assert_eq!(
            wrap_integral(9_007_199_254_740_993.0),
            9_007_199_254_740_992
        );
    }

    proptest! {
        #[test]
        fn what_parses_serializes_and_parses_back(
            head in any::<u8>(),
            rest in proptest::collection::vec(any::<u8>(), 11..300),
        ) {
            // Version 2, so most inputs get past the first check.
            let mut data = vec![0x80 | (head & 0x3F)];
            data.extend(rest);
            if let Ok(packet) = parse_rtp(&data) {
                let bytes = packet.to_bytes().expect("a parsed packet serializes");
                prop_assert_eq!(parse_rtp(&bytes), Ok(packet));
            }
        }

        #[test]
        fn every_truncation_is_an_error_or_a_packet(
            csrc in proptest::collection::vec(any::<u32>(), 0..4),
            ids in proptest::collection::vec(1u8..=255, 0..5),
            payload in proptest::collection::vec(any::<u8>(), 0..40),
            padding in 0u8..5,
        ) {
            let packet = RtpPacket {
                payload_type: 111,
                sequence_number: 65535,
                timestamp: u32::MAX,
                ssrc: 7,
                marker: true,
                csrc,
                extensions: ids
                    .iter()
                    .map(|&id| HeaderExtension { id, value: vec![id; usize::from(id % 20)] })
                    .collect(),
                payload,
                padding: if padding == 0 { vec![] } else {
                    let mut p = vec![0; usize::from(padding)];
                    p[usize::from(padding) - 1] = padding;
                    p
                },
            };
            let bytes = packet.to_bytes().expect("a valid packet");
            prop_assert_eq!(parse_rtp(&bytes), Ok(packet));
            for end in 0..bytes.len() {
                let _ = parse_rtp(&bytes[..end]);
            }
        }
    }
}
