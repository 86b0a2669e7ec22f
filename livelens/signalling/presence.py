"""Who is in a live session, and when their absence ends it (no I/O).

The life rules this module holds (the room core applies them, see room_core.py):

- While the session is *waiting* for its customer, nobody's presence matters: an
  agent who leaves, reloads or looks at another tab ends nothing. Only the join
  deadline (or an agent cancelling) ends a waiting session.
- Once the customer has joined (*joined*, *consented*, *live*), the session continues
  while the customer and at least one agent (the owner or an invited expert) are
  present. It ends as *dropped* when the customer, or every agent, has been gone for
  the rejoin grace. A side that was gone before the customer joined counts as gone
  from the join on, so an agent who was away while waiting gets the whole grace.
- An expert who leaves is one agent fewer; the owner leaving while an expert stays
  is the same: the session goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from livelens.signalling.audience import Audience
from livelens.signalling.effects import Who
from livelens.store.records import SessionStatus

Kind = Literal["owner", "expert", "customer"]
Side = Literal["customer", "agents"]
RUNNING: tuple[SessionStatus, ...] = ("joined", "consented", "live")


@dataclass
class Member:
    """A participant in the room, as the rules see them (their channel is the shell's)."""

    id: str  # the agent's user id; "customer" for the customer
    kind: Kind
    name: str  # what the others see: a display name, never an e-mail address
    who: Who  # whom the audit log names for what they do
    media: str = "new"  # their media leg: new, connecting, connected, failed, closed
    muted: bool = False
    video: bool = True

    @property
    def role(self) -> Audience:
        return "customer" if self.kind == "customer" else "agent"

    @property
    def side(self) -> Side:
        return "customer" if self.kind == "customer" else "agents"


class Presence:
    """The members present now, and since when each side has had nobody present."""

    def __init__(self, now: float) -> None:
        self.members: dict[str, Member] = {}
        # A room starts empty: both sides are gone from its start (see drop_deadline).
        self._gone_since: dict[Side, float | None] = {"customer": now, "agents": now}

    def enter(self, member: Member) -> bool:
        """Add (or, reconnecting, replace) a member; True if they were not present."""
        new = member.id not in self.members
        self.members[member.id] = member
        self._gone_since[member.side] = None
        return new

    def leave(self, member_id: str, now: float) -> Member | None:
        """Take a member out; the member, or None if they were not present."""
        member = self.members.pop(member_id, None)
        if member is not None and not self.on(member.side):
            self._gone_since[member.side] = now
        return member

    def in_order(self) -> list[Member]:
        """The members as every list shows them: the owner, experts in the order they
        came, then the customer (so the list does not reshuffle as channels connect)."""
        rank = {"owner": 0, "expert": 1, "customer": 2}
        return sorted(self.members.values(), key=lambda m: rank[m.kind])

    def on(self, side: Side) -> bool:
        return any(m.side == side for m in self.members.values())

    def gone_since(self, side: Side) -> float | None:
        return self._gone_since[side]

    def drop_deadline(
        self, status: SessionStatus, joined_at: float | None, grace: float
    ) -> float | None:
        """When the session ends as dropped if nobody comes back: the earliest of the
        absent sides' deadlines; None while waiting, over, or with both sides present."""
        if status not in RUNNING:
            return None
        deadlines = [
            max(since, joined_at if joined_at is not None else since) + grace
            for since in self._gone_since.values()
            if since is not None
        ]
        return min(deadlines, default=None)
