"""Recordings of support sessions: listing them, their timed events, and playing them
back or downloading them, decrypted on the fly by byte range.

A recording is made by the media port (recorder) and stored by the runner
(services.recording_runner); its sealed bytes are read here a piece at a time, each
piece's chunks authenticated before a byte of it is served, so no plaintext is ever
written anywhere and a file of any size holds one piece in memory. Who may see a
recording is who may see its session (support.get_for_agent: the agent who ran it,
invited experts, the account's administrators; 404 otherwise).

A download of the whole file (no Range) checks every chunk before its first byte goes
out, so a damaged file is refused (422 ``recording_damaged``) rather than cut short; a
range checks its first piece first, and a damaged chunk further in cuts the transfer.
Both are audited (``recording.damaged``). Downloads are audited
(``recording.downloaded``), as is the start of a playback (a range from byte 0:
``recording.played``); further ranges of a playback are not.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from livelens import clock
from livelens._fastpath import RECORDING_HEADER_LEN, RecordingError, RecordingReader
from livelens.errors import NotFound
from livelens.services import audit, session_keys, support
from livelens.services import recording_rules as rules
from livelens.services.audit import Actor
from livelens.services.auth import Principal
from livelens.services.context import Context
from livelens.store.encryption import AccountCipher
from livelens.store.records import Recording, SupportSession
from livelens.store.repository import TenantStore

PIECE = 1024 * 1024  # plaintext bytes decrypted and sent at a time (16 chunks)


def recording_key(cipher: AccountCipher, recording_id: str) -> bytes:
    """The recording's 32-byte key, from its session's data key (``cipher``)."""
    return cipher.derive(rules.key_info(recording_id))


def seal_events(cipher: AccountCipher, recording: Recording, events: list[dict[str, Any]]) -> bytes:
    body = json.dumps(events, ensure_ascii=False, default=str).encode()
    return cipher.seal(body, rules.events_purpose(recording.session_id, recording.id))


async def _recording(
    ctx: Context, principal: Principal, session_id: str, recording_id: str
) -> tuple[SupportSession, Recording]:
    session = await support.get_for_agent(ctx, principal, session_id)  # 404 otherwise
    found = await ctx.store.scoped(session.tenant_id).get_recording(session.id, recording_id)
    if found is None:
        raise NotFound("No such recording.")
    return session, found


async def list_for(ctx: Context, principal: Principal, session_id: str) -> list[dict[str, object]]:
    """The session's recordings, oldest first, as the API shows them."""
    session = await support.get_for_agent(ctx, principal, session_id)
    found = await ctx.store.scoped(session.tenant_id).list_recordings(session.id)
    now = clock.now()
    return [rules.view(recording, now) for recording in found]


async def events_of(ctx: Context, session: SupportSession, recording: Recording) -> list[Any]:
    """The recording's timed events, oldest first (none while it runs)."""
    if recording.events is None:
        return []
    cipher = await session_keys.cipher_for(ctx, session)
    purpose = rules.events_purpose(recording.session_id, recording.id)
    events: list[Any] = json.loads(cipher.open(recording.events, purpose))
    return events


async def events_for(
    ctx: Context, principal: Principal, session_id: str, recording_id: str
) -> list[Any]:
    session, recording = await _recording(ctx, principal, session_id, recording_id)
    if not rules.playable(recording):
        raise rules.not_ready(recording, clock.now())
    return await events_of(ctx, session, recording)


# -- reading the sealed file -------------------------------------------------------


class SealedFile:
    """A stored recording opened for reading: its end checked (final chunk, trailer),
    then any plaintext range read a piece at a time."""

    def __init__(self, scope: TenantStore, recording: Recording, reader: RecordingReader) -> None:
        self._scope = scope
        self._recording = recording
        self._reader = reader

    @classmethod
    async def open(cls, ctx: Context, session: SupportSession, recording: Recording) -> SealedFile:
        """Raises RecordingDamaged (its bytes missing, cut short, changed...), or
        ContentDeleted once the session's key is gone."""
        scope = ctx.store.scoped(session.tenant_id)
        key = recording_key(await session_keys.cipher_for(ctx, session), recording.id)
        length = await scope.recording_length(recording.id)
        if length is None:
            raise rules.damaged("its file is missing")
        try:
            header = await scope.read_recording(recording.id, 0, RECORDING_HEADER_LEN)
            start, end = RecordingReader.tail_span(header, length)
            tail = await scope.read_recording(recording.id, start, end)
            return cls(scope, recording, RecordingReader(key, recording.id, header, length, tail))
        except RecordingError as exc:
            raise rules.damaged(str(exc)) from exc

    @property
    def length(self) -> int:
        """The plaintext (WebM) length."""
        return self._reader.plaintext_len

    async def read(self, start: int, end: int) -> bytes:
        """Plaintext ``[start, end)``, every chunk of it authenticated; RecordingDamaged."""
        sealed_start, sealed_end = self._reader.span(start, end)
        sealed = await self._scope.read_recording(self._recording.id, sealed_start, sealed_end)
        try:
            return self._reader.read(start, end, sealed)
        except RecordingError as exc:
            raise rules.damaged(str(exc)) from exc

    async def pieces(self, start: int, end: int) -> AsyncIterator[bytes]:
        for at in range(start, end, PIECE):
            yield await self.read(at, min(at + PIECE, end))

    async def check(self) -> None:
        """Authenticate every chunk (nothing is kept): RecordingDamaged if one fails."""
        async for _ in self.pieces(0, self.length):
            pass


