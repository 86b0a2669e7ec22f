"""Session content: chat, snapshots and the agent's notes, sealed at rest.

Every body is sealed with the session's own data key (AES-256-GCM; the account's for
sessions from before session keys, see services.session_keys) and bound to its
item through the associated data (``session/<id>/<kind>/<item id>``), so a sealed
body copied onto another item, session or account fails to open. Only agents with
rights to the session (see :func:`support.may_access`) and admins read it back;
the customer sees the chat of their own session while it runs, nothing else.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass

from livelens import clock
from livelens.errors import InvalidInput, NotFound, PayloadTooLarge
from livelens.services import audit, session_keys
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.signalling import session_policy
from livelens.signalling.messages import CHAT_MAX_CHARS
from livelens.store.encryption import AccountCipher
from livelens.store.records import ContentKind, SessionItem, SupportSession, new_id

MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024
MAX_NOTES_CHARS = 20_000
CHAT_HISTORY = 500  # messages replayed to a participant who (re)joins

IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def image_type(data: bytes) -> str | None:
    """The media type of a PNG or JPEG by its signature; anything else is refused."""
    for magic, media_type in IMAGE_MAGIC.items():
        if data.startswith(magic):
            return media_type
    return None


def clean_text(text: str, max_chars: int) -> str:
    """Strip control characters (keeping line breaks and tabs) and outer whitespace."""
    kept = "".join(
        c for c in text if c in "\n\t" or not unicodedata.category(c).startswith("C")
    ).strip()
    if len(kept) > max_chars:
        raise InvalidInput(f"Text is limited to {max_chars} characters.")
    return kept


def _purpose(item: SessionItem | tuple[str, ContentKind, str]) -> str:
    session_id, kind, item_id = (
        (item.session_id, item.kind, item.id) if isinstance(item, SessionItem) else item
    )
    return f"session/{session_id}/{kind}/{item_id}"


async def _seal(
    ctx: Context, session: SupportSession, kind: ContentKind, body: bytes,
    author_id: str | None, media_type: str, item_id: str | None = None,
) -> SessionItem:  # fmt: skip
    item_id = item_id or new_id()
    cipher = await session_keys.cipher_for(ctx, session)
    sealed = cipher.seal(body, _purpose((session.id, kind, item_id)))
    return SessionItem(item_id, session.tenant_id, session.id, kind, clock.now(), author_id,
                       media_type, len(body), sealed)  # fmt: skip


async def _open(ctx: Context, item: SessionItem, cipher: AccountCipher | None = None) -> bytes:
    """The item's body; ``cipher``: its session's, when the caller has it at hand."""
    if cipher is None:
        cipher = await session_keys.opener_of(ctx, item.tenant_id, item.session_id)
    return cipher.open(item.sealed, _purpose(item))


# -- chat -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatMessage:
    id: str
    at: float
    role: str  # "agent" or "customer"
    name: str
    author_id: str | None
    text: str

    def view(self) -> dict[str, object]:
        return {"id": self.id, "at": self.at, "role": self.role, "name": self.name,
                "author_id": self.author_id, "text": self.text}  # fmt: skip


async def add_chat(
    ctx: Context, session: SupportSession, role: str, name: str, author_id: str | None,
    text: str,
) -> ChatMessage:  # fmt: skip
    body = clean_text(text, CHAT_MAX_CHARS)
    if not body:
        raise InvalidInput("A chat message cannot be empty.")
    payload = json.dumps({"text": body, "role": role, "name": name}).encode()
    item = await _seal(ctx, session, "chat", payload, author_id, "application/json")
    await ctx.store.scoped(session.tenant_id).put_session_item(item)
    return ChatMessage(item.id, item.at, role, name, author_id, body)


async def chat_history(
    ctx: Context, session: SupportSession, limit: int = CHAT_HISTORY
) -> list[ChatMessage]:
    items = await ctx.store.scoped(session.tenant_id).list_session_items(session.id, "chat", limit)
    messages: list[ChatMessage] = []
    if not items:
        return messages
    cipher = await session_keys.opener_of(ctx, session.tenant_id, session.id)
    for item in items:
        data = json.loads(await _open(ctx, item, cipher))
        messages.append(ChatMessage(item.id, item.at, str(data["role"]), str(data["name"]),
                                    item.author_id, str(data["text"])))  # fmt: skip
    return messages


# -- snapshots --------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    id: str
    at: float
    author_id: str | None
    media_type: str
    size: int

    @classmethod
    def of(cls, item: SessionItem) -> Snapshot:
        return cls(item.id, item.at, item.author_id, item.media_type, item.size)

    def view(self, session_id: str) -> dict[str, object]:
        url = f"/api/sessions/{session_id}/snapshots/{self.id}"
        return {"id": self.id, "at": self.at, "author_id": self.author_id,
                "media_type": self.media_type, "size": self.size,
                "url": url, "thumb_url": f"{url}?inline=1"}  # fmt: skip


def check_size(size: int) -> None:
    if size > MAX_SNAPSHOT_BYTES:
        raise PayloadTooLarge(f"Images are limited to {MAX_SNAPSHOT_BYTES // (1024 * 1024)} MiB.")


def check_image(data: bytes) -> str:
    check_size(len(data))
    media_type = image_type(data)
    if media_type is None:
        raise InvalidInput("Send a PNG or JPEG image.")
    return media_type


async def add_snapshot(
    ctx: Context, session: SupportSession, actor: Actor, data: bytes, *, marked: bool
) -> Snapshot:
    """Store a still the agent captured; only while the customer shares their camera, and
    only where the account's policy allowed snapshots when the session started."""
    session_policy.require(session, "snapshots")
    media_type = check_image(data)
    if session.status not in ("consented", "live"):
        raise InvalidInput("Snapshots can be taken only while the customer shares the camera.")
    item = await _seal(ctx, session, "snapshot", data, actor.user_id, media_type)
    scope = ctx.store.scoped(session.tenant_id)
    await scope.put_session_item(item)
    await audit.record(scope, "session.snapshot_taken", actor, target=session.id,
                       snapshot=item.id, size=len(data), marked=marked)  # fmt: skip
    return Snapshot.of(item)


