"""Recordings: how a recording's key and sealed events are bound to it, which byte
range a request asks for, what a recording looks like in the API, and why one stopped,
in words. No I/O (services.recordings and services.recording_runner do it).

- A recording's key is HKDF-SHA256 of its session's data key with ``info`` =
  KEY_INFO ‖ recording id (the media port seals with it: rust_fastpath's record::seal),
  so crypto-shredding the session (or account) shreds its recordings.
- Its timed events (marks, chat, freezes) are JSON, sealed with the session's key like
  the session's other content, bound to the recording.
- Playback reads the plaintext by HTTP byte ranges (RFC 9110 §14): one range
  (``a-b``, ``a-`` or the suffix ``-n``) is served as 206; none, a malformed one or
  several are served whole as 200; one that starts past the end is 416.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from livelens.errors import Conflict, LiveLensError, StoreUnavailable
from livelens.signalling.recording import Stop
from livelens.store.records import Recording, SupportSession

KEY_INFO = b"livelens recording v1"
EVENT_KINDS = ("mark", "marks_cleared", "chat", "freeze", "unfreeze")
MAX_EVENTS = 50_000  # kept in memory while a recording runs; later ones are dropped
# A recording still "recording" whose bytes were last stored this long ago: its node
# stopped without ending it (shown as "interrupted"; its file has no end).
STALE_SECONDS = 120.0
MEDIA_TYPE = "video/webm"


class RecordingNotReady(Conflict, code="recording_not_ready"):
    """The recording is still being made, or nothing of it was kept."""


class RecordingDamaged(LiveLensError, code="recording_damaged", status=422):
    """The sealed file fails its checks: changed, cut short, chunks missing or moved."""


class RangeNotSatisfiable(LiveLensError, code="range_not_satisfiable", status=416):
    """A byte range that starts past the end of the recording."""


def key_info(recording_id: str) -> bytes:
    return KEY_INFO + recording_id.encode()


def events_purpose(session_id: str, recording_id: str) -> str:
    return f"session/{session_id}/recording/{recording_id}/events"


def event(t: float, kind: str, data: Mapping[str, object]) -> dict[str, Any]:
    """One timed event, ``t`` seconds from the recording's start (never negative)."""
    return {"t": round(max(0.0, t), 3), "kind": kind, "data": dict(data)}


@dataclass(frozen=True)
class ByteRange:
    """Plaintext bytes ``[start, end)`` of a file of ``length`` bytes."""

    start: int
    end: int
    length: int

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end - 1}/{self.length}"


_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


def parse_range(header: str | None, length: int) -> ByteRange | None:
    """The one range a ``Range`` header asks for in a file of ``length`` bytes, or None
    to serve it whole (no header, another unit, several ranges, a malformed one).
    Raises RangeNotSatisfiable for a range wholly past the end (or an empty suffix)."""
    found = _RANGE.fullmatch(header or "")
    if found is None or not (found[1] or found[2]):
        return None
    first, last = found[1], found[2]
    if not first:  # the last n bytes
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable("An empty byte range.", length=length)
        return ByteRange(max(0, length - suffix), length, length)
    start = int(first)
    end = length if not last else int(last) + 1
    if last and end <= start:
        return None  # invalid: the header is ignored
    if start >= length:
        raise RangeNotSatisfiable(
            f"The range starts past the end of the recording ({length} bytes).", length=length
        )
    return ByteRange(start, min(end, length), length)


def shown_state(recording: Recording, now: float) -> str:
    """The state as the API shows it: a recording left "recording" by a node that
    stopped is "interrupted"."""
    if recording.state == "recording" and now - recording.updated_at > STALE_SECONDS:
        return "interrupted"
    return recording.state


def playable(recording: Recording) -> bool:
    return recording.state in ("complete", "stopped")


def view(recording: Recording, now: float) -> dict[str, object]:
    """A recording as the API lists it; ``bytes``: sealed bytes stored."""
    base = f"/api/sessions/{recording.session_id}/recordings/{recording.id}"
    ready = playable(recording)
    return {
        "id": recording.id,
        "started_at": recording.started_at,
        "ended_at": recording.ended_at,
        "duration_s": recording.duration_s,
        "bytes": recording.size,
        "state": shown_state(recording, now),
        "stopped_reason": recording.stopped_reason,
        "download_url": f"{base}/download" if ready else None,
        "events_url": f"{base}/events" if ready else None,
    }


def not_ready(recording: Recording, now: float) -> RecordingNotReady:
    state = shown_state(recording, now)
    if state == "recording":
        return RecordingNotReady("This recording is still being made.", state=state)
    why = f": {recording.stopped_reason}" if recording.stopped_reason else ""
    return RecordingNotReady(f"Nothing of this recording could be kept{why}.", state=state)


def damaged(reason: str) -> RecordingDamaged:
    return RecordingDamaged(f"This recording is damaged: {reason}. It cannot be played or "
                            "downloaded.", reason=reason)  # fmt: skip


def storage_reason(exc: BaseException) -> Stop:
    """Why storing a recording failed, for both sides and the alert."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Stop("storage_full", "storage full")
    if isinstance(exc, StoreUnavailable):
        return Stop("storage_failed", "storage failed: the database refused the recording")
    return Stop("storage_failed", "storage failed")


def file_name(session: SupportSession, recording: Recording) -> str:
    what = re.sub(r"[^A-Za-z0-9]+", "-", session.reference or "").strip("-")[:40]
    return f"livelens-recording-{what or session.id[:8]}-{recording.id[:8]}.webm"
