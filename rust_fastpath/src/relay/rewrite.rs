//! Per-receiver rewriting: the payload-type, clock-rate, RTX and header-extension maps of
//! one route (source -> sink), precomputed when the route is made, and the packets they
//! produce (forwarded media, and retransmissions as RTX or as the original packet).

use super::error::Unserializable;
use super::media::{MediaLine, ABS_SEND_TIME_URI, MID_URI};
use super::rtp::{abs_send_time, PacketRef, RtpPacket};

/// The clock rate assumed for a payload type the source did not negotiate.
const DEFAULT_CLOCK_RATE: u32 = 90_000;

/// A source bound to a sink: how its packets change on the way.
#[derive(Clone, Debug)]
pub struct RouteMaps {
    /// Source media PT -> sink PT of the same codec identity.
    pt_map: [Option<u8>; 128],
    /// Source media PT -> its clock rate.
    clock_rate: [Option<u32>; 128],
    /// Sink media PT -> sink RTX PT.
    rtx_pt: [Option<u8>; 128],
    /// Source extension id -> (sink extension id, is abs-send-time). MID is written
    /// separately; extensions the sink did not negotiate have no entry and are dropped.
    ext_map: Vec<Option<(u8, bool)>>,
    /// The sink's MID extension id and MID value.
    mid: Option<(u8, Vec<u8>)>,
}

impl RouteMaps {
    #[must_use]
    pub fn new(source: &MediaLine, sink: &MediaLine) -> Self {
        let mut maps = RouteMaps {
            pt_map: [None; 128],
            clock_rate: [None; 128],
            rtx_pt: [None; 128],
            ext_map: vec![None; 256],
            mid: sink
                .extension_id(MID_URI)
                .map(|id| (id, sink.mid.as_bytes().to_vec())),
        };
        for codec in source.codecs.iter().filter(|c| !c.is_rtx()) {
            let pt = usize::from(codec.payload_type & 0x7F);
            maps.clock_rate[pt] = Some(codec.clock_rate);
            // The first sink codec of the same identity, like the reference's setdefault.
            if let Some(dst) = sink
                .codecs
                .iter()
                .find(|c| !c.is_rtx() && c.same_identity(codec))
            {
                maps.pt_map[pt] = Some(dst.payload_type);
            }
        }
        for codec in sink.codecs.iter().filter(|c| c.is_rtx()) {
            if let Some(apt) = codec.rtx_apt {
                maps.rtx_pt[usize::from(apt & 0x7F)] = Some(codec.payload_type);
            }
        }
        for (uri, src_id) in &source.extensions {
            if uri == MID_URI {
                continue;
            }
            if let Some(dst_id) = sink.extension_id(uri) {
                maps.ext_map[usize::from(*src_id)] = Some((dst_id, uri == ABS_SEND_TIME_URI));
            }
        }
        maps
    }

    /// The sink's payload type for a source media payload type, if the sink has the codec.
    #[must_use]
    pub fn dst_pt(&self, src_pt: u8) -> Option<u8> {
        *self.pt_map.get(usize::from(src_pt))?
    }

    /// The source's clock rate for a payload type (90 kHz if unknown).
    #[must_use]
    pub fn clock_rate(&self, src_pt: u8) -> u32 {
        self.clock_rate
            .get(usize::from(src_pt))
            .copied()
            .flatten()
            .unwrap_or(DEFAULT_CLOCK_RATE)
    }

    /// The sink's RTX payload type for one of its media payload types.
    #[must_use]
    pub fn rtx_pt(&self, dst_pt: u8) -> Option<u8> {
        *self.rtx_pt.get(usize::from(dst_pt))?
    }

    /// The receiver's extensions for a packet: its MID first, then every negotiated
    /// extension on the receiver's id, abs-send-time restamped with `abs_time` (the
    /// receiver's delay-based estimate must see our send time, not the source's).
    fn extensions<'a>(
        &'a self,
        packet: &'a RtpPacket,
        abs_time: &'a [u8; 3],
    ) -> Vec<(u8, &'a [u8])> {
        let mut out = Vec::with_capacity(packet.extensions.len() + 1);
        if let Some((id, value)) = &self.mid {
            out.push((*id, value.as_slice()));
        }
        for ext in &packet.extensions {
            if let Some(Some((dst_id, is_abs_send_time))) = self.ext_map.get(usize::from(ext.id)) {
                let value: &[u8] = if *is_abs_send_time {
                    abs_time
                } else {
                    &ext.value
                };
                out.push((*dst_id, value));
            }
        }
        out
    }
}

/// What the receiver sees of one source packet: its SSRC, PT and marker, the packet's
/// sequence number and timestamp moved by the segment's offsets.
#[derive(Clone, Copy, Debug)]
pub struct Rewrite {
    pub ssrc: u32,
    pub payload_type: u8,
    pub marker: bool,
    pub seq_offset: u16,
    pub ts_offset: u32,
}

/// The rewritten packet's sequence number, timestamp and size, for the sink's counters.
#[derive(Clone, Copy, Debug)]
pub struct Written {
    pub sequence_number: u16,
    pub timestamp: u32,
}

/// Appends the rewritten `packet` to `out`.
///
/// # Errors
/// [`Unserializable`] when the maps produce something RTP cannot carry (not possible
/// with m-lines the relay accepted).
pub fn write_media(
    maps: &RouteMaps,
    rewrite: Rewrite,
    packet: &RtpPacket,
    now: f64,
    out: &mut Vec<u8>,
) -> Result<Written, Unserializable> {
    let abs_time = abs_send_time(now);
    let extensions = maps.extensions(packet, &abs_time);
    let written = Written {
        sequence_number: packet.sequence_number.wrapping_add(rewrite.seq_offset),
        timestamp: packet.timestamp.wrapping_add(rewrite.ts_offset),
    };
    PacketRef {
        payload_type: rewrite.payload_type,
        sequence_number: written.sequence_number,
        timestamp: written.timestamp,
        ssrc: rewrite.ssrc,
        marker: rewrite.marker,
        csrc: &packet.csrc,
        extensions: &extensions,
        payload_prefix: &[],
        payload: &packet.payload,
        padding: &packet.padding,
    }
    .write_to(out)?;
    Ok(written)
}

/// Appends the RFC 4588 retransmission of `packet` (rewritten as by [`write_media`]):
/// the receiver's RTX SSRC, PT and sequence number, the rewritten sequence number as
/// the OSN in front of the payload, and no padding.
///
/// # Errors
/// As for [`write_media`].
pub fn write_rtx(
    maps: &RouteMaps,
    rewrite: Rewrite,
    rtx: (u32, u8, u16),
    packet: &RtpPacket,
    now: f64,
    out: &mut Vec<u8>,
) -> Result<(), Unserializable> {
    let (rtx_ssrc, rtx_pt, rtx_seq) = rtx;
    let abs_time = abs_send_time(now);
    let extensions = maps.extensions(packet, &abs_time);
    let osn = packet.sequence_number.wrapping_add(rewrite.seq_offset);
    PacketRef {
        payload_type: rtx_pt,
        sequence_number: rtx_seq,
        timestamp: packet.timestamp.wrapping_add(rewrite.ts_offset),
        ssrc: rtx_ssrc,
        marker: rewrite.marker,
        csrc: &packet.csrc,
        extensions: &extensions,
        payload_prefix: &osn.to_be_bytes(),
        payload: &packet.payload,
        padding: &[],
    }
    .write_to(out)
}
