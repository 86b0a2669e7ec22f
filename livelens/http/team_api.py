"""The account's agents as a colleague sees them: whom to invite into a session, and
whether they are at their console now."""

from __future__ import annotations

from livelens.http.base import BaseHandler
from livelens.identity.roles import Permission, can
from livelens.services import live_sockets


class AgentsHandler(BaseHandler):
    async def get(self) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        users = await self.ctx.store.scoped(principal.tenant.id).list_users()
        present = live_sockets.presence(principal.tenant.id)
        agents = [
            {"id": u.id, "display_name": u.shown_name, "email": u.email,
             "presence": present.get(u.id, "offline"), "you": u.id == principal.user.id}
            for u in users
            if not u.disabled and can(u.role, Permission.RUN_SESSIONS)
        ]  # fmt: skip
        agents.sort(key=lambda a: (a["you"], str(a["display_name"]).lower()))
        self.write_json({"agents": agents})
