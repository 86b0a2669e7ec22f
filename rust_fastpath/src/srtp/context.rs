//! One SRTP/SRTCP context: a profile, its session keys and the per-SSRC state of both
//! directions. Sans-IO: it transforms the buffers it is given and reads no clock.

use std::collections::HashMap;

use super::kdf::SessionKeys;
use super::replay::{Position, ReplayWindow};
use super::transform::{Transform, E_FLAG};
use super::{rtcp_header, rtp_header, Error, Profile};

/// Per direction, at most this many SSRCs get state. Only authenticated packets (or
/// packets we protect ourselves) create state, so this bounds a misbehaving peer.
pub const MAX_STREAMS: usize = 1024;

/// The highest SRTCP index; libsrtp refuses to send past it and so do we.
const MAX_SRTCP_INDEX: u32 = 0x7fff_ffff;

/// Packet counters, by outcome. Every call of the four operations adds exactly one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub rtp_protected: u64,
    pub rtp_unprotected: u64,
    pub rtcp_protected: u64,
    pub rtcp_unprotected: u64,
    /// Refused as [`Error::Malformed`].
    pub malformed: u64,
    /// Refused as [`Error::AuthFailed`].
    pub auth_failed: u64,
    /// Refused as [`Error::Replayed`].
    pub replayed: u64,
    /// Refused for any other reason (stream limit, SRTCP index exhausted, cipher failure).
    pub rejected: u64,
}

impl Stats {
    /// `(name, value)` for every counter, for the Python `stats()` dict.
    #[must_use]
    pub const fn fields(&self) -> [(&'static str, u64); 8] {
        [
            ("rtp_protected", self.rtp_protected),
            ("rtp_unprotected", self.rtp_unprotected),
            ("rtcp_protected", self.rtcp_protected),
            ("rtcp_unprotected", self.rtcp_unprotected),
            ("malformed", self.malformed),
            ("auth_failed", self.auth_failed),
            ("replayed", self.replayed),
            ("rejected", self.rejected),
        ]
    }

    fn count_error(&mut self, error: Error) {
        let counter = match error {
            Error::Malformed => &mut self.malformed,
            Error::AuthFailed => &mut self.auth_failed,
            Error::Replayed => &mut self.replayed,
            _ => &mut self.rejected,
        };
        *counter += 1;
    }
}

/// SRTP and SRTCP for one set of master keys, any number of SSRCs, both directions.
///
/// `protect*` keeps sender state (the ROC estimate, the SRTCP index) and `unprotect*`
/// receiver state (ROC, replay windows) in separate per-SSRC maps, so one context may do
/// both, although a DTLS-SRTP session uses one context per direction.
pub struct SrtpContext {
    profile: Profile,
    rtp: Transform,
    rtcp: Transform,
    tx_rtp: HashMap<u32, ReplayWindow>,
    rx_rtp: HashMap<u32, ReplayWindow>,
    tx_rtcp: HashMap<u32, u32>,
    rx_rtcp: HashMap<u32, ReplayWindow>,
    stats: Stats,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// A context keyed by a master key and salt (what DTLS-SRTP exports).
    ///
    /// # Errors
    /// [`Error::BadKeyLength`] if the key or salt does not have the profile's length.
    pub fn new(profile: Profile, master_key: &[u8], master_salt: &[u8]) -> Result<Self, Error> {
        Self::from_session_keys(
            profile,
            &SessionKeys::derive(profile, master_key, master_salt)?,
        )
    }

    /// A context keyed by session keys directly, bypassing the KDF (SDES-style keying and
    /// the RFC 7714 test vectors, which publish session keys).
    ///
    /// # Errors
    /// [`Error::BadKeyLength`] if a key does not have the profile's length.
    pub fn from_session_keys(profile: Profile, keys: &SessionKeys) -> Result<Self, Error> {
        if !keys.fit(profile) {
            return Err(Error::BadKeyLength);
        }
        Ok(Self {
            profile,
            rtp: Transform::new(profile, &keys.rtp_key, &keys.rtp_salt, &keys.rtp_auth_key)?,
            rtcp: Transform::new(
                profile,
                &keys.rtcp_key,
                &keys.rtcp_salt,
                &keys.rtcp_auth_key,
            )?,
            tx_rtp: HashMap::new(),
            rx_rtp: HashMap::new(),
            tx_rtcp: HashMap::new(),
            rx_rtcp: HashMap::new(),
            stats: Stats::default(),
        })
    }

    /// The profile this context was keyed for.
    #[must_use]
    pub const fn profile(&self) -> Profile {
        self.profile
    }

    /// The counters so far.
    #[must_use]
    pub const fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The receiver's rollover counter for `ssrc`, once a packet of it authenticated.
    #[must_use]
    pub fn rx_roc(&self, ssrc: u32) -> Option<u32> {
        self.rx_rtp.get(&ssrc).map(|w| (w.top() >> 16) as u32)
    }

    /// The sender's rollover counter for `ssrc`, once a packet of it was protected.
    #[must_use]
    pub fn tx_roc(&self, ssrc: u32) -> Option<u32> {
        self.tx_rtp.get(&ssrc).map(|w| (w.top() >> 16) as u32)
    }

