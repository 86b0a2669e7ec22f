"""The long-lived connections a signed-in user holds open, so that ending a sign-in ends
them too.

A WebSocket is authorised once, when it opens; the cookie is not asked again for each
message. So every place that ends sign-ins (signing out, signing out everywhere, a
password change or reset, disabling or deleting a user, an administrator's revocation)
calls :func:`signed_out`, which closes the sockets those sign-ins opened at once: the
console's session view stops and the user's leg of a live session (signalling and
media) goes, while the session goes on for the others.

The registry is this node's (this process's). With several nodes, :func:`signed_out`
is the one place that would also tell the others, each closing its own sockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from livelens.services.context import Context

log = logging.getLogger("livelens.signalling")


class SignedInSocket(Protocol):
    async def sign_in_ended(self) -> None:
        """Tell the page why, leave any live session, and close."""
        ...

    def send(self, text: str) -> None:
        """Queue a message to the page."""
        ...


@dataclass(frozen=True)
class Opener:
    """Who opened a socket: the user, and the sign-in (auth session id) that let them."""

    tenant_id: str
    user_id: str
    sign_in: str
    session_id: str | None = None  # the live session it is in; None: the console's feed


Presence = Literal["online", "in_session"]

_open: dict[SignedInSocket, Opener] = {}


def opened(socket: SignedInSocket, opener: Opener) -> None:
    _open[socket] = opener


def closed(socket: SignedInSocket) -> None:
    _open.pop(socket, None)


def opener_of(socket: SignedInSocket) -> Opener | None:
    return _open.get(socket)


def presence(tenant_id: str) -> dict[str, Presence]:
    """The account's users with a console or a session open on this node, by user id:
    in a session if any of their sockets is in one, else online."""
    present: dict[str, Presence] = {}
    for opener in _open.values():
        if opener.tenant_id == tenant_id:
            busy = opener.session_id is not None or present.get(opener.user_id) == "in_session"
            present[opener.user_id] = "in_session" if busy else "online"
    return present


def tell(tenant_id: str, user_ids: Iterable[str], text: str) -> int:
    """Send a console event to these users' open consoles on this node; how many got it."""
    users = set(user_ids)
    told = 0
    for socket, opener in list(_open.items()):
        if opener.tenant_id == tenant_id and opener.user_id in users and opener.session_id is None:
            socket.send(text)
            told += 1
    return told


async def end_every_sign_in(ctx: Context, tenant_id: str, user_id: str) -> int:
    """Delete all of the user's sign-ins and close the sockets they opened (a password
    reset, disabling, deleting, a second factor reset, "sign out everywhere"). Returns
    how many sign-ins ended."""
    count = await ctx.store.scoped(tenant_id).delete_user_auth_sessions(user_id)
    await signed_out(ctx, tenant_id, user_id)
    return count


async def signed_out(
    ctx: Context,
    tenant_id: str,
    user_id: str,
    *,
    sign_in: str | None = None,
    keep: str | None = None,
) -> int:
    """Close the user's sockets: those of one sign-in (``sign_in``, e.g. a logout), or
    those of every sign-in but ``keep`` (a password change keeps the browser that made
    it), or all. Returns how many were closed on this node."""
    del ctx  # the node's context: where a cluster would publish the event for the others
    ending = [
        socket
        for socket, opener in list(_open.items())
        if opener.tenant_id == tenant_id
        and opener.user_id == user_id
        and (sign_in is None or opener.sign_in == sign_in)
        and (keep is None or opener.sign_in != keep)
    ]
    for socket in ending:
        _open.pop(socket, None)
    results = await asyncio.gather(
        *(socket.sign_in_ended() for socket in ending), return_exceptions=True
    )
    for result in results:  # one socket failing to close must not keep the others open
        if isinstance(result, Exception):
            log.error("closing a signed-out socket failed", exc_info=result)
    return len(ending)
