"""What the rules of a live session ask of the world around them (no I/O here).

:mod:`livelens.signalling.room_core` takes events in and gives these out, in order;
:mod:`livelens.services.rooms` carries them out against the sockets, the store, the
audit log and the media hub. Participants are named by their participant id (an
agent's user id, ``"customer"`` for the customer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from livelens.signalling.audience import AUDIENCES, Audience
from livelens.store.records import AuditValue, SupportSession


@dataclass(frozen=True)
class Who:
    """Whom the audit log names: an agent by e-mail and user id, the customer, or the
    system; with the address they acted from."""

    name: str
    user_id: str | None = None
    ip: str | None = None


SYSTEM = Who("system")


@dataclass(frozen=True)
class Send:
    """One message to one participant."""

    to: str
    text: str


@dataclass(frozen=True)
class Broadcast:
    """A message to everyone in the room but ``but``, each as their side may see it (an
    audience missing from ``texts`` is not sent anything)."""

    texts: Mapping[Audience, str]
    but: str | None = None


class Rendered(Mapping[Audience, str]):
    """A message for each side, rendered the first time that side's text is asked for.

    Why: a relayed message (a quality report, a mark) goes to the other side only, so
    rendering it for both sides up front encoded twice what is sent once. Only for a
    message whose inputs do not change once the effect is made (never the room's state,
    which a later effect of the same step may change)."""

    __slots__ = ("_render", "_texts")

    def __init__(self, render: Callable[[Audience], str]) -> None:
        self._render = render
        self._texts: dict[Audience, str] = {}

    def __getitem__(self, to: Audience) -> str:
        text = self._texts.get(to)
        if text is None:
            if to not in AUDIENCES:
                raise KeyError(to)
            text = self._texts[to] = self._render(to)
        return text

    def __contains__(self, to: object) -> bool:
        return to in AUDIENCES

    def __iter__(self) -> Iterator[Audience]:
        return iter(AUDIENCES)

    def __len__(self) -> int:
        return len(AUDIENCES)

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass(frozen=True)
class HangUp:
    """Close a participant's channel after what was sent to it so far."""

    to: str
    code: int
    reason: str


@dataclass(frozen=True)
class Persist:
    """Save the session record (compare-and-set on its version); the room is told the
    stored record back (:meth:`RoomCore.saved`)."""

    session: SupportSession


@dataclass(frozen=True)
class Audit:
    action: str
    who: Who
    details: Mapping[str, AuditValue] = field(default_factory=dict)


@dataclass(frozen=True)
class SendChatHistory:
    """Send the session's stored chat to a participant who (re)joined."""

    to: str


@dataclass(frozen=True)
class StoreChat:
    """Store a chat message, then give it to everyone (see :func:`room_core.chat_sent`)."""

    author: str
    role: Audience
    name: str
    text: str
    ref: str


@dataclass(frozen=True)
class ConnectMedia:
    """Answer a participant's WebRTC offer through the media hub."""

    participant: str
    role: Audience
    offer_sdp: str
    two_way_audio: bool = True  # False: no agent's voice is routed to the customer


@dataclass(frozen=True)
class DisconnectMedia:
    participant: str


@dataclass(frozen=True)
class MediaGate:
    """Open or close the relay's consent gate for the agents' legs."""

    allowed: bool


@dataclass(frozen=True)
class Finish:
    """The session is over: its media ends, every channel closes, the room goes."""


@dataclass(frozen=True)
class StartRecording:
    """Start recording the session's media (signalling.recording); the room is told
    whether it runs (:meth:`RoomCore.recording_stopped` if it could not start)."""


@dataclass(frozen=True)
class StopRecording:
    """The session ends: finish its recording (before its media ends)."""


@dataclass(frozen=True)
class NoteRecording:
    """A timed event for the recording's player ("mark", "marks_cleared", "chat",
    "freeze", "unfreeze"), at the moment it happened."""

    kind: str
    data: Mapping[str, object]


@dataclass(frozen=True)
class Alert:
    """Something the account's administrators are alerted to (the security log and its
    alert webhooks, services.alert_rules)."""

    kind: str
    details: Mapping[str, AuditValue]


Effect = (
    Send | Broadcast | HangUp | Persist | Audit | SendChatHistory | StoreChat | ConnectMedia
    | DisconnectMedia | MediaGate | Finish | StartRecording | StopRecording | NoteRecording
    | Alert
)  # fmt: skip
