//! What a datagram on the shared media port is, by its first byte (RFC 7983 §7).

/// The protocols that share the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 0..=3: STUN (ICE connectivity checks and consent).
    Stun,
    /// 20..=63: DTLS records, for aiortc's handshake in Python.
    Dtls,
    /// 128..=191 with an RTCP packet type (RFC 5761 §4: 192..=223 in the second byte).
    Rtcp,
    /// 128..=191 otherwise.
    Rtp,
    /// Anything else (ZRTP, TURN channels, garbage): dropped.
    Unknown,
}

/// Classify a datagram. Never panics; an empty datagram is `Unknown`.
#[must_use]
pub fn classify(data: &[u8]) -> Kind {
    match data.first() {
        Some(0..=3) => Kind::Stun,
        Some(20..=63) => Kind::Dtls,
        Some(128..=191) => match data.get(1) {
            Some(192..=223) => Kind::Rtcp,
            Some(_) => Kind::Rtp,
            None => Kind::Unknown,
        },
        _ => Kind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7983_ranges() {
        assert_eq!(classify(&[]), Kind::Unknown);
        assert_eq!(classify(&[0, 1]), Kind::Stun);
        assert_eq!(classify(&[3]), Kind::Stun);
        assert_eq!(classify(&[4]), Kind::Unknown);
        assert_eq!(classify(&[19]), Kind::Unknown);
        assert_eq!(classify(&[20]), Kind::Dtls);
        assert_eq!(classify(&[22, 0xfe, 0xfd]), Kind::Dtls);
        assert_eq!(classify(&[63]), Kind::Dtls);
        assert_eq!(classify(&[64]), Kind::Unknown);
        assert_eq!(classify(&[127, 0]), Kind::Unknown);
        assert_eq!(classify(&[128]), Kind::Unknown);
        assert_eq!(classify(&[0x80, 96]), Kind::Rtp);
        assert_eq!(classify(&[0x80, 0x80 | 111]), Kind::Rtp);
        assert_eq!(classify(&[0x81, 200]), Kind::Rtcp);
        assert_eq!(classify(&[0x81, 206]), Kind::Rtcp);
        assert_eq!(classify(&[0x80, 223]), Kind::Rtcp);
        assert_eq!(classify(&[0x80, 224]), Kind::Rtp);
        assert_eq!(classify(&[191, 200]), Kind::Rtcp);
        assert_eq!(classify(&[192, 200]), Kind::Unknown);
        assert_eq!(classify(&[255]), Kind::Unknown);
    }

    #[test]
    fn every_first_byte_is_classified() {
        for b in 0..=255u8 {
            let _ = classify(&[b]);
            let _ = classify(&[b, b]);
        }
    }
}
