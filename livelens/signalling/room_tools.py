"""The in-session tools' state in a room (no I/O): the marks on the picture, the frozen
still, low-bandwidth mode and the customer's camera as it reports itself.

The room core (room_core.py) decides whether a tool may be used now (only while the
customer shares the camera); this module keeps what the tools did, so that someone
who joins or reconnects sees what the others see, and renders the messages each side
gets about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from livelens.errors import Conflict
from livelens.signalling.audience import Audience, Handles
from livelens.signalling.effects import Broadcast, Effect, Rendered, Send
from livelens.signalling.marks import Board
from livelens.signalling.messages import Message, encode
from livelens.signalling.presence import Member
from livelens.store.records import new_id

MARK_TYPES = frozenset({"mark_start", "mark_add", "mark_end", "mark_remove", "marks_clear"})


@dataclass(frozen=True)
class Frame:
    """A frozen still, as the customer's page captured it. Kept in memory only while
    frozen: it is what both sides look at, not content; a snapshot is."""

    id: str
    data: bytes
    media_type: str


class Tools:
    def __init__(self, handles: Handles) -> None:
        self.handles = handles
        self.board = Board()
        self.freezing = False  # an agent asked for a still; the customer's page sends it
        self.frame: Frame | None = None
        self.low_bandwidth = False
        self.device: dict[str, object] | None = None  # the customer's camera, as reported
        self.screen: dict[str, object] | None = None  # the part of the frame it shows

    def view(self) -> dict[str, object]:
        """What the room's state message says about the tools."""
        return {
            "freezing": self.freezing,
            "frame": self.frame.id if self.frame else None,
            "low_bandwidth": self.low_bandwidth,
        }

    def catch_up(self, member: Member, now: float) -> list[Effect]:
        """The marks (and, for agents, the customer's camera) for someone (re)joining."""
        marks = [self.handles.mark(m, member.role) for m in self.board.snapshot(now)]
        effects: list[Effect] = [Send(member.id, encode("marks", items=marks))]
        if member.role == "agent" and self.device is not None:
            effects.append(Send(member.id, encode("device", **self.device)))
        if member.role == "agent" and self.screen is not None:
            effects.append(Send(member.id, encode("view", **self.screen)))
        return effects

    def mark(self, member: Member, message: Message, now: float) -> list[Effect]:
        board, mark_id = self.board, message.text("id")
        match message.type:
            case "mark_start":
                fade = message.number("fade")
                ok = board.start(member.id, mark_id, message.text("tool"), message.text("color"),
                                 message.points("pts"), message.text("text"),
                                 0.0 if fade is None else fade, now)  # fmt: skip
            case "mark_add":
                ok = board.add(member.id, mark_id, message.points("pts"))
            case "mark_end":
                ok = board.end(member.id, mark_id, now)
            case "mark_remove":
                ok = board.remove(member.id, mark_id)
            case _:
                board.clear()
                ok = True
        if not ok:
            return []
        # The others draw it; the author already has.
        return [self.relay(lambda to: encode(
            message.type, **{"from": self.handles.shown_id(member.id, to)}, **message.fields
        ), but=member.id)]  # fmt: skip

    def freeze(self) -> bool:
        """An agent asks for a still; True if that changes anything."""
        if self.frame is not None or self.freezing:
            return False
        self.freezing = True
        self.board.freeze()
        return True

    def unfreeze(self) -> bool:
        if not self.freezing and self.frame is None:
            return False
        self.freezing, self.frame = False, None
        self.board.unfreeze()
        return True

    def check_frame_wanted(self, running: bool) -> None:
        if not self.freezing or not running:
            raise Conflict("Nobody asked to freeze the picture.")

    def put_frame(self, data: bytes, media_type: str) -> Frame:
        """The still an agent asked for, from the customer's page."""
        self.frame = Frame(new_id(), data, media_type)
        self.freezing = False
        return self.frame

    def camera(self, member: Member, message: Message) -> list[Effect]:
        """A request the customer's page carries out on its own camera, if it can."""
        return [Send("customer", encode("camera", by=member.name, **message.fields))]

    def device_report(self, message: Message) -> list[Effect]:
        self.device = dict(message.fields)
        return [Broadcast({"agent": encode("device", **self.device)})]

    def screen_report(self, message: Message) -> list[Effect]:
        """The part of the frame the customer's screen shows: for the agents only."""
        if message.fields == self.screen:
            return []
        self.screen = dict(message.fields)
        return [Broadcast({"agent": encode("view", **self.screen)})]

    def quality(self, member: Member, message: Message) -> list[Effect]:
        return [self.relay(lambda to: encode(
            "quality", role=member.role, **{"from": self.handles.shown_id(member.id, to)},
            **message.fields), but=member.id)]  # fmt: skip

    @staticmethod
    def per_audience(render: Callable[[Audience], str], but: str | None = None) -> Broadcast:
        return Broadcast({"agent": render("agent"), "customer": render("customer")}, but)

    @staticmethod
    def relay(render: Callable[[Audience], str], but: str | None = None) -> Broadcast:
        """As :meth:`per_audience`, each side's text rendered only if it is sent (see
        effects.Rendered): for a message made from what the sender sent, not the room."""
        return Broadcast(Rendered(render), but)
