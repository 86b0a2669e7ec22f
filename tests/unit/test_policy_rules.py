"""The rules of account policies, seats, subscription and ratings, with no server:
what is accepted, what is refused and why, and what a session takes from its account."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from livelens.errors import InvalidInput
from livelens.media.hub import _flows
from livelens.services import account_policy, rating, subscription
from livelens.signalling import session_policy
from livelens.store.records import Tenant

ACME = Tenant(id="t1", name="Acme", region="eu", created_at=0.0, wrapped_data_key=b"k",
              master_key_id="mk")  # fmt: skip


def test_every_policy_can_be_changed_alone_within_its_bounds() -> None:
    assert account_policy.parse({"chat": False}) == {"chat": False}
    assert account_policy.parse({"join_link_minutes": 1, "retention_days": 3650}) == {
        "join_link_minutes": 1, "retention_days": 3650}  # fmt: skip
    assert account_policy.parse({"join_link_minutes": 1440.0}) == {"join_link_minutes": 1440}
    assert account_policy.parse({"recording": "agent"}) == {"recording": "agent"}
    every = {name: getattr(ACME, name) for name in account_policy.FIELDS}
    assert account_policy.parse(every) == every
    assert account_policy.view(ACME) == every


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"chat": "no"}, "chat", "true or false"),
        ({"pin_joining": 0}, "pin_joining", "true or false"),
        ({"require_totp": None}, "require_totp", "true or false"),
        ({"join_link_minutes": 0}, "join_link_minutes", "from 1 to 1440"),
        ({"join_link_minutes": 1441}, "join_link_minutes", "from 1 to 1440"),
        ({"join_link_minutes": 2.5}, "join_link_minutes", "whole number"),
        ({"join_link_minutes": True}, "join_link_minutes", "whole number"),
        ({"retention_days": 3651}, "retention_days", "from 1 to 3650"),
        ({"retention_days": "90"}, "retention_days", "whole number"),
        ({"recording": "sometimes"}, "recording", "off, agent, always"),
        ({"chat": True, "colour": "red"}, "colour", "Unknown policy"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(
    body: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(InvalidInput, match=says) as refused:
        account_policy.parse(body)
    assert refused.value.details["field"] == field


def test_a_change_must_name_a_policy() -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        account_policy.parse({})


def test_the_audit_shows_what_changed_from_what_to_what() -> None:
    after = replace(ACME, chat=False, join_link_minutes=30, recording="always")
    assert account_policy.changes(ACME, after, account_policy.FIELDS) == {
        "chat": "on → off", "join_link_minutes": "15 → 30", "recording": "off → always",
    }  # fmt: skip
    assert account_policy.changes(ACME, ACME, account_policy.FIELDS) == {}
    assert account_policy.join_ttl(after) == 1800


def test_a_session_takes_the_tools_its_account_turned_off() -> None:
    assert session_policy.tools_off(ACME) == ()
    strict = replace(ACME, chat=False, two_way_audio=False, customer_rating=True)
    assert session_policy.tools_off(strict) == ("chat", "two_way_audio")
    assert session_policy.tools_off(replace(ACME, snapshots=False)) == ("snapshots",)


def test_two_way_audio_off_routes_no_agent_voice_to_the_customer_only() -> None:
    assert _flows("agent", "customer", "audio")
    assert not _flows("agent", "customer", "audio", two_way_audio=False)
    assert _flows("agent", "agent", "audio", two_way_audio=False)  # agents hear each other
    assert _flows("customer", "agent", "audio", two_way_audio=False)  # and the customer
    assert _flows("customer", "agent", "video", two_way_audio=False)
    assert not _flows("agent", "customer", "video")


@pytest.mark.parametrize(
    ("given", "seats"), [("1", 1), ("25", 25), (" 100000 ", 100_000), ("Unlimited", None)]
)
def test_seats_are_a_count_from_one_or_unlimited(given: str, seats: int | None) -> None:
    assert subscription.parse_seats(given) == seats


@pytest.mark.parametrize("given", ["0", "-1", "1.5", "lots", "", "100001", "٣"])
def test_other_seat_counts_are_refused(given: str) -> None:
    with pytest.raises(InvalidInput, match="unlimited"):
        subscription.parse_seats(given)


def test_the_subscription_end_is_a_date_or_none() -> None:
    assert subscription.parse_end("2027-01-31") == "2027-01-31"
    assert subscription.parse_end("none") is None
    for bad in ("2027-02-30", "31-01-2027", "20270131", "2027-1-31", "tomorrow", ""):
        with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
            subscription.parse_end(bad)


def test_the_subscription_lasts_through_its_last_day_utc() -> None:
    ending = replace(ACME, subscription_ends="2027-01-31")
    end = datetime(2027, 2, 1, tzinfo=UTC).timestamp()
    assert subscription.ends_at(ending) == end
    assert subscription.active(ending, end - 1)
    assert not subscription.active(ending, end)
    assert subscription.active(ACME, 1e12)  # no end set: it does not end


@pytest.mark.parametrize(
    ("score", "comment", "kept"),
    [
        (1, None, (1, None)),
        (5, "  Very helpful\u0007!  ", (5, "Very helpful!")),
        (3, "", (3, None)),
        (4, "x" * 500, (4, "x" * 500)),
    ],
)
def test_a_rating_is_a_score_and_an_optional_comment(
    score: object, comment: object, kept: tuple[int, str | None]
) -> None:
    assert rating.check(score, comment) == kept


@pytest.mark.parametrize(
    ("score", "comment", "field"),
    [(0, None, "rating"), (6, None, "rating"), (True, None, "rating"), ("5", None, "rating"),
     (4.5, None, "rating"), (None, None, "rating"), (4, "x" * 501, "comment"),
     (4, 42, "comment")],
)  # fmt: skip
def test_a_bad_rating_is_refused(score: object, comment: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rating.check(score, comment)
    assert refused.value.details["field"] == field
