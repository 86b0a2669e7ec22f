//! VP8 from RTP (RFC 7741) to frames: the payload descriptor, the frame's first bytes
//! (key frame or not, and a key frame's size), and the assembly of a frame from its
//! packets. A frame with a missing packet is dropped, and so is every frame after it
//! until a key frame, which is the only thing a decoder can restart from.

use super::depacketize::{Frame, MediaPacket};
use crate::relay::Malformed;

/// A frame larger than this is refused (no camera sends one; memory stays bounded).
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;

/// RFC 7741 §4.2, the fields the assembler needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// S bit: the packet starts a partition.
    pub partition_start: bool,
    pub partition_index: u8,
    /// PictureID and its width mask (0x7F or 0x7FFF).
    pub picture_id: Option<(u16, u16)>,
    /// Bytes of descriptor before the VP8 payload.
    pub len: usize,
}

impl Descriptor {
    /// The first packet of a frame: S set and partition index 0.
    #[must_use]
    pub fn starts_frame(&self) -> bool {
        self.partition_start && self.partition_index == 0
    }
}

/// Parses the payload descriptor at the start of a VP8 RTP payload.
///
/// # Errors
/// [`Malformed`] when an announced field runs past the payload.
pub fn parse_descriptor(payload: &[u8]) -> Result<Descriptor, Malformed> {
    let short = Malformed("VP8 payload descriptor runs past the packet");
    let b0 = *payload.first().ok_or(short)?;
    let mut descriptor = Descriptor {
        partition_start: b0 & 0x10 != 0,
        partition_index: b0 & 0x07,
        picture_id: None,
        len: 1,
    };
    if b0 & 0x80 != 0 {
        let x = *payload.get(1).ok_or(short)?;
        let mut pos = 2;
        if x & 0x80 != 0 {
            let m = *payload.get(pos).ok_or(short)?;
            if m & 0x80 != 0 {
                let low = *payload.get(pos + 1).ok_or(short)?;
                descriptor.picture_id = Some(((u16::from(m & 0x7F) << 8) | u16::from(low), 0x7FFF));
                pos += 2;
            } else {
                descriptor.picture_id = Some((u16::from(m), 0x7F));
                pos += 1;
            }
        }
        if x & 0x40 != 0 {
            pos += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            pos += 1; // TID, Y, KEYIDX
        }
        if pos > payload.len() {
            return Err(short);
        }
        descriptor.len = pos;
    }
    Ok(descriptor)
}

/// What the first bytes of a frame (RFC 6386 §9.1) say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Key {
        width: u16,
        height: u16,
    },
    Inter,
    /// A key frame without its start code: corrupt.
    Invalid,
}

/// The kind of the frame whose VP8 bitstream starts with `data`.
#[must_use]
pub fn frame_kind(data: &[u8]) -> FrameKind {
    match data.first() {
        None => FrameKind::Invalid,
        Some(tag) if tag & 0x01 != 0 => FrameKind::Inter,
        Some(_) => match data.get(3..10) {
            Some([0x9D, 0x01, 0x2A, w0, w1, h0, h1]) => FrameKind::Key {
                width: u16::from_le_bytes([*w0, *w1]) & 0x3FFF,
                height: u16::from_le_bytes([*h0, *h1]) & 0x3FFF,
            },
            _ => FrameKind::Invalid,
        },
    }
}

struct Partial {
    timestamp: u32,
    arrival: f64,
    picture_id: Option<(u16, u16)>,
    data: Vec<u8>,
    broken: bool,
}

/// Frames from in-order packets, loss-aware.
pub struct Vp8Assembler {
    current: Option<Partial>,
    need_keyframe: bool,
    /// Packets were lost between two frames: whether that matters is decided by the
    /// next frame's PictureID (lost padding does not; a lost frame does).
    gap: bool,
    last_picture_id: Option<(u16, u16)>,
    /// Frames not written: incomplete, or waiting for a key frame.
    pub dropped_frames: u64,
}

impl Default for Vp8Assembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Vp8Assembler {
    /// An assembler that waits for a key frame first.
    #[must_use]
    pub fn new() -> Self {
        Self {
            current: None,
            need_keyframe: true,
            gap: false,
            last_picture_id: None,
            dropped_frames: 0,
        }
    }

    /// Nothing can be written until a key frame comes (ask the sender for one).
    #[must_use]
    pub fn needs_keyframe(&self) -> bool {
        self.need_keyframe
    }

