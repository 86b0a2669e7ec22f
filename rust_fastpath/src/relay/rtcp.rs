//! Byte-level RTCP on plaintext compound packets (RFC 3550): SR, RR, SDES (CNAME),
//! generic NACK (RFC 4585), PLI (RFC 4585), FIR (RFC 5104) and REMB
//! (draft-alvestrand-rmcat-remb); anything else is kept as
//! [`RtcpPacket::Other`]. The twin of `livelens/media/rtcp.py`, with the
//! same validation, so both relays call the same compound packets malformed.
//!
//! Parsing never panics (fuzz target `rtcp_compound`).

use super::error::{Malformed, Unserializable};

pub const RTCP_SR: u8 = 200;
pub const RTCP_RR: u8 = 201;
pub const RTCP_SDES: u8 = 202;
pub const RTCP_BYE: u8 = 203;
pub const RTCP_RTPFB: u8 = 205;
pub const RTCP_PSFB: u8 = 206;
pub const RTPFB_NACK: u8 = 1;
pub const PSFB_PLI: u8 = 1;
pub const PSFB_FIR: u8 = 4;
/// Application layer feedback: REMB when its FCI starts with [`REMB_ID`].
pub const PSFB_APP: u8 = 15;
pub const REMB_ID: &[u8; 4] = b"REMB";
pub const SDES_CNAME: u8 = 1;
const VERSION: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    /// Signed 24-bit cumulative count.
    pub packets_lost: i32,
    pub highest_sequence: u32,
    pub jitter: u32,
    pub last_sr: u32,
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn parse(body: &[u8], pos: usize) -> Option<Self> {
        let word = be32(body, pos + 4)?;
        let mut lost = (word & 0xFF_FFFF) as i32;
        if lost & 0x80_0000 != 0 {
            lost -= 0x100_0000;
        }
        Some(ReportBlock {
            ssrc: be32(body, pos)?,
            fraction_lost: (word >> 24) as u8,
            packets_lost: lost,
            highest_sequence: be32(body, pos + 8)?,
            jitter: be32(body, pos + 12)?,
            last_sr: be32(body, pos + 16)?,
            delay_since_last_sr: be32(body, pos + 20)?,
        })
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        let lost = (self.packets_lost as u32) & 0xFF_FFFF;
        for word in [
            self.ssrc,
            (u32::from(self.fraction_lost) << 24) | lost,
            self.highest_sequence,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderReport {
    pub ssrc: u32,
    /// 64-bit NTP time, kept opaque.
    pub ntp_timestamp: u64,
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
    pub reports: Vec<ReportBlock>,
}

impl SenderReport {
    /// Appends the wire form to `out`.
    ///
    /// # Errors
    /// More than 31 report blocks.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Unserializable> {
        write_report(out, RTCP_SR, self.ssrc, &self.reports, |out| {
            out.extend_from_slice(&self.ntp_timestamp.to_be_bytes());
            out.extend_from_slice(&self.rtp_timestamp.to_be_bytes());
            out.extend_from_slice(&self.packet_count.to_be_bytes());
            out.extend_from_slice(&self.octet_count.to_be_bytes());
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverReport {
    pub ssrc: u32,
    pub reports: Vec<ReportBlock>,
}

impl ReceiverReport {
    /// Appends the wire form to `out`.
    ///
    /// # Errors
    /// More than 31 report blocks.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Unserializable> {
        write_report(out, RTCP_RR, self.ssrc, &self.reports, |_| {})
    }
}

/// SDES with one CNAME per chunk (all WebRTC needs); other items are skipped when parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceDescription {
    /// (SSRC, CNAME bytes).
    pub chunks: Vec<(u32, Vec<u8>)>,
}

impl SourceDescription {
    /// Appends the wire form to `out`.
    ///
    /// # Errors
    /// A CNAME longer than 255 bytes, or more than 31 chunks.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Unserializable> {
        if self.chunks.iter().any(|(_, cname)| cname.len() > 255) {
            return Err(Unserializable("CNAME longer than 255 bytes"));
        }
        let head = header(out, self.chunks.len(), RTCP_SDES)?;
        for (ssrc, cname) in &self.chunks {
            let start = out.len();
            out.extend_from_slice(&ssrc.to_be_bytes());
            out.push(SDES_CNAME);
            out.push(cname.len() as u8);
            out.extend_from_slice(cname);
            out.push(0); // end of items, then null padding to a word boundary
            while !(out.len() - start).is_multiple_of(4) {
                out.push(0);
            }
        }
        finish(out, head)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureLossIndication {
    pub sender_ssrc: u32,
    pub media_ssrc: u32,
}

impl PictureLossIndication {
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[(VERSION << 6) | PSFB_PLI, RTCP_PSFB, 0, 2]);
        out.extend_from_slice(&self.sender_ssrc.to_be_bytes());
        out.extend_from_slice(&self.media_ssrc.to_be_bytes());
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirEntry {
    pub ssrc: u32,
    pub sequence_number: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullIntraRequest {
    pub sender_ssrc: u32,
    pub entries: Vec<FirEntry>,
}

impl FullIntraRequest {
    /// Appends the wire form to `out`.
    ///
    /// # Errors
    /// More entries than fit one RTCP packet.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Unserializable> {
        let head = header(out, usize::from(PSFB_FIR), RTCP_PSFB)?;
        out.extend_from_slice(&self.sender_ssrc.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes()); // RFC 5104 §4.3.1: unused media SSRC
        for entry in &self.entries {
            out.extend_from_slice(&entry.ssrc.to_be_bytes());
            out.extend_from_slice(&[entry.sequence_number, 0, 0, 0]);
        }
        finish(out, head)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericNack {
    pub sender_ssrc: u32,
    pub media_ssrc: u32,
    /// Sequence numbers, in FCI order.
    pub lost: Vec<u16>,
}

impl GenericNack {
    /// Appends the wire form to `out`.
    ///
    /// # Errors
    /// An empty `lost` list.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Unserializable> {
        if self.lost.is_empty() {
            return Err(Unserializable("a NACK needs at least one sequence number"));
        }
        let head = header(out, usize::from(RTPFB_NACK), RTCP_RTPFB)?;
        out.extend_from_slice(&self.sender_ssrc.to_be_bytes());
        out.extend_from_slice(&self.media_ssrc.to_be_bytes());
        write_nack_fci(&self.lost, out);
        finish(out, head)
    }
}

/// REMB: a receiver's estimate of the bandwidth available for the listed SSRCs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverEstimatedMaxBitrate {
    pub sender_ssrc: u32,
    /// Bit/s: mantissa << exponent on the wire, read capped at `u64::MAX`.
    pub bitrate: u64,
    pub ssrcs: Vec<u32>,
}

impl ReceiverEstimatedMaxBitrate {
    /// Appends the wire form to `out`.
    ///
    /// # Errors
    /// More than 255 SSRCs.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Unserializable> {
        let count = u8::try_from(self.ssrcs.len())
            .map_err(|_| Unserializable("a REMB lists at most 255 SSRCs"))?;
        let mut exponent = 0u32;
        let mut mantissa = self.bitrate;
        while mantissa >= 1 << 18 {
            // The largest exponent loses the fewest low bits.
            mantissa >>= 1;
            exponent += 1;
        }
        let head = header(out, usize::from(PSFB_APP), RTCP_PSFB)?;
        out.extend_from_slice(&self.sender_ssrc.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes()); // the media SSRC is unused
        out.extend_from_slice(REMB_ID);
        let word = (u32::from(count) << 24) | (exponent << 18) | (mantissa as u32);
        out.extend_from_slice(&word.to_be_bytes());
        for ssrc in &self.ssrcs {
            out.extend_from_slice(&ssrc.to_be_bytes());
        }
        finish(out, head)
    }
}

/// One packet of a compound RTCP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    SenderReport(SenderReport),
    ReceiverReport(ReceiverReport),
    SourceDescription(SourceDescription),
    PictureLossIndication(PictureLossIndication),
    FullIntraRequest(FullIntraRequest),
    GenericNack(GenericNack),
    ReceiverEstimatedMaxBitrate(ReceiverEstimatedMaxBitrate),
    /// A well-framed packet of a type or format not interpreted here (BYE, APP, XR,
    /// transport-cc, ...): the whole packet, header included.
    Other {
        packet_type: u8,
        fmt: u8,
        data: &'a [u8],
    },
}

/// Writes a header with a zero length and returns where it starts, for [`finish`].
fn header(
    out: &mut Vec<u8>,
    count_or_fmt: usize,
    packet_type: u8,
) -> Result<usize, Unserializable> {
    let count = u8::try_from(count_or_fmt)
        .ok()
        .filter(|c| *c <= 31)
        .ok_or(Unserializable("RTCP count/format must fit in 5 bits"))?;
    let head = out.len();
    out.extend_from_slice(&[(VERSION << 6) | count, packet_type, 0, 0]);
    Ok(head)
}

/// An SR or RR: the reporter's SSRC, what `sender_info` writes (the SR's sender info),
/// then the report blocks.
fn write_report(
    out: &mut Vec<u8>,
    packet_type: u8,
    ssrc: u32,
    blocks: &[ReportBlock],
    sender_info: impl FnOnce(&mut Vec<u8>),
) -> Result<(), Unserializable> {
    let head = header(out, blocks.len(), packet_type)?;
    out.extend_from_slice(&ssrc.to_be_bytes());
    sender_info(out);
    for block in blocks {
        block.write_to(out);
    }
    finish(out, head)
}

/// Fills in the length of the packet that starts at `head` (the body is whole words).
fn finish(out: &mut Vec<u8>, head: usize) -> Result<(), Unserializable> {
    let Ok(words) = u16::try_from((out.len() - head - 4) / 4) else {
        out.truncate(head);
        return Err(Unserializable("RTCP packet too long"));
    };
    out[head + 2..head + 4].copy_from_slice(&words.to_be_bytes());
    Ok(())
}

/// Generic NACK FCI: sorted, deduplicated, starting after the widest circular gap so a
/// run across the 65535 -> 0 wrap packs together; each entry a PID and the next 16 in BLP.
fn write_nack_fci(lost: &[u16], out: &mut Vec<u8>) {
    let mut seqs = lost.to_vec();
    seqs.sort_unstable();
    seqs.dedup();
    let n = seqs.len();
    let mut widest = 0;
    let mut widest_at = 0;
    for (i, &s) in seqs.iter().enumerate() {
        let gap = seqs[(i + 1) % n].wrapping_sub(s);
        if gap > widest || i == 0 {
            widest = gap;
            widest_at = i;
        }
    }
    seqs.rotate_left((widest_at + 1) % n);
    while let Some(&pid) = seqs.first() {
        let mut blp: u16 = 0;
        let mut rest = Vec::new();
        for &s in &seqs[1..] {
            let d = s.wrapping_sub(pid);
            if (1..=16).contains(&d) {
                blp |= 1 << (d - 1);
            } else {
                rest.push(s);
            }
        }
        out.extend_from_slice(&pid.to_be_bytes());
        out.extend_from_slice(&blp.to_be_bytes());
        seqs = rest;
    }
}

fn be32(data: &[u8], pos: usize) -> Option<u32> {
    let bytes = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn be64(data: &[u8], pos: usize) -> Option<u64> {
    Some((u64::from(be32(data, pos)?) << 32) | u64::from(be32(data, pos + 4)?))
}

/// Splits a compound RTCP packet into its packets, checking every length field.
///
/// # Errors
/// [`Malformed`] for an empty input, a version other than 2, or a length that runs past
/// the end.
pub fn split_compound(data: &[u8]) -> Result<Vec<&[u8]>, Malformed> {
    if data.is_empty() {
        return Err(Malformed("empty RTCP packet"));
    }
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let head = data
            .get(pos..pos + 4)
            .ok_or(Malformed("RTCP header runs past the compound packet"))?;
        if head[0] >> 6 != VERSION {
            return Err(Malformed("RTCP version is not 2"));
        }
        let end = pos + 4 * (usize::from(u16::from_be_bytes([head[2], head[3]])) + 1);
        let packet = data
            .get(pos..end)
            .ok_or(Malformed("RTCP packet runs past the compound packet"))?;
        packets.push(packet);
        pos = end;
    }
    Ok(packets)
}

/// Parses a compound RTCP packet.
///
/// # Errors
/// [`Malformed`] if any part is invalid (the whole compound is refused).
pub fn parse_rtcp(data: &[u8]) -> Result<Vec<RtcpPacket<'_>>, Malformed> {
    split_compound(data)?.into_iter().map(parse_one).collect()
}

fn parse_one(raw: &[u8]) -> Result<RtcpPacket<'_>, Malformed> {
    // split_compound hands out whole packets of at least 4 bytes.
    let (Some(&b0), Some(&packet_type)) = (raw.first(), raw.get(1)) else {
        return Err(Malformed("RTCP header runs past the compound packet"));
    };
    let count = b0 & 0x1F;
    let mut body = raw.get(4..).unwrap_or_default();
    if b0 & 0x20 != 0 {
        // Padding: the last byte counts the padding bytes, itself included.
        let pad = usize::from(raw.last().copied().unwrap_or(0));
        if pad == 0 || pad > body.len() {
            return Err(Malformed("bad RTCP padding count"));
        }
        body = &body[..body.len() - pad];
    }
    let blocks = usize::from(count);
    match packet_type {
        RTCP_SR => {
            let short = Malformed("SR shorter than its report count");
            let reports = report_blocks(body, 24, blocks, short)?;
            Ok(RtcpPacket::SenderReport(SenderReport {
                ssrc: be32(body, 0).ok_or(short)?,
                ntp_timestamp: be64(body, 4).ok_or(short)?,
                rtp_timestamp: be32(body, 12).ok_or(short)?,
                packet_count: be32(body, 16).ok_or(short)?,
                octet_count: be32(body, 20).ok_or(short)?,
                reports,
            }))
        }
        RTCP_RR => {
            let short = Malformed("RR shorter than its report count");
            let reports = report_blocks(body, 4, blocks, short)?;
            Ok(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: be32(body, 0).ok_or(short)?,
                reports,
            }))
        }
        RTCP_SDES => Ok(RtcpPacket::SourceDescription(SourceDescription {
            chunks: parse_sdes(body, blocks)?,
        })),
        RTCP_RTPFB | RTCP_PSFB => {
            let short = Malformed("feedback packet shorter than its SSRCs");
            let sender_ssrc = be32(body, 0).ok_or(short)?;
            let media_ssrc = be32(body, 4).ok_or(short)?;
            let fci = body.get(8..).unwrap_or_default();
            match (packet_type, count) {
                (RTCP_RTPFB, RTPFB_NACK) => {
                    if fci.is_empty() || !fci.len().is_multiple_of(4) {
                        return Err(Malformed("NACK without whole FCI entries"));
                    }
                    Ok(RtcpPacket::GenericNack(GenericNack {
                        sender_ssrc,
                        media_ssrc,
                        lost: parse_nack_fci(fci),
                    }))
                }
                (RTCP_PSFB, PSFB_PLI) => {
                    Ok(RtcpPacket::PictureLossIndication(PictureLossIndication {
                        sender_ssrc,
                        media_ssrc,
                    }))
                }
                (RTCP_PSFB, PSFB_FIR) => {
                    if fci.is_empty() || !fci.len().is_multiple_of(8) {
                        return Err(Malformed("FIR without whole FCI entries"));
                    }
                    let entries = fci
                        .chunks_exact(8)
                        .map(|e| FirEntry {
                            ssrc: u32::from_be_bytes([e[0], e[1], e[2], e[3]]),
                            sequence_number: e[4],
                        })
                        .collect();
                    Ok(RtcpPacket::FullIntraRequest(FullIntraRequest {
                        sender_ssrc,
                        entries,
                    }))
                }
                (RTCP_PSFB, PSFB_APP) if fci.starts_with(REMB_ID) => parse_remb(sender_ssrc, fci),
                _ => Ok(other(packet_type, count, raw)),
            }
        }
        _ => Ok(other(packet_type, count, raw)),
    }
}

