"""Whether a session is recorded and when its recording runs (signalling/recording.py,
in the room's rules: signalling/room_core.py), with no server, store or media."""

from __future__ import annotations

import errno
from dataclasses import replace

import pytest

from livelens.errors import Conflict, StoreUnavailable
from livelens.services import recording_rules
from livelens.signalling import recording
from livelens.signalling.effects import (
    SYSTEM,
    Alert,
    Audit,
    Effect,
    Finish,
    NoteRecording,
    StartRecording,
    StopRecording,
)
from livelens.signalling.recording import RecordingConsentNeeded, RecordingRefused
from livelens.store.records import SupportSession
from tests.unit.test_room_core import CUSTOMER, OWNER, T0, Room, told, waiting

REC = recording.SCOPE


def session_of(mode: recording.Mode) -> SupportSession:
    return replace(waiting(), recording=mode)


def consented(mode: recording.Mode, *scopes: str) -> Room:
    """A session recorded as ``mode``, the customer joined and agreed to ``scopes`` (none:
    what the page's default is)."""
    room = Room(session_of(mode))
    room.join(OWNER)
    room.at(T0 + 1).bind()
    room.join(CUSTOMER)
    fields = {"scopes": list(scopes)} if scopes else {}
    room.at(T0 + 2).send(CUSTOMER, "consent", accept=True, **fields)
    return room


def go_live(room: Room) -> list[Effect]:
    effects = room.core.media_state(CUSTOMER, "connected", T0 + 3)
    effects += room.core.media_state(OWNER, "connected", T0 + 3)
    assert room.session.status == "live"
    return effects


def shown(effects: list[Effect]) -> dict[str, dict[str, object]]:
    """The recording as each side's latest state among ``effects`` shows it."""
    return {side: view["recording"] for side, view in told(effects, "state").items()}


def audited(effects: list[Effect]) -> list[str]:
    return [e.action for e in effects if isinstance(e, Audit)]


# -- the decision, when the session is created -----------------------------------------------


def test_the_policy_and_the_agents_choice_decide_at_creation() -> None:
    assert recording.decide("off", None) == recording.decide("off", False) == "off"
    assert recording.decide("agent", True) == "asked"
    assert recording.decide("agent", False) == "off"
    assert recording.decide("agent", None) == "off"  # nothing asked: not recorded
    assert recording.decide("always", None) == recording.decide("always", True) == "always"


def test_a_choice_the_policy_does_not_leave_to_the_agent_is_refused_with_the_reason() -> None:
    with pytest.raises(RecordingRefused, match="turned off by your account's policy") as off:
        recording.decide("off", True)
    with pytest.raises(RecordingRefused, match="records every session") as always:
        recording.decide("always", False)
    for refused in (off.value, always.value):
        assert (refused.status, refused.code, refused.details) == (
            400,
            "recording_refused",
            {"field": "record"},
        )


# -- the customer's consent ---------------------------------------------------------------------


def test_asked_the_customer_may_agree_to_the_recording_or_refuse_it_and_get_help() -> None:
    agreed = consented("asked", "camera", "microphone", REC)
    assert agreed.session.consent_scopes == ("camera", "microphone", REC)
    assert recording.agreed(agreed.session) and not recording.declined(agreed.session)

    room = Room(session_of("asked"))
    room.join(OWNER)
    room.bind()
    room.join(CUSTOMER)
    effects = room.send(CUSTOMER, "consent", accept=True, scopes=["camera", "microphone"])
    assert room.session.status == "consented"  # they get help all the same
    assert audited(effects) == ["session.consent_given", "session.recording_declined"]
    assert recording.declined(room.session) and not recording.agreed(room.session)
    # Both sides see that the customer said no; nothing is recorded once live.
    assert shown(effects)["agent"] == {
        "mode": "asked",
        "agreed": False,
        "on": False,
        "stopped": None,
    }
    assert not any(isinstance(e, StartRecording) for e in go_live(room))


def test_always_the_recording_is_part_of_the_consent() -> None:
    assert consented("always").session.consent_scopes == ("camera", "microphone", REC)
    room = Room(session_of("always"))
    room.bind()
    room.join(CUSTOMER)
    with pytest.raises(RecordingConsentNeeded, match="agree to the recording, or decline"):
        room.send(CUSTOMER, "consent", accept=True, scopes=["camera", "microphone"])
    assert room.session.status == "joined"  # nothing given: they may still decline
    room.send(CUSTOMER, "consent", accept=False)
    assert room.session.outcome == "declined"


def test_no_recording_scope_where_the_session_is_not_recorded() -> None:
    room = Room()
    room.bind()
    room.join(CUSTOMER)
    with pytest.raises(Conflict, match="among camera, microphone"):
        room.send(CUSTOMER, "consent", accept=True, scopes=["camera", REC])
    for scopes in ((REC,), ("screen",), ()):
        with pytest.raises(Conflict):
            recording.consent_scopes(session_of("asked"), scopes)
    # The same scope twice is kept once.
    assert recording.consent_scopes(session_of("asked"), ("camera", "camera")) == ("camera",)


