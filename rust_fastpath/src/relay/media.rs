//! What one participant's transport negotiated, in the terms the relay needs: the Rust
//! twin of `livelens/media/streams.py`. "recv"/"send" are from the server's point of view.

use std::fmt;

use super::error::RelayError;

pub const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
pub const ABS_SEND_TIME_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

/// The kind of an m-line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub const ALL: [MediaKind; 2] = [MediaKind::Audio, MediaKind::Video];

    /// The SDP name, as Python spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "audio" => Some(MediaKind::Audio),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One negotiated payload type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    pub payload_type: u8,
    /// Lower case, e.g. `video/vp8`, `video/rtx`.
    pub mime_type: String,
    pub clock_rate: u32,
    pub channels: Option<u32>,
    /// Format parameters that make two codecs of one MIME type different streams (H.264).
    pub format_key: Vec<String>,
    /// RTX only: the payload type it repairs.
    pub rtx_apt: Option<u8>,
}

impl Codec {
    #[must_use]
    pub fn is_rtx(&self) -> bool {
        self.mime_type.ends_with("/rtx")
    }

    /// Equal identities mean a packet can move between two legs by changing only its PT.
    #[must_use]
    pub fn same_identity(&self, other: &Codec) -> bool {
        self.mime_type == other.mime_type
            && self.clock_rate == other.clock_rate
            && self.channels == other.channels
            && self.format_key == other.format_key
    }
}

/// One negotiated m-line of a participant's (BUNDLEd) transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaLine {
    pub kind: MediaKind,
    pub mid: String,
    pub codecs: Vec<Codec>,
    /// (URI, id on this leg), in SDP order; URIs are unique.
    pub extensions: Vec<(String, u8)>,
    /// SSRCs the participant sends on; `None` when unsignalled (learnt from the MID).
    pub recv_ssrc: Option<u32>,
    pub recv_rtx_ssrc: Option<u32>,
    /// SSRCs the server sends on; also the sender SSRC of the server's RTCP.
    pub send_ssrc: u32,
    pub send_rtx_ssrc: Option<u32>,
    /// The server's CNAME in the answer, for SDES next to translated SRs.
    pub cname: Option<String>,
    /// The participant sends this kind to the server.
    pub receives: bool,
    /// The server sends this kind to the participant.
    pub sends: bool,
}

impl MediaLine {
    /// The first codec with this payload type.
    #[must_use]
    pub fn codec(&self, payload_type: u8) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.payload_type == payload_type)
    }

    /// The id this leg uses for a header extension URI.
    #[must_use]
    pub fn extension_id(&self, uri: &str) -> Option<u8> {
        self.extensions
            .iter()
            .find(|(u, _)| u == uri)
            .map(|&(_, id)| id)
    }
}

/// Refuses m-lines the relay could never put on the wire (so a bad answer fails when
/// the leg is added, not on every packet) and two m-lines of one kind on a leg.
///
/// # Errors
/// [`RelayError::InvalidMedia`] with the reason.
pub fn validate_lines(lines: &[MediaLine]) -> Result<(), RelayError> {
    let invalid = |why: String| Err(RelayError::InvalidMedia(why));
    let mut source_kinds = Vec::new();
    let mut sink_kinds = Vec::new();
    for line in lines {
        for codec in &line.codecs {
            for pt in std::iter::once(codec.payload_type).chain(codec.rtx_apt) {
                if pt > 127 {
                    return invalid(format!("payload type {pt} out of range"));
                }
            }
        }
        for (i, (uri, id)) in line.extensions.iter().enumerate() {
            if *id == 0 {
                return invalid(format!("header extension id {id} out of range"));
            }
            if line.extensions[..i].iter().any(|(u, _)| u == uri) {
                return invalid(format!("header extension {uri} listed twice"));
            }
        }
        if line.mid.len() > 255 {
            return invalid("MID longer than 255 bytes".to_owned());
        }
        if line.cname.as_ref().is_some_and(|c| c.len() > 255) {
            return invalid("CNAME longer than 255 bytes".to_owned());
        }
        // Checked in order, as the reference builds the leg: a kind is taken by an
        // m-line that receives or sends it.
        if source_kinds.contains(&line.kind) || sink_kinds.contains(&line.kind) {
            return invalid(format!("more than one {} m-line on one leg", line.kind));
        }
        if line.receives {
            source_kinds.push(line.kind);
        }
        if line.sends {
            sink_kinds.push(line.kind);
        }
    }
    Ok(())
}
