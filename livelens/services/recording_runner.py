"""Running one recording of a session: the media port records and seals (MediaHub's
recorder), this runner moves the sealed bytes into the store about once a second,
keeps the timed events, and closes the recording when asked or when it cannot go on.

The session is never affected by the recording: when storage fills up or fails, or the
media path stops recording, the runner stops the hub's recorder, stores what it can
(the bytes so far and the file's end, so what was recorded stays playable: state
"stopped"; if even that fails, the bytes are removed: "failed"), and awaits
``on_stopped(reason)``, whose caller tells both sides and the administrators.

Bytes that a write could not store stay pending and go first in the next write (the
embedded engine cuts a failed write back off), so the file never has a hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Protocol

from livelens import clock
from livelens.errors import StoreUnavailable
from livelens.services import audit, recordings, session_keys
from livelens.services import recording_rules as rules
from livelens.services.audit import SYSTEM
from livelens.services.context import Context
from livelens.signalling.recording import FAILED, MEDIA_STOPPED, Stop
from livelens.store.encryption import AccountCipher
from livelens.store.records import Recording, RecordingState, SupportSession, new_id
from livelens.store.repository import SealedWriter

log = logging.getLogger("livelens.recording")

DRAIN_SECONDS = 1.0  # how often sealed bytes are taken from the hub and stored
SAVE_SECONDS = 10.0  # how often the record is saved with the size stored so far
STORAGE_ERRORS = (OSError, StoreUnavailable)


class RecordingEnded(Protocol):
    """What the hub's ``stop_recording`` gives (media.hub.RecordingEnd)."""

    @property
    def sealed_tail(self) -> bytes: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def stats(self) -> Mapping[str, int]: ...


class RecordingHub(Protocol):
    """The media side of a recording (media.hub.MediaHub)."""

    def start_recording(self, session_id: str, recording_id: str, key: bytes) -> None: ...
    def take_recording(self, session_id: str) -> bytes: ...
    def stop_recording(self, session_id: str) -> RecordingEnded: ...


class RecordingStorage(Protocol):
    """Where a recording and its bytes are kept: the account's store
    (:class:`~livelens.store.repository.TenantStore`); a seam for tests."""

    async def create_recording(self, recording: Recording) -> None: ...
    async def save_recording(self, recording: Recording) -> None: ...
    async def write_recording(self, recording: Recording) -> SealedWriter: ...


OnStopped = Callable[[Stop], Awaitable[None]]