    /// Protects the RTP packet in `packet` in place (appends the tag). A sequence number
    /// already sent is allowed again (a retransmission, as with libsrtp's
    /// `allow_repeat_tx`, which aiortc sets); one older than the replay window is not.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Replayed`], [`Error::TooManyStreams`], [`Error::Crypto`];
    /// `packet` is unchanged except after [`Error::Crypto`].
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        self.counted(Self::protect_rtp_inner, packet, |s| &mut s.rtp_protected)
    }

    /// Verifies and decrypts the SRTP packet in `packet` in place (removes the tag).
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::AuthFailed`], [`Error::Replayed`],
    /// [`Error::TooManyStreams`]. On error the content of `packet` is unspecified and no
    /// stream state has changed.
    pub fn unprotect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        self.counted(Self::unprotect_rtp_inner, packet, |s| {
            &mut s.rtp_unprotected
        })
    }

    /// Protects the RTCP compound packet in `packet` in place, with this SSRC's next
    /// SRTCP index (the first is 1, as libsrtp sends).
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::IndexExhausted`], [`Error::TooManyStreams`], [`Error::Crypto`].
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        self.counted(Self::protect_rtcp_inner, packet, |s| &mut s.rtcp_protected)
    }

    /// Verifies and decrypts the SRTCP packet in `packet` in place. Packets with the E flag
    /// clear (authenticated, not encrypted) are accepted as RFC 3711 and RFC 7714 allow.
    ///
    /// # Errors
    /// As [`Self::unprotect_rtp`].
    pub fn unprotect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        self.counted(Self::unprotect_rtcp_inner, packet, |s| {
            &mut s.rtcp_unprotected
        })
    }

    /// Runs `op` on `packet` and counts the outcome: in `ok`, or by the error.
    fn counted(
        &mut self,
        op: impl FnOnce(&mut Self, &mut Vec<u8>) -> Result<(), Error>,
        packet: &mut Vec<u8>,
        ok: fn(&mut Stats) -> &mut u64,
    ) -> Result<(), Error> {
        let result = op(self, packet);
        match result {
            Ok(()) => *ok(&mut self.stats) += 1,
            Err(error) => self.stats.count_error(error),
        }
        result
    }

    fn protect_rtp_inner(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let header = rtp_header::parse(packet)?;
        let window = self.tx_rtp.get(&header.ssrc).copied();
        let index = window.map_or(u64::from(header.seq), |w| w.estimate(header.seq));
        let position = window.map_or(Position::Ahead, |w| w.position(index));
        if position == Position::TooOld {
            return Err(Error::Replayed);
        }
        if window.is_none() && self.tx_rtp.len() >= MAX_STREAMS {
            return Err(Error::TooManyStreams);
        }
        self.rtp.protect_rtp(packet, header, index)?;
        remember(&mut self.tx_rtp, header.ssrc, window, index);
        Ok(())
    }

    fn unprotect_rtp_inner(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let body_len = packet
            .len()
            .checked_sub(self.rtp.tag_len())
            .ok_or(Error::Malformed)?;
        let header = rtp_header::parse(packet.get(..body_len).ok_or(Error::Malformed)?)?;
        let window = self.rx_rtp.get(&header.ssrc).copied();
        let index = window.map_or(u64::from(header.seq), |w| w.estimate(header.seq));
        match window.map(|w| w.position(index)) {
            Some(Position::Duplicate | Position::TooOld) => return Err(Error::Replayed),
            None if self.rx_rtp.len() >= MAX_STREAMS => return Err(Error::TooManyStreams),
            _ => {}
        }
        self.rtp.unprotect_rtp(packet, header, index)?;
        remember(&mut self.rx_rtp, header.ssrc, window, index);
        Ok(())
    }

    fn protect_rtcp_inner(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let ssrc = rtcp_header::sender_ssrc(packet)?;
        let last = self.tx_rtcp.get(&ssrc).copied();
        if last.is_none() && self.tx_rtcp.len() >= MAX_STREAMS {
            return Err(Error::TooManyStreams);
        }
        let index = last.unwrap_or(0);
        if index >= MAX_SRTCP_INDEX {
            return Err(Error::IndexExhausted);
        }
        let index = index + 1;
        self.rtcp.protect_rtcp(packet, ssrc, index)?;
        self.tx_rtcp.insert(ssrc, index);
        Ok(())
    }

    fn unprotect_rtcp_inner(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let ssrc = rtcp_header::sender_ssrc(packet)?;
        let word = self.rtcp.rtcp_word(packet)?;
        let index = u64::from(word & !E_FLAG);
        let window = self.rx_rtcp.get(&ssrc).copied();
        match window.map(|w| w.position(index)) {
            Some(Position::Duplicate | Position::TooOld) => return Err(Error::Replayed),
            None if self.rx_rtcp.len() >= MAX_STREAMS => return Err(Error::TooManyStreams),
            _ => {}
        }
        self.rtcp.unprotect_rtcp(packet, ssrc, word)?;
        remember(&mut self.rx_rtcp, ssrc, window, index);
        Ok(())
    }
}

/// Records an accepted index for `ssrc`, creating the stream's window on its first packet.
fn remember(
    map: &mut HashMap<u32, ReplayWindow>,
    ssrc: u32,
    window: Option<ReplayWindow>,
    index: u64,
) {
    let mut window = window.unwrap_or(ReplayWindow::starting_at(index));
    window.accept(index);
    map.insert(ssrc, window);
}
