//! What the endpoint needs from a session's relay: the sans-IO API of the Python
//! reference relay (`livelens/media/reference_relay.py`), so the Rust `relay::Relay`
//! is plugged in behind this trait ([`super::relay_router::RelayRouter`]). Packets in
//! and out are plaintext; SRTP is the endpoint's job.

/// A participant's transport within one session (the reference relay's `LegId`).
pub type LegId = String;

/// One plaintext RTP or RTCP packet to protect and send on a leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub leg_id: LegId,
    pub data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "audio" => Some(Self::Audio),
            "video" => Some(Self::Video),
            _ => None,
        }
    }

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }
}

/// One negotiated payload type (`livelens.media.streams.Codec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    pub payload_type: u8,
    pub mime_type: String,
    pub clock_rate: u32,
    pub channels: Option<u16>,
    pub format_key: Vec<String>,
    pub rtx_apt: Option<u8>,
}

impl Codec {
    #[must_use]
    pub fn is_rtx(&self) -> bool {
        self.mime_type.ends_with("/rtx")
    }

    /// Equal identities: a packet moves between two legs by changing only its PT.
    #[must_use]
    pub fn same_format(&self, other: &Self) -> bool {
        self.mime_type == other.mime_type
            && self.clock_rate == other.clock_rate
            && self.channels == other.channels
            && self.format_key == other.format_key
    }
}

/// One negotiated m-line of a leg (`livelens.media.streams.MediaLine`); recv/send are
/// from the server's point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaLine {
    pub kind: MediaKind,
    pub mid: String,
    pub codecs: Vec<Codec>,
    /// URI -> extension id on this leg.
    pub extensions: Vec<(String, u8)>,
    pub recv_ssrc: Option<u32>,
    pub recv_rtx_ssrc: Option<u32>,
    pub send_ssrc: u32,
    pub send_rtx_ssrc: Option<u32>,
    /// The server's CNAME in the answer, for SDES next to translated SRs.
    pub cname: Option<String>,
    pub receives: bool,
    pub sends: bool,
}

impl MediaLine {
    #[must_use]
    pub fn codec(&self, payload_type: u8) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.payload_type == payload_type)
    }

    #[must_use]
    pub fn extension_id(&self, uri: &str) -> Option<u8> {
        self.extensions
            .iter()
            .find(|(u, _)| u == uri)
            .map(|(_, id)| *id)
    }

    #[must_use]
    pub fn extension_uri(&self, id: u8) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(u, _)| u.as_str())
    }
}

/// A session's relay as the endpoint drives it: the calls and meaning of the reference
/// relay (and of `relay::Relay`, whose topology errors become strings here). `now` is
/// seconds on any monotonic epoch.
pub trait PacketRouter: Send {
    fn add_leg(&mut self, leg: &str, media: &[MediaLine], forwarding: bool) -> Result<(), String>;
    fn remove_leg(&mut self, leg: &str);
    fn add_route(&mut self, source: &str, sink: &str, kind: MediaKind) -> Result<(), String>;
    fn remove_route(&mut self, source: &str, sink: &str, kind: MediaKind) -> Result<(), String>;
    fn set_forwarding(
        &mut self,
        leg: &str,
        forwarding: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, String>;
    fn set_connected(
        &mut self,
        leg: &str,
        connected: bool,
        now: f64,
    ) -> Result<Vec<Transmit>, String>;
    fn handle_rtp(&mut self, leg: &str, packet: &[u8], now: f64) -> Vec<Transmit>;
    fn handle_rtcp(&mut self, leg: &str, packet: &[u8], now: f64) -> Vec<Transmit>;
    fn handle_timeout(&mut self, now: f64) -> Vec<Transmit>;
    fn next_timeout(&self) -> Option<f64>;
    /// Diagnostics for `MediaHub.stats`, as JSON.
    fn stats(&self) -> serde_json::Value;
}
