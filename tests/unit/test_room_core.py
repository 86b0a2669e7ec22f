"""The rules of a live session (signalling/room_core.py), with no server, socket or media:
events in, effects out."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from livelens.errors import Conflict
from livelens.signalling import state
from livelens.signalling.effects import (
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
    StoreChat,
    Who,
)
from livelens.signalling.messages import parse
from livelens.signalling.room_core import MAX_EXPERTS, NotWaiting, RoomCore, StaleCredential
from livelens.store.records import SupportSession

T0 = 10_000.0
GRACE = 60.0
OWNER, EXPERT, OTHER, CUSTOMER = "owner-id", "expert-id", "other-id", "customer"


def waiting() -> SupportSession:
    return SupportSession(
        id="s1", tenant_id="t1", agent_id=OWNER, created_at=T0, join_expires_at=T0 + 900,
        join_token_hash="tok", pin_hash="pin", experts=(EXPERT, OTHER),
    )  # fmt: skip


class Room:
    """A core and what it said, for the tests."""

    def __init__(self, session: SupportSession | None = None, now: float = T0) -> None:
        self.core = RoomCore(session or waiting(), GRACE, now)
        self.now = now

    def at(self, now: float) -> Room:
        self.now = now
        return self

    def join(self, member_id: str) -> list[Effect]:
        role = "customer" if member_id == CUSTOMER else "agent"
        name = {OWNER: "Olga", EXPERT: "Eric", OTHER: "Otto", CUSTOMER: "Customer"}[member_id]
        return self.core.joined(member_id, role, name, Who(name, None, "192.0.2.1"), self.now)

    def leave(self, member_id: str) -> list[Effect]:
        return self.core.left(member_id, self.now)

    def send(self, member_id: str, kind: str, **fields: object) -> list[Effect]:
        role = "customer" if member_id == CUSTOMER else "agent"
        message = parse(json.dumps({"v": 1, "type": kind, **fields}), role)
        return self.core.message(member_id, message, self.now)

    def tick(self, now: float) -> list[Effect]:
        self.now = now
        return self.core.tick(now)

    def bind(self, device: str = "dev", credential: str | None = None) -> list[Effect]:
        """The customer presents ``credential`` (a keyed hash; the current link's by
        default) from ``device``."""
        presented = credential or self.session.join_token_hash
        return self.core.bind_customer(device, presented, Who("customer"), self.now)

    @property
    def session(self) -> SupportSession:
        return self.core.session


def live_room(*present: str, session: SupportSession | None = None) -> Room:
    """``session`` (default: waiting()) joined, consented and live at T0 + 3, with
    ``present`` in the room."""
    room = Room(session)
    room.join(OWNER)
    room.at(T0 + 1).bind()
    room.join(CUSTOMER)
    room.at(T0 + 2).send(CUSTOMER, "consent", accept=True)
    room.core.media_state(CUSTOMER, "connected", T0 + 3)
    room.core.media_state(OWNER, "connected", T0 + 3)
    assert room.session.status == "live"
    for member in (OWNER, CUSTOMER):
        if member not in present:
            room.leave(member)
    for member in present:
        if member not in (OWNER, CUSTOMER):
            room.join(member)
    return room.at(T0 + 3)


def finished(effects: list[Effect]) -> bool:
    return any(isinstance(e, Finish) for e in effects)


def persisted(effects: list[Effect]) -> list[SupportSession]:
    return [e.session for e in effects if isinstance(e, Persist)]


def told(effects: list[Effect], kind: str) -> dict[str, dict[str, Any]]:
    """What each audience was sent of message ``kind`` (broadcasts)."""
    seen: dict[str, dict[str, Any]] = {}
    for effect in effects:
        if isinstance(effect, Broadcast):
            for audience, text in effect.texts.items():
                message = json.loads(text)
                if message["type"] == kind:
                    seen[audience] = message
    return seen


# -- waiting: only the join deadline, or an agent cancelling, ends it ----------------------


def test_an_agent_leaving_or_reloading_while_waiting_ends_nothing() -> None:
    room = Room()
    room.join(OWNER)
    room.at(T0 + 5).leave(OWNER)
    assert room.core.next_deadline() == T0 + 900  # only the join deadline
    assert room.tick(T0 + 5 + 2 * GRACE) == []
    room.at(T0 + 300).join(OWNER)  # reloaded
    room.at(T0 + 301).leave(OWNER)  # looked at another tab
    assert room.tick(T0 + 899) == []
    assert room.bind() and room.session.status == "joined"  # the customer still gets in


def test_a_waiting_session_ends_at_its_join_deadline_as_expired() -> None:
    room = Room()
    room.join(OWNER)
    assert room.tick(T0 + 899.9) == []
    effects = room.tick(T0 + 900)
    assert finished(effects)
    [saved] = persisted(effects)
    assert (saved.outcome, saved.ended_by, saved.ended_by_user_id) == ("expired", "system", None)
    assert told(effects, "ended")["agent"]["by"] == "system"
    with pytest.raises(state.SessionEnded) as refused:
        room.bind()
    assert refused.value.details["outcome"] == "expired"


def test_an_agent_cancels_a_waiting_session() -> None:
    room = Room()
    room.join(OWNER)
    effects = room.send(OWNER, "end")
    assert finished(effects)
    assert (room.session.outcome, room.session.ended_by_user_id) == ("completed", OWNER)


# -- joined, consented, live: the customer and at least one agent ----------------------------


def test_a_live_session_goes_on_while_the_customer_and_an_agent_are_present() -> None:
    room = live_room(OWNER, CUSTOMER)
    assert room.core.next_deadline() is None
    assert room.tick(T0 + 100_000) == []


def test_the_customer_gone_past_the_grace_drops_it() -> None:
    room = live_room(OWNER, CUSTOMER)
    room.at(T0 + 10).leave(CUSTOMER)
    assert room.core.next_deadline() == T0 + 10 + GRACE
    assert room.tick(T0 + 10 + GRACE - 0.1) == []
    effects = room.tick(T0 + 10 + GRACE)
    assert finished(effects) and room.session.outcome == "dropped"
    assert room.session.ended_by == "system"
    assert told(effects, "ended")["agent"]["outcome"] == "dropped"


def test_a_customer_back_within_the_grace_keeps_it() -> None:
    room = live_room(OWNER, CUSTOMER)
    room.at(T0 + 10).leave(CUSTOMER)
    room.at(T0 + 10 + GRACE - 1).join(CUSTOMER)
    assert room.core.next_deadline() is None
    assert room.tick(T0 + 10 + 5 * GRACE) == []


def test_the_owner_leaving_while_an_expert_stays_ends_nothing() -> None:
    room = live_room(OWNER, CUSTOMER, EXPERT)
    room.at(T0 + 10).leave(OWNER)
    assert room.core.next_deadline() is None
    assert room.tick(T0 + 10 + 5 * GRACE) == []
    assert room.session.status == "live"


def test_every_agent_gone_past_the_grace_drops_it() -> None:
    room = live_room(OWNER, CUSTOMER, EXPERT)
    room.at(T0 + 10).leave(OWNER)
    room.at(T0 + 20).leave(EXPERT)  # the grace runs from the last agent's going
    assert room.core.next_deadline() == T0 + 20 + GRACE
    assert room.tick(T0 + 10 + GRACE) == []
    assert finished(room.tick(T0 + 20 + GRACE))
    assert room.session.outcome == "dropped"


def test_any_agent_coming_back_keeps_it() -> None:
    room = live_room(OWNER, CUSTOMER)
    room.at(T0 + 10).leave(OWNER)
    room.at(T0 + 30).join(EXPERT)  # an expert, not the owner
    assert room.tick(T0 + 10 + 5 * GRACE) == []


def test_an_agent_away_while_waiting_gets_the_whole_grace_from_the_join() -> None:
    room = Room()
    room.join(OWNER)
    room.at(T0 + 5).leave(OWNER)
    room.at(T0 + 600).bind()  # ten minutes later, nobody in the room
    room.join(CUSTOMER)
    assert room.core.next_deadline() == T0 + 600 + GRACE
    assert room.tick(T0 + 600 + GRACE - 1) == []
    room.join(OWNER)
    assert room.tick(T0 + 600 + 5 * GRACE) == []


def test_a_customer_who_joined_but_never_connected_is_gone_from_the_join() -> None:
    room = Room()
    room.join(OWNER)
    room.at(T0 + 50).bind()
    assert room.core.next_deadline() == T0 + 50 + GRACE
    assert finished(room.tick(T0 + 50 + GRACE))


def test_a_room_opened_for_a_running_session_gives_both_sides_the_grace() -> None:
    """After a restart nobody is in the room yet: they have the grace to come back."""
    session = replace(waiting(), status="live", joined_at=T0, consent_at=T0, live_at=T0)
    room = Room(session, now=T0 + 5000)
    assert room.core.next_deadline() == T0 + 5000 + GRACE


# -- leave and end --------------------------------------------------------------------------


def test_an_expert_leaves_and_the_session_goes_on() -> None:
    room = live_room(OWNER, CUSTOMER, EXPERT)
    effects = room.send(EXPERT, "leave")
    assert DisconnectMedia(EXPERT) in effects
    assert Send(EXPERT, json.dumps({"v": 1, "type": "left"})) in effects
    assert HangUp(EXPERT, 1000, "left the session") in effects
    assert not finished(effects) and persisted(effects) == []
    state_now = told(effects, "state")
    assert [p["name"] for p in state_now["customer"]["participants"]] == ["Olga", "Customer"]
    assert room.tick(T0 + 5 * GRACE) == []
    assert room.session.status == "live"


def test_the_last_agent_leaving_gives_the_grace_as_a_drop_does() -> None:
    room = live_room(CUSTOMER, EXPERT)  # the owner went
    room.at(T0 + 10).send(EXPERT, "leave")
    assert room.core.next_deadline() == T0 + 10 + GRACE


def test_end_for_everyone_by_the_owner_names_them_for_every_side() -> None:
    room = live_room(OWNER, CUSTOMER, EXPERT)
    effects = room.send(OWNER, "end")
    assert finished(effects) and MediaGate(False) in effects
    [saved] = persisted(effects)
    assert (saved.ended_by, saved.ended_by_user_id, saved.ended_by_name) == ("agent", OWNER, "Olga")
    ended = told(effects, "ended")
    assert ended["agent"]["by_id"] == OWNER and ended["agent"]["by_name"] == "Olga"
    assert ended["customer"] == {"v": 1, "type": "ended", "outcome": "completed",
                                 "by": "agent", "by_name": "Olga"}  # fmt: skip


def test_an_expert_may_end_for_everyone_and_is_named_not_the_owner() -> None:
    room = live_room(CUSTOMER, EXPERT)
    room.send(EXPERT, "end")
    s = room.session
    assert (s.status, s.ended_by, s.ended_by_user_id, s.ended_by_name) == (
        "ended", "agent", EXPERT, "Eric")  # fmt: skip


def test_the_customer_ending_withdraws_consent_and_is_named_as_the_customer() -> None:
    room = live_room(OWNER, CUSTOMER)
    effects = room.send(CUSTOMER, "end")
    actions = [e.action for e in effects if isinstance(e, Audit)]
    assert actions == ["session.consent_withdrawn", "session.ended"]
    assert (room.session.ended_by, room.session.ended_by_name) == ("customer", None)
    assert told(effects, "ended")["customer"]["by"] == "customer"


def test_ending_twice_is_harmless_and_nothing_joins_an_ended_session() -> None:
    room = live_room(OWNER, CUSTOMER)
    room.send(CUSTOMER, "end")
    assert room.send(OWNER, "end") == []
    assert room.tick(T0 + 10_000) == [] and room.core.next_deadline() is None
    with pytest.raises(state.SessionEnded):
        room.join(OWNER)


def test_only_agents_may_leave() -> None:
    with pytest.raises(Exception, match="may not send 'leave'"):
        parse('{"v": 1, "type": "leave"}', "customer")


# -- commands from outside the room -----------------------------------------------------------


def test_binding_the_customer_is_one_change_and_the_device_is_kept() -> None:
    room = Room()
    first = room.bind("phone")
    assert [s.status for s in persisted(first)] == ["joined"]
    assert [e.action for e in first if isinstance(e, Audit)] == ["session.customer_joined"]
    assert room.bind("phone") == []  # the same device again
    with pytest.raises(state.DeviceMismatch):
        room.bind("laptop")


def test_the_link_or_the_pin_binds_the_customer() -> None:
    by_pin = Room()
    assert persisted(by_pin.bind("phone", credential="pin"))
    with pytest.raises(StaleCredential):
        Room().bind("phone", credential="not-the-link")


def test_a_new_link_replaces_the_old_one_and_starts_the_join_window_again() -> None:
    room = Room()
    room.join(OWNER)
    olga = Who("Olga", OWNER, "192.0.2.1")
    effects = room.at(T0 + 800).core.renew_link("tok2", "pin2", T0 + 1700, olga)
    [saved] = persisted(effects)
    assert (saved.join_token_hash, saved.pin_hash, saved.join_expires_at) == (
        "tok2", "pin2", T0 + 1700)  # fmt: skip
    assert saved.status == "waiting"
    [audited] = [e for e in effects if isinstance(e, Audit)]
    assert (audited.action, audited.who, audited.details) == (
        "session.link_renewed", olga, {"join_expires_at": T0 + 1700})  # fmt: skip
    # Agents in the room see when the new link runs out; the customer is told nothing of it.
    shown = told(effects, "state")
    assert shown["agent"]["join_expires_at"] == T0 + 1700
    assert "join_expires_at" not in shown["customer"]

    assert room.core.next_deadline() == T0 + 1700
    assert room.tick(T0 + 900) == []  # the old deadline ends nothing
    with pytest.raises(StaleCredential):
        room.bind("phone", credential="tok")  # the old link
    with pytest.raises(StaleCredential):
        room.bind("phone", credential="pin")  # the old PIN
    assert room.session.status == "waiting"
    assert finished(room.tick(T0 + 1700))
    assert room.session.outcome == "expired"


def test_either_part_of_a_new_link_binds_the_customer() -> None:
    for credential in ("tok2", "pin2"):
        room = Room()
        room.core.renew_link("tok2", "pin2", T0 + 1700, Who("Olga"))
        [joined] = persisted(room.at(T0 + 1000).bind("phone", credential=credential))
        assert (joined.status, joined.customer_device_hash) == ("joined", "phone")


def test_a_new_link_is_only_for_a_session_still_waiting() -> None:
    joined = Room()
    joined.bind()
    with pytest.raises(NotWaiting) as refused:
        joined.core.renew_link("tok2", "pin2", T0 + 1700, Who("Olga"))
    assert (refused.value.status, refused.value.code) == (409, "not_waiting")
    assert joined.session.join_token_hash == "tok"

    expired = Room()
    expired.tick(T0 + 900)
    with pytest.raises(state.SessionEnded) as ended:
        expired.core.renew_link("tok2", "pin2", T0 + 1800, Who("Olga"))
    assert ended.value.details["outcome"] == "expired"

    cancelled = Room()
    cancelled.join(OWNER)
    cancelled.send(OWNER, "end")
    with pytest.raises(state.SessionEnded):
        cancelled.core.renew_link("tok2", "pin2", T0 + 1700, Who("Olga"))
    assert cancelled.session.join_token_hash == "tok"


def test_inviting_experts_keeps_every_invitation() -> None:
    room = live_room(OWNER, CUSTOMER)
    room.core.session = replace(room.session, experts=())
    names = [f"x{n}" for n in range(MAX_EXPERTS)]
    for name in names:
        assert persisted(room.core.invite_expert(name, f"{name}@acme.test", Who("olga")))
    assert room.core.invite_expert("x0", "x0@acme.test", Who("olga")) == []
    assert room.core.invite_expert(OWNER, "olga@acme.test", Who("olga")) == []
    with pytest.raises(Conflict, match="at most"):
        room.core.invite_expert("one-more", "m@acme.test", Who("olga"))
    # A later save of the room (consent, the end) carries them: one record, one writer.
    room.send(OWNER, "end")
    assert room.session.experts == tuple(names)


def test_the_stored_record_is_what_the_room_goes_on_from() -> None:
    room = Room()
    [joined] = persisted(room.bind())
    room.core.saved(replace(joined, version=joined.version + 1))
    [consented] = persisted(room.join(CUSTOMER) + room.send(CUSTOMER, "consent", accept=True))
    assert consented.version == joined.version + 1


# -- consent and media ------------------------------------------------------------------------


def test_consent_opens_the_gate_once_and_declining_ends_it() -> None:
    room = Room()
    room.join(OWNER)
    room.bind()
    room.join(CUSTOMER)
    with pytest.raises(Conflict):
        room.send(CUSTOMER, "offer", sdp="v=0")
    effects = room.send(CUSTOMER, "consent", accept=True)
    assert MediaGate(True) in effects and room.session.status == "consented"
    assert room.send(CUSTOMER, "consent", accept=True) == []  # again: nothing new
    assert room.send(CUSTOMER, "offer", sdp="v=0") == [ConnectMedia(CUSTOMER, "customer", "v=0")]

    other = Room()
    other.bind()
    other.join(CUSTOMER)
    effects = other.send(CUSTOMER, "consent", accept=False)
    assert finished(effects) and other.session.outcome == "declined"


def test_live_once_the_customer_and_an_agent_are_connected() -> None:
    room = Room()
    room.join(EXPERT)
    room.bind()
    room.join(CUSTOMER)
    room.send(CUSTOMER, "consent", accept=True)
    assert persisted(room.core.media_state(CUSTOMER, "connected", T0)) == []
    [live] = persisted(room.core.media_state(EXPERT, "connected", T0 + 1))
    assert (live.status, live.live_at) == ("live", T0 + 1)


# -- what each side is shown ------------------------------------------------------------------


def test_the_customer_sees_names_and_handles_agents_see_ids_and_roles() -> None:
    room = live_room(OWNER, CUSTOMER, EXPERT)
    views = told(room.send(CUSTOMER, "media_state", muted=True), "state")
    agents = {p["name"]: p for p in views["agent"]["participants"]}
    assert agents["Olga"]["id"] == OWNER and agents["Olga"]["owner"]
    assert agents["Eric"]["expert"] and not agents["Eric"]["owner"]
    shown = {p["name"]: p["id"] for p in views["customer"]["participants"]}
    assert OWNER not in shown.values() and EXPERT not in shown.values()


def test_every_list_shows_the_owner_then_experts_in_arrival_order_then_the_customer() -> None:
    room = live_room(CUSTOMER, OTHER, EXPERT)  # the owner comes back last
    effects = room.join(OWNER) + room.leave(OTHER) + room.join(OTHER)
    for view in told(effects, "state").values():
        assert [p["name"] for p in view["participants"]] == ["Olga", "Eric", "Otto", "Customer"]


def test_tools_need_the_camera_and_chat_needs_a_running_session() -> None:
    room = Room()
    room.join(OWNER)
    with pytest.raises(Conflict):
        room.send(OWNER, "freeze")
    with pytest.raises(Conflict, match="Chat"):
        room.send(OWNER, "chat", text="hi", ref="r1")
    room = live_room(OWNER, CUSTOMER)
    assert room.send(CUSTOMER, "chat", text="hi", ref="r1") == [
        StoreChat(CUSTOMER, "customer", "Customer", "hi", "r1")
    ]
    assert told(room.send(OWNER, "freeze"), "state")["customer"]["freezing"] is True
    frame, _ = room.core.put_frame(b"\xff\xd8\xff", "image/jpeg")
    assert room.core.frame == frame
    marks = room.send(OWNER, "mark_start", id="m", tool="pen", color="#ffffff", pts=[[0.1, 0.1]])
    assert [b.but for b in marks if isinstance(b, Broadcast)] == [OWNER]


# -- a save that lost to another writer -------------------------------------------------------


def test_merge_keeps_both_writers_changes() -> None:
    base = waiting()
    stored = replace(base, experts=(EXPERT, OTHER, "third"), version=5)
    ours = state.apply(replace(base, version=4), state.CustomerJoined("dev", T0 + 1))
    merged = state.merge(stored, ours)
    assert merged.status == "joined" and merged.customer_device_hash == "dev"
    assert merged.experts == (EXPERT, OTHER, "third") and merged.version == 5
    ended = state.apply(stored, state.Ended("system", "expired", T0 + 900))
    assert state.merge(ended, ours).status == "ended"  # the end is never undone


def test_adopting_an_ended_record_closes_the_room() -> None:
    room = live_room(OWNER, CUSTOMER)
    running = replace(room.session, experts=("x",), version=3)
    assert not finished(room.core.adopt(running)) and room.session == running
    ended = state.apply(running, state.Ended("customer", "completed", T0 + 9))
    assert finished(room.core.adopt(ended))
