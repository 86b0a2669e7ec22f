"""What a session's recording looks like from the media hub (``livelens.media.hub``
re-exports these): the recorder itself runs in the Rust media port, as a sink leg of
the session's relay (``rust_fastpath/src/net/endpoint/recording.rs``); only sealed bytes
reach Python, about once a second."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The recorder's leg number in every session's relay (participants' start at 1).
RECORDER_LEG = 0

# (session id, reason): a recording the media path ended on its own.
RecordingFailedCallback = Callable[[str, str], None]


class RecordingUnavailable(Exception):
    """The media path cannot record (the aiortc reference path), the session has no
    media yet, or no recording runs (never started, stopped, or failed)."""


@dataclass(frozen=True)
class RecordingEnd:
    """A finished recording, as ``MediaHub.stop_recording`` returns it."""

    sealed_tail: bytes  # the rest of the sealed file (ends with the final chunk)
    duration_s: float  # media time recorded
    # Per track (``video_``/``audio_`` + packets, frames, lost_packets, late_packets,
    # dropped_frames, stream_changes), and webm_bytes, sealed_bytes, clusters,
    # reanchors (gaps placed on arrival time), duration_ms.
    stats: Mapping[str, int] = field(default_factory=dict)


def flat_stats(stats: Mapping[str, Any]) -> dict[str, int]:
    """``MediaSocket.recording_stats``'s nested counters as one flat dict."""
    flat: dict[str, int] = {}
    for name, value in stats.items():
        if isinstance(value, Mapping):
            flat.update({f"{name}_{key}": int(count) for key, count in value.items()})
        else:
            flat[name] = int(value)
    return flat


def recording_end(sealed_tail: bytes, stats: Mapping[str, Any]) -> RecordingEnd:
    flat = flat_stats(stats)
    return RecordingEnd(sealed_tail, flat.get("duration_ms", 0) / 1000, flat)
