"""The customer's page says why its camera cannot reach the agents (signalling
``media_problem``): a reason from a fixed set, shown in the agents' state only, until the
customer's media connects."""

from __future__ import annotations

import json

import pytest

from livelens.signalling.effects import Audit
from livelens.signalling.messages import MEDIA_PROBLEMS, ProtocolError, parse
from tests.unit.test_room_core import CUSTOMER, OWNER, T0, Room, told


def message(**fields: object) -> str:
    return json.dumps({"v": 1, "type": "media_problem", **fields})


@pytest.mark.parametrize("reason", MEDIA_PROBLEMS)
def test_the_customer_may_send_each_reason(reason: str) -> None:
    assert parse(message(reason=reason), "customer").fields == {"reason": reason}


@pytest.mark.parametrize(
    ("raw", "sender", "code"),
    [
        (message(reason="no_webrtc"), "agent", "not_allowed"),  # only the customer's page
        (message(reason="the camera exploded"), "customer", "invalid_field"),  # no free text
        (message(reason=1), "customer", "invalid_field"),
        (message(), "customer", "missing_field"),
        (message(reason="no_webrtc", detail="x"), "customer", "unknown_field"),
    ],
)
def test_anything_else_is_refused(raw: str, sender: str, code: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse(raw, sender)  # type: ignore[arg-type]
    assert refused.value.code == code


def joined_room() -> Room:
    room = Room()
    room.join(OWNER)
    room.at(T0 + 1).bind()
    room.join(CUSTOMER)
    return room


def test_the_agents_are_told_why_and_the_customer_is_not() -> None:
    room = joined_room()
    effects = room.send(CUSTOMER, "media_problem", reason="no_webrtc")
    shown = told(effects, "state")
    assert shown["agent"]["media_problem"] == "no_webrtc"
    assert "media_problem" not in shown["customer"]
    [audit] = [e for e in effects if isinstance(e, Audit)]
    assert (audit.action, dict(audit.details)) == ("session.media_problem", {"reason": "no_webrtc"})
    # Said again (a page that came back): nothing new.
    assert room.send(CUSTOMER, "media_problem", reason="no_webrtc") == []
    # An agent who (re)joins sees it in their first state.
    assert told(room.join(OWNER), "state")["agent"]["media_problem"] == "no_webrtc"
    assert room.session.status == "joined"  # it ends nothing by itself


def test_a_new_reason_replaces_the_old_and_connecting_clears_it() -> None:
    room = joined_room()
    room.at(T0 + 2).send(CUSTOMER, "consent", accept=True)
    room.send(CUSTOMER, "media_problem", reason="connect_failed")
    assert room.core.snapshot("agent")["media_problem"] == "connect_failed"
    # The agent's own media connecting changes nothing; the customer's does.
    room.core.media_state(OWNER, "connected", T0 + 3)
    assert room.core.snapshot("agent")["media_problem"] == "connect_failed"
    effects = room.core.media_state(CUSTOMER, "connected", T0 + 4)
    assert told(effects, "state")["agent"]["media_problem"] is None
    assert room.session.status == "live"
