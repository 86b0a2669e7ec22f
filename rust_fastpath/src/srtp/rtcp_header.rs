//! Just enough of an RTCP compound packet (RFC 3550 section 6.4) for SRTCP: the first
//! 8 bytes stay in the clear and carry the sender's SSRC.

use super::Error;

/// The first header and SSRC, never encrypted.
pub const CLEAR_LEN: usize = 8;

/// The SSRC of the first RTCP packet in `packet` (the one SRTCP keys its state on).
///
/// # Errors
/// [`Error::Malformed`] if `packet` is shorter than 8 bytes or the version is not 2.
pub fn sender_ssrc(packet: &[u8]) -> Result<u32, Error> {
    match packet.get(..CLEAR_LEN) {
        Some(&[first, _, _, _, a, b, c, d]) if first >> 6 == 2 => {
            Ok(u32::from_be_bytes([a, b, c, d]))
        }
        _ => Err(Error::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::sender_ssrc;
    use crate::srtp::Error;

    #[test]
    fn ssrc_of_a_receiver_report_and_refusals() {
        let rr = [0x80, 201, 0, 1, 0x4d, 0x61, 0x72, 0x73];
        assert_eq!(sender_ssrc(&rr), Ok(0x4d61_7273));
        for len in 0..rr.len() {
            assert_eq!(sender_ssrc(&rr[..len]), Err(Error::Malformed));
        }
        assert_eq!(
            sender_ssrc(&[0x40, 201, 0, 1, 0, 0, 0, 1]),
            Err(Error::Malformed)
        );
    }
}
