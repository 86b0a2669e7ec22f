"""Helpers for tests of recordings: open a sealed recording the way playback does (the
header, the tail, then ranges) and check the WebM with Debian's ffprobe/ffmpeg."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from livelens._fastpath import RECORDING_HEADER_LEN, RecordingReader


def open_sealed(key: bytes, recording_id: str, sealed: bytes) -> RecordingReader:
    header = sealed[:RECORDING_HEADER_LEN]
    start, end = RecordingReader.tail_span(header, len(sealed))
    return RecordingReader(key, recording_id, header, len(sealed), sealed[start:end])


def plaintext(key: bytes, recording_id: str, sealed: bytes, step: int = 100_000) -> bytes:
    """The whole WebM, read range by range as HTTP range requests would."""
    reader = open_sealed(key, recording_id, sealed)
    out = bytearray()
    for start in range(0, reader.plaintext_len, step):
        end = min(reader.plaintext_len, start + step)
        sealed_start, sealed_end = reader.span(start, end)
        out += reader.read(start, end, sealed[sealed_start:sealed_end])
    return bytes(out)


def ffprobe(path: Path) -> dict[str, Any]:
    """Streams (with ``nb_read_frames``: every frame counted) and format, as JSON."""
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-print_format", "json",
         "-show_streams", "-show_format", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    info: dict[str, Any] = json.loads(done.stdout)
    return info


def video_frames(path: Path) -> list[tuple[float, int, int]]:
    """Every decoded video frame of the file, in order: (time in seconds, width, height)."""
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
         "frame=pts_time,width,height", "-print_format", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    frames = json.loads(done.stdout)["frames"]
    return [(float(f["pts_time"]), int(f["width"]), int(f["height"])) for f in frames]


def decode_errors(path: Path) -> str:
    """What ffmpeg reports decoding the whole file (empty: it plays through).

    The frames keep the file's own time base (``-enc_time_base -1``, 1 ms in WebM): by
    default ffmpeg rounds them to a frame rate it guesses, and two frames of a jittery
    camera (a late frame, then one on time) rounded to one tick are reported as "non
    monotonically increasing dts" by the null muxer, though both decoded."""
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-enc_time_base", "-1", "-f", "null", "-"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.stderr.strip() + ("" if done.returncode == 0 else f" (exit {done.returncode})")