/// The `count` report blocks that start at `at`, once `body` is long enough for all.
fn report_blocks(
    body: &[u8],
    at: usize,
    count: usize,
    short: Malformed,
) -> Result<Vec<ReportBlock>, Malformed> {
    if body.len() < at + 24 * count {
        return Err(short);
    }
    (0..count)
        .map(|i| ReportBlock::parse(body, at + 24 * i).ok_or(short))
        .collect()
}

fn other(packet_type: u8, fmt: u8, data: &[u8]) -> RtcpPacket<'_> {
    RtcpPacket::Other {
        packet_type,
        fmt,
        data,
    }
}

fn parse_remb(sender_ssrc: u32, fci: &[u8]) -> Result<RtcpPacket<'_>, Malformed> {
    let bad = Malformed("REMB length does not match its SSRC count");
    let word = be32(fci, 4).ok_or(bad)?;
    let count = usize::from(fci[4]);
    if fci.len() != 8 + 4 * count {
        return Err(bad);
    }
    let exponent = (word >> 18) & 0x3F;
    let mantissa = u128::from(word & 0x3_FFFF);
    let bitrate = u64::try_from(mantissa << exponent).unwrap_or(u64::MAX);
    let ssrcs = fci[8..]
        .chunks_exact(4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .collect();
    Ok(RtcpPacket::ReceiverEstimatedMaxBitrate(
        ReceiverEstimatedMaxBitrate {
            sender_ssrc,
            bitrate,
            ssrcs,
        },
    ))
}