# -- playback and download -----------------------------------------------------------


@dataclass(frozen=True)
class Playback:
    """What a download or playback request gets: the range served (the whole file for
    a 200) and its plaintext, a piece at a time."""

    part: rules.ByteRange | None  # None: the whole file (200); else 206 with this range
    length: int  # of the whole file
    file_name: str
    pieces: AsyncIterator[bytes]

    @property
    def size(self) -> int:
        return self.length if self.part is None else self.part.end - self.part.start


async def _audited_damage(
    ctx: Context, session: SupportSession, recording: Recording, actor: Actor,
    exc: rules.RecordingDamaged,
) -> None:  # fmt: skip
    await audit.record(ctx.store.scoped(session.tenant_id), "recording.damaged", actor,
                       target=session.id, recording=recording.id,
                       reason=str(exc.details.get("reason", exc.message)))  # fmt: skip


async def _served(
    first: bytes, rest: AsyncIterator[bytes],
    on_damage: Callable[[rules.RecordingDamaged], Awaitable[None]],
) -> AsyncIterator[bytes]:  # fmt: skip
    yield first
    try:
        async for piece in rest:
            yield piece
    except rules.RecordingDamaged as exc:
        await on_damage(exc)  # the transfer is cut (BaseHandler.send_chunks)
        raise


async def open_playback(
    ctx: Context, principal: Principal, session_id: str, recording_id: str,
    range_header: str | None, ip: str,
) -> Playback:  # fmt: skip
    """The recording's plaintext for a request with ``range_header`` (None: none):
    404 for a recording the principal cannot see, 409 while it is made or when nothing
    of it was kept, 416 for a range past its end, 422 when it is damaged."""
    session, recording = await _recording(ctx, principal, session_id, recording_id)
    if not rules.playable(recording):
        raise rules.not_ready(recording, clock.now())
    actor = Actor.of(principal.user, ip)

    async def damaged(exc: rules.RecordingDamaged) -> None:
        await _audited_damage(ctx, session, recording, actor, exc)

    try:
        sealed = await SealedFile.open(ctx, session, recording)
        part = rules.parse_range(range_header, sealed.length)
        start, end = (0, sealed.length) if part is None else (part.start, part.end)
        if part is None:
            await sealed.check()  # a damaged file is refused, never handed over cut short
        first_end = min(start + PIECE, end)
        first = await sealed.read(start, first_end)
    except rules.RecordingDamaged as exc:
        await damaged(exc)
        raise
    scope = ctx.store.scoped(session.tenant_id)
    if part is None:
        await audit.record(scope, "recording.downloaded", actor, target=session.id,
                           recording=recording.id, size=sealed.length)  # fmt: skip
    elif part.start == 0:
        await audit.record(scope, "recording.played", actor, target=session.id,
                           recording=recording.id)  # fmt: skip
    pieces = _served(first, sealed.pieces(first_end, end), damaged)
    return Playback(part, sealed.length, rules.file_name(session, recording), pieces)


async def exported(
    ctx: Context, session: SupportSession
) -> AsyncIterator[tuple[Recording, Mapping[str, object], SealedFile | None]]:
    """Every recording of the session for an export (services.export), oldest first: its
    description with its events opened, and its file checked whole (None when it has
    no playable file: still running, failed, damaged; the description says why)."""
    scope = ctx.store.scoped(session.tenant_id)
    for recording in await scope.list_recordings(session.id):
        about: dict[str, object] = {
            **rules.view(recording, clock.now()),
            "download_url": None, "events_url": None, "file": None, "error": None,
        }  # fmt: skip
        sealed = None
        if rules.playable(recording):
            about["events"] = await events_of(ctx, session, recording)
            try:
                sealed = await SealedFile.open(ctx, session, recording)
                await sealed.check()
            except rules.RecordingDamaged as exc:
                about["error"], sealed = exc.message, None
        else:
            about["error"] = rules.not_ready(recording, clock.now()).message
        yield recording, about, sealed
