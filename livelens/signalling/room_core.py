"""The rules of one live support session, with no I/O (as str0m's ``Rtc`` is).

Events go in: a participant joined or left, a signalling message, a media leg's
state, the clock (:meth:`RoomCore.tick`), and commands from outside the room (the
customer bound a device through the join API, an expert was invited, the waiting
session was given a new link). Effects come out, in order (effects.py): messages to
one participant or to everyone as their side may see it, the session record to
persist, audit entries, media to connect or disconnect, the consent gate, the end.
:meth:`RoomCore.next_deadline` says when the clock must be looked at next. The shell
(services/rooms.py) feeds the events one at a time, ticking first, and carries the
effects out before the next event.

Every change to the session record is made here and leaves as one ``Persist``: the
room is the one writer of its record, so nothing it saves can overwrite a change made
elsewhere unseen (and the store's compare-and-set catches any writer that is not it).

The account's policy, fixed on the record when the session was created
(session_policy.py), is enforced here too: chat refused when off, no agent voice routed
to the customer when two-way audio is off (``ConnectMedia``); every ``state`` tells
both sides the session's policy, and the customer's ``ended`` invites a rating (``rate``)
where the account asked for one. A recorded session (recording.py) starts its recording
when it goes live with the customer's agreement, notes marks, chat and freezes while it
runs, and stops it as it ends; every ``state`` shows both sides whether it runs.

The life of a session (the presence rules themselves are in presence.py):

- *waiting* ends only at the join deadline (outcome ``expired``; a new link moves it)
  or when an agent cancels it (``end``); agents coming and going change nothing.
- Once joined, the session continues while the customer and at least one agent are
  present, and ends as ``dropped`` when the customer, or every agent, has been gone
  for the rejoin grace.
- An expert may *leave* (``leave``): they go, the session goes on. *End for everyone*
  (``end``) is the owner's, or an expert's, or the customer's; the record keeps who
  (role, user id and display name) and every side is told who it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from livelens.errors import Conflict, NotFound
from livelens.signalling import audience, recording, session_policy, state
from livelens.signalling.audience import Audience, Handles
from livelens.signalling.effects import (
    SYSTEM,
    Audit,
    Broadcast,
    ConnectMedia,
    DisconnectMedia,
    Effect,
    Finish,
    HangUp,
    MediaGate,
    Persist,
    Send,
    SendChatHistory,
    StoreChat,
    Who,
)
from livelens.signalling.messages import Message, encode
from livelens.signalling.presence import RUNNING, Kind, Member, Presence
from livelens.signalling.room_tools import MARK_TYPES, Frame, Tools
from livelens.store.records import Outcome, SupportSession

MAX_EXPERTS = 4
LEFT = 1000  # the close code of a channel whose participant left


class NotWaiting(Conflict, code="not_waiting"):
    """A new link was asked for a session whose customer has already joined."""


class StaleCredential(NotFound, code="not_found"):  # answers as any wrong link does
    """The join token or PIN a customer presented was replaced by a new link after it
    found the session (and before the room bound the device)."""


class RoomCore:
    def __init__(self, session: SupportSession, grace: float, now: float) -> None:
        self.session = session
        self.grace = grace  # seconds a side may be gone before the session is dropped
        self.presence = Presence(now)
        self.handles = Handles()  # what the customer sees instead of agents' user ids
        self.tools = Tools(self.handles)
        # Why the customer's camera cannot reach the agents, as their page reported it
        # (messages.MEDIA_PROBLEMS); cleared once the customer's media connects.
        self.media_problem: str | None = None
        self.recording = recording.RoomRecording()  # the session's recording, if it has one

    @property
    def over(self) -> bool:
        return self.session.status == "ended"

    @property
    def frame(self) -> Frame | None:
        return self.tools.frame

    # -- the clock -------------------------------------------------------------------

    def tick(self, now: float) -> list[Effect]:
        """End the session if one of its deadlines has passed."""
        if self.over:
            return []
        if state.is_expired(self.session, now):
            return self._end(None, "expired", now)
        deadline = self._drop_deadline()
        if deadline is not None and now >= deadline:
            return self._end(None, "dropped", now)
        return []

    def next_deadline(self) -> float | None:
        if self.over:
            return None
        if self.session.status == "waiting":
            return self.session.join_expires_at
        return self._drop_deadline()

    def _drop_deadline(self) -> float | None:
        return self.presence.drop_deadline(self.session.status, self.session.joined_at, self.grace)

    # -- participants ----------------------------------------------------------------

    def kind_of(self, member_id: str, role: Audience) -> Kind:
        if role == "customer":
            return "customer"
        return "owner" if member_id == self.session.agent_id else "expert"

    def joined(self, member_id: str, role: Audience, name: str, who: Who,
               now: float) -> list[Effect]:  # fmt: skip
        """A participant's channel opened (or replaced their previous one)."""
        if self.over:
            raise state.ended_error(self.session)
        member = Member(member_id, self.kind_of(member_id, role), name, who)
        self.presence.enter(member)
        effects: list[Effect] = [self._state()]
        if self.session.status in RUNNING:
            effects.append(SendChatHistory(member.id))
        return effects + self.tools.catch_up(member, now)

    def left(self, member_id: str, now: float, *, drop_media: bool = False) -> list[Effect]:
        """A participant's channel closed (``drop_media``: and their media leg must go,
        as when their sign-in ended). They may come back within the grace."""
        if self.presence.leave(member_id, now) is None or self.over:
            return []
        effects: list[Effect] = [DisconnectMedia(member_id)] if drop_media else []
        return [*effects, self._state()]

    def media_state(self, member_id: str, media: str, now: float) -> list[Effect]:
        if self.over:
            return []
        member = self.presence.members.get(member_id)
        if member is not None:
            member.media = media
            if media == "connected" and member.role == "customer":
                self.media_problem = None
        effects: list[Effect] = []
        if media == "connected" and self.session.status == "consented" and self._both_connected():
            effects += self._record(state.apply(self.session, state.MediaConnected(now)))
        if media == "connected":  # live with the customer's agreement: record it
            effects += self.recording.start(self.session)
        return [*effects, self._state()]

    def _both_connected(self) -> bool:
        roles = {m.role for m in self.presence.members.values() if m.media == "connected"}
        return roles == {"agent", "customer"}

    # -- commands from outside the room ------------------------------------------------

    def bind_customer(self, device_hash: str, credential: str, who: Who,
                      now: float) -> list[Effect]:  # fmt: skip
        """The customer opened the link or typed the PIN (the join API; ``credential``:
        the keyed hash of what they presented): bind the session to their device, or
        recognise it again. Raises SessionEnded (with the outcome in its details),
        StaleCredential (a new link replaced theirs) or DeviceMismatch."""
        if self.over:
            raise state.ended_error(self.session, customer=True)
        if credential not in (self.session.join_token_hash, self.session.pin_hash):
            raise StaleCredential("The link or PIN was replaced by a new one.")
        updated = state.apply(self.session, state.CustomerJoined(device_hash, now))
        if updated == self.session:
            return []  # the same device again
        return [*self._record(updated), Audit("session.customer_joined", who), self._state()]

    def invite_expert(self, user_id: str, label: str, who: Who) -> list[Effect]:
        """Give another agent the rights to this session (``label``: for the audit log).
        Inviting someone twice, or the owner, changes nothing."""
        if self.over:
            raise state.ended_error(self.session)
        if user_id == self.session.agent_id or user_id in self.session.experts:
            return []
        if len(self.session.experts) >= MAX_EXPERTS:
            raise Conflict(f"A session can have at most {MAX_EXPERTS} invited experts.")
        updated = replace(self.session, experts=(*self.session.experts, user_id))
        return [*self._record(updated), Audit("session.expert_invited", who, {"expert": label})]

    def renew_link(self, token_hash: str, pin_hash: str | None, expires_at: float,
                   who: Who) -> list[Effect]:  # fmt: skip
        """A new join link and PIN (their keyed hashes) for a session that still waits
        for its customer, usable until ``expires_at``: from this change on, the old link
        and PIN find nothing (no PIN: the account's policy gives none). Raises
        SessionEnded or NotWaiting."""
        if self.over:
            raise state.ended_error(self.session)
        if self.session.status != "waiting":
            raise NotWaiting(
                "The customer has already joined this session: a new link is only for a "
                "session that is still waiting for its customer.",
                session_status=self.session.status,
            )
        updated = replace(self.session, join_token_hash=token_hash, pin_hash=pin_hash,
                          join_expires_at=expires_at)  # fmt: skip
        audited = Audit("session.link_renewed", who, {"join_expires_at": expires_at})
        return [*self._record(updated), audited, self._state()]

    def recording_stopped(self, why: recording.Stop) -> list[Effect]:
        """The session's recording stopped on its own or could not start: both sides
        are told; the session goes on."""
        stopped = self.recording.stopped(self.session, why)
        return [*stopped, self._state()] if stopped and not self.over else stopped

    def saved(self, stored: SupportSession) -> None:
        """The store took the record and gave it back (with its new version)."""
        self.session = stored

    def adopt(self, record: SupportSession) -> list[Effect]:
        """A record newer than ours (our save lost to another writer), merged with our
        change (state.merge): go on from it."""
        was_over, self.session = self.over, record
        return self._closing() if self.over and not was_over else [self._state()]

    # -- messages ----------------------------------------------------------------------

    def message(self, member_id: str, message: Message, now: float) -> list[Effect]:
        """A validated signalling message from a participant; raises LiveLensError for
        one that is not allowed now (the sender gets it as an error)."""
        member = self.presence.members.get(member_id)
        if member is None:
            return []  # no longer in the room
        match message.type:
            case "ping":
                return [Send(member.id, encode("pong"))]
            case "offer":
                return self._offer(member, message.text("sdp"))
            case "consent":
                return self._consent(member, message.flag("accept"), message.texts("scopes"), now)
            case "media_state":
                member.muted, member.video = message.flag("muted"), message.flag("video", True)
                return [self._state()]
            case "end":
                return self._end(member, "completed", now)
            case "leave":
                return self._leave(member, now)
            case "chat":
                session_policy.require(self.session, "chat")
                if self.session.status not in RUNNING:
                    raise Conflict("Chat is open only while the session runs.")
                text = message.text("text")
                noted = self.recording.note("chat", {"role": member.role, "name": member.name,
                                                     "text": text})  # fmt: skip
                return [StoreChat(member.id, member.role, member.name, text,
                                  message.text("ref")), *noted]  # fmt: skip
            case "chat_ack":
                ack = encode("chat_ack", ids=list(message.texts("ids")), by=member.role)
                return [Broadcast({"agent": ack, "customer": ack}, but=member.id)]
            case kind if kind in MARK_TYPES:
                self._require_media("draw")
                drawn = self.tools.mark(member, message, now)
                return drawn + self._note_mark(member, message) if drawn else []
            case "freeze":
                self._require_media("freeze the picture")
                return self._frozen("freeze") if self.tools.freeze() else []
            case "unfreeze":
                return self._frozen("unfreeze") if self.tools.unfreeze() else []
            case "camera":
                self._require_media("control the camera")
                return self.tools.camera(member, message)
            case "low_bandwidth":
                self.tools.low_bandwidth = message.flag("on")
                return [self._state()]
            case "device":
                return self.tools.device_report(message)
            case "view":
                return self.tools.screen_report(message)
            case "media_problem":
                return self._media_problem(member, message.text("reason"))
            case "quality":
                return self.tools.quality(member, message)
        return []

    def _offer(self, member: Member, sdp: str) -> list[Effect]:
        if member.role == "customer" and not state.media_allowed(self.session):
            raise Conflict("Consent is needed before the camera can be shared.")
        if self.over:
            raise state.ended_error(self.session)
        # Two-way audio off: the relay routes no agent's voice to the customer.
        two_way = session_policy.allows(self.session, "two_way_audio")
        return [ConnectMedia(member.id, member.role, sdp, two_way_audio=two_way)]

    def _consent(self, member: Member, accept: bool, scopes: tuple[str, ...],
                 now: float) -> list[Effect]:  # fmt: skip
        if not accept:
            declined = state.apply(self.session, state.ConsentDeclined(now))
            return [*self._record(declined), Audit("session.consent_declined", member.who),
                    *self._closing()]  # fmt: skip
        scopes = scopes or recording.default_scopes(self.session)
        given = state.apply(self.session, state.ConsentGiven(scopes, now))
        if given == self.session:
            return []  # agreed again (a page that came back): nothing changes
        scopes_text = ",".join(given.consent_scopes)
        # The agent asked for a recording and the customer said no: they still get help.
        refused = recording.declined(given)
        no_recording = [Audit("session.recording_declined", member.who)] if refused else []
        return [*self._record(given), Audit("session.consent_given", member.who,
                                            {"scopes": scopes_text}), *no_recording,
                MediaGate(True), self._state()]  # fmt: skip

    def _media_problem(self, member: Member, reason: str) -> list[Effect]:
        """The customer's page cannot send its camera: the agents' state says why."""
        if self.over or reason == self.media_problem:
            return []
        self.media_problem = reason
        return [Audit("session.media_problem", member.who, {"reason": reason}), self._state()]

    def _leave(self, member: Member, now: float) -> list[Effect]:
        """An expert (or the owner) leaves; the session goes on for the others, under
        the same rules as if their connection had dropped."""
        self.presence.leave(member.id, now)
        return [DisconnectMedia(member.id), Audit("session.left", member.who),
                Send(member.id, encode("left")), HangUp(member.id, LEFT, "left the session"),
                self._state()]  # fmt: skip

    def _frozen(self, kind: str) -> list[Effect]:
        """The picture froze or unfroze: both sides see it, the recording notes it."""
        return [self._state(), *self.recording.note(kind, {})]

    def _note_mark(self, member: Member, message: Message) -> list[Effect]:
        """A mark drawn, changed or taken away, for the recording's player (as the
        agents' consoles get it); clearing them all is one event."""
        if message.type == "marks_clear":
            return self.recording.note("marks_cleared", {"from": member.id})
        return self.recording.note("mark", {"type": message.type, "from": member.id,
                                            **message.fields})  # fmt: skip

    def _require_media(self, action: str) -> None:
        if not state.media_allowed(self.session):
            raise Conflict(f"You can {action} only while the customer shares the camera.")

    # -- the frozen still --------------------------------------------------------------

    def check_frame_wanted(self) -> None:
        self.tools.check_frame_wanted(not self.over)

    def put_frame(self, data: bytes, media_type: str) -> tuple[Frame, list[Effect]]:
        """The customer's page sends the still an agent asked for."""
        self.check_frame_wanted()
        frame = self.tools.put_frame(data, media_type)
        return frame, [self._state()]

    # -- ending ------------------------------------------------------------------------

    def _end(self, by: Member | None, outcome: Outcome, now: float) -> list[Effect]:
        if self.over:
            return []  # ending twice is harmless: two sides may press "end" together
        was = self.session.status
        if by is None:
            event, who = state.Ended("system", outcome, now), SYSTEM
        elif by.role == "customer":
            event, who = state.Ended("customer", outcome, now), by.who
        else:
            event, who = state.Ended("agent", outcome, now, by.id, by.name), by.who
        effects = self._record(state.apply(self.session, event))
        if was in ("consented", "live") and event.by == "customer":
            effects.append(Audit("session.consent_withdrawn", who))
        effects.append(Audit("session.ended", who, {"outcome": outcome, "by": event.by}))
        return effects + self._closing()

    def _closing(self) -> list[Effect]:
        """Tell everyone who ended it (the customer by name only), then close."""
        s = self.session
        told = {"outcome": s.outcome, "by": s.ended_by, "by_name": s.ended_by_name}
        # A customer who joined is invited to rate it, where the account asks for that.
        rate = {"rate": True} if s.rating_on and s.customer_device_hash else {}
        texts: dict[Audience, str] = {
            "agent": encode("ended", **told, by_id=s.ended_by_user_id),
            "customer": encode("ended", **told, **rate),
        }
        # The recording is closed before anyone is told, so that it is there when they are.
        return [MediaGate(False), *self.recording.stop(), Broadcast(texts), Finish()]

    # -- helpers -----------------------------------------------------------------------

    def _record(self, updated: SupportSession) -> list[Effect]:
        if updated == self.session:
            return []
        self.session = updated
        return [Persist(updated)]

    def snapshot(self, to: Audience = "agent") -> dict[str, object]:
        link = {"join_expires_at": self.session.join_expires_at} if to == "agent" else {}
        problem = {"media_problem": self.media_problem} if to == "agent" else {}
        return {
            "session_id": self.session.id,
            "status": self.session.status,
            "outcome": self.session.outcome,
            **link,  # agents see when the link runs out (a new link moves it)
            **problem,  # and why the customer's camera cannot reach them, if it cannot
            "policy": session_policy.view(self.session),  # what the pages leave out
            "recording": self.recording.view(self.session),  # the indicator, on both sides
            "participants": [
                {"id": self.handles.shown_id(m.id, to), "role": m.role, "name": m.name,
                 "media": m.media, "muted": m.muted, "video": m.video,
                 "expert": m.kind == "expert", "owner": m.kind == "owner"}
                for m in self.presence.in_order()
            ],
            **self.tools.view(),
        }  # fmt: skip

    def _state(self) -> Broadcast:
        return Tools.per_audience(lambda to: encode("state", **self.snapshot(to)))


def chat_sent(ref: str, view: Mapping[str, object]) -> Broadcast:
    """A stored chat message, for everyone (the sender's copy is their "sent")."""
    return Tools.relay(lambda to: encode("chat", ref=ref, **audience.chat(view, to)))
