"""Read what an offer/answer pair negotiated, as relay :class:`MediaLine` values.

Everything comes from the SDP text (parsed with ``aiortc.sdp``), not from aiortc's
private transceiver state: the answer carries our SSRCs, the payload types and
extension ids (aiortc echoes the offerer's numbering), the MIDs and directions;
the offer carries the SSRCs the participant will send on.
"""

from __future__ import annotations

from typing import Any

from aiortc import sdp as aiortc_sdp

from livelens.media.streams import Codec, MediaKind, MediaLine

_SERVER_RECEIVES = ("sendrecv", "recvonly")
_SERVER_SENDS = ("sendrecv", "sendonly")


def parse_session(text: str) -> Any:
    """Parse SDP with aiortc's parser; any failure becomes ``ValueError``.

    aiortc's parser reports bad input with asserts, StopIteration, KeyError and
    others, so this is the one place that turns them into a single error type.
    """
    try:
        return aiortc_sdp.SessionDescription.parse(text)
    except Exception as exc:
        raise ValueError(f"unparseable SDP: {exc!r}") from exc


def negotiated_media(offer_sdp: str, answer_sdp: str) -> tuple[MediaLine, ...]:
    """The audio/video m-lines of an answer (ours) to an offer (the participant's)."""
    offer = parse_session(offer_sdp)
    answer = parse_session(answer_sdp)
    offered = {m.rtp.muxId: m for m in offer.media if m.kind in ("audio", "video")}
    lines: list[MediaLine] = []
    for media in answer.media:
        if media.kind not in ("audio", "video"):
            continue
        kind: MediaKind = media.kind
        recv_ssrc, recv_rtx_ssrc = _ssrcs(offered.get(media.rtp.muxId))
        send_ssrc, send_rtx_ssrc = _ssrcs(media)
        direction = media.direction or "sendrecv"
        lines.append(
            MediaLine(
                kind=kind,
                mid=str(media.rtp.muxId),
                codecs=tuple(_codec(c) for c in media.rtp.codecs),
                extensions={str(e.uri): int(e.id) for e in media.rtp.headerExtensions},
                recv_ssrc=recv_ssrc,
                recv_rtx_ssrc=recv_rtx_ssrc,
                send_ssrc=send_ssrc or 0,
                send_rtx_ssrc=send_rtx_ssrc,
                cname=next((s.cname for s in media.ssrc if s.cname), None),
                receives=direction in _SERVER_RECEIVES,
                sends=direction in _SERVER_SENDS,
            )
        )
    return tuple(lines)


def _ssrcs(media: Any) -> tuple[int | None, int | None]:
    """(media SSRC, RTX SSRC) of an m-line: the FID group if any, else its first SSRC."""
    if media is None:
        return None, None
    for group in media.ssrc_group:
        if group.semantic == "FID" and len(group.items) >= 2:
            return int(group.items[0]), int(group.items[1])
    if media.ssrc:
        return int(media.ssrc[0].ssrc), None
    return None, None


def _codec(params: Any) -> Codec:
    mime = str(params.mimeType).lower()
    parameters = dict(params.parameters or {})
    apt = parameters.get("apt") if mime.endswith("/rtx") else None
    return Codec(
        payload_type=int(params.payloadType),
        mime_type=mime,
        clock_rate=int(params.clockRate),
        channels=int(params.channels) if params.channels is not None else None,
        format_key=_format_key(mime, parameters),
        rtx_apt=int(apt) if apt is not None else None,
    )


def _format_key(mime: str, parameters: dict[str, Any]) -> tuple[str, ...]:
    if mime != "video/h264":
        return ()
    # Same rule as aiortc's is_codec_compatible: packetization mode and profile (not level).
    mode = str(parameters.get("packetization-mode", "0"))
    level_id = str(parameters.get("profile-level-id", "42e01f"))
    try:
        profile = aiortc_sdp.parse_h264_profile_level_id(level_id)[0].name
    except ValueError:
        profile = f"unknown:{level_id.lower()}"
    return (mode, str(profile))
