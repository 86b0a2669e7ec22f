"""Whether a support session is recorded, and when its recording runs (no I/O).

The decision is made once, when the session is created, from the account's policy
(``Tenant.recording``) and, where the policy leaves it to the agent, the agent's choice
(:func:`decide`); it stays on the record (``SupportSession.recording``) from start to
end, as the session's other policies do (session_policy.py):

- ``off``: never recorded;
- ``asked``: the agent chose to record it; the customer's consent screen says so, and
  the customer may refuse the recording and still get help (consent without the
  ``recording`` scope);
- ``always``: the account records every session; the recording is part of the consent
  (a consent without it is refused: the customer may only decline the whole session).

The customer's answer is kept with their consent (``consent_scopes`` has ``recording``
when they agreed to it; :func:`consent_scopes` checks what the page sent). The room
(room_core.py) starts the recording when the session goes live with the customer's
agreement, notes marks, chat and freezes while it runs, and stops it when the session
ends; a recording that stops on its own (storage full, the media path cannot record)
is not started again in that room, and the session goes on. Both sides see the
recording's state in every ``state`` message (:meth:`RoomRecording.view`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from livelens.errors import Conflict, InvalidInput
from livelens.signalling.effects import (
    SYSTEM,
    Alert,
    Audit,
    Effect,
    NoteRecording,
    StartRecording,
    StopRecording,
)
from livelens.store.records import RecordingMode, SupportSession

Mode = Literal["off", "asked", "always"]
SCOPE = "recording"  # the consent scope of a customer who agreed to the recording
BASE_SCOPES = ("camera", "microphone")  # what any consent may name (state.CONSENT_SCOPES)
Phase = Literal["idle", "running", "stopped", "done"]

# Why a recording stopped on its own, as both sides' pages name it (their catalogues):
# the storage is full or failed, the media path cannot record (or stopped), or else.
StopReason = Literal["storage_full", "storage_failed", "media", "failed"]
STOP_REASONS: tuple[StopReason, ...] = ("storage_full", "storage_failed", "media", "failed")


@dataclass(frozen=True)
class Stop:
    """Why a recording stopped on its own: the pages' word for it, and a few words for
    the audit log, the alert and the recording's record."""

    reason: StopReason
    detail: str


UNAVAILABLE = Stop("media", "the media path cannot record this session")  # could not start
MEDIA_STOPPED = Stop("media", "the media path stopped recording")
FAILED = Stop("failed", "the recording failed")  # a bug in its runner
ALERT_KIND = "recording.stopped"  # the administrators' alert (services.alert_rules)


class RecordingRefused(InvalidInput, code="recording_refused"):
    """The start-session request asked for what the account's policy does not allow."""


class RecordingConsentNeeded(Conflict, code="recording_consent_needed"):
    """Under an "always" policy, a consent that leaves the recording out."""


def decide(policy: RecordingMode, record: bool | None) -> Mode:
    """The session's recording, from the account's policy and the agent's choice
    (``record``; None: not given). Raises RecordingRefused for a choice the policy
    does not leave to the agent."""
    if policy == "always":
        if record is False:
            raise RecordingRefused("Your account's policy records every session: "
                                   "'record' cannot be false.", field="record")  # fmt: skip
        return "always"
    if policy == "agent":
        return "asked" if record else "off"
    if record:
        raise RecordingRefused("Recording is turned off by your account's policy: "
                               "'record' cannot be true.", field="record")  # fmt: skip
    return "off"


def default_scopes(session: SupportSession) -> tuple[str, ...]:
    """What a consent that names no scopes covers: the camera and microphone, and the
    recording where the session is always recorded (the consent screen said so)."""
    return (*BASE_SCOPES, SCOPE) if session.recording == "always" else BASE_SCOPES


def consent_scopes(session: SupportSession, scopes: tuple[str, ...]) -> tuple[str, ...]:
    """What the customer's consent covers, as it is kept (``scopes``: as the page sent
    them). Raises Conflict for no scope or an unknown one, and RecordingConsentNeeded
    for a consent that leaves out a recording the account always makes."""
    allowed = BASE_SCOPES if session.recording == "off" else (*BASE_SCOPES, SCOPE)
    if set(scopes) - set(allowed) or not set(scopes) - {SCOPE}:
        raise Conflict(f"Consent scopes must be among {', '.join(allowed)}.")
    if session.recording == "always" and SCOPE not in scopes:
        raise RecordingConsentNeeded("This session is recorded by the account's policy: "
                                     "agree to the recording, or decline the session.")  # fmt: skip
    return tuple(dict.fromkeys(scopes))  # in the order given, each once


def agreed(session: SupportSession) -> bool:
    """The session is to be recorded and its customer agreed to that."""
    return session.recording != "off" and SCOPE in session.consent_scopes


def declined(session: SupportSession) -> bool:
    """The agent asked for a recording and the customer refused it (and got help)."""
    return session.recording == "asked" and session.consent_at is not None and not agreed(session)


class RoomRecording:
    """The recording's life in one room: idle until the session goes live with the
    customer's agreement, running until the session ends (done) or it stops on its own
    (stopped, with the reason)."""

    def __init__(self) -> None:
        self.phase: Phase = "idle"
        self.reason: StopReason | None = None  # why it stopped on its own

    @property
    def running(self) -> bool:
        return self.phase == "running"

    def start(self, session: SupportSession) -> list[Effect]:
        """Start it if now is the time: the session is live, the customer agreed, and
        this room has not recorded it yet."""
        if self.phase != "idle" or session.status != "live" or not agreed(session):
            return []
        self.phase = "running"  # until the shell says otherwise (stopped)
        return [StartRecording()]

    def stop(self) -> list[Effect]:
        """The session ends: the recording with it."""
        was, self.phase = self.phase, "done"
        return [StopRecording()] if was == "running" else []

    def stopped(self, session: SupportSession, why: Stop) -> list[Effect]:
        """It stopped on its own or could not start: audited, the administrators
        alerted; the session goes on. The room's state then tells both sides."""
        if self.phase != "running":
            return []
        self.phase, self.reason = "stopped", why.reason
        details: Mapping[str, str] = {"reason": why.reason, "detail": why.detail}
        return [Audit("session.recording_stopped", SYSTEM, details),
                Alert(ALERT_KIND, {"session": session.id, **details})]  # fmt: skip

    def note(self, kind: str, data: Mapping[str, object]) -> list[Effect]:
        """A timed event for the recording's player, while it runs."""
        return [NoteRecording(kind, data)] if self.running else []

    def view(self, session: SupportSession) -> dict[str, object]:
        """What both sides' state says: the session's recording (``mode``), whether the
        customer agreed (``agreed``; None before they answered), whether it runs now
        (``on``: the indicator) and why it stopped on its own (``stopped``)."""
        answered = session.consent_at is not None
        return {
            "mode": session.recording,
            "agreed": agreed(session) if answered and session.recording != "off" else None,
            "on": self.running,
            "stopped": self.reason,
        }