async def list_snapshots(ctx: Context, session: SupportSession) -> list[Snapshot]:
    items = await ctx.store.scoped(session.tenant_id).list_session_items(session.id, "snapshot")
    return [Snapshot.of(item) for item in items]


async def snapshot_images(
    ctx: Context, session: SupportSession
) -> AsyncIterator[tuple[Snapshot, bytes]]:
    """Every snapshot of the session with its image, oldest first, each opened only when
    it is asked for: for an export (services.export), which audits what it does."""
    items = await ctx.store.scoped(session.tenant_id).list_session_items(session.id, "snapshot")
    for item in items:
        yield Snapshot.of(item), await _open(ctx, item)


async def download_snapshot(
    ctx: Context, session: SupportSession, snapshot_id: str, actor: Actor, *, shown: bool = False
) -> tuple[Snapshot, bytes]:
    """A snapshot's image: a download (a file leaves the service: audited), or ``shown``
    in the console's session view (as chat and notes are shown there: not audited)."""
    scope = ctx.store.scoped(session.tenant_id)
    item = await scope.get_session_item(session.id, snapshot_id)
    if item is None or item.kind != "snapshot":
        raise NotFound("No such snapshot.")
    data = await _open(ctx, item)
    if not shown:
        await audit.record(scope, "session.snapshot_downloaded", actor, target=session.id,
                           snapshot=item.id)  # fmt: skip
    return Snapshot.of(item), data


# -- notes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Notes:
    text: str
    at: float | None
    author_id: str | None


async def get_notes(ctx: Context, session: SupportSession) -> Notes:
    items = await ctx.store.scoped(session.tenant_id).list_session_items(session.id, "note", 1)
    if not items:
        return Notes("", None, None)
    item = items[-1]
    return Notes((await _open(ctx, item)).decode(), item.at, item.author_id)


async def save_notes(ctx: Context, session: SupportSession, author_id: str, text: str) -> Notes:
    """One notes document per session, replaced on every save (also after the end)."""
    body = clean_text(text, MAX_NOTES_CHARS)
    scope = ctx.store.scoped(session.tenant_id)
    existing = await scope.list_session_items(session.id, "note", 1)
    item_id = existing[-1].id if existing else None
    item = await _seal(ctx, session, "note", body.encode(), author_id, "text/plain", item_id)
    await scope.put_session_item(item)
    return Notes(body, item.at, author_id)
