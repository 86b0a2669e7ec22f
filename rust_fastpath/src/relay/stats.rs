//! Counters, shaped like the reference relay's `stats()`: totals, and per leg its drops
//! and per-stream counters (packets, bytes, losses, drops by reason). The Python dict
//! (the reference's, value for value) is built from these in `src/py/stats.rs`.

use super::media::MediaKind;
use super::session::LegId;

/// Why a packet went nowhere. The order is the reference's `DROP_REASONS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Leg: not parseable as RTP/RTCP.
    Malformed,
    /// Leg: SSRC neither signalled nor learnable from the MID extension.
    UnknownSsrc,
    /// Source: nobody subscribes to it.
    NoRoute,
    /// Source: PT not negotiated; sink: codec not negotiated with the receiver.
    CodecMismatch,
    /// Sink: the receiving leg's gate is closed.
    Gated,
    /// Sink: the receiving leg's transport is not up (yet).
    NotConnected,
    /// Sink: another source currently holds this sink.
    NotSelected,
}

impl DropReason {
    pub const ALL: [DropReason; 7] = [
        DropReason::Malformed,
        DropReason::UnknownSsrc,
        DropReason::NoRoute,
        DropReason::CodecMismatch,
        DropReason::Gated,
        DropReason::NotConnected,
        DropReason::NotSelected,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::UnknownSsrc => "unknown_ssrc",
            DropReason::NoRoute => "no_route",
            DropReason::CodecMismatch => "codec_mismatch",
            DropReason::Gated => "gated",
            DropReason::NotConnected => "not_connected",
            DropReason::NotSelected => "not_selected",
        }
    }
}

/// Drops by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops([u64; 7]);

impl Drops {
    pub fn add(&mut self, reason: DropReason) {
        self.0[reason as usize] += 1;
    }

    #[must_use]
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason as usize]
    }

    /// Every reason with its count, zeros included.
    pub fn all(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.get(r)))
    }

    /// The reasons that happened, as the reference's per-leg/per-stream `drops` lists them.
    pub fn nonzero(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        self.all().filter(|&(_, n)| n > 0)
    }
}

/// Relay-wide counters. Like the reference's `Counter`, a counter is listed once it has
/// been counted (even if by 0 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals([Option<u64>; 9]);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Total {
    RtpIn,
    RtcpIn,
    BytesIn,
    UnknownLeg,
    RtpOut,
    RtcpOut,
    BytesOut,
    /// Receiver reports (RR + SDES compounds) sent to legs.
    RtcpReportsSent,
    /// REMBs sent to sources.
    RembForwarded,
}

impl Total {
    pub const ALL: [Total; 9] = [
        Total::RtpIn,
        Total::RtcpIn,
        Total::BytesIn,
        Total::UnknownLeg,
        Total::RtpOut,
        Total::RtcpOut,
        Total::BytesOut,
        Total::RtcpReportsSent,
        Total::RembForwarded,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Total::RtpIn => "rtp_in",
            Total::RtcpIn => "rtcp_in",
            Total::BytesIn => "bytes_in",
            Total::UnknownLeg => "unknown_leg",
            Total::RtpOut => "rtp_out",
            Total::RtcpOut => "rtcp_out",
            Total::BytesOut => "bytes_out",
            Total::RtcpReportsSent => "rtcp_reports_sent",
            Total::RembForwarded => "remb_forwarded",
        }
    }
}

impl Totals {
    pub fn add(&mut self, total: Total, n: u64) {
        let value = &mut self.0[total as usize];
        *value = Some(value.unwrap_or(0) + n);
    }

    /// The counters that have been counted, with their values.
    pub fn counted(&self) -> impl Iterator<Item = (Total, u64)> + '_ {
        Total::ALL
            .iter()
            .filter_map(|&t| self.0[t as usize].map(|n| (t, n)))
    }
}

/// A snapshot of every counter of a relay.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RelayStats {
    pub totals: Totals,
    pub drops: Drops,
    pub legs: Vec<LegStats>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LegStats {
    pub id: LegId,
    pub connected: bool,
    pub forwarding: bool,
    /// Packets from this leg that matched no stream.
    pub drops: Drops,
    pub sources: Vec<(MediaKind, SourceStats)>,
    pub sinks: Vec<(MediaKind, SinkStats)>,
}

/// A stream the leg sends to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceStats {
    pub ssrc: Option<u32>,
    pub rtx_ssrc: Option<u32>,
    pub packets: u64,
    pub bytes: u64,
    pub rtx_packets: u64,
    pub padding_only: u64,
    /// Media packets its sequence numbers say never arrived (RFC 3550 A.3, floored at 0).
    pub lost: u64,
    pub keyframe_requests_sent: u64,
    pub nacks_forwarded: u64,
    /// The legs it is routed to, in routing order.
    pub sinks: Vec<LegId>,
    pub drops: Drops,
}

/// A stream the server sends to the leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkStats {
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    /// The leg whose stream it currently forwards.
    pub source: Option<LegId>,
    pub packets: u64,
    pub bytes: u64,
    pub retransmits: u64,
    /// Cumulative packets lost, as the receiver last reported it in an RR/SR block.
    pub receiver_lost: i32,
    pub keyframe_requests_received: u64,
    pub nacks_received: u64,
    pub sender_reports: u64,
    pub drops: Drops,
}
