"""What one participant's transport negotiated, in the terms the relay needs.

These are plain values with no aiortc in them: ``negotiation.py`` builds them from
the offer and answer SDP, and the relays consume them (the Rust one reads them once per
leg, in ``add_leg``). "recv"/"send" are always from the server's point of view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

MediaKind = Literal["audio", "video"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("audio", "video")

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


@dataclass(frozen=True)
class Codec:
    """One negotiated payload type."""

    payload_type: int
    mime_type: str  # lower case, e.g. "video/vp8", "video/rtx"
    clock_rate: int
    channels: int | None = None
    # Format parameters that make two codecs of the same MIME type different streams
    # (H.264: packetization-mode and profile). Empty for most codecs.
    format_key: tuple[str, ...] = ()
    rtx_apt: int | None = None  # RTX only: the payload type it repairs

    @property
    def is_rtx(self) -> bool:
        return self.mime_type.endswith("/rtx")

    @property
    def identity(self) -> tuple[object, ...]:
        """Equal identities mean a packet can move between two legs by changing only its PT."""
        return (self.mime_type, self.clock_rate, self.channels, self.format_key)


@dataclass(frozen=True)
class MediaLine:
    """One negotiated m-line of a participant's (BUNDLEd) transport."""

    kind: MediaKind
    mid: str
    codecs: tuple[Codec, ...]
    extensions: Mapping[str, int] = field(default_factory=dict)  # URI -> id on this leg
    # SSRCs the participant sends on (from its offer); None when unsignalled, in which
    # case the relay learns them from the MID header extension.
    recv_ssrc: int | None = None
    recv_rtx_ssrc: int | None = None
    # SSRCs the server sends on (from its answer); also the sender SSRC of our RTCP.
    send_ssrc: int = 0
    send_rtx_ssrc: int | None = None
    cname: str | None = None  # the server's CNAME in the answer, for SDES next to SRs
    receives: bool = True  # the participant sends this kind to the server
    sends: bool = True  # the server sends this kind to the participant

    def codec(self, payload_type: int) -> Codec | None:
        for codec in self.codecs:
            if codec.payload_type == payload_type:
                return codec
        return None