fn parse_nack_fci(fci: &[u8]) -> Vec<u16> {
    let mut lost = Vec::with_capacity(fci.len() / 4);
    for entry in fci.chunks_exact(4) {
        let pid = u16::from_be_bytes([entry[0], entry[1]]);
        let blp = u16::from_be_bytes([entry[2], entry[3]]);
        lost.push(pid);
        lost.extend(
            (0..16u16)
                .filter(|bit| (blp >> bit) & 1 != 0)
                .map(|bit| pid.wrapping_add(bit + 1)),
        );
    }
    lost
}

fn parse_sdes(body: &[u8], count: usize) -> Result<Vec<(u32, Vec<u8>)>, Malformed> {
    let mut chunks = Vec::with_capacity(count);
    let mut pos = 0;
    for _ in 0..count {
        let ssrc = be32(body, pos).ok_or(Malformed("SDES chunk runs past the packet"))?;
        pos += 4;
        let mut cname = Vec::new();
        loop {
            let Some(&item) = body.get(pos) else {
                return Err(Malformed("SDES items are not terminated"));
            };
            if item == 0 {
                // End of items; the chunk is padded to a word boundary.
                pos += 1;
                pos = pos.next_multiple_of(4);
                break;
            }
            let past = Malformed("SDES item runs past the packet");
            let len = usize::from(*body.get(pos + 1).ok_or(past)?);
            let value = body.get(pos + 2..pos + 2 + len).ok_or(past)?;
            if item == SDES_CNAME {
                cname = value.to_vec();
            }
            pos += 2 + len;
        }
        chunks.push((ssrc, cname));
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compound() -> Vec<u8> {
        let mut out = Vec::new();
        let block = ReportBlock {
            ssrc: 1,
            fraction_lost: 2,
            packets_lost: -3,
            highest_sequence: 4,
            jitter: 5,
            last_sr: 6,
            delay_since_last_sr: 7,
        };
        SenderReport {
            ssrc: 1,
            ntp_timestamp: u64::MAX,
            rtp_timestamp: 3,
            packet_count: 4,
            octet_count: 5,
            reports: vec![block],
        }
        .write_to(&mut out)
        .unwrap();
        ReceiverReport {
            ssrc: 9,
            reports: vec![block, block],
        }
        .write_to(&mut out)
        .unwrap();
        SourceDescription {
            chunks: vec![(1, b"cname".to_vec()), (2, b"abc".to_vec())],
        }
        .write_to(&mut out)
        .unwrap();
        GenericNack {
            sender_ssrc: 1,
            media_ssrc: 2,
            lost: vec![65535, 0, 1, 40],
        }
        .write_to(&mut out)
        .unwrap();
        PictureLossIndication {
            sender_ssrc: 1,
            media_ssrc: 2,
        }
        .write_to(&mut out);
        FullIntraRequest {
            sender_ssrc: 1,
            entries: vec![FirEntry {
                ssrc: 2,
                sequence_number: 3,
            }],
        }
        .write_to(&mut out)
        .unwrap();
        ReceiverEstimatedMaxBitrate {
            sender_ssrc: 1,
            bitrate: 2_500_000,
            ssrcs: vec![2, 3],
        }
        .write_to(&mut out)
        .unwrap();
        out
    }

    #[test]
    fn a_compound_round_trips() {
        let data = compound();
        let packets = parse_rtcp(&data).unwrap();
        assert_eq!(packets.len(), 7);
        assert!(
            matches!(&packets[6], RtcpPacket::ReceiverEstimatedMaxBitrate(r)
            if r.bitrate == 2_500_000 && r.ssrcs == [2, 3])
        );
        assert!(
            matches!(&packets[0], RtcpPacket::SenderReport(sr) if sr.reports[0].packets_lost == -3)
        );
        assert!(matches!(&packets[3], RtcpPacket::GenericNack(n) if n.lost == [65535, 0, 1, 40]));
    }

    #[test]
    fn builders_refuse_what_cannot_be_sent() {
        let mut out = Vec::new();
        let empty = GenericNack {
            sender_ssrc: 1,
            media_ssrc: 2,
            lost: vec![],
        };
        assert!(empty.write_to(&mut out).is_err());
        let long = SourceDescription {
            chunks: vec![(1, vec![b'x'; 256])],
        };
        assert!(long.write_to(&mut out).is_err());
        assert!(out.is_empty());
    }

    proptest! {
        #[test]
        fn mutated_compounds_never_panic(
            flips in proptest::collection::vec((any::<usize>(), 0u8..8), 1..4),
            cut in any::<usize>(),
        ) {
            let mut data = compound();
            for (at, bit) in flips {
                let at = at % data.len();
                data[at] ^= 1 << bit;
            }
            let _ = parse_rtcp(&data);
            let _ = parse_rtcp(&data[..cut % (data.len() + 1)]);
        }
    }
}
