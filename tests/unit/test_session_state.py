"""The support-session state machine, on its own."""

import pytest

from livelens.errors import Conflict
from livelens.signalling.state import (
    ConsentDeclined,
    ConsentGiven,
    CustomerJoined,
    DeviceMismatch,
    Ended,
    MediaConnected,
    SessionEnded,
    apply,
    is_expired,
    media_allowed,
)
from livelens.store.records import SupportSession

T0 = 1_000.0


def waiting() -> SupportSession:
    return SupportSession(
        id="s1", tenant_id="t1", agent_id="a1", created_at=T0, join_expires_at=T0 + 900,
        join_token_hash="tok", pin_hash="pin",
    )  # fmt: skip


def live() -> SupportSession:
    s = apply(waiting(), CustomerJoined("dev", T0 + 1))
    s = apply(s, ConsentGiven(("camera", "microphone"), T0 + 2))
    return apply(s, MediaConnected(T0 + 3))


def test_happy_path_records_each_step() -> None:
    s = live()
    assert s.status == "live"
    assert (s.joined_at, s.consent_at, s.live_at) == (T0 + 1, T0 + 2, T0 + 3)
    assert s.consent_scopes == ("camera", "microphone")
    ended = apply(s, Ended("customer", "completed", T0 + 60))
    assert (ended.status, ended.outcome, ended.ended_by) == ("ended", "completed", "customer")
    assert ended.pin_hash is None


def test_no_media_before_consent() -> None:
    s = apply(waiting(), CustomerJoined("dev", T0))
    assert not media_allowed(waiting())
    assert not media_allowed(s)
    assert media_allowed(apply(s, ConsentGiven(("camera",), T0)))


def test_going_live_requires_consent() -> None:
    joined = apply(waiting(), CustomerJoined("dev", T0))
    with pytest.raises(Conflict):
        apply(joined, MediaConnected(T0))


def test_decline_ends_with_outcome_declined() -> None:
    s = apply(apply(waiting(), CustomerJoined("dev", T0)), ConsentDeclined(T0 + 5))
    assert (s.status, s.outcome, s.ended_by) == ("ended", "declined", "customer")


def test_link_is_bound_to_the_first_device() -> None:
    s = apply(waiting(), CustomerJoined("dev", T0))
    assert apply(s, CustomerJoined("dev", T0 + 100)) == s  # same device rejoins
    with pytest.raises(DeviceMismatch):
        apply(s, CustomerJoined("other", T0 + 100))


def test_link_expires_if_unused() -> None:
    s = waiting()
    assert not is_expired(s, T0 + 899)
    assert is_expired(s, T0 + 900)
    with pytest.raises(SessionEnded):
        apply(s, CustomerJoined("dev", T0 + 900))
    # Once joined, the join deadline no longer matters (rejoin after a drop).
    joined = apply(s, CustomerJoined("dev", T0 + 10))
    assert apply(joined, CustomerJoined("dev", T0 + 5000)).status == "joined"


def test_nothing_happens_after_the_end_but_ending_again() -> None:
    ended = apply(live(), Ended("agent", "completed", T0 + 9))
    assert apply(ended, Ended("customer", "completed", T0 + 10)) == ended
    for event in [CustomerJoined("dev", T0), ConsentGiven(("camera",), T0), MediaConnected(T0)]:
        with pytest.raises(SessionEnded):
            apply(ended, event)


def test_consent_scopes_are_checked() -> None:
    joined = apply(waiting(), CustomerJoined("dev", T0))
    with pytest.raises(Conflict):
        apply(joined, ConsentGiven(("screen",), T0))
    with pytest.raises(Conflict):
        apply(joined, ConsentGiven((), T0))


def test_consent_before_join_is_refused() -> None:
    with pytest.raises(Conflict):
        apply(waiting(), ConsentGiven(("camera",), T0))