    /// The next packet in sequence order.
    pub fn packet(&mut self, packet: MediaPacket, out: &mut Vec<Frame>) {
        if packet.payload.is_empty() {
            return; // padding only
        }
        let Ok(descriptor) = parse_descriptor(&packet.payload) else {
            self.lost();
            return;
        };
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.timestamp != packet.timestamp)
        {
            // The frame ended without its marker bit but with no packet missing.
            self.complete(out);
        }
        let body = packet.payload.get(descriptor.len..).unwrap_or_default();
        if descriptor.starts_frame() {
            if self.current.is_some() {
                self.drop_current(); // a second start for one timestamp
            }
            self.current = Some(Partial {
                timestamp: packet.timestamp,
                arrival: packet.arrival,
                picture_id: descriptor.picture_id,
                data: Vec::with_capacity(body.len() * 4),
                broken: false,
            });
        }
        let Some(current) = self.current.as_mut() else {
            // The middle of a frame whose start we never saw.
            self.gap = false;
            self.need_keyframe = true;
            return;
        };
        if current.picture_id != descriptor.picture_id
            || current.data.len() + body.len() > MAX_FRAME_BYTES
        {
            current.broken = true;
        }
        if !current.broken {
            current.data.extend_from_slice(body);
        }
        current.arrival = packet.arrival;
        if packet.marker {
            self.complete(out);
        }
    }

    /// Packets are missing at this point of the sequence.
    pub fn lost(&mut self) {
        if self.current.is_some() {
            self.drop_current();
        } else {
            self.gap = true;
        }
    }

    /// The stream ended: a frame without its last packet is dropped.
    pub fn flush(&mut self) {
        if self.current.is_some() {
            self.drop_current();
        }
    }

    /// A new stream (SSRC change, restart): start over from a key frame.
    pub fn reset(&mut self) {
        self.flush();
        self.need_keyframe = true;
        self.gap = false;
        self.last_picture_id = None;
    }

    fn drop_current(&mut self) {
        if let Some(partial) = self.current.take() {
            self.last_picture_id = partial.picture_id;
        }
        self.dropped_frames += 1;
        self.gap = false;
        self.need_keyframe = true;
    }

    fn complete(&mut self, out: &mut Vec<Frame>) {
        let Some(partial) = self.current.take() else {
            return;
        };
        if std::mem::take(&mut self.gap) && !follows(self.last_picture_id, partial.picture_id) {
            self.need_keyframe = true;
        }
        self.last_picture_id = partial.picture_id;
        let dimensions = match frame_kind(&partial.data) {
            _ if partial.broken => {
                self.dropped_frames += 1;
                self.need_keyframe = true;
                return;
            }
            FrameKind::Invalid => {
                self.dropped_frames += 1;
                self.need_keyframe = true;
                return;
            }
            FrameKind::Inter if self.need_keyframe => {
                self.dropped_frames += 1;
                return;
            }
            FrameKind::Inter => None,
            FrameKind::Key { width, height } => Some((width, height)),
        };
        self.need_keyframe = false;
        out.push(Frame {
            timestamp: partial.timestamp,
            arrival: partial.arrival,
            keyframe: dimensions.is_some(),
            dimensions,
            data: partial.data,
            discontinuity: false,
        });
    }
}

