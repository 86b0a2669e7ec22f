"""What the account's policy allows in one support session (no I/O).

An administrator may turn chat, snapshots and two-way audio off and ask customers for a
rating (services.account_policy). A session takes these from its account when it is
created and keeps them on its record (``tools_off``, ``rating_on``), so it runs under
the same rules from start to end, on whichever node runs it, whatever the administrator
changes meanwhile: what the customer was shown and agreed to does not change under them.
Sessions stored before there were policies have every tool on and no rating.

How each is enforced by the server:

- chat off: the room refuses chat messages (room_core);
- snapshots off: the snapshot API refuses to store one (services.content);
- two-way audio off: the relay routes no agent's voice to the customer (media.hub),
  the customer's voice still reaches the agents;
- rating off: the rating API refuses one (services.rating).

Both sides' pages learn the session's policy from :func:`view` (in every ``state``
message, the join answer and the session's API view), to leave out what is off.
"""

from __future__ import annotations

from typing import Literal

from livelens.errors import Forbidden
from livelens.store.records import SupportSession, Tenant

Tool = Literal["chat", "snapshots", "two_way_audio"]
TOOLS: tuple[Tool, ...] = ("chat", "snapshots", "two_way_audio")

REFUSALS: dict[Tool, str] = {
    "chat": "Chat is turned off by your account's policy.",
    "snapshots": "Snapshots are turned off by your account's policy.",
    "two_way_audio": "Two-way audio is turned off by your account's policy.",
}


class DisabledByPolicy(Forbidden, code="disabled_by_policy"):
    """What the account's policy turned off for this session."""


def tools_off(tenant: Tenant) -> tuple[Tool, ...]:
    """The tools the account's policy turns off for a session created now."""
    on = {"chat": tenant.chat, "snapshots": tenant.snapshots,
          "two_way_audio": tenant.two_way_audio}  # fmt: skip
    return tuple(tool for tool in TOOLS if not on[tool])


def allows(session: SupportSession, tool: Tool) -> bool:
    return tool not in session.tools_off


def require(session: SupportSession, tool: Tool) -> None:
    """Raises DisabledByPolicy (403, with the tool named) if ``tool`` is off."""
    if not allows(session, tool):
        raise DisabledByPolicy(REFUSALS[tool], tool=tool)


def view(session: SupportSession) -> dict[str, bool]:
    """The session's policy as the pages see it: each tool, and the rating, on or off."""
    shown: dict[str, bool] = {tool: allows(session, tool) for tool in TOOLS}
    shown["rating"] = session.rating_on
    return shown
