//! Just enough of the RTP header (RFC 3550 section 5.1) for SRTP: its length, the
//! sequence number and the SSRC. Everything is bounds-checked; nothing panics.

use super::Error;

/// The fixed part of an RTP header.
pub const FIXED_LEN: usize = 12;

/// What SRTP reads from an RTP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    pub seq: u16,
    pub ssrc: u32,
    /// Fixed header, CSRCs and header extension: the bytes SRTP leaves in the clear.
    pub len: usize,
}

/// Parses the header at the start of `packet` (which must not include an SRTP tag).
///
/// # Errors
/// [`Error::Malformed`] if the version is not 2 or the CSRC list or header extension
/// runs past the end of `packet`.
pub fn parse(packet: &[u8]) -> Result<RtpHeader, Error> {
    let fixed: &[u8; FIXED_LEN] = packet
        .get(..FIXED_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::Malformed)?;
    if fixed[0] >> 6 != 2 {
        return Err(Error::Malformed);
    }
    let csrc_count = usize::from(fixed[0] & 0x0f);
    let mut len = FIXED_LEN + 4 * csrc_count;
    if fixed[0] & 0x10 != 0 {
        let ext = packet.get(len..len + 4).ok_or(Error::Malformed)?;
        let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        len += 4 + 4 * words;
    }
    if len > packet.len() {
        return Err(Error::Malformed);
    }
    Ok(RtpHeader {
        seq: u16::from_be_bytes([fixed[2], fixed[3]]),
        ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::{parse, RtpHeader};
    use crate::srtp::Error;

    #[test]
    fn plain_header_csrcs_and_extension() {
        let plain = [
            0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0xaa,
        ];
        assert_eq!(
            parse(&plain),
            Ok(RtpHeader {
                seq: 0x1234,
                ssrc: 0xdead_beef,
                len: 12
            })
        );

        let mut with = vec![0x92, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];
        with.extend_from_slice(&[1, 1, 1, 1, 2, 2, 2, 2]); // two CSRCs
        with.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]); // one-word extension
        assert_eq!(parse(&with).map(|h| h.len), Ok(28));
        with.push(0x55);
        assert_eq!(parse(&with).map(|h| h.len), Ok(28));
    }

    #[test]
    fn every_truncation_and_bad_version_is_malformed() {
        let mut packet = vec![
            0x92, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 1, 2, 2, 2, 2,
        ];
        packet.extend_from_slice(&[0xbe, 0xde, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(parse(&packet).is_ok());
        for len in 0..packet.len() {
            assert_eq!(parse(&packet[..len]), Err(Error::Malformed), "length {len}");
        }
        for version in [0x00, 0x40, 0xc0] {
            let mut bad = packet.clone();
            bad[0] = (bad[0] & 0x3f) | version;
            assert_eq!(parse(&bad), Err(Error::Malformed));
        }
        // A huge extension length is refused, not trusted.
        let mut huge = packet.clone();
        huge[22] = 0xff;
        huge[23] = 0xff;
        assert_eq!(parse(&huge), Err(Error::Malformed));
    }
}
