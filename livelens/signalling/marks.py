"""The marks agents draw on the customer's picture, as the server keeps them (no I/O).

Points are normalised to the video frame (0..1 on both axes, origin top left of
the picture the customer's camera produces), so they mean the same spot on any
screen. The server keeps the current marks only so a participant who joins or
reconnects sees what the others see; pages draw, fade and pin them themselves.

Bounded on purpose: a misbehaving page can add at most ``MAX_MARKS`` marks of at
most ``MAX_POINTS`` points each; anything beyond is refused, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_MARKS = 200
MAX_POINTS = 4000
SHAPES = ("arrow", "circle")  # two points: where the drag started and where it is now

Point = tuple[float, float]


@dataclass
class Mark:
    id: str
    author: str  # participant id of the agent who draws it
    tool: str
    color: str
    points: list[Point]
    text: str = ""
    fade: float = 0.0  # seconds after it is finished; 0: pinned
    frozen: bool = False  # drawn on a frozen frame: lives until the frame is released
    ended_at: float | None = None

    def view(self) -> dict[str, object]:
        return {"id": self.id, "from": self.author, "tool": self.tool, "color": self.color,
                "pts": [list(p) for p in self.points], "text": self.text, "fade": self.fade,
                "frozen": self.frozen, "done": self.ended_at is not None}  # fmt: skip


@dataclass
class Board:
    # By (author, id): ids are chosen by each agent's page, so two agents may pick the same.
    marks: dict[tuple[str, str], Mark] = field(default_factory=dict)
    frozen: bool = False

    def start(self, author: str, mark_id: str, tool: str, color: str, points: list[Point],
              text: str, fade: float, now: float) -> bool:  # fmt: skip
        """A new mark; False (ignored) if the id is taken or the board is full."""
        self.expire(now)
        if (author, mark_id) in self.marks or len(self.marks) >= MAX_MARKS:
            return False
        pts = points[:2] if tool in SHAPES else points[:MAX_POINTS]
        mark = Mark(mark_id, author, tool, color, pts, text, fade, self.frozen)
        self.marks[author, mark_id] = mark
        return True

    def add(self, author: str, mark_id: str, points: list[Point]) -> bool:
        """More points of a stroke in progress; a shape's second point moves instead."""
        mark = self._own(author, mark_id)
        if mark is None or mark.ended_at is not None:
            return False
        if mark.tool in SHAPES:
            mark.points = [mark.points[0], points[-1]]
        elif len(mark.points) + len(points) <= MAX_POINTS:
            mark.points.extend(points)
        else:
            return False
        return True

    def end(self, author: str, mark_id: str, now: float) -> bool:
        mark = self._own(author, mark_id)
        if mark is None or mark.ended_at is not None:
            return False
        mark.ended_at = now
        return True

    def remove(self, author: str, mark_id: str) -> bool:
        """Undo: an agent takes back one of their own marks."""
        if self._own(author, mark_id) is None:
            return False
        del self.marks[author, mark_id]
        return True

    def clear(self) -> None:
        self.marks.clear()

    def freeze(self) -> None:
        self.frozen = True

    def unfreeze(self) -> None:
        """Marks drawn on the still go with it."""
        self.frozen = False
        self.marks = {k: m for k, m in self.marks.items() if not m.frozen}

    def expire(self, now: float) -> None:
        """Forget finished live marks whose fade time has passed (the pages faded them)."""
        self.marks = {
            k: m
            for k, m in self.marks.items()
            if m.frozen or m.fade == 0 or m.ended_at is None or now < m.ended_at + m.fade
        }

    def snapshot(self, now: float) -> list[dict[str, object]]:
        self.expire(now)
        return [m.view() for m in self.marks.values()]

    def _own(self, author: str, mark_id: str) -> Mark | None:
        return self.marks.get((author, mark_id))