class RecordingRunner:
    """One running recording; made by :meth:`start`, ended by :meth:`stop` or on its own."""

    def __init__(
        self, ctx: Context, hub: RecordingHub, recording: Recording, cipher: AccountCipher,
        storage: RecordingStorage, writer: SealedWriter, on_stopped: OnStopped,
    ) -> None:  # fmt: skip
        self._ctx = ctx
        self._hub = hub
        self._cipher = cipher
        self._storage = storage
        self._writer = writer
        self._on_stopped = on_stopped
        self.recording = recording
        self._events: list[dict[str, object]] = []
        self._pending = b""  # taken from the hub, not stored yet
        self._saved_at = recording.started_at
        self._lock = asyncio.Lock()
        self._done = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, ctx: Context, hub: RecordingHub, session: SupportSession, on_stopped: OnStopped,
        *, storage: RecordingStorage | None = None,
    ) -> RecordingRunner:  # fmt: skip
        """Create the recording's record, derive its key from the session's, start the
        hub's recorder and the storing of its bytes. Raises what the hub raises when it
        cannot record (media.hub.RecordingUnavailable; the record is then "failed")."""
        store = storage or ctx.store.scoped(session.tenant_id)
        cipher = await session_keys.cipher_for(ctx, session)
        now = clock.now()
        recording = Recording(new_id(), session.tenant_id, session.id, now, now)
        await store.create_recording(recording)
        writer = await store.write_recording(recording)
        try:
            hub.start_recording(session.id, recording.id,
                                recordings.recording_key(cipher, recording.id))  # fmt: skip
        except Exception as exc:
            await writer.abort()
            await store.save_recording(replace(recording, state="failed", ended_at=now,
                                               stopped_reason=f"media: {exc}"))  # fmt: skip
            raise
        runner = cls(ctx, hub, recording, cipher, store, writer, on_stopped)
        await runner._audit("recording.started")
        runner._task = asyncio.ensure_future(runner._run())
        return runner

    @property
    def running(self) -> bool:
        return not self._done

    def note(self, kind: str, data: Mapping[str, object]) -> None:
        """A timed event (``rules.EVENT_KINDS``: a mark, chat, a freeze...), at the
        seconds since the recording started; none after its end or past MAX_EVENTS."""
        if self._done or len(self._events) >= rules.MAX_EVENTS:
            return
        t = clock.now() - self.recording.started_at
        self._events.append(rules.event(t, kind, data))

    async def drain(self) -> bool:
        """Store what the hub sealed since the last drain; False once the recording has
        ended (then ``on_stopped`` was awaited if it ended on its own)."""
        reason: Stop | None = None
        async with self._lock:
            if self._done:
                return False
            try:
                self._pending += self._hub.take_recording(self.recording.session_id)
            except Exception as exc:  # the media path ended it (media.hub)
                log.warning("Recording %s: the media path stopped it (%s).",
                            self.recording.id, exc)  # fmt: skip
                reason = MEDIA_STOPPED
            if reason is None:
                reason = await self._store_pending()
            if reason is not None:
                await self._end("stopped", reason)
        if reason is not None:
            await self._on_stopped(reason)
            return False
        return True

    async def stop(self) -> Recording:
        """End the recording: the last bytes and the file's end stored, its duration,
        size, events (sealed) and stats saved. Idempotent: an ended one is returned."""
        async with self._lock:
            if not self._done:
                task = self._task
                if task is not None and task is not asyncio.current_task():
                    task.cancel()
                await self._end("complete", None)
        return self.recording

    # -- inside the lock -------------------------------------------------------------

    async def _store_pending(self) -> Stop | None:
        """Write the pending bytes; the reason it failed, or None."""
        if not self._pending:
            return None
        try:
            await self._writer.write(self._pending)
        except STORAGE_ERRORS as exc:
            log.warning("Recording %s: storing it failed (%s).", self.recording.id, exc)
            return rules.storage_reason(exc)
        self._pending = b""
        now = clock.now()
        if now - self._saved_at >= SAVE_SECONDS:
            self._saved_at = now
            self.recording = replace(self.recording, updated_at=now, size=self._writer.size)
            with contextlib.suppress(*STORAGE_ERRORS):  # the bytes are what matters
                await self._storage.save_recording(self.recording)
        return None

    async def _end(self, state: RecordingState, reason: Stop | None) -> None:
        """Stop the hub's recorder and close the file: ``state`` if the file is stored
        whole, else "failed" (its bytes removed)."""
        self._done = True
        duration, stats = 0.0, dict[str, int]()
        try:
            with contextlib.suppress(Exception):  # a recorder that already ended
                self._pending += self._hub.take_recording(self.recording.session_id)
            end = self._hub.stop_recording(self.recording.session_id)
            self._pending += end.sealed_tail
            duration, stats = end.duration_s, dict(end.stats)
        except Exception as exc:  # the recorder is gone: the file has no end
            log.warning("Recording %s: no end from the media path (%s).", self.recording.id, exc)
            state, reason = "failed", reason or MEDIA_STOPPED
        if state != "failed":
            failure = await self._store_pending()
            if failure is None:
                try:
                    await self._writer.close()
                except STORAGE_ERRORS as exc:
                    failure = rules.storage_reason(exc)
            if failure is not None:
                state, reason = "failed", reason or failure
        if state == "failed":
            await self._writer.abort()
        now = clock.now()
        self.recording = replace(
            self.recording, state=state, ended_at=now, updated_at=now, duration_s=duration,
            size=self._writer.size if state != "failed" else 0,
            stopped_reason=reason.detail if reason else None,
            events=recordings.seal_events(self._cipher, self.recording, self._events),
            stats=stats,
        )  # fmt: skip
        try:
            await self._storage.save_recording(self.recording)
        except STORAGE_ERRORS:
            log.exception("Recording %s: its record could not be saved.", self.recording.id)
        action = "recording.completed" if reason is None else "recording.stopped"
        detail = reason.detail if reason else None
        await self._audit(action, state=state, reason=detail, duration_s=duration)

    async def _audit(self, action: str, **details: str | float | None) -> None:
        with contextlib.suppress(*STORAGE_ERRORS):
            await audit.record(self._ctx.store.scoped(self.recording.tenant_id), action, SYSTEM,
                               target=self.recording.session_id, recording=self.recording.id,
                               **details)  # fmt: skip

    async def _run(self) -> None:
        """Drain about every DRAIN_SECONDS until the recording ends."""
        try:
            while True:
                await asyncio.sleep(DRAIN_SECONDS)
                if not await self.drain():
                    return
        except Exception:  # a bug: end the recording rather than leave it running
            log.exception("Recording %s: the runner failed.", self.recording.id)
            async with self._lock:
                if self._done:
                    return
                await self._end("stopped", FAILED)
            await self._on_stopped(FAILED)
