"""The account's policy in a live session's rules (signalling/room_core.py with
signalling/session_policy.py): what is off is refused or not routed, and both sides are
told what is on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from livelens.errors import Forbidden
from livelens.signalling.effects import SYSTEM, ConnectMedia, StoreChat
from livelens.signalling.room_core import StaleCredential
from livelens.signalling.session_policy import DisabledByPolicy
from livelens.store.records import SupportSession
from tests.unit.test_room_core import (
    CUSTOMER,
    OWNER,
    T0,
    Room,
    live_room,
    persisted,
    told,
    waiting,
)


def with_policy(tools_off: tuple[str, ...] = (), rating_on: bool = False) -> SupportSession:
    return replace(waiting(), tools_off=tools_off, rating_on=rating_on)


def live_with(tools_off: tuple[str, ...] = (), rating_on: bool = False) -> Room:
    """Joined, consented and live, the owner and the customer present."""
    return live_room(OWNER, CUSTOMER, session=with_policy(tools_off, rating_on))


def test_chat_off_is_refused_for_both_sides_with_the_reason() -> None:
    room = live_with(tools_off=("chat",))
    for member in (OWNER, CUSTOMER):
        with pytest.raises(DisabledByPolicy, match="Chat is turned off") as refused:
            room.send(member, "chat", text="hi", ref="r1")
        assert refused.value.code == "disabled_by_policy" and refused.value.status == 403
        assert refused.value.details == {"tool": "chat"}
    assert isinstance(refused.value, Forbidden)
    # Everything else still works, chat in a session that allows it too.
    assert told(room.send(OWNER, "freeze"), "state")["customer"]["freezing"] is True
    assert live_with(tools_off=("snapshots",)).send(CUSTOMER, "chat", text="hi", ref="r1") == [
        StoreChat(CUSTOMER, "customer", "Customer", "hi", "r1")
    ]


def test_two_way_audio_off_asks_the_hub_for_no_agent_voice_to_the_customer() -> None:
    room = live_with(tools_off=("two_way_audio",))
    assert room.send(CUSTOMER, "offer", sdp="v=0") == [
        ConnectMedia(CUSTOMER, "customer", "v=0", two_way_audio=False)
    ]
    assert room.send(OWNER, "offer", sdp="v=1") == [
        ConnectMedia(OWNER, "agent", "v=1", two_way_audio=False)
    ]
    [on] = live_room(OWNER, CUSTOMER).send(CUSTOMER, "offer", sdp="v=0")
    assert isinstance(on, ConnectMedia) and on.two_way_audio is True


def test_both_sides_are_told_the_sessions_policy_in_every_state() -> None:
    room = live_with(tools_off=("chat", "two_way_audio"), rating_on=True)
    views = told(room.send(CUSTOMER, "media_state", muted=True), "state")
    expected = {"chat": False, "snapshots": True, "two_way_audio": False, "rating": True}
    assert views["customer"]["policy"] == expected
    assert views["agent"]["policy"] == expected
    default = told(live_room(OWNER, CUSTOMER).send(CUSTOMER, "media_state", muted=True), "state")
    assert default["customer"]["policy"] == {
        "chat": True, "snapshots": True, "two_way_audio": True, "rating": False,
    }  # fmt: skip


def test_the_customer_who_joined_is_invited_to_rate_where_the_account_asks() -> None:
    ended = told(live_with(rating_on=True).send(OWNER, "end"), "ended")
    assert ended["customer"]["rate"] is True
    assert "rate" not in ended["agent"]
    assert "rate" not in told(live_with().send(OWNER, "end"), "ended")["customer"]
    # A session nobody joined asks nobody.
    room = Room(with_policy(rating_on=True))
    room.join(OWNER)
    assert "rate" not in told(room.send(OWNER, "end"), "ended")["agent"]
    assert room.session.customer_device_hash is None


def test_a_new_link_without_a_pin_leaves_only_the_link() -> None:
    room = Room()
    room.join(OWNER)
    [saved] = persisted(room.core.renew_link("tok2", None, T0 + 600, SYSTEM))
    assert (saved.join_token_hash, saved.pin_hash) == ("tok2", None)
    with pytest.raises(StaleCredential):
        room.bind(credential="pin")  # the old PIN finds nothing
    assert room.bind(credential="tok2") and room.session.status == "joined"
