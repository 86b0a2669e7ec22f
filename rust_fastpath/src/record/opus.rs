//! Opus from RTP (RFC 7587): one packet is one frame, every frame decodable on its own,
//! so loss is only a gap; and the `OpusHead` a WebM audio track declares (RFC 7845).

use super::depacketize::{Frame, MediaPacket};

/// Opus in WebRTC always runs at 48 kHz.
pub const CLOCK_RATE: u32 = 48_000;

/// Frames from in-order packets.
#[derive(Default)]
pub struct OpusAssembler {
    /// Packets given up as lost (each a 20 ms-ish gap in the audio).
    pub lost_packets: u64,
}

impl OpusAssembler {
    pub fn packet(&mut self, packet: MediaPacket, out: &mut Vec<Frame>) {
        if packet.payload.is_empty() {
            return; // padding only
        }
        out.push(Frame {
            timestamp: packet.timestamp,
            arrival: packet.arrival,
            keyframe: true,
            dimensions: None,
            data: packet.payload,
            discontinuity: false,
        });
    }

    pub fn lost(&mut self, count: u64) {
        self.lost_packets += count;
    }
}

/// RFC 7845 §5.1 identification header, channel mapping family 0 (mono or stereo):
/// what Matroska's `A_OPUS` CodecPrivate holds.
#[must_use]
pub fn opus_head(channels: u8, pre_skip: u16) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(channels.clamp(1, 2));
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&CLOCK_RATE.to_le_bytes()); // input sample rate, informative
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // mapping family
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packet_is_a_frame_and_padding_is_not() {
        let mut assembler = OpusAssembler::default();
        let mut out = Vec::new();
        let packet = |payload: Vec<u8>| MediaPacket {
            timestamp: 960,
            marker: false,
            payload,
            arrival: 1.0,
        };
        assembler.packet(packet(vec![0xFC, 1, 2]), &mut out);
        assembler.packet(packet(vec![]), &mut out);
        assembler.lost(2);
        assert_eq!(out.len(), 1);
        assert!(out[0].keyframe);
        assert_eq!(assembler.lost_packets, 2);
    }

    #[test]
    fn opus_head_is_19_bytes() {
        let head = opus_head(2, 312);
        assert_eq!(head.len(), 19);
        assert_eq!(&head[..8], b"OpusHead");
        assert_eq!((head[9], head[10], head[11]), (2, 0x38, 0x01));
        assert_eq!(opus_head(9, 0)[9], 2);
    }
}