# -- when it runs ------------------------------------------------------------------------------


def test_it_starts_when_the_session_goes_live_and_both_sides_see_the_indicator() -> None:
    room = consented("asked", "camera", "microphone", REC)
    before = shown(room.send(CUSTOMER, "media_state", muted=False))
    assert before["customer"] == {"mode": "asked", "agreed": True, "on": False, "stopped": None}
    effects = go_live(room)
    assert effects.count(StartRecording()) == 1
    # The state after the start says it runs, to both sides.
    after = shown(effects[effects.index(StartRecording()) :])
    assert after["agent"]["on"] is True and after["customer"]["on"] is True
    # Media reconnecting does not start a second one.
    assert StartRecording() not in room.core.media_state(CUSTOMER, "connected", T0 + 9)


def test_an_always_recorded_session_starts_without_an_agents_choice() -> None:
    room = consented("always")
    assert StartRecording() in go_live(room)


def test_not_recorded_sessions_never_start_nor_note() -> None:
    room = consented("off")
    effects = go_live(room) + room.send(OWNER, "freeze")
    assert not any(isinstance(e, StartRecording | NoteRecording) for e in effects)
    assert shown(effects)["customer"] == {
        "mode": "off",
        "agreed": None,
        "on": False,
        "stopped": None,
    }
    assert StopRecording() not in room.send(OWNER, "end")


def test_marks_chat_and_freezes_are_noted_while_it_runs() -> None:
    room = consented("always")
    go_live(room)
    pts = [[0.1, 0.2], [0.3, 0.4]]
    notes = [e for e in room.send(OWNER, "mark_start", id="m1", tool="pen", color="#ff0000",
                                  pts=pts) if isinstance(e, NoteRecording)]  # fmt: skip
    drawn = {"type": "mark_start", "from": OWNER, "id": "m1", "tool": "pen", "color": "#ff0000"}
    assert notes == [NoteRecording("mark", {**drawn, "pts": pts})]
    noted = [
        e
        for effects in (
            room.send(OWNER, "mark_end", id="m1"),
            room.send(OWNER, "mark_end", id="nope"),  # changes nothing: not noted
            room.send(OWNER, "marks_clear"),
            room.send(CUSTOMER, "chat", text="It blinks red", ref="c1"),
            room.send(OWNER, "freeze"),
            room.send(OWNER, "freeze"),  # already frozen: not noted
            room.send(OWNER, "unfreeze"),
        )
        for e in effects
        if isinstance(e, NoteRecording)
    ]
    assert [(n.kind, dict(n.data)) for n in noted] == [
        ("mark", {"type": "mark_end", "from": OWNER, "id": "m1"}),
        ("marks_cleared", {"from": OWNER}),
        ("chat", {"role": "customer", "name": "Customer", "text": "It blinks red"}),
        ("freeze", {}),
        ("unfreeze", {}),
    ]


def test_it_stops_with_the_session_before_the_media_ends() -> None:
    room = consented("asked", "camera", REC)
    go_live(room)
    effects = room.send(CUSTOMER, "end")
    assert effects.index(StopRecording()) < effects.index(Finish())
    assert effects.count(StopRecording()) == 1


# -- stopping on its own -------------------------------------------------------------------------


def test_stopping_on_its_own_tells_both_sides_alerts_and_goes_no_further() -> None:
    room = consented("always")
    go_live(room)
    effects = room.core.recording_stopped(recording.Stop("storage_full", "storage full"))
    details = {"reason": "storage_full", "detail": "storage full"}
    assert Audit("session.recording_stopped", SYSTEM, details) in effects
    assert Alert(recording.ALERT_KIND, {"session": room.session.id, **details}) in effects
    views = shown(effects)
    assert (
        views["customer"]
        == views["agent"]
        == {"mode": "always", "agreed": True, "on": False, "stopped": "storage_full"}
    )
    assert room.session.status == "live"  # the session goes on
    # Once: nothing is noted, nothing starts again, and the end stops nothing.
    assert room.core.recording_stopped(recording.Stop("storage_full", "storage full")) == []
    assert not any(isinstance(e, NoteRecording) for e in room.send(OWNER, "freeze"))
    assert StartRecording() not in room.core.media_state(CUSTOMER, "connected", T0 + 9)
    assert StopRecording() not in room.send(OWNER, "end")
    assert recording.ALERT_KIND == "recording.stopped"


def test_why_storing_failed_in_the_pages_words() -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    assert recording_rules.storage_reason(full).reason == "storage_full"
    refused = StoreUnavailable("The database is unavailable.")
    assert recording_rules.storage_reason(refused).reason == "storage_failed"
    assert (
        recording_rules.storage_reason(OSError(errno.EIO, "I/O error")).reason == "storage_failed"
    )
    assert recording.UNAVAILABLE.reason == recording.MEDIA_STOPPED.reason == "media"
