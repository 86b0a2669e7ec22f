"""Keyframes: PLI and FIR from receivers, and the relay's own needs (a new segment, an
opened gate), become a PLI to the source, at most one per keyframe interval; a request
that cannot go yet stays pending and is never lost."""

from __future__ import annotations

from livelens.media import rtcp
from livelens.media.reference_relay.base import RelayBase, Transmit
from livelens.media.reference_relay.streams import Leg, Source

KEYFRAME_REQUEST_INTERVAL = 0.5  # s; at most one PLI per source per interval


class Keyframes(RelayBase):
    """Keyframe requests to sources."""

    def _request_keyframe(self, source: Source, now: float, out: list[Transmit]) -> None:
        if source.kind != "video" or source.removed:
            return
        last = source.last_keyframe_request_at
        ready = source.ssrc is not None and source.leg.connected
        # A clock that went backwards must not lock requests out, hence the `now < last`.
        if ready and (last is None or now - last >= self._keyframe_interval or now < last):
            assert source.ssrc is not None
            source.last_keyframe_request_at = now
            source.keyframe_request_pending = False
            source.keyframe_requests += 1
            pli = rtcp.PictureLossIndication(source.line.send_ssrc, source.ssrc)
            self._emit(out, source.leg, pli.to_bytes(), rtcp=True)
        else:
            source.keyframe_request_pending = True  # sent when allowed, never lost

    def _flush_keyframe_request(self, source: Source, now: float, out: list[Transmit]) -> None:
        if source.keyframe_request_pending:
            self._request_keyframe(source, now, out)

    def _on_keyframe_request(
        self, leg: Leg, media_ssrc: int, now: float, out: list[Transmit]
    ) -> None:
        sink = leg.sink_by_ssrc.get(media_ssrc)
        if sink is None or not leg.deliverable:
            return
        sink.keyframe_requests += 1
        if sink.current is not None:
            self._request_keyframe(sink.current.route.source, now, out)
        else:
            for route in sink.routes:
                self._request_keyframe(route.source, now, out)
