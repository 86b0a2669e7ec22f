"""Recording on the Rust media port, end to end: aiortc "browsers" publish through the
port, the recorder (a sink of the session's relay, in Rust) seals a WebM, and the file
is opened with the playback reader and checked with Debian's ffprobe and ffmpeg."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from livelens.media.aiortc_path import AiortcPath
from livelens.media.hub import RecordingUnavailable
from livelens.media.media_port import PortSession
from tests.media.clients import Client, agent_client, customer_client
from tests.media.recordings import decode_errors, ffprobe, open_sealed, plaintext
from tests.media.test_media_port import PortWorld, port_world

KEY = bytes(range(32))
RID = "rec-0001"


@pytest.fixture
async def world() -> AsyncIterator[PortWorld]:
    async with port_world() as w:
        yield w


def frames_sent(client: Client, ssrc: int | None) -> int:
    return sum(1 for p in client.sent_rtp if p.ssrc == ssrc and p.marker)


async def publish(world: PortWorld, client: Client, ssrc: int | None, frames: int) -> None:
    """Wait until the client has sent ``frames`` more video frames (30 fps)."""
    target = frames_sent(client, ssrc) + frames
    await world.probe.until(
        lambda: frames_sent(client, ssrc) >= target, f"{frames} frames sent", within=frames
    )


async def customer_and_agent(world: PortWorld) -> tuple[Client, int | None]:
    """A customer and an agent connected in session s1 (the agent's voice, heard by the
    customer, pokes the probe every 20 ms); the customer's video SSRC."""
    customer = customer_client(world.probe)
    lines = await world.join("s1", "cust", customer)
    await world.join("s1", "agent", agent_client("agent", world.probe))
    await world.connected("s1", "cust", "agent")
    return customer, lines["video"].recv_ssrc


def check_webm(path: Path) -> tuple[float, int]:
    """Both tracks present and decodable: the file's duration and video frames."""
    info = ffprobe(path)
    codecs = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
    assert codecs == {"video": "vp8", "audio": "opus"}, "one video and one audio track"
    assert decode_errors(path) == ""
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    return float(info["format"]["duration"]), int(video["nb_read_frames"])


async def test_the_customer_is_recorded_from_consent_to_stop_and_the_file_plays(
    world: PortWorld, tmp_path: Path
) -> None:
    customer, ssrc = await customer_and_agent(world)
    loop = asyncio.get_running_loop()
    world.hub.start_recording("s1", RID, KEY)
    legs = world.hub.stats("s1")["legs"]
    assert isinstance(legs, dict)
    assert legs["cust"]["sources"]["video"]["sinks"] == ["agent", "recorder"]
    await publish(world, customer, ssrc, 15)  # before consent: not in the file
    world.hub.set_media_allowed("s1", True)
    allowed_at = loop.time()
    sealed = bytearray()
    for _ in range(3):
        await publish(world, customer, ssrc, 30)
        sealed += world.hub.take_recording("s1")
    end = world.hub.stop_recording("s1")
    published = loop.time() - allowed_at
    sealed += end.sealed_tail
    assert end.stats["sealed_bytes"] == len(sealed)

    path = tmp_path / "recording.webm"
    path.write_bytes(plaintext(KEY, RID, bytes(sealed)))
    duration, frames = check_webm(path)
    assert abs(duration - published) <= 0.05 * published, (duration, published)
    assert abs(end.duration_s - duration) < 0.01
    assert abs(frames - 30 * duration) <= 0.1 * 30 * duration, (frames, duration)
    assert end.stats["video_frames"] == frames
    assert end.stats["audio_frames"] >= 45 * duration  # 50 a second, the customer's only
    with pytest.raises(RecordingUnavailable):
        world.hub.stop_recording("s1")
    # Packets never went through Python, only sealed bytes did.
    assert world.peer("s1", "cust").python_packets == 0
    legs = world.hub.stats("s1")["legs"]
    assert isinstance(legs, dict) and "recorder" not in legs


async def test_a_customer_who_reconnects_mid_recording_gives_a_file_that_plays_through(
    world: PortWorld, tmp_path: Path
) -> None:
    customer, ssrc = await customer_and_agent(world)
    world.hub.set_media_allowed("s1", True)
    loop = asyncio.get_running_loop()
    started_at = loop.time()
    world.hub.start_recording("s1", RID, KEY)
    await publish(world, customer, ssrc, 45)
    # A new connection (new SSRCs, a new encoder), as after a network change.
    again = customer_client(world.probe)
    lines = await world.join("s1", "cust", again)
    await world.probe.until(
        lambda: world.states.count(("s1", "cust", "connected")) == 2, "reconnected"
    )
    await customer.close()
    await publish(world, again, lines["video"].recv_ssrc, 45)
    # The session ends before its recording is stopped: the file is finished with it.
    await world.hub.end_session("s1")
    ended_at = loop.time()
    end = world.hub.stop_recording("s1")

    path = tmp_path / "reconnected.webm"
    path.write_bytes(plaintext(KEY, RID, end.sealed_tail))
    duration, frames = check_webm(path)
    assert duration >= 0.9 * (ended_at - started_at), (duration, ended_at - started_at)
    assert frames >= 80
    assert end.stats["video_stream_changes"] >= 1


async def test_a_recording_that_fails_ends_alone_and_is_reported(
    world: PortWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PortSession, "max_uncollected", 1000)
    customer, ssrc = await customer_and_agent(world)
    world.hub.set_media_allowed("s1", True)
    failures: list[tuple[str, str]] = []

    def failed(session_id: str, reason: str) -> None:
        failures.append((session_id, reason))
        world.probe.poke()

    world.hub.on_recording_failed(failed)
    world.hub.start_recording("s1", RID, KEY)
    await world.probe.until(lambda: bool(failures), "the recording fails", within=30)
    assert failures == [("s1", "the recording was not collected")]
    with pytest.raises(RecordingUnavailable):
        world.hub.take_recording("s1")
    with pytest.raises(RecordingUnavailable):
        world.hub.stop_recording("s1")
    # The session is not affected, and may be recorded again.
    agent = world.clients[1]
    decoded = len(agent.frames["video"])
    await world.probe.until(lambda: len(agent.frames["video"]) >= decoded + 10, "agent sees")
    monkeypatch.setattr(PortSession, "max_uncollected", None)
    world.hub.start_recording("s1", "rec-0002", KEY)
    await publish(world, customer, ssrc, 10)
    end = world.hub.stop_recording("s1")
    assert open_sealed(KEY, "rec-0002", end.sealed_tail).plaintext_len > 0


async def test_recording_is_refused_where_it_cannot_run(world: PortWorld) -> None:
    with pytest.raises(RecordingUnavailable, match="no media yet"):
        world.hub.start_recording("nobody", RID, KEY)
    for call in (world.hub.take_recording, world.hub.stop_recording):
        with pytest.raises(RecordingUnavailable):
            call("nobody")
    aiortc_session = AiortcPath(host_addresses=["127.0.0.1"]).open_session("s", lambda c: None)
    with pytest.raises(RecordingUnavailable, match="cannot record"):
        aiortc_session.start_recording(RID, KEY)
    await customer_and_agent(world)
    with pytest.raises(ValueError, match="32 bytes"):
        world.hub.start_recording("s1", RID, os.urandom(16))
    world.hub.start_recording("s1", RID, KEY)
    with pytest.raises(RecordingUnavailable, match="running"):
        world.hub.start_recording("s1", RID, KEY)