/// Whether PictureID `next` comes right after `previous` (unknown: no).
fn follows(previous: Option<(u16, u16)>, next: Option<(u16, u16)>) -> bool {
    match (previous, next) {
        (Some((a, mask)), Some((b, mask_b))) if mask == mask_b => a.wrapping_add(1) & mask == b,
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A key frame's first bytes (RFC 6386 §9.1) for `width` x `height`, then `rest` bytes.
    pub fn keyframe_bitstream(width: u16, height: u16, rest: usize) -> Vec<u8> {
        let mut data = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
        data.extend_from_slice(&width.to_le_bytes());
        data.extend_from_slice(&height.to_le_bytes());
        data.resize(10 + rest, 0x42);
        data
    }

    /// The RTP payloads of one frame cut in `parts` pieces, with a 15-bit PictureID.
    pub fn packetize(bitstream: &[u8], picture_id: u16, parts: usize) -> Vec<Vec<u8>> {
        let size = bitstream.len().div_ceil(parts.max(1)).max(1);
        bitstream
            .chunks(size)
            .enumerate()
            .map(|(i, piece)| {
                let start = if i == 0 { 0x10 } else { 0x00 };
                let mut payload = vec![
                    0x80 | start,
                    0x80,
                    0x80 | (picture_id >> 8) as u8,
                    picture_id as u8,
                ];
                payload.extend_from_slice(piece);
                payload
            })
            .collect()
    }

    fn packet(timestamp: u32, payload: Vec<u8>, marker: bool) -> MediaPacket {
        MediaPacket {
            timestamp,
            marker,
            payload,
            arrival: 0.0,
        }
    }

    /// Feeds frames (timestamp, bitstream, picture id), each in 3 packets, with the
    /// packets numbered in `skip` lost.
    fn assemble(frames: &[(u32, Vec<u8>, u16)], skip: &[usize]) -> (Vec<Frame>, Vp8Assembler) {
        let mut assembler = Vp8Assembler::new();
        let mut out = Vec::new();
        let mut n = 0;
        for (ts, bitstream, pid) in frames {
            let payloads = packetize(bitstream, *pid, 3);
            let last = payloads.len() - 1;
            for (i, payload) in payloads.into_iter().enumerate() {
                if skip.contains(&n) {
                    assembler.lost();
                } else {
                    assembler.packet(packet(*ts, payload, i == last), &mut out);
                }
                n += 1;
            }
        }
        (out, assembler)
    }

    fn inter(len: usize) -> Vec<u8> {
        let mut data = vec![0x31, 0x00, 0x00];
        data.resize(len, 0x17);
        data
    }

    #[test]
    fn descriptors_parse_with_and_without_extensions() {
        assert_eq!(
            parse_descriptor(&[0x10, 0xAA]),
            Ok(Descriptor {
                partition_start: true,
                partition_index: 0,
                picture_id: None,
                len: 1
            })
        );
        let d = parse_descriptor(&[0x90, 0xE0, 0x81, 0x23, 0x05, 0x40, 0xAA]).expect("all fields");
        assert_eq!(d.picture_id, Some((0x0123, 0x7FFF)));
        assert_eq!(d.len, 6);
        let d = parse_descriptor(&[0x81, 0x80, 0x12]).expect("7-bit id");
        assert_eq!(
            (d.picture_id, d.partition_index, d.starts_frame()),
            (Some((0x12, 0x7F)), 1, false)
        );
        assert!(parse_descriptor(&[]).is_err());
        assert!(parse_descriptor(&[0x80]).is_err());
        assert!(parse_descriptor(&[0x90, 0x80, 0x81]).is_err());
    }

    #[test]
    fn keyframes_carry_their_size() {
        assert_eq!(
            frame_kind(&keyframe_bitstream(640, 480, 0)),
            FrameKind::Key {
                width: 640,
                height: 480
            }
        );
        assert_eq!(frame_kind(&inter(5)), FrameKind::Inter);
        assert_eq!(frame_kind(&[0x10, 0, 0, 1, 2, 3]), FrameKind::Invalid);
        assert_eq!(frame_kind(&[]), FrameKind::Invalid);
    }

    #[test]
    fn frames_are_assembled_and_wait_for_a_keyframe() {
        let frames = vec![
            (0, inter(30), 1),
            (3000, keyframe_bitstream(320, 240, 50), 2),
            (6000, inter(30), 3),
        ];
        let (out, assembler) = assemble(&frames, &[]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].dimensions, Some((320, 240)));
        assert_eq!(out[0].data, frames[1].1);
        assert!(!out[1].keyframe && out[1].data == frames[2].1);
        assert_eq!(assembler.dropped_frames, 1);
        assert!(!assembler.needs_keyframe());
    }

    #[test]
    fn a_lost_packet_drops_its_frame_and_what_follows_until_a_keyframe() {
        let frames = vec![
            (0, keyframe_bitstream(320, 240, 50), 1),
            (3000, inter(30), 2),
            (6000, inter(30), 3),
            (9000, keyframe_bitstream(640, 360, 50), 4),
        ];
        let (out, assembler) = assemble(&frames, &[4]);
        let written: Vec<u32> = out.iter().map(|f| f.timestamp).collect();
        assert_eq!(written, vec![0, 9000]);
        assert_eq!(out[1].dimensions, Some((640, 360)));
        assert_eq!(assembler.dropped_frames, 2);
    }

    #[test]
    fn lost_padding_between_frames_costs_nothing_but_a_lost_frame_does() {
        let mut assembler = Vp8Assembler::new();
        let mut out = Vec::new();
        let key = packetize(&keyframe_bitstream(320, 240, 10), 7, 1).remove(0);
        assembler.packet(packet(0, key, true), &mut out);
        assembler.lost(); // padding
        let next = packetize(&inter(20), 8, 1).remove(0);
        assembler.packet(packet(3000, next, true), &mut out);
        assert_eq!(out.len(), 2);
        assembler.lost(); // frame 9
        let after = packetize(&inter(20), 10, 1).remove(0);
        assembler.packet(packet(6000, after, true), &mut out);
        assert_eq!(out.len(), 2);
        assert!(assembler.needs_keyframe());
        assembler.packet(packet(6000, vec![], false), &mut out); // padding only
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_frame_without_its_marker_ends_at_the_next_timestamp() {
        let mut assembler = Vp8Assembler::new();
        let mut out = Vec::new();
        for (ts, pid) in [(0, 1), (3000, 2)] {
            let bitstream = if ts == 0 {
                keyframe_bitstream(16, 16, 4)
            } else {
                inter(8)
            };
            for payload in packetize(&bitstream, pid, 2) {
                assembler.packet(packet(ts, payload, false), &mut out);
            }
        }
        assert_eq!(out.len(), 1);
        assembler.flush();
        assert_eq!((out.len(), assembler.dropped_frames), (1, 1));
    }

    proptest! {
        #[test]
        fn any_payloads_never_panic(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..30),
            markers in any::<u32>(),
        ) {
            let mut assembler = Vp8Assembler::new();
            let mut out = Vec::new();
            for (i, payload) in payloads.into_iter().enumerate() {
                if i % 7 == 6 {
                    assembler.lost();
                }
                let ts = (i / 3) as u32 * 3000;
                assembler.packet(packet(ts, payload, markers & (1 << (i % 32)) != 0), &mut out);
            }
            for frame in out {
                prop_assert!(frame.data.len() <= MAX_FRAME_BYTES);
            }
        }
    }
}
