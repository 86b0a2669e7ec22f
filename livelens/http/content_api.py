"""Session content and in-session tools over HTTP: snapshots, chat history, notes,
expert invitations, and the frozen still (too big for a signalling message).

Thin: each handler checks who is asking, then calls services.content / support / the
room. Agents reach a session only through support.get_for_agent (own, invited, or
any of the account for admins; 404 otherwise); customers only their own session,
through the join and device cookies.
"""

from __future__ import annotations

import tornado.web
from tornado.http1connection import HTTP1Connection

from livelens.errors import InvalidInput, NotFound
from livelens.http import views
from livelens.http.base import BaseHandler, field_str
from livelens.http.sessions_api import returning_customer
from livelens.identity.roles import Permission
from livelens.services import content, live_sockets, support
from livelens.services.audit import Actor
from livelens.services.rooms import Room
from livelens.signalling import session_policy
from livelens.signalling.messages import encode
from livelens.signalling.room_tools import Frame
from livelens.store.records import SupportSession


class _ContentHandler(BaseHandler):
    async def session(self, session_id: str) -> SupportSession:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        return await support.get_for_agent(self.ctx, principal, session_id)

    @property
    def actor(self) -> Actor:
        principal = self.require_principal()
        return Actor.of(principal.user, self.client_ip)

    def write_image(self, data: bytes, media_type: str, filename: str | None = None) -> None:
        self.set_header("Content-Type", media_type)
        self.set_header("Cache-Control", "no-store")
        if filename:
            self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.finish(data)


class _AgentHandler(_ContentHandler):
    pass


@tornado.web.stream_request_body
class _ImageUpload(_ContentHandler):
    """Image bodies may be larger than the server-wide body limit (1 MiB). The limit is
    raised for one request only, and only once the sender is known, so nobody else can
    make the server buffer megabytes."""

    _chunks: list[bytes]
    _size: int = 0

    async def prepare(self) -> None:
        await super().prepare()
        self._chunks, self._size = [], 0
        if self.request.method == "POST":
            await self.authorise_upload()
            connection = self.request.connection
            if isinstance(connection, HTTP1Connection):
                # A little over the limit, so an oversize image gets a clear 413.
                connection.set_max_body_size(content.MAX_SNAPSHOT_BYTES + 64 * 1024)

    async def authorise_upload(self) -> None:
        raise NotImplementedError

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= content.MAX_SNAPSHOT_BYTES + 1:
            self._chunks.append(chunk)

    def image(self) -> tuple[bytes, str]:
        content.check_size(self._size)
        data = b"".join(self._chunks)
        return data, content.check_image(data)


class SnapshotsHandler(_ImageUpload):
    async def authorise_upload(self) -> None:
        # Refused before the body is read where the account's policy turned them off.
        session_policy.require(await self.session(self.path_args[0]), "snapshots")

    async def post(self, session_id: str) -> None:
        session = await self.session(session_id)
        data, _ = self.image()
        marked = self.get_query_argument("marked", "0") == "1"
        snapshot = await content.add_snapshot(self.ctx, session, self.actor, data, marked=marked)
        self.write_json({"snapshot": snapshot.view(session.id)}, status=201)

    async def get(self, session_id: str) -> None:
        session = await self.session(session_id)
        snapshots = await content.list_snapshots(self.ctx, session)
        self.write_json({"snapshots": [s.view(session.id) for s in snapshots]})


class SnapshotHandler(_AgentHandler):
    async def get(self, session_id: str, snapshot_id: str) -> None:
        session = await self.session(session_id)
        shown = self.get_query_argument("inline", "") == "1"
        snapshot, data = await content.download_snapshot(self.ctx, session, snapshot_id,
                                                         self.actor, shown=shown)  # fmt: skip
        extension = "png" if snapshot.media_type == "image/png" else "jpg"
        filename = None if shown else f"snapshot-{snapshot.id[:8]}.{extension}"
        self.write_image(data, snapshot.media_type, filename)


class ChatHandler(_AgentHandler):
    async def get(self, session_id: str) -> None:
        session = await self.session(session_id)
        messages = await content.chat_history(self.ctx, session)
        self.write_json({"messages": [m.view() for m in messages]})


class NotesHandler(_AgentHandler):
    async def get(self, session_id: str) -> None:
        session = await self.session(session_id)
        self.write_json({"notes": views.notes(await content.get_notes(self.ctx, session))})

    async def put(self, session_id: str) -> None:
        session = await self.session(session_id)
        body = self.json_body()
        text = body.get("text")
        if not isinstance(text, str):
            raise InvalidInput("Field 'text' must be a string.")
        principal = self.require_principal()
        notes = await content.save_notes(self.ctx, session, principal.user.id, text)
        self.write_json({"notes": views.notes(notes)})


class ExpertsHandler(_AgentHandler):
    async def post(self, session_id: str) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        email = field_str(self.json_body(), "email")
        session, user = await support.invite_expert(self.ctx, self.rooms, principal, session_id,
                                                    email, self.client_ip)  # fmt: skip
        # Their console hears of it at once (it lists the session and can open it).
        invited = encode("invited", session_id=session.id, by=principal.user.shown_name)
        live_sockets.tell(principal.tenant.id, [user.id], invited)
        shown = views.support_session(session, await support.customer_name(self.ctx, session))
        self.write_json({"expert": {"id": user.id, "email": user.email}, "session": shown},
                        status=201)  # fmt: skip


def _frame_of(room: Room | None) -> Frame:
    if room is None or room.frame is None:
        raise NotFound("The picture is not frozen.")
    return room.frame


class AgentFrameHandler(_AgentHandler):
    async def get(self, session_id: str) -> None:
        session = await self.session(session_id)
        frame = _frame_of(self.rooms.get(session.id))
        self.write_image(frame.data, frame.media_type)


class CustomerFrameHandler(_ImageUpload):
    """The customer's page sends the still an agent asked for, and shows it back."""

    async def room(self) -> Room:
        session = await returning_customer(self)
        room = self.rooms.get(session.id)
        if room is None or room.tenant_id != session.tenant_id:
            raise NotFound("This session is not running.")
        return room

    async def authorise_upload(self) -> None:
        # Decided before the body is read (and before the body limit is raised): a
        # customer cannot make the server take in megabytes nobody asked for.
        (await self.room()).check_frame_wanted()

    async def post(self) -> None:
        room = await self.room()
        data, media_type = self.image()
        frame = await room.put_frame(data, media_type)
        self.write_json({"frame": frame.id}, status=201)

    async def get(self) -> None:
        frame = _frame_of(await self.room())
        self.write_image(frame.data, frame.media_type)
